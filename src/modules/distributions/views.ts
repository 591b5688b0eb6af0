/** What readers see of distributions, and the dividends of one household. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { notFound } from "../../http/errors.js";
import { decodeCursor, encodeCursor } from "../../http/pagination.js";
import type { Ctx } from "../../lib/context.js";
import { Money } from "../../lib/money.js";
import { householdScope } from "../register/index.js";
import { type EligibilityReason, type MultiplierReason, type RuleParams } from "./model.js";
import { type DistributionRow, dividendRows } from "./queries.js";
export { dividendsVersion } from "./queries.js";
import type { SharesQuery } from "./schemas.js";
import { iso } from "./common.js";
import { num } from "./rules.js";

type Db = Knex | Knex.Transaction;

export async function incomesOf(db: Db, distributionId: string) {
  return db("distribution_incomes").where({ distribution_id: distributionId }).orderBy("report_id").select<{ report_id: string; asset_id: string; amount: string; released_at: Date | null }[]>();
}

export async function objectionsOf(db: Db, distributionId: string) {
  const rows = await db("distribution_objections").where({ distribution_id: distributionId }).orderBy("recorded_at").select();
  return rows.map(objectionView);
}

export function objectionView(o: Record<string, unknown>) {
  return {
    id: o.id as string,
    distribution_id: o.distribution_id as string,
    household_id: (o.household_id as string | null) ?? null,
    raised_by: o.raised_by as string,
    content: o.content as string,
    status: o.status as "OPEN" | "DISMISSED" | "UPHELD",
    resolution: (o.resolution as string | null) ?? null,
    recorded_by: o.recorded_by as string,
    recorded_at: iso(o.recorded_at as Date)!,
    resolved_by: (o.resolved_by as string | null) ?? null,
    resolved_at: iso((o.resolved_at as Date | null) ?? null),
  };
}

export interface ShareRow {
  household_id: string;
  household_no: string;
  head_name: string | null;
  village_code: string;
  status_at_reference: string;
  eligibility: EligibilityReason;
  exit_date: string | null;
  transition_ends: string | null;
  members: number;
  multiplier: string;
  multiplier_reason: MultiplierReason | null;
  weight: string;
  uncapped_amount: string;
  amount: string;
  capped: boolean;
  payment_status: "PENDING" | "PAID" | "FAILED" | "RETURNED";
  bank_reference: string | null;
  paid_on: string | null;
  failure_reason: string | null;
}

export function shareView(s: ShareRow) {
  return {
    ...s,
    multiplier: num(s.multiplier),
    weight: num(s.weight),
    uncapped_amount: Money.format(s.uncapped_amount),
    amount: Money.format(s.amount),
  };
}

export async function sharesPage(db: Db, distributionId: string, q: z.infer<typeof SharesQuery>) {
  if (q.limit === 0) return { items: [], next_cursor: null };
  // The page is cut on the shares alone (primary-key order), then joined to the register.
  const after = decodeCursor(q.cursor);
  const inner = db("distribution_shares").where("distribution_id", distributionId).select("*").orderBy("household_id").limit(q.limit + 1);
  if (q.village_code) inner.andWhere("village_code", q.village_code);
  if (after !== undefined) inner.andWhere("household_id", ">", after);
  const rows = (await db
    .from(inner.as("s"))
    .join("households as h", "h.id", "s.household_id")
    .leftJoin("household_members as head", function () {
      this.on("head.household_id", "s.household_id").andOnVal("head.relation", "HEAD");
    })
    .select("s.*", "h.household_no", "head.name as head_name")
    .orderBy("s.household_id")) as ShareRow[];
  const more = rows.length > q.limit;
  const kept = more ? rows.slice(0, q.limit) : rows;
  return { items: kept.map(shareView), next_cursor: more ? encodeCursor(kept[kept.length - 1].household_id) : null };
}

export async function distributionView(db: Db, d: DistributionRow, shares?: z.infer<typeof SharesQuery>) {
  const payments = await db("distribution_shares").where({ distribution_id: d.id }).groupBy("payment_status").select("payment_status").count<{ payment_status: string; n: number }[]>({ n: "*" });
  const sharePage = shares ? await sharesPage(db, d.id, shares) : undefined;
  return {
    id: d.id,
    county_code: d.county_code,
    scope: d.scope,
    asset_id: d.asset_id,
    village_code: d.village_code,
    period: d.period,
    reference_date: d.reference_date,
    status: d.status,
    rule_id: d.rule_id,
    rule: ruleSnapshotView(d.rule),
    incomes: (await incomesOf(db, d.id)).map((i) => ({ report_id: i.report_id, asset_id: i.asset_id, amount: Money.format(i.amount) })),
    income_total: Money.format(d.income_total),
    retention_amount: Money.format(d.retention_amount),
    earmarks: d.earmarks.map((e) => ({ name: e.name, amount: Money.format(e.amount) })),
    earmarks_total: Money.format(d.earmarks_total),
    cap_excess: Money.format(d.cap_excess),
    collective_total: Money.format(d.collective_total),
    pool_amount: Money.format(d.pool_amount),
    shares_total: Money.format(d.shares_total),
    household_count: d.household_count,
    total_weight: num(d.total_weight),
    excluded: d.excluded,
    computations: d.computations,
    computed_at: iso(d.computed_at)!,
    notice_date: d.notice_date,
    payable_from: d.payable_from,
    approved_by: d.approved_by,
    approved_at: iso(d.approved_at),
    paid_total: Money.format(d.paid_total),
    returned_total: Money.format(d.returned_total),
    paid_on: d.paid_on,
    reversed_at: iso(d.reversed_at),
    reversal_reason: d.reversal_reason,
    payments: Object.fromEntries(payments.map((p) => [p.payment_status, Number(p.n)])),
    objections: await objectionsOf(db, d.id),
    version: d.version,
    ...(sharePage ? { shares: sharePage.items, shares_next_cursor: sharePage.next_cursor } : {}),
  };
}

/**
 * The stored snapshot (the model's `RuleParams`, as written since the first distribution) in the API's
 * snake_case, with the names of the rule resource: the stored JSON stays as it is, so no migration.
 */
