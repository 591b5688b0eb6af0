import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";

type Db = Knex | Knex.Transaction;

export interface AssetRow {
  id: string;
  county_code: string;
  village_code: string;
  village_name: string;
  name: string;
  asset_type: string;
  book_value: string;
  build_date: string;
  status: "IN_OPERATION" | "IDLE" | "DAMAGED" | "DISPOSED";
  status_since: string;
  operator_id: string;
  operator_name: string;
  management_form: string;
  contract_start: string;
  contract_end: string;
  return_terms: "FIXED_RENT" | "NET_INCOME_SHARE";
  annual_rent: string | null;
  net_income_share: string | null;
  guaranteed_min_rate: string;
  income_scheme: "VILLAGES" | "HOUSEHOLDS";
  oversight_body: string;
  oversight_division_code: string;
  version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface ReportRow {
  id: string;
  asset_id: string;
  county_code: string;
  village_code: string;
  operator_id: string;
  period: string;
  period_start: string;
  period_end: string;
  revenue: string;
  costs: string;
  net_income: string;
  amount_payable: string;
  contract_minimum: string;
  attachments: { name: string; url?: string; sha256?: string }[];
  note: string | null;
  status: "SUBMITTED" | "CONFIRMED" | "DISPUTED";
  resubmits_id: string | null;
  dispute_reason: string | null;
  submitted_by: string;
  submitted_at: Date;
  reviewed_by: string | null;
  reviewed_at: Date | null;
  distribution_id?: string | null;
}

/**
 * Bounds a query on `assets` (aliased `a`) by the actor's jurisdiction: the counties; a village
 * officer sees the assets its village owns or benefits from; an operator the assets it manages.
 */
export function assetScope(q: Knex.QueryBuilder, actor: Actor, alias = "a"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "village_officer") {
    const v = actor.villageCode ?? "";
    q.andWhere((w) =>
      w.where(`${alias}.village_code`, v).orWhereExists(function () {
        this.select(1).from("asset_beneficiary_villages as bv").whereRaw(`bv.asset_id = ${alias}.id`).andWhere("bv.village_code", v);
      }),
    );
  }
  if (actor.role === "operator") q.andWhere(`${alias}.operator_id`, actor.operatorId ?? "00000000-0000-0000-0000-000000000000");
  return q;
}

export function assetsQuery(db: Db, actor: Actor): Knex.QueryBuilder {
  return assetScope(
    db("assets as a")
      .join("divisions as v", "v.code", "a.village_code")
      .join("operators as o", "o.id", "a.operator_id")
      .select("a.*", "v.name as village_name", "o.name as operator_name"),
    actor,
  );
}

export async function findAsset(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<AssetRow | undefined> {
  if (opts.forUpdate) {
    const locked = await assetScope(db("assets as a").where("a.id", id).forUpdate().select("a.id"), actor).first();
    if (!locked) return undefined;
  }
  return assetsQuery(db, actor).where("a.id", id).first<AssetRow | undefined>();
}

export async function fundingOf(db: Db, assetIds: string[]) {
  if (assetIds.length === 0) return [];
  return db("asset_funding_sources").whereIn("asset_id", assetIds).orderBy(["asset_id", "position"]).select<{ asset_id: string; source: string; amount: string; note: string | null }[]>();
}

export async function beneficiaryVillagesOf(db: Db, assetIds: string[]) {
  if (assetIds.length === 0) return [];
  return db("asset_beneficiary_villages").whereIn("asset_id", assetIds).orderBy(["asset_id", "village_code"]).select<{ asset_id: string; village_code: string }[]>();
}

export async function beneficiaryHouseholdsOf(db: Db, assetIds: string[]) {
  if (assetIds.length === 0) return [];
  return db("asset_beneficiary_households").whereIn("asset_id", assetIds).orderBy(["asset_id", "household_id"]).select<{ asset_id: string; household_id: string }[]>();
}

export async function historyOf(db: Db, assetId: string) {
  return db("asset_changes").where({ asset_id: assetId }).orderBy("seq").select();
}

/** Reports with the distribution that uses each (if any). */
export function reportsQuery(db: Db): Knex.QueryBuilder {
  return db("asset_return_reports as r")
    .leftJoin("distribution_incomes as di", function () {
      this.on("di.report_id", "r.id").andOnNull("di.released_at");
    })
    .select("r.*", "di.distribution_id");
}

export async function findReport(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<ReportRow | undefined> {
  // Jurisdiction through the asset.
  const visible = await assetScope(db("asset_return_reports as r").join("assets as a", "a.id", "r.asset_id").where("r.id", id).select("r.id"), actor).first();
  if (!visible) return undefined;
  if (opts.forUpdate) await db("asset_return_reports").where({ id }).forUpdate().select("id");
  return reportsQuery(db).where("r.id", id).first<ReportRow | undefined>();
}
