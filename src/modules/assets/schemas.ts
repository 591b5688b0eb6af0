import { Amount, IsoDate, ListQuery, RateStr, Uuid, VillageCode, z } from "../../http/zod.js";
import { ASSET_STATUSES, ASSET_TYPES, CHANGE_KINDS, FUNDING_SOURCES, INCOME_SCHEMES, MANAGEMENT_FORMS, REPORT_STATUSES, RETURN_TERMS } from "./model.js";

export const IdParam = z.object({ id: Uuid });
export const PeriodStr = z
  .string()
  .regex(/^\d{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$/, "a period: 2025, 2025-H1, 2025-Q3 or 2025-06")
  .openapi({ example: "2025", description: "Year `2025`, half `2025-H1`, quarter `2025-Q3` or month `2025-06`" });

const FundingSource = z
  .object({
    source: z.enum(FUNDING_SOURCES).openapi({ description: "资金来源: central/provincial/county funds, 统筹整合涉农资金, 东西部协作, donations, village collective…" }),
    amount: Amount,
    note: z.string().max(200).optional(),
  })
  .strict();

const Management = z
  .object({
    operator_id: Uuid.openapi({ description: "The operator (合作社/龙头企业/专业大户) holding the management right (经营权)" }),
    form: z.enum(MANAGEMENT_FORMS).openapi({ description: "LEASE 租赁, CONTRACTING 承包, SHAREHOLDING 入股" }),
    contract_start: IsoDate,
    contract_end: IsoDate,
    return_terms: z.enum(RETURN_TERMS).openapi({ description: "FIXED_RENT: annual_rent a year; NET_INCOME_SHARE: net_income_share of net income, at least guaranteed_min_rate × book value a year (保底收益)" }),
    annual_rent: Amount.nullable().optional(),
    net_income_share: RateStr.nullable().optional(),
    guaranteed_min_rate: RateStr.default("0").openapi({ description: "Guaranteed minimum annual return as a fraction of the book value, e.g. 0.06 to 0.10" }),
  })
  .strict();

const IncomeRights = z
  .object({
    scheme: z.enum(INCOME_SCHEMES).openapi({ description: "VILLAGES: eligible households of the beneficiary villages; HOUSEHOLDS: a named list (受益权)" }),
    village_codes: z.array(VillageCode).max(200).default([]),
    household_ids: z.array(Uuid).max(5000).default([]),
  })
  .strict();

const Oversight = z
  .object({
    body: z.string().trim().min(2).max(100).openapi({ example: "县农业农村局", description: "The department holding the oversight right (监管权)" }),
    division_code: z.string().regex(/^(\d{6}|\d{9})$/, "the county (6 digits) or township (9 digits) it sits in").openapi({ example: "469030" }),
  })
  .strict();

export const AssetCreate = z
  .object({
    name: z.string().trim().min(1).max(200),
    asset_type: z.enum(ASSET_TYPES),
    village_code: VillageCode.openapi({ description: "The owning village collective (所有权)" }),
    funding_sources: z.array(FundingSource).min(1).max(20),
    book_value: Amount,
    build_date: IsoDate,
    status: z.enum(["IN_OPERATION", "IDLE"]).default("IN_OPERATION"),
    management: Management,
    income_rights: IncomeRights,
    oversight: Oversight,
  })
  .strict()
  .openapi("AssetCreate");

export const AssetPatch = z
  .object({
    version: z.number().int().optional().openapi({ description: "If given, applies only to this version (409 otherwise)" }),
    reason: z.string().trim().min(2).max(1000).openapi({ description: "Why (recorded in the asset's history)" }),
    effective_date: IsoDate.optional().openapi({ description: "When the change takes effect (default today)" }),
    name: z.string().trim().min(1).max(200).optional(),
    book_value: Amount.optional(),
    funding_sources: z.array(FundingSource).min(1).max(20).optional(),
    status: z.enum(ASSET_STATUSES).optional(),
    village_code: VillageCode.optional().openapi({ description: "Transfer of ownership to another village collective" }),
    management: Management.optional(),
    income_rights: IncomeRights.optional(),
    oversight: Oversight.optional(),
  })
  .strict()
  .openapi("AssetPatch");

export const AssetChange = z
  .object({
    id: Uuid,
    kind: z.enum(CHANGE_KINDS),
    effective_date: IsoDate,
    reason: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    actor_id: Uuid,
    created_at: z.string(),
  })
  .openapi("AssetChange");

export const Asset = z
  .object({
    id: Uuid,
    county_code: z.string(),
    name: z.string(),
    asset_type: z.enum(ASSET_TYPES),
    book_value: Amount,
    build_date: IsoDate,
    status: z.enum(ASSET_STATUSES),
    status_since: IsoDate,
    funding_sources: z.array(z.object({ source: z.string(), amount: Amount, note: z.string().nullable() })),
    funding_total: Amount,
    rights: z.object({
      ownership: z.object({ holder: z.literal("VILLAGE_COLLECTIVE"), village_code: z.string(), village_name: z.string() }).openapi({ description: "所有权 → 村集体" }),
      management: z
        .object({
          holder: z.literal("OPERATOR"),
          operator_id: Uuid,
          operator_name: z.string(),
          form: z.enum(MANAGEMENT_FORMS),
          contract_start: IsoDate,
          contract_end: IsoDate,
          return_terms: z.enum(RETURN_TERMS),
          annual_rent: Amount.nullable(),
          net_income_share: RateStr.nullable(),
          guaranteed_min_rate: RateStr,
        })
        .openapi({ description: "经营权 → 新型农业经营主体" }),
      income: z
        .object({ holder: z.literal("HOUSEHOLDS"), scheme: z.enum(INCOME_SCHEMES), village_codes: z.array(z.string()), household_ids: z.array(Uuid) })
        .openapi({ description: "受益权 → 贫困户 (while eligible)" }),
      oversight: z.object({ holder: z.literal("DEPARTMENT"), body: z.string(), division_code: z.string() }).openapi({ description: "监管权 → 农业农村部门" }),
    }),
    version: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    history: z.array(AssetChange).optional(),
  })
  .openapi("Asset");
export const AssetQuery = ListQuery.extend({
  village_code: VillageCode.optional(),
  asset_type: z.enum(ASSET_TYPES).optional(),
  status: z.enum(ASSET_STATUSES).optional(),
  operator_id: Uuid.optional(),
});
export const AssetList = z.object({ items: z.array(Asset), next_cursor: z.string().nullable() }).openapi("AssetList");

// Return reports
export const ReturnReportCreate = z
  .object({
    period: PeriodStr,
    revenue: Amount,
    costs: Amount,
    net_income: z.string().regex(/^-?\d{1,16}(\.\d{1,2})?$/, "an amount (may be negative)").openapi({ example: "42000.00", description: "Revenue − costs" }),
    amount_payable: Amount.openapi({ description: "What the operator pays for the period under the contract (≥ the contract minimum)" }),
    attachments: z
      .array(z.object({ name: z.string().min(1).max(200), url: z.string().url().max(1000).optional(), sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() }).strict())
      .max(20)
      .default([]),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("ReturnReportCreate");
export const ReturnReportDispute = z.object({ reason: z.string().trim().min(2).max(1000) }).strict().openapi("ReturnReportDispute");
export const ReturnReportConfirm = z.object({ note: z.string().max(1000).optional() }).strict().openapi("ReturnReportConfirm");
export const ReturnReport = z
  .object({
    id: Uuid,
    asset_id: Uuid,
    village_code: z.string(),
    operator_id: Uuid,
    period: z.string(),
    period_start: IsoDate,
    period_end: IsoDate,
    revenue: Amount,
    costs: Amount,
    net_income: z.string(),
    amount_payable: Amount,
    contract_minimum: Amount,
    attachments: z.array(z.object({ name: z.string(), url: z.string().optional(), sha256: z.string().optional() })),
    note: z.string().nullable(),
    status: z.enum(REPORT_STATUSES),
    resubmits_id: Uuid.nullable(),
    dispute_reason: z.string().nullable(),
    submitted_by: Uuid,
    submitted_at: z.string(),
    reviewed_by: Uuid.nullable(),
    reviewed_at: z.string().nullable(),
    distribution_id: Uuid.nullable().openapi({ description: "The distribution using this income (at most one)" }),
  })
  .openapi("ReturnReport");
export const ReturnReportQuery = ListQuery.extend({ period: PeriodStr.optional(), status: z.enum(REPORT_STATUSES).optional() });
export const ReturnReportList = z.object({ items: z.array(ReturnReport), next_cursor: z.string().nullable() }).openapi("ReturnReportList");
