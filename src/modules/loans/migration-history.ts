/**
 * A migrated loan's history replayed as the platform would have lived it: disbursed on its date
 * with the schedule a disbursement writes (`disbursementSchedule`), each repayment allocated on its
 * value date by the same plan as a repayment entered that day (`planRepayment`), and the close of
 * business's model (`closeDates`) run for every date in between and on to the last closed date.
 * Pure: the loan, its first schedule, the repayments, the subsidy terms and the dates in; the loan
 * as it stands after, and each repayment with the schedule it was allocated over, out.
 */
import { AppError } from "../../lib/errors.js";
import { addDays } from "../../lib/dates.js";
import { D } from "../../lib/money.js";
import { withLateForfeits, type SubsidyTerms } from "./household-interest.js";
import { type LoanRow, type PeriodRow, toState } from "./queries.js";
import { planNeedsTerms, planRepayment, type RepaymentPlan } from "./repayment-plan.js";
import { currentPeriod, standingColumns } from "./standing.js";
import { closeDates, type ForfeitAllOn } from "./value-dates.js";
import { fmt } from "./common.js";

export interface PastRepayment {
  value_date: string;
  amount: string;
}

export interface ReplayedRepayment {
  plan: RepaymentPlan;
  /** The schedule as of the value date, before the payment (kept as `schedule_before`). */
  scheduleBefore: PeriodRow[];
}

export interface ReplayedLoan {
  rows: PeriodRow[];
  standing: ReturnType<typeof standingColumns>;
  outstanding: string;
  status: "DISBURSED" | "REPAID";
  closedOn: string | null;
  repayments: ReplayedRepayment[];
}

/** A repayment the history cannot take, with its index among the repayments in value-date order. */
export class ReplayRefusal extends Error {
  constructor(
    readonly index: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** The standing a disbursement writes: nothing overdue, the first period current. */
export function standingAtDisbursement(loan: LoanRow, rows: PeriodRow[], on: string): ReturnType<typeof standingColumns> {
  return {
    ...standingColumns(loan, rows.map(toState), rows, on),
    cur_period_start: rows[0].accrual_start,
    cur_period_end: rows[0].accrual_end,
    cur_period_interest: rows[0].interest_due,
    standing_date: on,
  };
}

/**
 * Replays a loan disbursed on `loan.disbursed_on` with `schedule`, its repayments (in value-date
 * order) and the closes of business through `through`. `terms` are the loan's subsidy terms, passed
 * to a plan only when the live path would fetch them (the payment reaches into a current period
 * that carries a TO_BANK share). A repayment after the payoff, or one the allocation refuses
 * (more than the payoff, a payoff short of the interest to date), throws `ReplayRefusal`.
 */
export function replayHistory(loan: LoanRow, schedule: PeriodRow[], repayments: PastRepayment[], through: string, terms: SubsidyTerms | null, forfeitAll: ForfeitAllOn): ReplayedLoan {
  let current: LoanRow = { ...loan, status: "DISBURSED", outstanding_principal: loan.amount, closed_on: null };
  let rows = schedule;
  let standing = standingAtDisbursement(current, rows, loan.disbursed_on!);
  let from = loan.disbursed_on!;
  const done: ReplayedRepayment[] = [];
  for (const [k, r] of repayments.entries()) {
    if (current.status === "REPAID") {
      throw new ReplayRefusal(k, "MIGRATION_REPAYMENT_AFTER_PAYOFF", `贷款已于 ${current.closed_on} 结清，其后不能再有还款 / the loan was paid off on ${current.closed_on}; no repayment follows`);
    }
    const rolled = closeDates(current, rows, standing, from, addDays(r.value_date, -1), forfeitAll);
    const before = withLateForfeits(rolled.rows, r.value_date).rows;
    const amount = new D(r.amount);
    const cur = currentPeriod(before, r.value_date);
    const planTerms = planNeedsTerms(current, before, r.value_date, amount) && cur && new D(cur.interest_subsidy).gt(0) ? terms : null;
    let plan: RepaymentPlan;
    try {
      plan = planRepayment(current, before, r.value_date, amount, planTerms);
    } catch (e) {
      if (e instanceof AppError) throw new ReplayRefusal(k, e.code, e.detail ?? e.message);
      throw e;
    }
    done.push({ plan, scheduleBefore: before });
    rows = plan.periods;
    standing = plan.standing;
    from = r.value_date;
    current = { ...current, outstanding_principal: fmt(plan.outstanding), ...(plan.closed ? { status: "REPAID", closed_on: r.value_date } : {}) };
  }
  if (current.status !== "REPAID") {
    const closed = closeDates(current, rows, standing, from, through, forfeitAll);
    rows = closed.rows;
    standing = closed.standing;
  }
  return { rows, standing, outstanding: current.outstanding_principal, status: current.status as "DISBURSED" | "REPAID", closedOn: current.closed_on, repayments: done };
}
