import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addDays } from "../../src/lib/dates.js";
import { D, Money } from "../../src/lib/money.js";
import { type ClosingPeriod, closeOfBusinessDay, type PeriodStatus } from "../../src/modules/loans/model.js";
import { replayHistory } from "../../src/modules/loans/migration-history.js";
import { disbursementSchedule } from "../../src/modules/loans/origination.js";
import { type LoanRow, type PeriodRow, toState } from "../../src/modules/loans/queries.js";
import { closeDates } from "../../src/modules/loans/value-dates.js";

/*
 * closeDates takes together the dates on which a close only adds a day's penalty. Against the plain
 * walk — `closeOfBusinessDay` for every date — the periods come out the same to the last of the ten
 * places kept, whatever the loan, its payments (none, partial, late) and the span closed.
 */

function plainWalk(loan: LoanRow, rows: PeriodRow[], from: string, through: string, forfeitAll: string | null): PeriodRow[] {
  let ps: ClosingPeriod[] = rows.map((r) => ({ ...toState(r), status: r.status as PeriodStatus, settledOn: r.settled_on, interestSubsidy: new D(r.interest_subsidy), subsidyForfeited: r.subsidy_forfeited }));
  for (let d = from; d <= through; d = addDays(d, 1)) {
    ps = closeOfBusinessDay({ active: true, annualRate: loan.annual_rate!, penaltyMarkup: loan.penalty_markup, graceDays: loan.grace_days, forfeitAll: forfeitAll as never }, ps, d);
  }
  return rows.map((r, k) => ({
    ...r,
    status: ps[k].status,
    settled_on: ps[k].settledOn,
    interest_due: Money.format(ps[k].interestDue),
    interest_subsidy: Money.format(ps[k].interestSubsidy),
    subsidy_forfeited: ps[k].subsidyForfeited,
    penalty_accrued: ps[k].penaltyAccrued.toFixed(10),
    penalty_through: ps[k].penaltyThrough,
  }));
}

const arb = fc.record({
  method: fc.constantFrom("BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"),
  term: fc.constantFrom(3, 6, 12, 24, 36),
  amountFen: fc.integer({ min: 100_000, max: 5_000_000 }),
  grace: fc.constantFrom(0, 3, 10),
  markup: fc.constantFrom("0.3", "0.5", "1"),
  start: fc.integer({ min: 0, max: 400 }),
  payments: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 120 }), fen: fc.integer({ min: 1, max: 300_000 }) }), { maxLength: 3 }),
  span: fc.integer({ min: 0, max: 900 }),
  forfeitAll: fc.constantFrom(null, null, "MISUSE"),
});

describe("closeDates", () => {
  it("equals the close of business run date by date", () => {
    fc.assert(
      fc.property(arb, (x) => {
        const on = addDays("2022-01-01", x.start);
        const amount = new D(x.amountFen).div(100).toFixed(2);
        const loan = {
          id: "00000000-0000-4000-8000-000000000001", county_code: "469030", grace_days: x.grace, amount, repayment_method: x.method, term_months: x.term,
          annual_rate: "0.043500", penalty_markup: x.markup, disbursed_on: on, maturity_date: null, status: "DISBURSED", outstanding_principal: amount, closed_on: null,
        } as unknown as LoanRow;
        const { rows, maturity } = disbursementSchedule({ ...loan, annual_rate: "0.043500" }, null, on);
        let vd = on;
        const reps = x.payments.map((p) => ({ value_date: (vd = addDays(vd, p.gap)), amount: new D(p.fen).div(100).toFixed(2) }));
        const last = reps.length > 0 ? reps[reps.length - 1].value_date : on;
        let state;
        try {
          // The loan after its payments, closed through the last one's date (payments the allocation refuses are left out).
          state = replayHistory({ ...loan, maturity_date: maturity }, rows, reps, addDays(last, -1), null, () => null);
        } catch {
          state = replayHistory({ ...loan, maturity_date: maturity }, rows, [], addDays(last, -1), null, () => null);
        }
        if (state.status !== "DISBURSED") return;
        const through = addDays(last, x.span);
        const fast = closeDates({ ...loan, maturity_date: maturity }, state.rows, state.standing, last, through, () => x.forfeitAll as never).rows;
        expect(fast).toEqual(plainWalk({ ...loan, maturity_date: maturity }, state.rows, last, through, x.forfeitAll));
      }),
      { numRuns: 150, seed: 20261202 },
    );
  });
});
