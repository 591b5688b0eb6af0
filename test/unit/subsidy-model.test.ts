import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D, type Dec, Money } from "../../src/lib/money.js";
import { buildSchedule, maturityOf, type Period, type RepaymentMethod } from "../../src/modules/loans/model.js";
import {
  claimedSubsidy,
  forfeitReason,
  householdInterest,
  periodSubsidy,
  quarterBounds,
  type SubsidyLoan,
  type SubsidyPolicy,
  subsidyRate,
  subsidyTermEnd,
} from "../../src/modules/subsidies/model.js";

const f = (v: Dec) => Money.format(v);
const policy = (p: Partial<SubsidyPolicy> = {}): SubsidyPolicy => ({ ratio: new D(1), rateCap: null, termMonths: 36, principalCap: new D(50000), mode: "TO_BANK", ...p });

function loanOf(method: RepaymentMethod, principal: string, rate: string, disbursedOn: string, months: number, lpr: string | null = null) {
  const periods = buildSchedule({ method, principal, annualRate: rate, disbursedOn, maturityDate: maturityOf(disbursedOn, months) });
  const loan: SubsidyLoan = { method, annualRate: new D(rate), pricedLpr: lpr ? new D(lpr) : null, disbursedOn, amount: new D(principal) };
  return { loan, periods };
}
const sub = (loan: SubsidyLoan, p: Period, pol: SubsidyPolicy) => periodSubsidy(loan, { accrualStart: p.accrualStart, accrualEnd: p.accrualEnd, openingPrincipal: p.openingPrincipal, interest: p.interest }, pol);

