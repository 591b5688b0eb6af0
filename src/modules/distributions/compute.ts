/** Computing a distribution (DRAFT): the income, the eligible households, their weights and shares. */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, forbidden, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import type { Bilingual } from "../../lib/i18n.js";
import { D, Money } from "../../lib/money.js";
import { findAsset } from "../assets/index.js";
import { type IncomeSplit, parsePeriod, SplitError, splitIncome } from "./model.js";
import { type Beneficiaries, type DistributionRow, distributionScope, findDistribution, writeShares } from "./queries.js";
import type { DistributionCreate, DistributionQuery, SharesQuery } from "./schemas.js";
import { notInState, READERS, RUNNERS } from "./common.js";
import { resolveRule } from "./rules.js";
import { auditShape, distributionView } from "./views.js";

type Db = Knex | Knex.Transaction;

/** The beneficiaries of a distribution: the asset's income-rights scheme, or the village itself. */
export async function beneficiariesOf(db: Db, d: Pick<DistributionRow, "scope" | "asset_id" | "village_code">): Promise<Beneficiaries> {
  if (d.scope === "VILLAGE") return { villages: [d.village_code] };
  const a = await db("assets").where({ id: d.asset_id }).first<{ income_scheme: string }>();
  if (a.income_scheme === "HOUSEHOLDS") return { assetHouseholds: d.asset_id! };
  const villages = await db("asset_beneficiary_villages").where({ asset_id: d.asset_id }).orderBy("village_code").pluck("village_code");
  return { villages };
}

/**
 * (Re)computes a DRAFT: the split of the income (model.ts), then one statement that reads
 * eligibility and weights from the register as of the reference date, allocates the pool to the
 * fen by largest remainder, applies the annual cap and writes the shares (queries.ts
 * `writeShares`; model.ts `allocateLargestRemainder` is its reference), and the totals on the
 * distribution (the schema checks that they add up).
 */
export async function compute(trx: Knex.Transaction, ctx: Ctx, d: DistributionRow, incomeTotal: string): Promise<void> {
  const income = Money.of(incomeTotal);
  let split: IncomeSplit | undefined;
  let splitFailure: Bilingual | undefined;
  try {
    split = splitIncome(income, d.rule);
  } catch (err) {
    if (!(err instanceof SplitError)) throw err;
    splitFailure = err.detail;
  }
  const cap = d.rule.annualCapPerHousehold === null ? null : Money.of(d.rule.annualCapPerHousehold);
  const written = await writeShares(trx, {
    countyCode: d.county_code,
    beneficiaries: await beneficiariesOf(trx, d),
    referenceDate: d.reference_date,
    rule: d.rule,
    year: d.period_year,
    distributionId: d.id,
    // When the earmarks exceed the income nothing is shared; the statement still tells whether anyone is eligible.
    pool: split?.pool ?? Money.zero,
    cap,
  });
  if (written.households === 0 && income.gt(0)) {
    throw new AppError("NO_BENEFICIARIES", {
      zh: `受益范围内没有农户在基准日 ${d.reference_date} 符合条件（未纳入的农户按原因计：${JSON.stringify(written.excluded)}）`,
      en: `No household of the beneficiaries is eligible on ${d.reference_date} (${JSON.stringify(written.excluded)})`,
    });
  }
  if (!split) throw new AppError("EARMARKS_EXCEED_INCOME", splitFailure ?? { zh: "提留超过收益", en: "the earmarks exceed the income" });
  if (!new D(written.allocated).eq(split.pool)) throw new Error(`allocation does not add up: ${written.allocated} ≠ pool ${Money.format(split.pool)}`);
  const earmarksTotal = Money.sum(split.earmarks.map((e) => e.amount));
  const capExcess = new D(written.cap_excess);
  const collectiveTotal = split.retention.plus(earmarksTotal).plus(capExcess);
  const sharesTotal = new D(written.shares_total);
  if (!collectiveTotal.plus(sharesTotal).eq(income)) {
    throw new Error(`distribution does not add up: ${Money.format(collectiveTotal)} + ${Money.format(sharesTotal)} ≠ ${Money.format(income)}`);
  }
  await trx("distributions")
    .where({ id: d.id })
    .update({
      income_total: Money.format(income),
      retention_amount: Money.format(split.retention),
      earmarks: JSON.stringify(split.earmarks.map((e) => ({ name: e.name, amount: Money.format(e.amount) }))),
      earmarks_total: Money.format(earmarksTotal),
      cap_excess: Money.format(capExcess),
      collective_total: Money.format(collectiveTotal),
      pool_amount: Money.format(split.pool),
      shares_total: Money.format(sharesTotal),
      household_count: written.households,
      total_weight: written.total_weight,
      excluded: JSON.stringify(written.excluded),
      computed_at: ctx.clock.now(),
      updated_at: ctx.clock.now(),
    });
}

