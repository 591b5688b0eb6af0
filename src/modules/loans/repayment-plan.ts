/**
 * A repayment computed whole before anything is written: the allocation, the schedule after it
 * (penalty accrued, amounts paid, statuses, a prepayment's new schedule or a payoff's ended
 * period), the loan's new outstanding and standing, and the amounts the journal entry posts.
 * Pure: the same plan serves a single repayment, a back-dated one and a bank file's rows.
 */
import { AppError } from "../../lib/errors.js";
import { type Dec, D, Money } from "../../lib/money.js";
import { splitInterest, type SubsidyTerms } from "./household-interest.js";
import { type Allocation, allocatePayment, amountDue, isSettled, overdueFrom, type PeriodState, remainingSchedule, spanInterest } from "./model.js";
import { type LoanRow, periodRows, type PeriodRow, toState } from "./queries.js";
import { fmt } from "./common.js";
import { accruedToDate, carriedOf, currentPeriod, endedPeriod, payoffWith, standingColumns, statesAsOf, statusOf } from "./standing.js";

export interface RepaymentPlan {
  on: string;
  amount: Dec;
  allocation: Allocation;
  /** The whole schedule after the payment, as it is to be stored. */
  periods: PeriodRow[];
  principal: Dec;
  interest: Dec;
  penalty: Dec;
  /** Principal paid ahead of its due date. */
  prepayment: Dec;
  outstanding: Dec;
  closed: boolean;
  standing: ReturnType<typeof standingColumns>;
}

/** True when the payment reaches into the current period's interest, so the subsidy terms are needed (payoff). */
export function planNeedsTerms(loan: LoanRow, rows: PeriodRow[], on: string, amount: Dec, states: PeriodState[] = statesAsOf(loan, rows, on)): boolean {
  return amount.gt(amountDue(states, on));
}

/**
 * The schedule from the current period on, rebuilt on a new balance or maturity (prepayment,
 * extension): earlier periods are kept, the current one restarts on `on` with the interest earned
 * so far carried, principal prepaid in it stays on it (due and paid).
 */
export function rescheduledRows(loan: LoanRow, rows: PeriodRow[], on: string, terms: SubsidyTerms | null, opts: { balance: Dec; maturity: string; prepaid?: Dec }): PeriodRow[] {
  const cur = currentPeriod(rows, on);
  if (!cur) return rows;
  const opening = new D(cur.opening_principal);
  const carried = carriedOf(cur);
  let start: string;
  let carriedAmount: Dec | undefined;
  if (opts.balance.eq(opening)) {
    start = carried ? carried.through : cur.accrual_start;
    carriedAmount = carried?.amount;
  } else {
    start = on > cur.accrual_start ? on : cur.accrual_start;
    const from = carried ? carried.through : cur.accrual_start;
    carriedAmount = (carried?.amount ?? new D(0)).plus(spanInterest(loan.repayment_method, opening, new D(loan.annual_rate!), from, start, { accrualStart: cur.accrual_start, accrualEnd: cur.accrual_end }));
  }
  const periods = opts.balance.isZero()
    ? []
    : remainingSchedule({
        method: loan.repayment_method,
        balance: opts.balance,
        annualRate: loan.annual_rate!,
        anchorDate: loan.disbursed_on!,
        maturityDate: opts.maturity,
        start,
        periodStart: cur.accrual_start,
        carried: carriedAmount,
        firstSeq: cur.seq,
      });
  const fresh = periodRows(loan, periods, (due) => overdueFrom(due, loan.grace_days));
  if (fresh.length > 0) {
    const prepaid = new D(cur.principal_paid).plus(opts.prepaid ?? 0);
    Object.assign(fresh[0], {
      principal_due: fmt(new D(fresh[0].principal_due).plus(prepaid)),
      principal_paid: fmt(prepaid),
      ...(start !== cur.accrual_start && carriedAmount ? { carried_interest: carriedAmount.toFixed(10), carried_through: start } : {}),
    });
  }
  return [...rows.filter((r) => r.seq < cur.seq), ...splitInterest(terms, fresh)];
}

/**
 * A payment of `amount` on `on` over `rows` (as of `on`: late subsidy shares already forfeited):
 * penalty brought to the day before, allocated (penalty → overdue interest → overdue principal →
 * due now → prepayment), the schedule after it. `terms` when `planNeedsTerms` says so.
 * Refuses more than the payoff (LOAN_OVERPAYMENT) and a payoff short of the interest to date.
 */