describe("subsidy of a period (docs/DOMAIN.md#interest-subsidy)", () => {
  it("BULLET_QUARTERLY, the worked example: 100% is the period's interest; 70% rounds once", () => {
    const { loan, periods } = loanOf("BULLET_QUARTERLY", "50000.00", "0.0345", "2024-01-10", 36);
    expect(f(periods[0].interest)).toBe("340.21");
    expect(f(sub(loan, periods[0], policy()).subsidy)).toBe("340.21");
    expect(f(sub(loan, periods[1], policy()).subsidy)).toBe("440.83");
    expect(f(sub(loan, periods[12], policy()).subsidy)).toBe("95.83");
    // 50,000 × 0.0345 × 71 / 360 × 0.7 = 238.1458… → 238.15
    expect(f(sub(loan, periods[0], policy({ ratio: new D("0.7") })).subsidy)).toBe("238.15");
    // 92 days: 440.8333… × 0.7 = 308.5833… → 308.58
    expect(f(sub(loan, periods[1], policy({ ratio: new D("0.7") })).subsidy)).toBe("308.58");
    const all = Money.sum(periods.map((p) => sub(loan, p, policy()).subsidy));
    expect(f(all)).toBe("5251.64");
  });

  it("EQUAL_INSTALLMENT, the worked example: balance × rate / 12, 100% and 70%", () => {
    const { loan, periods } = loanOf("EQUAL_INSTALLMENT", "50000.00", "0.0435", "2024-01-10", 36);
    expect(periods.map((p) => f(sub(loan, p, policy()).subsidy))).toEqual(periods.map((p) => f(p.interest)));
    expect(f(sub(loan, periods[0], policy()).subsidy)).toBe("181.25");
    expect(f(sub(loan, periods[1], policy()).subsidy)).toBe("176.53");
    expect(f(sub(loan, periods[35], policy()).subsidy)).toBe("5.36");
    // 181.25 × 0.7 = 126.875 → 126.88 (half-up); 48,697.25 × 0.0435 / 12 × 0.7 = 123.5691… → 123.57
    expect(f(sub(loan, periods[0], policy({ ratio: new D("0.7") })).subsidy)).toBe("126.88");
    expect(f(sub(loan, periods[1], policy({ ratio: new D("0.7") })).subsidy)).toBe("123.57");
  });

  it("EQUAL_PRINCIPAL: 12,000 over 12 months at 3.45%", () => {
    const { loan, periods } = loanOf("EQUAL_PRINCIPAL", "12000.00", "0.0345", "2025-01-10", 12);
    expect(f(periods[1].openingPrincipal)).toBe("11000.00");
    expect(f(sub(loan, periods[0], policy()).subsidy)).toBe("34.50");
    expect(f(sub(loan, periods[1], policy()).subsidy)).toBe("31.63"); // 31.625 → 31.63
    expect(f(sub(loan, periods[0], policy({ ratio: new D("0.7") })).subsidy)).toBe("24.15");
    expect(f(sub(loan, periods[1], policy({ ratio: new D("0.7") })).subsidy)).toBe("22.14"); // 22.1375 → 22.14
  });

  it("a contract rate above the cap is subsidised at the cap (explicit, or the LPR the loan was priced on)", () => {
    const { loan, periods } = loanOf("BULLET_QUARTERLY", "50000.00", "0.0435", "2024-01-10", 36, "0.0395");
    expect(f(periods[0].interest)).toBe("428.96"); // 50,000 × 0.0435 × 71 / 360
    expect(f(subsidyRate(loan, { rateCap: new D("0.0345") }))).toBe("0.03");
    expect(subsidyRate(loan, { rateCap: new D("0.0345") }).toString()).toBe("0.0345");
    expect(f(sub(loan, periods[0], policy({ rateCap: new D("0.0345") })).subsidy)).toBe("340.21");
    // No explicit cap: the 5-year LPR 3.95% the loan was priced on: 50,000 × 0.0395 × 71 / 360 = 389.5138… → 389.51
    expect(f(sub(loan, periods[0], policy()).subsidy)).toBe("389.51");
    // A cap above the contract rate changes nothing.
    expect(f(sub(loan, periods[0], policy({ rateCap: new D("0.06") })).subsidy)).toBe("428.96");
  });

  it("a loan above the principal cap is subsidised on the first 50,000 only", () => {
    const { loan, periods } = loanOf("BULLET_QUARTERLY", "60000.00", "0.0345", "2024-01-10", 36);
    expect(f(periods[0].interest)).toBe("408.25"); // 60,000 × 0.0345 × 71 / 360
    const c = sub(loan, periods[0], policy());
    expect(f(c.principalBase)).toBe("50000.00");
    expect(f(c.subsidy)).toBe("340.21");
    // A county cap of 30,000: 30,000 × 0.0345 × 71 / 360 = 204.125 → 204.13
    expect(f(sub(loan, periods[0], policy({ principalCap: new D(30000) })).subsidy)).toBe("204.13");
  });

  it("a period straddling the end of the subsidy term is pro-rated by its days inside the term", () => {
    const { loan, periods } = loanOf("BULLET_QUARTERLY", "50000.00", "0.0345", "2024-01-10", 36);
    expect(subsidyTermEnd("2024-01-10", 24)).toBe("2026-01-10");
    const straddling = periods.find((p) => p.accrualStart <= "2026-01-10" && p.accrualEnd > "2026-01-10")!;
    expect([straddling.accrualStart, straddling.dueDate, straddling.days]).toEqual(["2025-12-21", "2026-03-20", 90]);
    const c = sub(loan, straddling, policy({ termMonths: 24 }));
    expect(c.daysInTerm).toBe(20); // 2025-12-21 .. 2026-01-09
    expect(f(c.subsidy)).toBe("95.83"); // 50,000 × 0.0345 × 20 / 360
    const after = periods.find((p) => p.accrualStart > "2026-01-10")!;
    expect(f(sub(loan, after, policy({ termMonths: 24 })).subsidy)).toBe("0.00");
    const before = periods.find((p) => p.accrualEnd <= "2026-01-10" && p.days > 0)!;
    expect(sub(loan, before, policy({ termMonths: 24 })).subsidy.eq(before.interest)).toBe(true);
    // Monthly: January of a 2025-01-31 loan whose 1-month term ends mid-period is pro rata by days.
    const m = loanOf("EQUAL_PRINCIPAL", "12000.00", "0.0345", "2025-01-15", 12);
    const c2 = sub(m.loan, m.periods[1], policy({ termMonths: 1 }));
    expect(c2.daysInTerm).toBe(0);
    // A 36-month term over a 12-month loan covers everything.
    expect(sub(m.loan, m.periods[11], policy()).daysInTerm).toBe(m.periods[11].days);
  });

  it("a zero-day last period bears no subsidy", () => {
    const { loan, periods } = loanOf("BULLET_QUARTERLY", "50000.00", "0.0345", "2024-03-21", 12);
    const last = periods[periods.length - 1];
    expect(last.days).toBe(0);
    expect(f(sub(loan, last, policy()).subsidy)).toBe("0.00");
  });

  it("a period with carried interest (a prepayment inside it) recomputes both segments", () => {
    const loan: SubsidyLoan = { method: "BULLET_QUARTERLY", annualRate: new D("0.0345"), pricedLpr: null, disbursedOn: "2024-01-10", amount: new D(50000) };
    // The worked example's prepayment: 50,000 for 41 days (carried) then 30,000 for 51 days → 343.08.
    const carried = new D(50000).mul("0.0345").mul(41).div(360);
    const c = periodSubsidy(loan, { accrualStart: "2024-06-21", accrualEnd: "2024-09-21", openingPrincipal: new D(30000), interest: new D("343.08"), carriedInterest: carried, carriedThrough: "2024-08-01" }, policy());
    expect(f(c.subsidy)).toBe("343.08");
  });

  it("a monthly period cut short (payoff) is pro-rated over its scheduled days, not counted as a whole month", () => {
    const loan: SubsidyLoan = { method: "EQUAL_INSTALLMENT", annualRate: new D("0.0435"), pricedLpr: null, disbursedOn: "2025-01-10", amount: new D(10000) };
    // 01-10 .. 02-10 (31 days) paid off on 01-25: 15 days at 4.35% = 17.54; at a 3.45% cap, 70%: 13.91… × 0.7 = 9.74.
    const cut = { accrualStart: "2025-01-10", accrualEnd: "2025-01-25", openingPrincipal: new D(10000), interest: new D("17.54"), frameDays: 31 };
    expect(f(periodSubsidy(loan, cut, policy({ rateCap: new D("0.0345"), ratio: new D("0.7") })).subsidy)).toBe("9.74");
    // Without its scheduled length the 15 days would count as a whole month (28.75 × 0.7 = 20.13, capped at 17.54).
    expect(f(periodSubsidy(loan, { ...cut, frameDays: null }, policy({ rateCap: new D("0.0345"), ratio: new D("0.7") })).subsidy)).toBe("17.54");
  });

  it("forfeiture: late interest, misuse, removed household; exit keeps the subsidy; penalty never counts", () => {
    const ok = { householdRemoved: false, misused: false, interestPaidOnTime: true };
    expect(forfeitReason(ok)).toBeNull();
    expect(forfeitReason({ ...ok, interestPaidOnTime: false })).toBe("LATE_INTEREST");
    expect(forfeitReason({ ...ok, misused: true })).toBe("MISUSE");
    expect(forfeitReason({ ...ok, householdRemoved: true, misused: true, interestPaidOnTime: false })).toBe("HOUSEHOLD_REMOVED");
    const { loan, periods } = loanOf("BULLET_QUARTERLY", "50000.00", "0.0345", "2024-01-10", 36);
    const c = sub(loan, periods[0], policy());
    expect(f(claimedSubsidy(c, "LATE_INTEREST"))).toBe("0.00");
    expect(f(claimedSubsidy(c, null))).toBe("340.21");
    // TO_BANK: the household owes the rest; TO_HOUSEHOLD: all, reimbursed later.
    expect(f(householdInterest(periods[0].interest, sub(loan, periods[0], policy({ ratio: new D("0.7") })).subsidy, "TO_BANK"))).toBe("102.06");
    expect(f(householdInterest(periods[0].interest, c.subsidy, "TO_HOUSEHOLD"))).toBe("340.21");
  });

  it("quarters", () => {
    expect(quarterBounds("2025Q2")).toEqual({ start: "2025-04-01", end: "2025-06-30" });
    expect(quarterBounds("2024Q1")).toEqual({ start: "2024-01-01", end: "2024-03-31" });
    expect(quarterBounds("2025Q4")).toEqual({ start: "2025-10-01", end: "2025-12-31" });
    expect(quarterBounds("2025Q5")).toBeNull();
  });
});

