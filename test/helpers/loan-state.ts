import type { Knex } from "knex";
import { D } from "../../src/lib/money.js";
import type { LoanRow, PeriodRow } from "../../src/modules/loans/queries.js";

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