export interface ReportPick {
  id: string;
  asset_id: string;
  amount_payable: string;
  used_by: string | null;
}

/** The confirmed reports a new distribution takes, locked; refuses income already used. */
export async function takeIncome(trx: Knex.Transaction, scope: "ASSET" | "VILLAGE", target: string, period: string): Promise<ReportPick[]> {
  const q = trx("asset_return_reports as r")
    .leftJoin("distribution_incomes as di", function () {
      this.on("di.report_id", "r.id").andOnNull("di.released_at");
    })
    .where("r.period", period)
    .andWhere("r.status", "CONFIRMED")
    .select("r.id", "r.asset_id", "r.amount_payable", "di.distribution_id as used_by")
    .orderBy("r.id")
    .forUpdate("r");
  if (scope === "ASSET") q.andWhere("r.asset_id", target);
  else {
    // The village's own assets whose only beneficiary is the village: their income is the village's to share.
    q.join("assets as a", "a.id", "r.asset_id")
      .andWhere("a.village_code", target)
      .andWhere("a.income_scheme", "VILLAGES")
      .whereNotExists(trx("asset_beneficiary_villages as bv").whereRaw("bv.asset_id = a.id").andWhereNot("bv.village_code", target).select(1));
  }
  const rows = (await q) as ReportPick[];
  const free = rows.filter((r) => !r.used_by);
  if (rows.length > 0 && free.length === 0) {
    throw new AppError(
      "INCOME_ALREADY_DISTRIBUTED",
      { zh: `${period} 已确认的收益已由收益分配 ${rows[0].used_by} 使用`, en: `The confirmed income of ${period} is already used by distribution ${rows[0].used_by}` },
      undefined,
      409,
    );
  }
  if (free.length === 0) {
    const pending = await trx("asset_return_reports as r")
      .where("r.period", period)
      .andWhere("r.status", "SUBMITTED")
      .modify((w) => (scope === "ASSET" ? w.andWhere("r.asset_id", target) : w.andWhere("r.village_code", target)))
      .first("r.id");
    throw new AppError(
      "NO_CONFIRMED_INCOME",
      pending
        ? { zh: `${period} 的收益申报（${pending.id}）尚待村里确认`, en: `The return report of ${period} (${pending.id}) awaits the village's confirmation` }
        : { zh: `${period} 没有已确认的收益申报`, en: `No confirmed return report for ${period}` },
    );
  }
  return free;
}

