/** Distribution rules (分配方案): versions per asset or village. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { D, Money, Rate } from "../../lib/money.js";
import { findAsset } from "../assets/index.js";
import { DEFAULT_RULE, type RuleParams } from "./model.js";
import type { RuleCreate, RuleQuery } from "./schemas.js";
import { iso, READERS, RULE_WRITERS } from "./common.js";

type Db = Knex | Knex.Transaction;

export interface RuleRow {
  id: string;
  county_code: string;
  scope: "ASSET" | "VILLAGE";
  asset_id: string | null;
  village_code: string | null;
  version: number;
  effective_from: string;
  collective_retention_ratio: string;
  earmarks: { name: string; kind: "FIXED" | "RATIO"; amount?: string; ratio?: string }[];
  weight_basis: "HOUSEHOLD" | "MEMBER";
  base_weight: string;
  multiplier_no_labour: string;
  multiplier_serious_illness: string;
  multiplier_dibao_tekun: string;
  transition_months: number;
  annual_cap_per_household: string | null;
  note: string | null;
  created_by: string;
  created_at: Date;
}

export const num = (v: string) => new D(v).toString();

export function paramsOf(r: RuleRow): RuleParams {
  return {
    collectiveRetentionRatio: num(r.collective_retention_ratio),
    earmarks: r.earmarks,
    weightBasis: r.weight_basis,
    baseWeight: num(r.base_weight),
    multiplierNoLabour: num(r.multiplier_no_labour),
    multiplierSeriousIllness: num(r.multiplier_serious_illness),
    multiplierDibaoTekun: num(r.multiplier_dibao_tekun),
    transitionMonths: r.transition_months,
    annualCapPerHousehold: r.annual_cap_per_household === null ? null : Money.format(r.annual_cap_per_household),
  };
}

export function ruleView(r: RuleRow) {
  return {
    id: r.id,
    county_code: r.county_code,
    scope: r.scope,
    asset_id: r.asset_id,
    village_code: r.village_code,
    version: r.version,
    effective_from: r.effective_from,
    collective_retention_ratio: Rate.format(r.collective_retention_ratio),
    earmarks: r.earmarks,
    weight_basis: r.weight_basis,
    base_weight: num(r.base_weight),
    multipliers: { no_labour: num(r.multiplier_no_labour), serious_illness_or_disability: num(r.multiplier_serious_illness), dibao_tekun: num(r.multiplier_dibao_tekun) },
    transition_months: r.transition_months,
    annual_cap_per_household: r.annual_cap_per_household === null ? null : Money.format(r.annual_cap_per_household),
    note: r.note,
    created_by: r.created_by,
    created_at: iso(r.created_at),
  };
}

/** A new version of the rule of an asset or a village (the versions before it stay as they were). */
export async function createRule(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof RuleCreate>) {
  requireRole(ctx.actor, ...RULE_WRITERS);
  let county: string;
  if (input.scope === "ASSET") {
    if (!input.asset_id || input.village_code) {
      throw new AppError("VALIDATION_FAILED", { zh: "适用范围为 ASSET 的规则须给出 asset_id（不给 village_code）", en: "An ASSET rule names its asset_id (and no village_code)" }, [
        { path: "body.asset_id", message: { zh: "适用范围为 ASSET 时必填", en: "required for scope ASSET" } },
      ]);
    }
    const a = await findAsset(trx, ctx.actor, input.asset_id);
    if (!a) throw notFound("asset");
    county = a.county_code;
  } else {
    if (!input.village_code || input.asset_id) {
      throw new AppError("VALIDATION_FAILED", { zh: "适用范围为 VILLAGE 的规则须给出 village_code（不给 asset_id）", en: "A VILLAGE rule names its village_code (and no asset_id)" }, [
        { path: "body.village_code", message: { zh: "适用范围为 VILLAGE 时必填", en: "required for scope VILLAGE" } },
      ]);
    }
    const v = await trx("divisions").where({ code: input.village_code, level: "VILLAGE" }).whereIn("county_code", ctx.actor.countyCodes).first();
    if (!v) throw notFound("village");
    county = input.village_code.slice(0, 6);
  }
  for (const [k, v] of Object.entries(input.multipliers)) {
    if (new D(v).lt(1)) throw new AppError("VALIDATION_FAILED", { zh: "倍数不能小于 1", en: "Multipliers are at least 1" }, [{ path: `body.multipliers.${k}`, message: { zh: "须 ≥ 1", en: "≥ 1" } }]);
  }
  if (new D(input.base_weight).lte(0)) throw new AppError("VALIDATION_FAILED", { zh: "基础权重须大于 0", en: "The base weight is positive" }, [{ path: "body.base_weight", message: { zh: "须 > 0", en: "> 0" } }]);
  const ratios = new D(input.collective_retention_ratio).plus(Money.sum(input.earmarks.filter((e) => e.kind === "RATIO").map((e) => new D(e.ratio!))));
  if (ratios.gt(1)) {
    throw new AppError("EARMARKS_EXCEED_INCOME", { zh: "集体提留比例与按比例提取的专项合计超过 1", en: "Retention and ratio earmarks add up to more than 1" }, [
      { path: "body.earmarks", message: { zh: "各比例合计不超过 1", en: "ratios ≤ 1 in all" } },
    ]);
  }
  const target = input.scope === "ASSET" ? { asset_id: input.asset_id } : { village_code: input.village_code };
  const last = await trx("distribution_rules").where({ scope: input.scope, ...target }).max<{ v: number | null }[]>({ v: "version" });
  const [row] = await trx("distribution_rules")
    .insert({
      county_code: county,
      scope: input.scope,
      asset_id: input.asset_id ?? null,
      village_code: input.village_code ?? null,
      version: (last[0].v ?? 0) + 1,
      effective_from: input.effective_from ?? ctx.clock.today(),
      collective_retention_ratio: input.collective_retention_ratio,
      earmarks: JSON.stringify(input.earmarks),
      weight_basis: input.weight_basis,
      base_weight: input.base_weight,
      multiplier_no_labour: input.multipliers.no_labour,
      multiplier_serious_illness: input.multipliers.serious_illness_or_disability,
      multiplier_dibao_tekun: input.multipliers.dibao_tekun,
      transition_months: input.transition_months,
      annual_cap_per_household: input.annual_cap_per_household,
      note: input.note ?? null,
      created_by: ctx.actor.userId,
      created_at: ctx.clock.now(),
    })
    .returning<RuleRow[]>("*");
  const view = ruleView(row);
  await appendAudit(trx, ctx, { action: "distribution_rule.create", entityType: "distribution_rule", entityId: row.id, countyCode: county, after: view });
  return view;
}

