/**
 * Pure interest-subsidy calculations (docs/DOMAIN.md#interest-subsidy). No I/O. The period's subsidy formula is the loans
 * module's (a loan's schedule carries its split); it is re-exported here, where claims use it. The
 * same formula runs set-based in SQL for claim generation (queries.ts `SUBSIDY_SQL`); the API tests
 * check that both agree to the fen.
 */
import { type Dec, D } from "../../lib/money.js";

export {
  daysInTerm,
  householdInterest,
  periodSubsidy,
  SUBSIDY_MODES,
  type SubsidyComputation,
  type SubsidyLoan,
  type SubsidyMode,
  type SubsidyPeriod,
  type SubsidyPolicy,
  subsidyRate,
  subsidyTermEnd,
} from "../loans/index.js";
import type { SubsidyComputation } from "../loans/index.js";

export const FORFEIT_REASONS = ["HOUSEHOLD_REMOVED", "MISUSE", "LATE_INTEREST"] as const;
export type ForfeitReason = (typeof FORFEIT_REASONS)[number];

export const MISUSE_KINDS = ["PURPOSE_VIOLATION", "HANDED_TO_ENTERPRISE", "FALSE_INFORMATION"] as const;

/** Facts that decide whether a period's subsidy is forfeited. */
export interface ForfeitFacts {
  /** The household's status is REMOVED (清退: registered in error, so not eligible at the loan date either). */
  householdRemoved: boolean;
  /** A misuse finding is recorded on the loan (purpose violation, handed on to an enterprise, false information). */
  misused: boolean;
  /** The period's interest was paid in full by its due date plus grace days. */
  interestPaidOnTime: boolean;
}

/** Why a period's subsidy is forfeited, or null when it is claimed. Penalty interest is never subsidised at all. */
export function forfeitReason(f: ForfeitFacts): ForfeitReason | null {
  if (f.householdRemoved) return "HOUSEHOLD_REMOVED";
  if (f.misused) return "MISUSE";
  if (!f.interestPaidOnTime) return "LATE_INTEREST";
  return null;
}

/** Interest a repayment allocated to a period, with the date it was paid. */
export interface InterestPayment {
  seq: number;
  paidOn: string;
  interest: Dec;
}

/** What decides whether a period's interest came in time, as the loans module stores it. */
export interface PeriodPayment {
  seq: number;
  /** The household's part as stored now (the whole interest once a share is forfeited). */
  interestDue: Dec;
  /** Due date + grace days + 1: the first day the period is late. */
  overdueFrom: string;
  /** The day the period was settled as a whole (null while not). */
  settledOn: string | null;
}

/**
 * True when the period's interest was paid in full before `overdueFrom` (docs/DOMAIN.md#interest-subsidy, LATE_INTEREST
 * otherwise): nothing owed, the period settled as a whole before then, or the interest the
 * repayments dated before then allocated to it covers what is owed.
 */
export function interestPaidInTime(p: PeriodPayment, payments: InterestPayment[]): boolean {
  if (p.interestDue.isZero()) return true;
  if (p.settledOn !== null && p.settledOn < p.overdueFrom) return true;
  const inTime = payments.filter((x) => x.seq === p.seq && x.paidOn < p.overdueFrom).reduce((s, x) => s.plus(x.interest), new D(0));
  return inTime.gte(p.interestDue);
}

/** What decides whether a period belongs in a quarter's batch. */
export interface ClaimCandidate extends PeriodPayment {
  dueDate: string;
  interestPaid: Dec;
  /** CLOSED: written off (nothing more will be paid on it). */
  closed: boolean;
}

/**
 * Whether a period not yet in any batch belongs in the batch of `quarter` generated on `today`:
 * due on or before the quarter's end, its grace days not over before the quarter began (an
 * earlier batch could not decide it), and decided one way or the other — its household part paid,
 * past due date + grace, or closed.
 */
export function belongsToBatch(p: ClaimCandidate, quarter: { start: string; end: string }, today: string): boolean {
  if (p.dueDate > quarter.end || p.overdueFrom <= quarter.start) return false;
  return p.interestPaid.gte(p.interestDue) || p.overdueFrom <= today || p.closed;
}

/** The claimed amount of a period: its subsidy, or zero when forfeited. */
export function claimedSubsidy(c: SubsidyComputation, reason: ForfeitReason | null): Dec {
  return reason ? new D(0) : c.subsidy;
}

// ---------- quarters ----------

const QUARTER_RE = /^(\d{4})Q([1-4])$/;

/** "2025Q2" → first and last day. */
export function quarterBounds(quarter: string): { start: string; end: string } | null {
  const m = QUARTER_RE.exec(quarter);
  if (!m) return null;
  const y = Number(m[1]);
  const q = Number(m[2]);
  const startMonth = (q - 1) * 3 + 1;
  const start = `${m[1]}-${String(startMonth).padStart(2, "0")}-01`;
  const endMonth = startMonth + 2;
  const lastDay = new Date(Date.UTC(y, endMonth, 0)).getUTCDate();
  return { start, end: `${m[1]}-${String(endMonth).padStart(2, "0")}-${lastDay}` };
}