export async function createDistribution(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof DistributionCreate>) {
  requireRole(ctx.actor, ...RUNNERS);
  if (input.reference_date > ctx.clock.today()) {
    throw new AppError("VALIDATION_FAILED", { zh: "基准日不能晚于今天（建档立卡信息无法预知）", en: "The reference date is not after today (the register is not known ahead)" }, [
      { path: "body.reference_date", message: { zh: "不能晚于今天", en: "not after today" } },
    ]);
  }
  const period = parsePeriod(input.period)!;
  let villageCode: string;
  let county: string;
  if (input.asset_id) {
    const a = await findAsset(trx, ctx.actor, input.asset_id);
    if (!a) throw notFound("asset");
    if (ctx.actor.role === "village_officer" && a.village_code !== ctx.actor.villageCode) throw forbidden({ zh: "只有资产所属的村可以对该资产进行收益分配", en: "Only the owning village runs an asset's distribution" });
    villageCode = a.village_code;
    county = a.county_code;
  } else {
    villageCode = input.village_code!;
    county = villageCode.slice(0, 6);
    if (!ctx.actor.countyCodes.includes(county) || (ctx.actor.role === "village_officer" && ctx.actor.villageCode !== villageCode)) throw notFound("village");
    const v = await trx("divisions").where({ code: villageCode, level: "VILLAGE" }).first();
    if (!v) throw notFound("village");
  }
  const scope = input.asset_id ? "ASSET" : "VILLAGE";
  const reports = await takeIncome(trx, scope, input.asset_id ?? villageCode, input.period);
  const income = Money.sum(reports.map((r) => r.amount_payable));
  const { ruleId, params } = await resolveRule(trx, input.asset_id ?? null, villageCode, input.reference_date);
  const zero = "0.00";
  const [row] = await trx("distributions")
    .insert({
      county_code: county,
      scope,
      asset_id: input.asset_id ?? null,
      village_code: villageCode,
      period: input.period,
      period_year: period.year,
      reference_date: input.reference_date,
      rule_id: ruleId,
      rule: JSON.stringify(params),
      status: "DRAFT",
      income_total: zero,
      retention_amount: zero,
      earmarks_total: zero,
      cap_excess: zero,
      collective_total: zero,
      pool_amount: zero,
      shares_total: zero,
      household_count: 0,
      total_weight: "0",
      computed_at: ctx.clock.now(),
      created_by: ctx.actor.userId,
      created_at: ctx.clock.now(),
      updated_at: ctx.clock.now(),
    })
    .returning<DistributionRow[]>("*");
  await trx("distribution_incomes").insert(reports.map((r) => ({ distribution_id: row.id, report_id: r.id, asset_id: r.asset_id, county_code: county, amount: r.amount_payable })));
  await compute(trx, ctx, row, Money.format(income));
  const d = (await trx("distributions").where({ id: row.id }).first()) as DistributionRow;
  const view = await distributionView(trx, d, { limit: 1000 });
  await appendAudit(trx, ctx, { action: "distribution.compute", entityType: "distribution", entityId: d.id, countyCode: county, after: { ...auditShape(d), incomes: view.incomes } });
  return view;
}

export async function locked(trx: Knex.Transaction, ctx: Ctx, id: string, roles: readonly Actor["role"][]): Promise<DistributionRow> {
  requireRole(ctx.actor, ...roles);
  const d = await findDistribution(trx, ctx.actor, id, { forUpdate: true });
  if (!d) throw notFound("distribution");
  if (ctx.actor.role === "village_officer" && d.village_code !== ctx.actor.villageCode) throw forbidden({ zh: "只有负责该收益分配的村可以执行此操作", en: "Only the village running the distribution may do this" });
  return d;
}

export const reload = async (trx: Knex.Transaction, id: string) => (await trx("distributions").where({ id }).first()) as DistributionRow;

/** Recomputes a DRAFT (e.g. after the register was corrected) with the same income, rule and reference date. */
export async function recomputeDistribution(trx: Knex.Transaction, ctx: Ctx, id: string) {
  const d = await locked(trx, ctx, id, RUNNERS);
  if (d.status !== "DRAFT") throw notInState(d.status, { zh: "只有草稿可以重新计算", en: "only a DRAFT is recomputed" });
  await compute(trx, ctx, d, d.income_total);
  await trx("distributions").where({ id }).update({ computations: d.computations + 1, version: d.version + 1 });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.recompute", entityType: "distribution", entityId: id, countyCode: d.county_code, before: auditShape(d), after: auditShape(after) });
  return distributionView(trx, after, { limit: 1000 });
}

export async function getDistribution(db: Db, ctx: Ctx, id: string, q: z.infer<typeof SharesQuery>) {
  requireRole(ctx.actor, ...READERS);
  const d = await findDistribution(db, ctx.actor, id);
  if (!d) throw notFound("distribution");
  return distributionView(db, d, q);
}

export async function listDistributions(db: Db, ctx: Ctx, q: z.infer<typeof DistributionQuery>) {
  requireRole(ctx.actor, ...READERS);
  const query = distributionScope(db("distributions as d").select("d.*"), ctx.actor);
  if (q.asset_id) query.andWhere("d.asset_id", q.asset_id);
  if (q.village_code) query.andWhere("d.village_code", q.village_code);
  if (q.period) query.andWhere("d.period", q.period);
  if (q.status) query.andWhere("d.status", q.status);
  const { rows, next_cursor } = await page<DistributionRow & Record<string, unknown>>(query, "d.id", (r) => r.id, q.limit, q.cursor);
  const items = [];
  for (const d of rows) items.push(await distributionView(db, d));
  return { items, next_cursor };
}
