import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D, type Dec, Money } from "../../src/lib/money.js";
import {
  accruePenalty,
  ageOn,
  allocatePayment,
  buildSchedule,
  daysPastDue,
  dpdBucket,
  isNonPerforming,
  maturityOf,
  type PeriodState,
  remainingSchedule,
  type RepaymentMethod,
  settlementDates,
  unpaidPenalty,
} from "../../src/modules/loans/model.js";
import { addMonthsClamped } from "../../src/lib/dates.js";

const f = (v: Dec) => Money.format(v);
const sum = (xs: Dec[]) => Money.sum(xs);

function state(p: ReturnType<typeof buildSchedule>[number], paid: Partial<PeriodState> = {}): PeriodState {
  return {
    seq: p.seq,
    accrualStart: p.accrualStart,
    accrualEnd: p.accrualEnd,
    dueDate: p.dueDate,
    principalDue: p.principal,
    interestDue: p.interest,
    principalPaid: new D(0),
    interestPaid: new D(0),
    penaltyAccrued: new D(0),
    penaltyPaid: new D(0),
    penaltyThrough: null,
    ...paid,
  };
}

describe("dates", () => {
  it("clamps to the month end and keeps the disbursement day", () => {
    expect([1, 2, 3, 4].map((k) => addMonthsClamped("2025-01-31", k))).toEqual(["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"]);
    expect(addMonthsClamped("2024-01-31", 1)).toBe("2024-02-29");
    expect(addMonthsClamped("2024-11-15", 3)).toBe("2025-02-15");
  });
  it("settlement dates are the 20th of Mar/Jun/Sep/Dec on or after disbursement, before maturity", () => {
    expect(settlementDates("2024-03-20", "2024-12-20")).toEqual(["2024-03-20", "2024-06-20", "2024-09-20"]);
  });
  it("age in whole years", () => {
    expect(ageOn("1960-06-03", "2025-06-02")).toBe(64);
    expect(ageOn("1960-06-02", "2025-06-02")).toBe(65);
  });
});

describe("BULLET_QUARTERLY (到期还本、按季结息)", () => {
  const s = buildSchedule({ method: "BULLET_QUARTERLY", principal: "50000.00", annualRate: "0.0345", disbursedOn: "2024-01-10", maturityDate: "2027-01-10" });
  it("matches the worked example of docs/DOMAIN.md#repayment-methods to the fen", () => {
    expect(s).toHaveLength(13);
    expect([s[0].dueDate, s[0].days, f(s[0].interest)]).toEqual(["2024-03-20", 71, "340.21"]);
    expect([s[1].dueDate, s[1].days, f(s[1].interest)]).toEqual(["2024-06-20", 92, "440.83"]);
    const dec = s.find((p) => p.dueDate === "2026-12-20")!;
    expect([dec.days, f(dec.interest)]).toEqual([91, "436.04"]);
    const last = s[12];
    expect([last.dueDate, last.days, f(last.interest), f(last.principal)]).toEqual(["2027-01-10", 20, "95.83", "50000.00"]);
    expect(s.reduce((a, p) => a + p.days, 0)).toBe(1096);
    expect(f(sum(s.map((p) => p.interest)))).toBe("5251.64");
    expect(s.slice(0, 12).every((p) => p.principal.isZero())).toBe(true);
  });
  it("disbursed on a settlement date: a one-day first period", () => {
    const x = buildSchedule({ method: "BULLET_QUARTERLY", principal: "10000.00", annualRate: "0.0345", disbursedOn: "2024-03-20", maturityDate: "2025-03-20" });
    expect([x[0].dueDate, x[0].days, f(x[0].interest)]).toEqual(["2024-03-20", 1, "0.96"]);
    expect(x.reduce((a, p) => a + p.days, 0)).toBe(365);
    // maturity on a settlement date: the settlement date itself is not in the loan's settlement dates
    expect(x[x.length - 1].dueDate).toBe("2025-03-20");
  });
  it("maturity the day after a settlement date: last period has zero days, still carries the principal", () => {
    const x = buildSchedule({ method: "BULLET_QUARTERLY", principal: "10000.00", annualRate: "0.0345", disbursedOn: "2024-03-21", maturityDate: "2024-09-21" });
    const last = x[x.length - 1];
    expect([last.days, f(last.interest), f(last.principal)]).toEqual([0, "0.00", "10000.00"]);
  });
  it("leap year: 2024-02-29 is a day of interest", () => {
    const x = buildSchedule({ method: "BULLET_QUARTERLY", principal: "36000.00", annualRate: "0.036", disbursedOn: "2024-01-20", maturityDate: "2025-01-20" });
    expect(x[0].days).toBe(12 + 29 + 20); // Jan 20..Mar 20 inclusive, Feb has 29 days
    expect(f(x[0].interest)).toBe("219.60"); // 36000 × 0.036 / 360 × 61
  });
});

