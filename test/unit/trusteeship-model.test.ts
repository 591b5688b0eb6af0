import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D } from "../../src/lib/money.js";
import {
  allocateReturnPayment,
  arrearsOf,
  buildReturnSchedule,
  checkContractDates,
  checkCreditCode,
  CREDIT_CODE_ALPHABET,
  creditCodeCheckChar,
  daysInArrears,
  exposureLimit,
  householdLoanEntrustable,
  installmentStatus,
  withinExposure,
} from "../../src/modules/trusteeship/model.js";
import { addMonthsClamped } from "../../src/lib/dates.js";

describe("unified social credit code (GB 32100)", () => {
  it("accepts real-format codes published by well-known companies", () => {
    for (const code of ["91350100M000100Y43", "91110000802100433B", "91110108551385082Q", "91440300708461136T"]) {
      expect(checkCreditCode(code)).toEqual({ ok: true, value: code });
    }
  });

  it("accepts codes completed with their computed check character", () => {
    // Farmer cooperative (93), enterprise (91), social organisation (52) in county 469030.
    const cases: [string, string][] = [
      ["93469030MA5T00010", "5"],
      ["91469030MA5T2XQ38", "F"],
      ["52469030MJY000123", "L"],
    ];
    for (const [first17, check] of cases) {
      expect(creditCodeCheckChar(first17)).toBe(check);
      expect(checkCreditCode(first17 + check).ok).toBe(true);
    }
  });

  it("maps a check value of 31 to 0 and covers the whole alphabet", () => {
    expect(CREDIT_CODE_ALPHABET).toHaveLength(31);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...CREDIT_CODE_ALPHABET), { minLength: 17, maxLength: 17 }), (chars) => {
        const first17 = chars.join("");
        const check = creditCodeCheckChar(first17);
        expect(CREDIT_CODE_ALPHABET).toContain(check);
        expect(checkCreditCode(first17 + check).ok).toBe(true);
      }),
    );
  });

  it("refuses a wrong check character", () => {
    expect(checkCreditCode("91350100M000100Y44")).toEqual({ ok: false, problem: "CHECK" });
    expect(checkCreditCode("91110000802100433C")).toEqual({ ok: false, problem: "CHECK" });
    // Every other character in the last place is wrong.
    for (const ch of CREDIT_CODE_ALPHABET.replace("3", "")) expect(checkCreditCode(`91350100M000100Y4${ch}`).ok).toBe(false);
  });

  it("refuses the letters I, O, Z, S, V anywhere, and lowercase", () => {
    for (const bad of ["I", "O", "Z", "S", "V"]) {
      expect(checkCreditCode(`91350100M000100Y4${bad}`)).toEqual({ ok: false, problem: "CHARACTER" });
      expect(checkCreditCode(`9135010${bad}M000100Y43`)).toEqual({ ok: false, problem: "CHARACTER" });
    }
    expect(checkCreditCode("91350100m000100Y43")).toEqual({ ok: false, problem: "CHARACTER" });
  });

  it("refuses other lengths", () => {
    expect(checkCreditCode("91350100M000100Y4")).toEqual({ ok: false, problem: "LENGTH" });
    expect(checkCreditCode("91350100M000100Y433")).toEqual({ ok: false, problem: "LENGTH" });
  });
});

describe("calendar", () => {
  it("adds months on the same day or the month's last day", () => {
    expect(addMonthsClamped("2024-01-31", 1)).toBe("2024-02-29");
    expect(addMonthsClamped("2023-11-30", 3)).toBe("2024-02-29");
    expect(addMonthsClamped("2024-03-31", 6)).toBe("2024-09-30");
    expect(addMonthsClamped("2024-12-15", 12)).toBe("2025-12-15");
  });
});

const base = { principal: "50000.00", annualRate: "0.08", graceDays: 0 };

