import { addMonths, format, parseISO } from "date-fns";
import type { Bilingual } from "../../lib/i18n.js";
import { type Dec, D, Money } from "../../lib/money.js";

/**
 * Pure rules of a dividend distribution (资产收益分配): periods, the split of the income into
 * collective retention, earmarks and the household pool, circumstance multipliers, and the exact
 * largest-remainder allocation of the pool to the fen. No I/O: plain data in and out.
 */

export const DISTRIBUTION_STATUSES = ["DRAFT", "NOTICED", "APPROVED", "PAID", "REVERSED"] as const;
export type DistributionStatus = (typeof DISTRIBUTION_STATUSES)[number];
export const PAYMENT_STATUSES = ["PENDING", "PAID", "FAILED", "RETURNED"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const WEIGHT_BASES = ["HOUSEHOLD", "MEMBER"] as const;
export type WeightBasis = (typeof WEIGHT_BASES)[number];
export const MULTIPLIER_REASONS = ["NO_LABOUR", "SERIOUS_ILLNESS_OR_DISABILITY", "DIBAO_TEKUN"] as const;
export type MultiplierReason = (typeof MULTIPLIER_REASONS)[number];
export const ELIGIBILITY_REASONS = ["POOR", "MONITORED", "EXITED_IN_TRANSITION"] as const;
export type EligibilityReason = (typeof ELIGIBILITY_REASONS)[number];

/** Minimum days a distribution list stays on public notice before anything is paid (公示不少于7天). */
export const NOTICE_DAYS = 7;

// Return periods (2025, 2025-H1, 2025-Q3, 2025-06) are the assets module's: returns are reported for them.
export { type ReturnPeriod, parsePeriod } from "../assets/index.js";

/** The first day an exited household no longer benefits: exit date + transition months. */
export function transitionEnds(exitDate: string, transitionMonths: number): string {
  return format(addMonths(parseISO(exitDate), transitionMonths), "yyyy-MM-dd");
}

/** The first day a noticed distribution may be paid: notice date + 7 days. */
export function payableFrom(noticeDate: string): string {
  const d = parseISO(noticeDate);
  d.setDate(d.getDate() + NOTICE_DAYS);
  return format(d, "yyyy-MM-dd");
}

// ---------- rule ----------

export interface Earmark {
  name: string;
  kind: "FIXED" | "RATIO";
  /** FIXED: yuan. */
  amount?: string;
  /** RATIO: fraction of the distributable income. */
  ratio?: string;
}

/** A distribution rule's parameters (a version of one, or the defaults). */
export interface RuleParams {
  collectiveRetentionRatio: string;
  earmarks: Earmark[];
  weightBasis: WeightBasis;
  baseWeight: string;
  multiplierNoLabour: string;
  multiplierSeriousIllness: string;
  multiplierDibaoTekun: string;
  transitionMonths: number;
  annualCapPerHousehold: string | null;
}

/** The defaults of docs/DOMAIN.md#asset-income: 20% to the collective, per household, ×1.5 / ×1.3 / ×1.2, 12 months. */
export const DEFAULT_RULE: RuleParams = {
  collectiveRetentionRatio: "0.2",
  earmarks: [],
  weightBasis: "HOUSEHOLD",
  baseWeight: "1",
  multiplierNoLabour: "1.5",
  multiplierSeriousIllness: "1.3",
  multiplierDibaoTekun: "1.2",
  transitionMonths: 12,
  annualCapPerHousehold: null,
};

// ---------- weights ----------

export interface HouseholdCircumstances {
  members: number;
  /** No member able to work (every member's labour capacity is NONE). */
  noLabour: boolean;
  /** A member seriously ill or disabled. */
  seriousIllnessOrDisability: boolean;
  /** Household type 低保/特困, or a member on 低保 or 特困. */
  dibaoTekun: boolean;
}

/** What the register holds of a member that a weight depends on. */
export interface MemberCircumstances {
  health: string;
  labourCapacity: string;
  onDibao: boolean;
  onTekun: boolean;
}

/**
 * A household's circumstances from the register (the reference of the `circ` CTE in queries.ts):
 * its member count; no labour when every member's labour capacity is NONE; serious illness or
 * disability when a member is SERIOUS or DISABLED; 低保/特困 by household type or by a member.
 */
export function circumstancesOf(householdType: string, members: readonly MemberCircumstances[]): HouseholdCircumstances {
  return {
    members: members.length,
    noLabour: members.length > 0 && members.every((m) => m.labourCapacity === "NONE"),
    seriousIllnessOrDisability: members.some((m) => m.health === "SERIOUS" || m.health === "DISABLED"),
    dibaoTekun: householdType === "DIBAO" || householdType === "TEKUN" || members.some((m) => m.onDibao || m.onTekun),
  };
}

/** The largest applicable multiplier (they do not stack) and which circumstance gave it. */
export function multiplierFor(rule: RuleParams, c: HouseholdCircumstances): { multiplier: Dec; reason: MultiplierReason | null } {
  const candidates: [boolean, string, MultiplierReason][] = [
    [c.noLabour, rule.multiplierNoLabour, "NO_LABOUR"],
    [c.seriousIllnessOrDisability, rule.multiplierSeriousIllness, "SERIOUS_ILLNESS_OR_DISABILITY"],
    [c.dibaoTekun, rule.multiplierDibaoTekun, "DIBAO_TEKUN"],
  ];
  let best: { multiplier: Dec; reason: MultiplierReason | null } = { multiplier: new D(1), reason: null };
  for (const [applies, value, reason] of candidates) {
    if (applies && new D(value).gt(best.multiplier)) best = { multiplier: new D(value), reason };
  }
  return best;
}

/** weight = base × (members, or 1 per household) × the largest multiplier. */
export function householdWeight(rule: RuleParams, c: HouseholdCircumstances): { weight: Dec; multiplier: Dec; reason: MultiplierReason | null } {
  const { multiplier, reason } = multiplierFor(rule, c);
  const units = rule.weightBasis === "MEMBER" ? Math.max(1, c.members) : 1;
  return { weight: new D(rule.baseWeight).times(units).times(multiplier), multiplier, reason };
}

// ---------- split and allocation ----------

export interface IncomeSplit {
  retention: Dec;
  earmarks: { name: string; amount: Dec }[];
  pool: Dec;
}

/** The income cannot be split as the rule says; `detail` in both languages. */
export class SplitError extends Error {
  constructor(readonly detail: Bilingual) {
    super(detail.en);
  }
}

/**
 * Splits the distributable income: the collective's retention and ratio earmarks are the income
 * × their ratio rounded down to the fen (so fractions of a fen stay with the households, and
 * ratios adding up to at most 1 never take more than the income); fixed earmarks are taken as
 * given; the rest is the household pool. Throws when they take more than the income.
 */
export function splitIncome(income: Dec, rule: Pick<RuleParams, "collectiveRetentionRatio" | "earmarks">): IncomeSplit {
  if (income.isNeg() || !income.eq(Money.toFen(income))) throw new SplitError({ zh: "收益须为非负数且精确到分", en: "the income must be a non-negative amount in fen" });
  const retention = Money.floorFen(income.times(rule.collectiveRetentionRatio));
  const earmarks = rule.earmarks.map((e) => ({
    name: e.name,
    amount: e.kind === "FIXED" ? Money.toFen(new D(e.amount ?? 0)) : Money.floorFen(income.times(e.ratio ?? 0)),
  }));
  const pool = income.minus(retention).minus(Money.sum(earmarks.map((e) => e.amount)));
  if (pool.isNeg()) {
    const taken = { retention: Money.format(retention), earmarks: Money.format(Money.sum(earmarks.map((e) => e.amount))), income: Money.format(income) };
    throw new SplitError({
      zh: `集体提留 ${taken.retention} 与专项提取 ${taken.earmarks} 之和超过收益 ${taken.income}`,
      en: `retention ${taken.retention} and earmarks ${taken.earmarks} exceed the income ${taken.income}`,
    });
  }
  return { retention, earmarks, pool };
}

export interface Weighted {
  householdId: string;
  /** A positive decimal (string or Decimal). */
  weight: string | Dec;
}

function scaleOf(d: Dec): number {
  return d.decimalPlaces();
}

/**
 * Largest-remainder (Hamilton) allocation of `pool` to the fen, in exact integer arithmetic:
 * each share is floor(pool × w / W) fen, and the fens left over go one each to the largest
 * remainders, ties to the lower household id. Returns shares in the input order; they add up to
 * the pool exactly, none is negative, a larger weight never gets less, and the same input always
 * gives the same result.
 */
export function allocateLargestRemainder(pool: Dec | string, households: readonly Weighted[]): Dec[] {
  const poolDec = new D(pool);
  if (poolDec.isNeg() || !poolDec.eq(Money.toFen(poolDec))) throw new RangeError("the pool must be a non-negative amount in fen");
  const poolFen = BigInt(poolDec.times(100).toFixed(0));
  if (households.length === 0) {
    if (poolFen !== 0n) throw new RangeError("a non-zero pool needs at least one household");
    return [];
  }
  const weights = households.map((h) => new D(h.weight));
  let scale = 0;
  for (const w of weights) {
    if (!w.isFinite() || w.lte(0)) throw new RangeError("weights must be positive");
    scale = Math.max(scale, scaleOf(w));
  }
  const factor = new D(10).pow(scale);
  const ints = weights.map((w) => BigInt(w.times(factor).toFixed(0)));
  let total = 0n;
  for (const w of ints) total += w;
  const floors: bigint[] = new Array(ints.length);
  const remainders: bigint[] = new Array(ints.length);
  let given = 0n;
  for (let i = 0; i < ints.length; i++) {
    const num = poolFen * ints[i];
    floors[i] = num / total;
    remainders[i] = num % total;
    given += floors[i];
  }
  let left = Number(poolFen - given); // < number of households, so a safe integer
  if (left > 0) {
    const order = ints.map((_, i) => i);
    order.sort((a, b) => {
      if (remainders[a] !== remainders[b]) return remainders[a] > remainders[b] ? -1 : 1;
      const ia = households[a].householdId;
      const ib = households[b].householdId;
      return ia < ib ? -1 : ia > ib ? 1 : 0;
    });
    for (let k = 0; k < order.length && left > 0; k++, left--) floors[order[k]] += 1n;
  }
  return floors.map((f) => new D(f.toString()).div(100));
}

export interface CappedShare {
  share: Dec;
  uncapped: Dec;
  capped: boolean;
}

/**
 * The per-household annual cap: a household gets at most what is left of its cap this year
 * (cap − dividends already allocated to it in the year); the excess goes back to the collective.
 */
export function applyAnnualCap(shares: readonly Dec[], alreadyThisYear: readonly Dec[], cap: Dec | null): { shares: CappedShare[]; excess: Dec } {
  let excess = new D(0);
  const out = shares.map((s, i) => {
    if (cap === null) return { share: s, uncapped: s, capped: false };
    const room = D.max(0, cap.minus(alreadyThisYear[i] ?? 0));
    if (s.lte(room)) return { share: s, uncapped: s, capped: false };
    excess = excess.plus(s.minus(room));
    return { share: room, uncapped: s, capped: true };
  });
  return { shares: out, excess };
}

export interface DistributionComputation {
  income: Dec;
  retention: Dec;
  earmarks: { name: string; amount: Dec }[];
  pool: Dec;
  capExcess: Dec;
  /** Everything the collective keeps: retention + earmarks + cap excess. */
  collectiveTotal: Dec;
  shares: CappedShare[];
  sharesTotal: Dec;
}

/**
 * The whole computation of a distribution from its income, rule and weighted households, with
 * its invariant checked: retention + earmarks + cap excess + every share = the income, to the fen.
 */
export function computeDistribution(
  income: Dec,
  rule: RuleParams,
  households: readonly (Weighted & { alreadyThisYear?: Dec | string })[],
): DistributionComputation {
  const split = splitIncome(income, rule);
  const raw = allocateLargestRemainder(split.pool, households);
  const cap = rule.annualCapPerHousehold === null ? null : new D(rule.annualCapPerHousehold);
  const { shares, excess } = applyAnnualCap(
    raw,
    households.map((h) => new D(h.alreadyThisYear ?? 0)),
    cap,
  );
  const sharesTotal = Money.sum(shares.map((s) => s.share));
  const earmarksTotal = Money.sum(split.earmarks.map((e) => e.amount));
  const collectiveTotal = split.retention.plus(earmarksTotal).plus(excess);
  if (!collectiveTotal.plus(sharesTotal).eq(income)) {
    throw new Error(`distribution does not add up: ${Money.format(collectiveTotal)} + ${Money.format(sharesTotal)} ≠ ${Money.format(income)}`);
  }
  return { income, retention: split.retention, earmarks: split.earmarks, pool: split.pool, capExcess: excess, collectiveTotal, shares, sharesTotal };
}