export function ruleSnapshotView(r: RuleParams) {
  return {
    collective_retention_ratio: r.collectiveRetentionRatio,
    earmarks: r.earmarks,
    weight_basis: r.weightBasis,
    base_weight: r.baseWeight,
    multipliers: { no_labour: r.multiplierNoLabour, serious_illness_or_disability: r.multiplierSeriousIllness, dibao_tekun: r.multiplierDibaoTekun },
    transition_months: r.transitionMonths,
    annual_cap_per_household: r.annualCapPerHousehold,
  };
}

/** The audit form of a distribution: its figures, not its shares. */
export function auditShape(d: DistributionRow) {
  const { rule: _r, ...rest } = d;
  return rest;
}

export const ELIGIBILITY_WORDS: Record<EligibilityReason, string> = { POOR: "贫困户", MONITORED: "监测户", EXITED_IN_TRANSITION: "脱贫户过渡期内" };
export const MULTIPLIER_WORDS: Record<MultiplierReason, string> = { NO_LABOUR: "无劳动能力", SERIOUS_ILLNESS_OR_DISABILITY: "重病或残疾", DIBAO_TEKUN: "低保/特困" };

/**
 * Every dividend of a household (for staff and, later, the partner portal): the asset(s), the
 * period, its weight and why, the amount, the status and the paid date. Shares of distributions
 * still in DRAFT are left out (they may change); no jurisdiction check here — callers scope.
 */
export async function dividendsOfHousehold(db: Db, householdId: string) {
  const rows = await dividendRows(db, householdId);
  return rows.map((r) => {
    const why = [
      r.eligibility === "EXITED_IN_TRANSITION" && r.transition_ends ? `${ELIGIBILITY_WORDS[r.eligibility]}(至${r.transition_ends}前)` : ELIGIBILITY_WORDS[r.eligibility],
      r.multiplier_reason ? `${MULTIPLIER_WORDS[r.multiplier_reason]} ×${num(r.multiplier)}` : "基础权重",
      `${r.members}人`,
      r.capped ? "已达年度上限" : null,
    ]
      .filter(Boolean)
      .join("；");
    const status = r.distribution_status === "REVERSED" ? "REVERSED" : r.payment_status === "PENDING" ? r.distribution_status : r.payment_status;
    return {
      distribution_id: r.distribution_id,
      scope: r.scope,
      assets: r.assets ?? [],
      village_code: r.village_code,
      period: r.period,
      reference_date: r.reference_date,
      weight: num(r.weight),
      members: r.members,
      multiplier: num(r.multiplier),
      eligibility: r.eligibility,
      multiplier_reason: r.multiplier_reason,
      transition_ends: r.transition_ends,
      why,
      amount: Money.format(r.amount),
      capped: r.capped,
      status,
      paid_on: r.paid_on,
    };
  });
}

export async function householdDividends(db: Db, ctx: Ctx, householdId: string) {
  requireRole(ctx.actor, "admin", "village_officer", "regulator", "finance_officer");
  const h = await householdScope(db("households as h").where("h.id", householdId).select("h.id"), ctx.actor).first();
  if (!h) throw notFound("household");
  return { items: await dividendsOfHousehold(db, householdId), next_cursor: null };
}