export function planRepayment(loan: LoanRow, rows: PeriodRow[], on: string, amount: Dec, terms: SubsidyTerms | null, states: PeriodState[] = statesAsOf(loan, rows, on)): RepaymentPlan {
  const payoff = payoffWith(loan, rows, states, on, terms);
  if (amount.gt(payoff)) {
    throw new AppError("LOAN_OVERPAYMENT", {
      zh: `还款 ${fmt(amount)} 超过 ${on} 结清贷款所需的 ${fmt(payoff)}`,
      en: `The payment ${fmt(amount)} is more than the ${fmt(payoff)} that closes the loan on ${on}`,
    });
  }
  const alloc = allocatePayment(states, amount, { graceDays: loan.grace_days, on });
  const byseq = new Map(alloc.perPeriod.map((a) => [a.seq, a]));
  let periods = rows.map((r, k) => {
    const s = states[k];
    const a = byseq.get(r.seq);
    const accrued = !s.penaltyAccrued.eq(r.penalty_accrued) || s.penaltyThrough !== r.penalty_through;
    if (!a && !accrued) return r;
    const after: PeriodState = {
      ...s,
      principalPaid: s.principalPaid.plus(a?.principal ?? 0),
      interestPaid: s.interestPaid.plus(a?.interest ?? 0),
      penaltyPaid: s.penaltyPaid.plus(a?.penalty ?? 0),
    };
    const status = statusOf(after, loan.grace_days, on);
    return {
      ...r,
      principal_paid: fmt(after.principalPaid),
      interest_paid: fmt(after.interestPaid),
      penalty_paid: fmt(after.penaltyPaid),
      penalty_accrued: after.penaltyAccrued.toFixed(10),
      penalty_through: after.penaltyThrough,
      status,
      settled_on: status === "PAID" ? on : null,
    };
  });
  let prepaidInterest = new D(0);
  let closed = false;
  const futurePrincipal = Money.sum(periods.filter((r) => r.due_date > on).map((r) => new D(r.principal_due).minus(r.principal_paid)));
  if (alloc.prepayment.gt(0)) {
    const cur = currentPeriod(periods, on)!;
    if (alloc.prepayment.gte(futurePrincipal)) {
      // Payoff: the current period ends today with its interest to date; later periods go.
      const accrued = accruedToDate(loan, cur, on, terms);
      if (!alloc.prepayment.eq(futurePrincipal.plus(accrued.household))) {
        throw new AppError("LOAN_PAYOFF_SHORT", {
          zh: `在 ${on} 结清贷款须还 ${fmt(payoff)}（在应还金额之外，另加本金 ${fmt(futurePrincipal)} 和截至当日的利息 ${fmt(accrued.household)}）`,
          en: `To close the loan on ${on} pay ${fmt(payoff)} (principal ${fmt(futurePrincipal)} and interest to date ${fmt(accrued.household)} on top of what is due)`,
        });
      }
      prepaidInterest = accrued.household;
      periods = [...periods.filter((r) => r.seq < cur.seq), endedPeriod(loan, periods, cur, on, accrued)];
      closed = true;
    } else {
      periods = rescheduledRows(loan, periods, on, terms, { balance: futurePrincipal.minus(alloc.prepayment), maturity: loan.maturity_date!, prepaid: alloc.prepayment });
    }
  }
  const principal = alloc.overduePrincipal.plus(alloc.principalDueNow).plus(alloc.prepayment).minus(prepaidInterest);
  const interest = alloc.overdueInterest.plus(alloc.interestDueNow).plus(prepaidInterest);
  const outstanding = new D(loan.outstanding_principal).minus(principal);
  if (outstanding.isNeg()) throw new AppError("INTERNAL", { zh: "未还本金将变为负数", en: "outstanding principal would go negative" });
  const finalStates = periods.map(toState);
  if (outstanding.isZero() && finalStates.every(isSettled)) closed = true;
  return {
    on,
    amount,
    allocation: alloc,
    periods,
    principal,
    interest,
    penalty: alloc.penalty,
    prepayment: alloc.prepayment.minus(prepaidInterest),
    outstanding,
    closed,
    standing: standingColumns(loan, finalStates, periods, on),
  };
}
