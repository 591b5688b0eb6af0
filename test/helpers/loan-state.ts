import fc from "fast-check";
import type { Knex } from "knex";
import { D } from "../../src/lib/money.js";
import type { LoanRow, PeriodRow } from "../../src/modules/loans/queries.js";
import { product } from "../api/loans-helpers.js";
import type { TestApp } from "./harness.js";

/**
 * The twin loan's terms the value-date and migration property tests draw (in this order, so a
 * fixed seed draws the same loans); `twinLoanSpec` makes its product.
 */
export const twinLoanTerms = {
  method: fc.constantFrom("BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"),
  termMonths: fc.constantFrom(3, 6, 12),
  amountFen: fc.integer({ min: 500_000, max: 5_000_000 }),
  toBank: fc.boolean(),
  graceDays: fc.constantFrom(0, 3, 10),
  markup: fc.constantFrom("0.3", "0.5"),
};

/**
 * The loan of a twin-loan scenario: a fixed-rate product (4.35%) with the scenario's penalty
 * markup, grace days and subsidy mode (70%, 36 months), and the loan's amount, term and method.
 */
export async function twinLoanSpec(t: TestApp, sc: { markup: string; graceDays: number; toBank: boolean; amountFen: number; termMonths: number; method: string }) {
  const p = await product(t, {
    rate_rule: "FIXED",
    fixed_rate: "0.043500",
    penalty_markup: sc.markup,
    grace_days: sc.graceDays,
    subsidy: { mode: sc.toBank ? "TO_BANK" : "TO_HOUSEHOLD", ratio: "0.7", term_months: 36 },
  });
  return { product: p, spec: { product_id: p.id, amount: new D(sc.amountFen).div(100).toFixed(2), term_months: sc.termMonths, repayment_method: sc.method } };
}

/**
 * What two twin loans must agree on when they are the same loan reached two ways (on time and
 * late, through a file, migrated): the contract and its standing, every period (penalty to 1e-8 of
 * the ten places kept, as between the close's SQL and its model) and the repayments not reversed.
 */
export async function loanState(db: Knex, id: string) {
  const loan = await db("loans").where({ id }).first<LoanRow>();
  const periods = await db("loan_schedule_periods").where({ loan_id: id }).orderBy("seq").select<PeriodRow[]>();
  const reps = await db("loan_repayments").where({ loan_id: id }).whereNull("reversed_at").orderBy(["paid_on", "created_at"]).select();
  return {
    loan: {
      status: loan.status,
      amount: loan.amount,
      annual_rate: loan.annual_rate,
      disbursed_on: loan.disbursed_on,
      maturity_date: loan.maturity_date,
      outstanding_principal: loan.outstanding_principal,
      closed_on: loan.closed_on,
      dpd: loan.dpd,
      dpd_bucket: loan.dpd_bucket,
      overdue_principal: loan.overdue_principal,
      overdue_interest: loan.overdue_interest,
      penalty_due: loan.penalty_due,
      cur_period: [loan.cur_period_start, loan.cur_period_end, loan.cur_period_interest],
    },
    periods: periods.map(({ loan_id: _l, penalty_accrued, ...p }) => ({ ...p, penalty: new D(penalty_accrued).toDecimalPlaces(8).toFixed(8) })),
    repayments: reps.map((r) => ({ paid_on: r.paid_on, amount: r.amount, penalty: r.penalty, interest: r.interest, principal: r.principal, prepayment: r.prepayment, allocation: r.allocation })),
  };
}
