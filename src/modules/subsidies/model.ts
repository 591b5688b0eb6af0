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