describe("EQUAL_INSTALLMENT (等额本息)", () => {
  const s = buildSchedule({ method: "EQUAL_INSTALLMENT", principal: "50000.00", annualRate: "0.0435", disbursedOn: "2024-01-15", maturityDate: maturityOf("2024-01-15", 36) });
  it("matches the worked example of docs/DOMAIN.md#repayment-methods to the fen", () => {
    expect(s).toHaveLength(36);
    expect(f(s[0].principal.plus(s[0].interest))).toBe("1484.00");
    expect([f(s[0].interest), f(s[0].principal)]).toEqual(["181.25", "1302.75"]);
    expect(f(s[1].interest)).toBe("176.53");
    expect([f(s[35].interest), f(s[35].principal)]).toEqual(["5.36", "1478.54"]);
    expect(f(sum(s.map((p) => p.interest)))).toBe("3423.90");
    expect(f(sum(s.map((p) => p.principal)))).toBe("50000.00");
  });
  it("Jan 31 disbursement: due Feb 28, Mar 31, Apr 30", () => {
    const x = buildSchedule({ method: "EQUAL_INSTALLMENT", principal: "12000.00", annualRate: "0.0345", disbursedOn: "2025-01-31", maturityDate: maturityOf("2025-01-31", 12) });
    expect(x.slice(0, 3).map((p) => p.dueDate)).toEqual(["2025-02-28", "2025-03-31", "2025-04-30"]);
    expect(x[11].dueDate).toBe("2026-01-31");
  });
});

describe("EQUAL_PRINCIPAL (等额本金)", () => {
  it("equal principal, the last month takes the rest, interest on the balance × rate/12", () => {
    const x = buildSchedule({ method: "EQUAL_PRINCIPAL", principal: "10000.00", annualRate: "0.0345", disbursedOn: "2025-03-10", maturityDate: maturityOf("2025-03-10", 3) });
    expect(x.map((p) => f(p.principal))).toEqual(["3333.33", "3333.33", "3333.34"]);
    expect(x.map((p) => f(p.interest))).toEqual(["28.75", "19.17", "9.58"]);
    expect(x.map((p) => p.dueDate)).toEqual(["2025-04-10", "2025-05-10", "2025-06-10"]);
  });
  it("36 months on 50,000 at 3.95%", () => {
    const x = buildSchedule({ method: "EQUAL_PRINCIPAL", principal: "50000.00", annualRate: "0.0395", disbursedOn: "2024-02-29", maturityDate: maturityOf("2024-02-29", 36) });
    expect(f(x[0].principal)).toBe("1388.89");
    expect(f(x[35].principal)).toBe("1388.85");
    expect(f(x[0].interest)).toBe("164.58"); // 50000 × 0.0395 / 12 = 164.5833
    expect(x[0].dueDate).toBe("2024-03-29");
    expect(x[11].dueDate).toBe("2025-02-28");
  });
  it("an exact half fen of a month's interest rounds up (the rate is divided by 12 last)", () => {
    // 18,750 × 0.04% / 12 = 0.625 exactly → 0.63; dividing the rate by 12 first gives 0.6249…9 → 0.62.
    const x = buildSchedule({ method: "EQUAL_PRINCIPAL", principal: "37500.00", annualRate: "0.0004", disbursedOn: "2025-03-10", maturityDate: maturityOf("2025-03-10", 2) });
    expect(x.map((p) => f(p.openingPrincipal))).toEqual(["37500.00", "18750.00"]);
    expect(x.map((p) => f(p.interest))).toEqual(["1.25", "0.63"]);
  });
});

describe("prepayment reschedule", () => {
  it("recomputes the current period's interest in two spans and future interest on the new balance", () => {
    const s = buildSchedule({ method: "BULLET_QUARTERLY", principal: "50000.00", annualRate: "0.0345", disbursedOn: "2024-01-10", maturityDate: "2027-01-10" });
    // prepay 20,000 on 2024-05-01 inside period 2 (2024-03-21 .. 2024-06-20)
    const carried = new D("50000").mul("0.0345").mul(41).div(360); // 03-21 .. 04-30
    const r = remainingSchedule({ method: "BULLET_QUARTERLY", balance: "30000.00", annualRate: "0.0345", anchorDate: "2024-01-10", maturityDate: "2027-01-10", start: "2024-05-01", periodStart: "2024-03-21", carried, firstSeq: 2 });
    expect(r[0].dueDate).toBe("2024-06-20");
    expect(r[0].days).toBe(92);
    expect(f(r[0].interest)).toBe(f(Money.toFen(carried.plus(new D("30000").mul("0.0345").mul(51).div(360)))));
    expect(f(r[1].interest)).toBe(f(Money.toFen(new D("30000").mul("0.0345").mul(92).div(360))));
    expect(f(r[r.length - 1].principal)).toBe("30000.00");
  });
});

