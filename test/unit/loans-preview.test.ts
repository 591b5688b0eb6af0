import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addDays } from "../../src/lib/dates.js";
import { D, Money } from "../../src/lib/money.js";
import { termsFrom } from "../../src/modules/loans/household-interest.js";
import type { RepaymentMethod } from "../../src/modules/loans/model.js";
import { disbursementSchedule } from "../../src/modules/loans/origination.js";
import { planOf } from "../../src/modules/loans/preview.js";

/**
 * The plan a preview shows, over random loans and policies: it repays the amount, no period's subsidy
 * exceeds its interest, the household's part is the interest less the subsidy, and the household's
 * annualised rate is never above the contract's.
 */
describe("schedule preview plan: properties", () => {
  const loan = fc.record({
    method: fc.constantFrom<RepaymentMethod>("BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"),
    fen: fc.integer({ min: 100_00, max: 50_000_00 }),
    rate: fc.integer({ min: 1000, max: 90000 }).map((x) => new D(x).div(1_000_000).toString()),
    on: fc.integer({ min: 0, max: 3650 }).map((n) => addDays("2019-08-20", n)),
    term: fc.integer({ min: 1, max: 36 }),
    policy: fc.option(
      fc.record({
        ratio: fc.integer({ min: 0, max: 100 }).map((x) => new D(x).div(100).toString()),
        cap: fc.option(fc.integer({ min: 1000, max: 60000 }).map((x) => new D(x).div(1_000_000).toString()), { nil: null }),
        months: fc.integer({ min: 1, max: 60 }),
        mode: fc.constantFrom("TO_BANK", "TO_HOUSEHOLD"),
      }),
      { nil: null },
    ),
  });

  it("repays the amount; subsidy within the interest; household rate ≤ contract rate", () => {
    fc.assert(
      fc.property(loan, (l) => {
        const amount = new D(l.fen).div(100);
        const terms =
          l.policy &&
          termsFrom(
            { subsidy_ratio: l.policy.ratio, subsidy_rate_cap: l.policy.cap, subsidy_term_months: l.policy.months, subsidy_principal_cap: "50000.00", subsidy_mode: l.policy.mode },
            { method: l.method, annualRate: new D(l.rate), pricedLpr: null, disbursedOn: l.on, amount },
          );
        const s = { id: "", county_code: "", grace_days: 0, amount: Money.format(amount), repayment_method: l.method, term_months: l.term, annual_rate: l.rate };
        const { rows } = disbursementSchedule(s, terms, l.on);
        const plan = planOf(rows, terms, amount, l.on);
        expect(plan.totals.principal).toBe(Money.format(amount));
        for (const p of plan.periods) {
          expect(new D(p.interest_subsidy).lte(p.interest)).toBe(true);
          expect(new D(p.household_interest).eq(new D(p.interest).minus(p.interest_subsidy))).toBe(true);
          expect(new D(p.payment).eq(new D(p.principal).plus(p.interest_due))).toBe(true);
        }
        if (!l.policy) expect(plan.totals.interest_subsidy).toBe("0.00");
        expect(new D(plan.annualised_rate.household).lte(plan.annualised_rate.contract)).toBe(true);
        expect(new D(plan.annualised_rate.contract).gte(0)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
