/**
 * Pure interest-subsidy calculations (DOMAIN §5). No I/O. The same formula runs set-based in SQL
 * for claim generation (queries.ts `SUBSIDY_SQL`); the API tests check that both agree to the fen.
 */
import { type Dec, D, Money } from "../../lib/money.js";
import { addMonthsClamped, daysBetween, type RepaymentMethod } from "../loans/model.js";

export const SUBSIDY_MODES = ["TO_BANK", "TO_HOUSEHOLD"] as const;
export type SubsidyMode = (typeof SUBSIDY_MODES)[number];

export const FORFEIT_REASONS = ["HOUSEHOLD_REMOVED", "MISUSE", "LATE_INTEREST"] as const;
export type ForfeitReason = (typeof FORFEIT_REASONS)[number];

export const MISUSE_KINDS = ["PURPOSE_VIOLATION", "HANDED_TO_ENTERPRISE", "FALSE_INFORMATION"] as const;

/** The subsidy policy of a loan product version. */
export interface SubsidyPolicy {
  /** Share of the recomputed interest subsidised (贴息比例), 0..1. */
  ratio: Dec;
  /** Subsidy rate cap; null = the contract rate capped at the LPR the loan was priced on. */
  rateCap: Dec | null;
  /** Subsidised months from disbursement (default 36). */
  termMonths: number;
  /** Only this much of the principal is subsidised (default 50,000). */
  principalCap: Dec;
  mode: SubsidyMode;
}

/** What the formula needs of a loan. */
export interface SubsidyLoan {
  method: RepaymentMethod;
  annualRate: Dec;
  /** The LPR the loan was priced on (null for fixed-rate products). */
  pricedLpr: Dec | null;
  disbursedOn: string;
  /** Loan amount: bounds the principal of a carried segment (see `carried`). */
  amount: Dec;
}

/** What the formula needs of a schedule period (as stored by the loans module). */
export interface SubsidyPeriod {
  accrualStart: string;
  accrualEnd: string;
  openingPrincipal: Dec;
  /** The period's (contract) interest, rounded. */
  interest: Dec;
  /**
   * Interest earned earlier in the period at a previous balance (a prepayment or extension inside
   * the period) and the day it runs to; the period's own balance applies from `carriedThrough`.
   */
  carriedInterest?: Dec | null;
  carriedThrough?: string | null;
  /** A period cut short (payoff, renewal): its days as scheduled; the monthly methods pro-rate a month by them. */
  frameDays?: number | null;
}

/** The rate the subsidy is computed at: min(contract rate, cap), the cap defaulting to the LPR the loan was priced on. */
export function subsidyRate(loan: Pick<SubsidyLoan, "annualRate" | "pricedLpr">, policy: Pick<SubsidyPolicy, "rateCap">): Dec {
  const cap = policy.rateCap ?? loan.pricedLpr ?? loan.annualRate;
  return D.min(loan.annualRate, cap);
}

/** The first day no longer subsidised: disbursement + term months (month-end clamped, as maturities are). */
export function subsidyTermEnd(disbursedOn: string, termMonths: number): string {
  return addMonthsClamped(disbursedOn, termMonths);
}

/** Days of the period inside the subsidy term. */
export function daysInTerm(period: Pick<SubsidyPeriod, "accrualStart" | "accrualEnd">, termEnd: string): number {
  const end = period.accrualEnd < termEnd ? period.accrualEnd : termEnd;
  return Math.max(0, daysBetween(period.accrualStart, end));
}

export interface SubsidyComputation {
  days: number;
  daysInTerm: number;
  principalBase: Dec;
  rate: Dec;
  /** Unrounded subsidy (before the one rounding). */
  exact: Dec;
  /** Rounded half-up to the fen once, never above the period's interest. */
  subsidy: Dec;
}

/**
 * Subsidy of one schedule period (DOMAIN §5): the period's interest recomputed by the method's own
 * convention (days / 360 for BULLET_QUARTERLY, / 12 pro rata for the monthly methods) on the
 * principal outstanding in the period capped at `principalCap`, at min(contract rate, cap), ×
 * ratio, pro-rated by the period's days inside the subsidy term, rounded half-up to the fen once.
 */
export function periodSubsidy(loan: SubsidyLoan, period: SubsidyPeriod, policy: SubsidyPolicy): SubsidyComputation {
  const days = daysBetween(period.accrualStart, period.accrualEnd);
  const inTerm = daysInTerm(period, subsidyTermEnd(loan.disbursedOn, policy.termMonths));
  const principalBase = D.min(period.openingPrincipal, policy.principalCap);
  const rate = subsidyRate(loan, policy);
  if (days <= 0 || inTerm <= 0 || principalBase.lte(0)) return { days, daysInTerm: inTerm, principalBase, rate, exact: new D(0), subsidy: new D(0) };
  const from = period.carriedThrough ?? period.accrualStart;
  const spanDays = daysBetween(from, period.accrualEnd);
  // The period's own balance: one multiplication chain and one division, as the SQL does.
  let recomputed =
    loan.method === "BULLET_QUARTERLY"
      ? principalBase.mul(rate).mul(spanDays).div(360)
      : principalBase.mul(rate).mul(spanDays).div(new D(12).mul(period.frameDays ?? days));
  // A carried segment (earlier balance): its interest scaled to the subsidy rate and to the principal cap
  // (the earlier balance is at most the loan amount).
  if (period.carriedInterest && period.carriedInterest.gt(0)) {
    const capShare = D.min(1, policy.principalCap.div(loan.amount));
    recomputed = recomputed.plus(period.carriedInterest.mul(rate).div(loan.annualRate).mul(capShare));
  }
  const exact = recomputed.mul(policy.ratio).mul(inTerm).div(days);
  const subsidy = D.min(Money.toFen(exact), period.interest);
  return { days, daysInTerm: inTerm, principalBase, rate, exact, subsidy };
}

/** In TO_BANK the household owes only its own part of the period's interest; in TO_HOUSEHOLD all of it. */
export function householdInterest(interest: Dec, subsidy: Dec, mode: SubsidyMode): Dec {
  return mode === "TO_BANK" ? interest.minus(subsidy) : interest;
}

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
 * True when the period's interest was paid in full before `overdueFrom` (DOMAIN §5, LATE_INTEREST
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