describe("property: a period's subsidy never exceeds its interest", () => {
  it("for random loans, methods, policies, terms and caps", () => {
    const day = fc.integer({ min: 0, max: 3000 }).map((n) => new Date(Date.UTC(2020, 0, 1) + n * 86_400_000).toISOString().slice(0, 10));
    fc.assert(
      fc.property(
        fc.constantFrom<RepaymentMethod>("BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"),
        fc.integer({ min: 100, max: 6_000_000 }).map((fen) => Money.format(new D(fen).div(100))),
        fc.integer({ min: 1, max: 900 }).map((bp) => new D(bp).div(10000).toString()),
        day,
        fc.integer({ min: 1, max: 36 }),
        fc.record({
          ratio: fc.integer({ min: 0, max: 100 }).map((p) => new D(p).div(100)),
          rateCap: fc.option(fc.integer({ min: 1, max: 900 }).map((bp) => new D(bp).div(10000))),
          termMonths: fc.integer({ min: 1, max: 60 }),
          principalCap: fc.integer({ min: 0, max: 80000 }).map((y) => new D(y)),
        }),
        fc.option(fc.integer({ min: 1, max: 900 }).map((bp) => new D(bp).div(10000))),
        (method, principal, rate, disbursedOn, months, pol, lpr) => {
          const { periods } = loanOf(method, principal, rate, disbursedOn, months);
          const loan: SubsidyLoan = { method, annualRate: new D(rate), pricedLpr: lpr, disbursedOn, amount: new D(principal) };
          for (const p of periods) {
            const c = sub(loan, p, { ...pol, mode: "TO_BANK" });
            // Even before the clamp, the one rounding of a smaller exact amount cannot pass the interest.
            if (Money.toFen(c.exact).gt(p.interest) || c.subsidy.gt(p.interest) || c.subsidy.isNeg()) return false;
          }
          return true;
        },
      ),
      {
        numRuns: 300,
        // A period opening at exactly the principal cap whose month of interest is an exact half fen (0.625).
        examples: [["EQUAL_PRINCIPAL", "59999.89", "0.0004", "2024-01-10", 16, { ratio: new D(1), rateCap: null, termMonths: 36, principalCap: new D(18750) }, null]],
      },
    );
  });
});