describe("return schedule", () => {
  it("annual: 环江's 8% on 50,000 is 4,000 a year", () => {
    const s = buildReturnSchedule({ ...base, frequency: "ANNUAL", startDate: "2019-03-15", endDate: "2022-03-15" });
    expect(s.map((i) => [i.dueDate, i.amountDue, i.proRated])).toEqual([
      ["2020-03-15", "4000.00", false],
      ["2021-03-15", "4000.00", false],
      ["2022-03-15", "4000.00", false],
    ]);
    expect(s[0].arrearsFrom).toBe("2020-03-16");
  });

  it("semiannual: 2,000 each half year", () => {
    const s = buildReturnSchedule({ ...base, frequency: "SEMIANNUAL", startDate: "2020-01-01", endDate: "2022-01-01" });
    expect(s.map((i) => [i.dueDate, i.amountDue])).toEqual([
      ["2020-07-01", "2000.00"],
      ["2021-01-01", "2000.00"],
      ["2021-07-01", "2000.00"],
      ["2022-01-01", "2000.00"],
    ]);
    expect(s.every((i) => !i.proRated)).toBe(true);
  });

  it("quarterly: 1,000 each quarter; month ends stay on month ends", () => {
    const s = buildReturnSchedule({ ...base, frequency: "QUARTERLY", startDate: "2023-11-30", endDate: "2024-11-30" });
    expect(s.map((i) => [i.dueDate, i.amountDue, i.proRated])).toEqual([
      ["2024-02-29", "1000.00", false],
      ["2024-05-30", "1000.00", false],
      ["2024-08-30", "1000.00", false],
      ["2024-11-30", "1000.00", false],
    ]);
  });

  it("quarterly with a short first and a short last period, pro-rated by actual days / 365", () => {
    const s = buildReturnSchedule({ ...base, frequency: "QUARTERLY", startDate: "2024-02-10", endDate: "2025-02-20", firstDueDate: "2024-03-31" });
    expect(s.map((i) => [i.periodStart, i.dueDate, i.days, i.amountDue, i.proRated])).toEqual([
      ["2024-02-10", "2024-03-31", 50, "547.95", true], // 50,000 × 8% × 50 / 365 = 547.945
      ["2024-03-31", "2024-06-30", 91, "1000.00", false],
      ["2024-06-30", "2024-09-30", 92, "1000.00", false],
      ["2024-09-30", "2024-12-31", 92, "1000.00", false],
      ["2024-12-31", "2025-02-20", 51, "558.90", true], // × 51 / 365 = 558.904
    ]);
  });

  it("annual with a short last period", () => {
    const s = buildReturnSchedule({ ...base, frequency: "ANNUAL", startDate: "2020-06-01", endDate: "2022-09-01" });
    expect(s.map((i) => [i.dueDate, i.amountDue, i.proRated])).toEqual([
      ["2021-06-01", "4000.00", false],
      ["2022-06-01", "4000.00", false],
      ["2022-09-01", "1008.22", true], // 92 days: 50,000 × 8% × 92 / 365 = 1,008.219
    ]);
  });

  it("semiannual with a short first period anchored on 30 June", () => {
    const s = buildReturnSchedule({ ...base, frequency: "SEMIANNUAL", startDate: "2024-04-15", endDate: "2025-06-30", firstDueDate: "2024-06-30" });
    expect(s.map((i) => [i.dueDate, i.days, i.amountDue, i.proRated])).toEqual([
      ["2024-06-30", 76, "832.88", true], // 76 / 365 × 4,000 = 832.876
      ["2024-12-30", 183, "2000.00", false],
      ["2025-06-30", 182, "2000.00", false],
    ]);
  });

  it("a contract shorter than one period has one pro-rated installment", () => {
    const s = buildReturnSchedule({ ...base, frequency: "ANNUAL", startDate: "2024-01-01", endDate: "2024-04-01" });
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ days: 91, proRated: true, amountDue: "997.26" });
  });

  it("grace days move the first day in arrears", () => {
    const s = buildReturnSchedule({ ...base, graceDays: 10, frequency: "ANNUAL", startDate: "2019-03-15", endDate: "2020-03-15" });
    expect(s[0].arrearsFrom).toBe("2020-03-26");
  });

  it("a short period never earns more than a whole one (a half year short by a day)", () => {
    const s = buildReturnSchedule({ principal: "145.23", annualRate: "0.08", graceDays: 0, frequency: "SEMIANNUAL", startDate: "2016-08-31", endDate: "2019-08-30" });
    expect(s.map((i) => [i.days, i.proRated, i.amountDue])).toEqual([
      [181, false, "5.81"],
      [184, false, "5.81"],
      [181, false, "5.81"],
      [184, false, "5.81"],
      [181, false, "5.81"],
      // 145.23 × 8% × 183 / 365 = 5.825 would be more than the whole half year.
      [183, true, "5.81"],
    ]);
  });

  it("refuses impossible dates", () => {
    expect(checkContractDates({ startDate: "2024-01-01", endDate: "2024-01-01", frequency: "ANNUAL" })).toHaveLength(1);
    expect(checkContractDates({ startDate: "2024-01-01", endDate: "2025-01-01", frequency: "QUARTERLY", firstDueDate: "2024-05-01" })[0].message).toEqual({ zh: "首期可以短于一期，但不能长于一期（最晚 2024-04-01）", en: "a first period may be short but not longer than one period (at most 2024-04-01)" });
    expect(checkContractDates({ startDate: "2024-01-01", endDate: "2025-01-01", frequency: "QUARTERLY", firstDueDate: "2024-01-01" })).toHaveLength(1);
    expect(() => buildReturnSchedule({ ...base, frequency: "ANNUAL", startDate: "2024-01-01", endDate: "2023-01-01" })).toThrow();
  });

  it("periods tile the contract and whole periods earn exactly principal × rate / n (property)", () => {
    const freq = fc.constantFrom("ANNUAL" as const, "SEMIANNUAL" as const, "QUARTERLY" as const);
    const day = fc.integer({ min: 0, max: 3000 }).map((n) => new Date(Date.UTC(2016, 0, 1) + n * 86_400_000).toISOString().slice(0, 10));
    fc.assert(
      fc.property(freq, day, fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 5_000_000 }), (frequency, start, length, fen) => {
        const end = new Date(Date.UTC(+start.slice(0, 4), +start.slice(5, 7) - 1, +start.slice(8, 10)) + length * 86_400_000).toISOString().slice(0, 10);
        const principal = new D(fen).div(100).toFixed(2);
        const s = buildReturnSchedule({ principal, annualRate: "0.08", graceDays: 0, frequency, startDate: start, endDate: end });
        expect(s[0].periodStart).toBe(start);
        expect(s[s.length - 1].dueDate).toBe(end);
        for (let i = 1; i < s.length; i++) expect(s[i].periodStart).toBe(s[i - 1].dueDate);
        expect(s.reduce((n, i) => n + i.days, 0)).toBe(length);
        const whole = new D(principal).times("0.08").div(frequency === "ANNUAL" ? 1 : frequency === "SEMIANNUAL" ? 2 : 4).toDecimalPlaces(2, D.ROUND_HALF_UP);
        for (const i of s) {
          if (!i.proRated) expect(i.amountDue).toBe(whole.toFixed(2));
          else expect(new D(i.amountDue).lte(whole)).toBe(true);
        }
        // Only the first and the last period may be short.
        for (const i of s.slice(1, -1)) expect(i.proRated).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("payments and arrears", () => {
  const inst = (seq: number, due: string, amountDue: string, amountPaid = "0.00", grace = 0) => ({
    seq,
    dueDate: due,
    amountDue,
    amountPaid,
    arrearsFrom: new Date(Date.parse(`${due}T00:00:00Z`) + (grace + 1) * 86_400_000).toISOString().slice(0, 10),
  });

  it("allocates to the oldest unpaid installment first, then prepays", () => {
    const s = [inst(1, "2024-03-15", "4000.00", "4000.00"), inst(2, "2025-03-15", "4000.00", "1500.00"), inst(3, "2026-03-15", "4000.00")];
    expect(allocateReturnPayment(s, "3000.00")).toEqual({ allocation: [{ seq: 2, amount: "2500.00" }, { seq: 3, amount: "500.00" }], unallocated: "0.00" });
    expect(allocateReturnPayment(s, "7000.00").unallocated).toBe("500.00");
  });

  it("an installment is due on its due date, in arrears the day after due + grace", () => {
    const i = inst(1, "2025-03-15", "4000.00", "0.00", 5);
    expect(installmentStatus(i, "2025-03-14")).toBe("NOT_DUE");
    expect(installmentStatus(i, "2025-03-15")).toBe("DUE");
    expect(installmentStatus(i, "2025-03-20")).toBe("DUE");
    expect(installmentStatus(i, "2025-03-21")).toBe("IN_ARREARS");
    expect(daysInArrears(i, "2025-03-21")).toBe(1);
    expect(daysInArrears(i, "2025-04-20")).toBe(31);
    expect(installmentStatus({ ...i, amountPaid: "4000.00" }, "2025-04-20")).toBe("PAID");
  });

  it("arrears add the unpaid parts of installments past due + grace", () => {
    const s = [inst(1, "2024-03-15", "4000.00", "1000.00"), inst(2, "2025-03-15", "4000.00"), inst(3, "2026-03-15", "4000.00")];
    expect(arrearsOf(s, "2025-03-15")).toEqual({ amount: "3000.00", installments: 1, days: 365, since: "2024-03-16" });
    expect(arrearsOf(s, "2025-03-16")).toEqual({ amount: "7000.00", installments: 2, days: 366, since: "2024-03-16" });
    expect(arrearsOf(s, "2024-03-15")).toEqual({ amount: "0.00", installments: 0, days: 0, since: null });
  });
});

describe("exposure and the 2021 ban", () => {
  it("limit is 10 × registered capital, lowered by a county cap", () => {
    expect(exposureLimit("200000.00", "10", null)).toBe("2000000.00");
    expect(exposureLimit("200000.00", "10", "500000.00")).toBe("500000.00");
    expect(exposureLimit("200000.00", "2.5", null)).toBe("500000.00");
    expect(withinExposure("1950000.00", "50000.00", "2000000.00")).toBe(true);
    expect(withinExposure("1950000.01", "50000.00", "2000000.00")).toBe(false);
  });

  it("household loans disbursed from 2021-03-04 may not be entrusted", () => {
    expect(householdLoanEntrustable("2021-03-03")).toBe(true);
    expect(householdLoanEntrustable("2021-03-04")).toBe(false);
    expect(householdLoanEntrustable("2023-06-01")).toBe(false);
  });
});