describe("allocation", () => {
  const s = buildSchedule({ method: "EQUAL_PRINCIPAL", principal: "3000.00", annualRate: "0.0345", disbursedOn: "2025-01-10", maturityDate: "2025-04-10" });
  it("penalty → overdue interest → overdue principal → due now → prepayment", () => {
    let p1 = state(s[0]);
    p1 = accruePenalty(p1, { annualRate: "0.0345", markup: "0.5", graceDays: 0, through: "2025-03-09" }); // overdue 02-11 .. 03-09
    const periods = [p1, state(s[1]), state(s[2])];
    expect(f(unpaidPenalty(p1))).toBe(f(Money.toFen(new D("1008.63").mul("0.0345").mul("1.5").div(360).mul(27))));
    const a = allocatePayment(periods, new D("3000"), { graceDays: 0, on: "2025-03-10" });
    expect(f(a.penalty)).toBe(f(unpaidPenalty(p1)));
    expect(f(a.overdueInterest)).toBe("8.63");
    expect(f(a.overduePrincipal)).toBe("1000.00");
    expect(f(a.interestDueNow)).toBe(f(s[1].interest));
    expect(f(a.principalDueNow)).toBe("1000.00");
    expect(f(a.prepayment)).toBe(f(new D(3000).minus(a.penalty).minus("8.63").minus(1000).minus(s[1].interest).minus(1000)));
  });
  it("DPD and buckets", () => {
    const periods = [state(s[0]), state(s[1]), state(s[2])];
    expect(daysPastDue(periods, 0, "2025-02-10")).toBe(0);
    expect(daysPastDue(periods, 0, "2025-02-11")).toBe(1);
    expect(daysPastDue(periods, 3, "2025-02-13")).toBe(0);
    expect(daysPastDue(periods, 3, "2025-02-14")).toBe(4);
    expect(daysPastDue(periods, 0, "2025-05-12")).toBe(91);
    expect([0, 1, 30, 31, 90, 91, 180, 181].map(dpdBucket)).toEqual(["CURRENT", "DPD_1_30", "DPD_1_30", "DPD_31_90", "DPD_31_90", "DPD_91_180", "DPD_91_180", "DPD_181_PLUS"]);
    expect([isNonPerforming(90), isNonPerforming(91)]).toEqual([false, true]);
  });
});

describe("properties", () => {
  const method = fc.constantFrom<RepaymentMethod>("BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL");
  const amount = fc.integer({ min: 100, max: 5_000_000 }).map((fen) => new D(fen).div(100));
  const rate = fc.integer({ min: 100, max: 90000 }).map((x) => new D(x).div(1_000_000));
  const date = fc.integer({ min: 0, max: 3650 }).map((n) => new Date(Date.UTC(2020, 0, 1) + n * 86_400_000).toISOString().slice(0, 10));
  const term = fc.integer({ min: 1, max: 36 });

  it("the periods' principal adds up to the amount; interest = balance × rate × days (or /12) rounded", () => {
    fc.assert(
      fc.property(method, amount, rate, date, term, (m, p, r, d0, n) => {
        const s = buildSchedule({ method: m, principal: p, annualRate: r, disbursedOn: d0, maturityDate: maturityOf(d0, n) });
        expect(sum(s.map((x) => x.principal)).eq(p)).toBe(true);
        expect(s.reduce((a, x) => a + x.days, 0)).toBe(Math.round((Date.parse(maturityOf(d0, n)) - Date.parse(d0)) / 86_400_000));
        for (const x of s) {
          expect(x.principal.gte(0)).toBe(true);
          const expected = m === "BULLET_QUARTERLY" ? x.openingPrincipal.mul(r).mul(x.days).div(360) : x.openingPrincipal.mul(r).div(12);
          expect(x.interest.eq(Money.toFen(expected))).toBe(true);
        }
        if (m !== "BULLET_QUARTERLY") expect(s).toHaveLength(n);
      }),
      { numRuns: 300 },
    );
  });

  it("allocation never pays more than is due, and pays in the order of the rule", () => {
    fc.assert(
      fc.property(method, amount, rate, date, term, fc.integer({ min: 0, max: 800 }), fc.integer({ min: 0, max: 10_000_000 }), (m, p, r, d0, n, after, payFen) => {
        const s = buildSchedule({ method: m, principal: p, annualRate: r, disbursedOn: d0, maturityDate: maturityOf(d0, n) });
        const on = new Date(Date.parse(d0) + after * 86_400_000).toISOString().slice(0, 10);
        const periods = s.map((x) => accruePenalty(state(x), { annualRate: r, markup: "0.5", graceDays: 0, through: on }));
        const pay = new D(payFen).div(100);
        const a = allocatePayment(periods, pay, { graceDays: 0, on });
        const taken = a.penalty.plus(a.overdueInterest).plus(a.overduePrincipal).plus(a.interestDueNow).plus(a.principalDueNow);
        expect(taken.plus(a.prepayment).eq(pay)).toBe(true);
        expect(a.prepayment.gte(0)).toBe(true);
        for (const pa of a.perPeriod) {
          const st = periods.find((x) => x.seq === pa.seq)!;
          expect(pa.principal.lte(st.principalDue)).toBe(true);
          expect(pa.interest.lte(st.interestDue)).toBe(true);
          expect(pa.penalty.lte(unpaidPenalty(st))).toBe(true);
        }
        if (a.prepayment.gt(0)) {
          // everything due was paid first
          const due = periods.filter((x) => x.dueDate <= on);
          expect(taken.eq(sum(due.map((x) => unpaidPenalty(x).plus(x.interestDue).plus(x.principalDue))))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
