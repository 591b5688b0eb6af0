/** A loan's schedule state and standing as of a date: period states, current period, accrued interest, payoff, DPD and overdue columns. */
import type { Knex } from "knex";
import { type Dec, D, Money } from "../../lib/money.js";
import { subsidyShare, type SubsidyTerms, subsidyTermsOf, withLateForfeits } from "./household-interest.js";
import {
  ACTIVE_STATUSES,
  accruePenalty,
  accruedInCurrentPeriod,
  amountDue,
  dpdBucket,
  isOverdueOn,
  isSettled,
  loanStanding,
  overdueFrom,
  type PeriodState,
} from "./model.js";
import { addDays, daysBetween } from "../../lib/dates.js";
import { type LoanRow, periodsOf, type PeriodRow, savePeriods, toState } from "./queries.js";
import { fmt } from "./common.js";

type Db = Knex | Knex.Transaction;

export interface Standing {
  dpd: number;
  overduePrincipal: Dec;
  overdueInterest: Dec;
  penalty: Dec;
}

export const isActive = (l: LoanRow) => (ACTIVE_STATUSES as readonly string[]).includes(l.status);

/** Penalty brought up to the day before `on` for every period (the close of business may not have run). */
export function statesAsOf(loan: LoanRow, rows: PeriodRow[], on: string): PeriodState[] {
  const through = addDays(on, -1);
  return rows.map((r) => {
    const s = toState(r);
    if (r.status === "PAID" || r.status === "CLOSED") return s;
    return accruePenalty(s, { annualRate: loan.annual_rate!, markup: loan.penalty_markup, graceDays: loan.grace_days, through });
  });
}

export function standingOf(loan: LoanRow, states: PeriodState[], on: string): Standing {
  const st = loanStanding(states, loan.grace_days, on);
  return { dpd: st.dpd, overduePrincipal: st.overduePrincipal, overdueInterest: st.overdueInterest, penalty: st.penaltyDue };
}

/** The period interest is accruing in on a date (the first one not yet due). */
export function currentPeriod(rows: PeriodRow[], on: string): PeriodRow | undefined {
  return rows.find((r) => r.due_date > on && r.status !== "PAID" && r.status !== "CLOSED");
}

export function carriedOf(r: PeriodRow): { amount: Dec; through: string } | undefined {
  return r.carried_interest !== null && r.carried_through !== null ? { amount: new D(r.carried_interest), through: r.carried_through } : undefined;
}

/**
 * Interest of the current period to date (exclusive), rounded once: the contract interest, and the
 * household's part of it when a TO_BANK share applies (the period cut short on `on` keeps its own
 * subsidy share, computed as the claims will).
 */
export function accruedToDate(loan: LoanRow, cur: PeriodRow | undefined, on: string, terms: SubsidyTerms | null): { contract: Dec; share: Dec; household: Dec } {
  if (!cur) return { contract: new D(0), share: new D(0), household: new D(0) };
  const contract = accruedInCurrentPeriod(
    { accrualStart: cur.accrual_start, accrualEnd: cur.accrual_end, interestDue: new D(cur.interest_due), openingPrincipal: new D(cur.opening_principal) },
    loan.repayment_method,
    new D(loan.annual_rate!),
    on,
    carriedOf(cur),
  );
  const share = new D(cur.interest_subsidy).gt(0) ? subsidyShare(terms, { ...cur, accrual_end: on, frame_days: frameDaysOf(cur) }, contract) : new D(0);
  return { contract, share, household: contract.minus(share) };
}

/** The scheduled days of a period about to be cut short. */
export function frameDaysOf(cur: PeriodRow): number {
  return cur.frame_days ?? daysBetween(cur.accrual_start, cur.accrual_end);
}

/**
 * The current period ended on `on` (payoff, renewal): settled with all principal not yet due and
 * the interest to date (the household's part paid, the TO_BANK share kept for the claim, the
 * scheduled length kept for the subsidy's pro-rating). Later periods go.
 */