export async function listRules(db: Db, ctx: Ctx, q: z.infer<typeof RuleQuery>) {
  requireRole(ctx.actor, ...READERS);
  const query = db("distribution_rules as r").whereIn("r.county_code", ctx.actor.countyCodes).select("r.*");
  if (ctx.actor.role === "village_officer") {
    const v = ctx.actor.villageCode ?? "";
    query.andWhere((w) => w.where("r.village_code", v).orWhereIn("r.asset_id", db("assets").where({ village_code: v }).select("id")));
  }
  if (q.asset_id) query.andWhere("r.asset_id", q.asset_id);
  if (q.village_code) query.andWhere("r.village_code", q.village_code);
  if (q.scope) query.andWhere("r.scope", q.scope);
  const { rows, next_cursor } = await page<RuleRow & Record<string, unknown>>(query, "r.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(ruleView), next_cursor };
}

/** The rule a distribution uses: the asset's newest version effective on the date, else the village's, else the defaults. */
export async function resolveRule(db: Db, assetId: string | null, villageCode: string, referenceDate: string): Promise<{ ruleId: string | null; params: RuleParams }> {
  const newest = (q: Knex.QueryBuilder) => q.where("effective_from", "<=", referenceDate).orderBy("version", "desc").first<RuleRow | undefined>();
  const own = assetId ? await newest(db("distribution_rules").where({ scope: "ASSET", asset_id: assetId })) : undefined;
  const rule = own ?? (await newest(db("distribution_rules").where({ scope: "VILLAGE", village_code: villageCode })));
  return rule ? { ruleId: rule.id, params: paramsOf(rule) } : { ruleId: null, params: DEFAULT_RULE };
}
