/**
 * The interest-subsidy split of a schedule period (财政贴息), pure: the part of a period's interest
 * the county pays, and so the household's own part. It belongs to the loan (a TO_BANK schedule is
 * written with the household's part), and the subsidies module claims it quarter by quarter with the
 * same formula (its claim SQL is checked against this one).
 */
import { type Dec, D, Money } from "../../lib/money.js";
import { addMonthsClamped, daysBetween } from "../../lib/dates.js";
import type { RepaymentMethod } from "./model.js";

export const SUBSIDY_MODES = ["TO_BANK", "TO_HOUSEHOLD"] as const;
export type SubsidyMode = (typeof SUBSIDY_MODES)[number];

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
 * Subsidy of one schedule period (docs/DOMAIN.md#interest-subsidy): the period's interest recomputed by the method's own
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