export function endedPeriod(loan: LoanRow, rows: PeriodRow[], cur: PeriodRow, on: string, accrued: { household: Dec; share: Dec }): PeriodRow {
  const principal = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due)));
  // A period that has not begun yet (a bullet loan paid off on the settlement day it was disbursed on) ends where it starts.
  const end = on > cur.accrual_start ? on : cur.accrual_start;
  return {
    ...cur,
    accrual_end: end,
    due_date: on,
    overdue_from: overdueFrom(on, loan.grace_days),
    days: daysBetween(cur.accrual_start, end),
    principal_due: fmt(principal),
    principal_paid: fmt(principal),
    interest_due: fmt(accrued.household),
    interest_subsidy: fmt(accrued.share),
    interest_paid: fmt(accrued.household),
    frame_days: frameDaysOf(cur),
    status: "PAID",
    settled_on: on,
  };
}

/** `endedPeriod`, written: the schedule ends with it. */
export async function endCurrentPeriod(trx: Knex.Transaction, loan: LoanRow, rows: PeriodRow[], cur: PeriodRow, on: string, accrued: { household: Dec; share: Dec }): Promise<PeriodRow> {
  const ended = endedPeriod(loan, rows, cur, on, accrued);
  await savePeriods(trx, loan.id, rows, [...rows.filter((r) => r.seq < cur.seq), ended]);
  return ended;
}

/** The subsidy terms a change to the current period needs: only when that period carries a TO_BANK share. */
export async function termsFor(db: Db, loan: LoanRow, cur: PeriodRow | undefined): Promise<SubsidyTerms | null> {
  return cur && new D(cur.interest_subsidy).gt(0) ? subsidyTermsOf(db, loan) : null;
}

/** What closes the loan on a date, from its periods and their states as of that date and the subsidy terms (see `payoffAmount`). */
export function payoffWith(loan: LoanRow, rows: PeriodRow[], states: PeriodState[], on: string, terms: SubsidyTerms | null): Dec {
  const future = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due).minus(r.principal_paid)));
  return amountDue(states, on).plus(future).plus(accruedToDate(loan, currentPeriod(rows, on), on, terms).household);
}

/**
 * What closes the loan on a date: everything due, the principal not yet due, and the household's
 * part of the current period's interest to date. `rows` as stored; late subsidy shares are
 * forfeited as of `on` here.
 */
export async function payoffAmount(db: Db, loan: LoanRow, stored: PeriodRow[], on: string): Promise<Dec> {
  const rows = withLateForfeits(stored, on).rows;
  return payoffWith(loan, rows, statesAsOf(loan, rows, on), on, await termsFor(db, loan, currentPeriod(rows, on)));
}

/** A loan's periods as of a date: TO_BANK shares of late periods forfeited (the close of business may not have run yet). */
export async function periodsAsOf(db: Db, loanId: string, on: string): Promise<{ rows: PeriodRow[]; forfeited: Set<number> }> {
  return withLateForfeits(await periodsOf(db, loanId), on);
}

export function statusOf(s: PeriodState, graceDays: number, on: string): string {
  if (s.dueDate > on) return "PENDING";
  if (isSettled(s)) return "PAID";
  return isOverdueOn(s, graceDays, on) ? "OVERDUE" : "DUE";
}

/** The loan's standing columns as of a date, from its schedule. */
export function standingColumns(loan: LoanRow, states: PeriodState[], rows: PeriodRow[], on: string) {
  const st = standingOf(loan, states, on);
  const cur = currentPeriod(rows, on);
  return {
    dpd: st.dpd,
    dpd_bucket: dpdBucket(st.dpd),
    overdue_principal: fmt(st.overduePrincipal),
    overdue_interest: fmt(st.overdueInterest),
    penalty_due: fmt(st.penalty),
    cur_period_start: cur?.accrual_start ?? null,
    cur_period_end: cur?.accrual_end ?? null,
    cur_period_interest: cur ? fmt(cur.interest_due) : null,
    standing_date: on,
  };
}
