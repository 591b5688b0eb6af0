import { DOWNLOAD_FORMATS } from "../../http/export.js";
import { Amount, IsoDate, ListQuery, RateStr, Uuid, VillageCode, z, StatusLabel } from "../../http/zod.js";
import { PeriodStr } from "../assets/index.js";
import { DISTRIBUTION_STATUSES, ELIGIBILITY_REASONS, MULTIPLIER_REASONS, PAYMENT_STATUSES, WEIGHT_BASES } from "./model.js";

export const IdParam = z.object({ id: Uuid });
export const ObjectionParam = z.object({ id: Uuid, objectionId: Uuid });

const Multiplier = z.string().regex(/^\d{1,3}(\.\d{1,4})?$/, "倍数须 ≥ 1，最多四位小数，例如 \"1.5\" / a multiplier ≥ 1 with at most four places, e.g. \"1.5\"");
const Earmark = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: "公益岗位工资" }),
    kind: z.enum(["FIXED", "RATIO"]),
    amount: Amount.optional().openapi({ description: "FIXED: yuan" }),
    ratio: RateStr.optional().openapi({ description: "RATIO: fraction of the distributable income" }),
  })
  .strict()
  .refine((e) => (e.kind === "FIXED" ? e.amount !== undefined && e.ratio === undefined : e.ratio !== undefined && e.amount === undefined), {
    message: "FIXED 专项须给出金额（amount），RATIO 专项须给出比例（ratio） / FIXED earmarks give an amount, RATIO earmarks a ratio",
  });

export const RuleCreate = z
  .object({
    scope: z.enum(["ASSET", "VILLAGE"]),
    asset_id: Uuid.optional(),
    village_code: VillageCode.optional(),
    effective_from: IsoDate.optional().openapi({ description: "Default today; a distribution uses the newest version effective on its reference date" }),
    collective_retention_ratio: RateStr.default("0.2").openapi({ description: "村集体留存 (default 0.20; e.g. 灵台县 0.45 after 2019)" }),
    earmarks: z.array(Earmark).max(10).default([]).openapi({ description: "专项: public-service job wages (公益岗位), upkeep (管护)…" }),
    weight_basis: z.enum(WEIGHT_BASES).default("HOUSEHOLD").openapi({ description: "Per household (按户) or per member (按人)" }),
    base_weight: Multiplier.default("1"),
    multipliers: z
      .object({
        no_labour: Multiplier.default("1.5").openapi({ description: "No member able to work (无劳动能力)" }),
        serious_illness_or_disability: Multiplier.default("1.3").openapi({ description: "A member seriously ill or disabled (重病/残疾)" }),
        dibao_tekun: Multiplier.default("1.2").openapi({ description: "低保/特困" }),
      })
      .strict()
      .default({ no_labour: "1.5", serious_illness_or_disability: "1.3", dibao_tekun: "1.2" }),
    transition_months: z.number().int().min(0).max(120).default(12).openapi({ description: "Months an exited household keeps its share after exit (扶上马送一程)" }),
    annual_cap_per_household: Amount.nullable().default(null).openapi({ description: "At most this much per household per calendar year; the excess goes to the collective" }),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("DistributionRuleCreate");

export const Rule = z
  .object({
    id: Uuid,
    county_code: z.string(),
    scope: z.enum(["ASSET", "VILLAGE"]),
    asset_id: Uuid.nullable(),
    village_code: z.string().nullable(),
    version: z.number().int(),
    effective_from: IsoDate,
    collective_retention_ratio: RateStr,
    earmarks: z.array(z.object({ name: z.string(), kind: z.enum(["FIXED", "RATIO"]), amount: Amount.optional(), ratio: RateStr.optional() })),
    weight_basis: z.enum(WEIGHT_BASES),
    base_weight: z.string(),
    multipliers: z.object({ no_labour: z.string(), serious_illness_or_disability: z.string(), dibao_tekun: z.string() }),
    transition_months: z.number().int(),
    annual_cap_per_household: Amount.nullable(),
    note: z.string().nullable(),
    created_by: Uuid.nullable(),
    created_at: z.string().nullable(),
  })
  .openapi("DistributionRule");
/** The parameters a distribution was computed with: the rule version's fields of the same names. */
export const RuleSnapshot = z
  .object({
    collective_retention_ratio: RateStr,
    earmarks: Rule.shape.earmarks,
    weight_basis: z.enum(WEIGHT_BASES),
    base_weight: z.string(),
    multipliers: Rule.shape.multipliers,
    transition_months: z.number().int(),
    annual_cap_per_household: Amount.nullable(),
  })
  .openapi("DistributionRuleSnapshot", { description: "The rule parameters used, as they were when the distribution was computed (a later rule version does not change them)" });
export const RuleQuery = ListQuery.extend({ asset_id: Uuid.optional(), village_code: VillageCode.optional(), scope: z.enum(["ASSET", "VILLAGE"]).optional() });
export const RuleList = z.object({ items: z.array(Rule), next_cursor: z.string().nullable() }).openapi("DistributionRuleList");

export const DistributionCreate = z
  .object({
    asset_id: Uuid.optional().openapi({ description: "Distribute one asset's confirmed income to its income-right holders" }),
    village_code: VillageCode.optional().openapi({ description: "Distribute the confirmed income of the village's own assets (those whose only beneficiary is the village)" }),
    period: PeriodStr,
    reference_date: IsoDate.openapi({ description: "Eligibility and weights are taken from the register as of this date (not after today)" }),
  })
  .strict()
  .refine((b) => (b.asset_id === undefined) !== (b.village_code === undefined), { message: "须给出 asset_id 或 village_code 之一 / give either asset_id or village_code", path: ["asset_id"] })
  .openapi("DistributionCreate");

export const Share = z
  .object({
    household_id: Uuid,
    household_no: z.string(),
    head_name: z.string().nullable(),
    village_code: z.string(),
    status_at_reference: z.string(),
    eligibility: z.enum(ELIGIBILITY_REASONS),
    exit_date: IsoDate.nullable(),
    transition_ends: IsoDate.nullable().openapi({ description: "First day an exited household no longer benefits" }),
    members: z.number().int(),
    multiplier: z.string(),
    multiplier_reason: z.enum(MULTIPLIER_REASONS).nullable(),
    weight: z.string(),
    uncapped_amount: Amount,
    amount: Amount,
    capped: z.boolean(),
    payment_status: z.enum(PAYMENT_STATUSES),
    bank_reference: z.string().nullable(),
    paid_on: IsoDate.nullable(),
    failure_reason: z.string().nullable(),
  })
  .openapi("DistributionShare");

export const Distribution = z
  .object({
    id: Uuid,
    county_code: z.string(),
    scope: z.enum(["ASSET", "VILLAGE"]),
    asset_id: Uuid.nullable(),
    village_code: z.string(),
    period: z.string(),
    reference_date: IsoDate,
    status: z.enum(DISTRIBUTION_STATUSES),
    status_label: StatusLabel,
    rule_id: Uuid.nullable(),
    rule: RuleSnapshot,
    incomes: z.array(z.object({ report_id: Uuid, asset_id: Uuid, amount: Amount })),
    income_total: Amount,
    retention_amount: Amount,
    earmarks: z.array(z.object({ name: z.string(), amount: Amount })),
    earmarks_total: Amount,
    cap_excess: Amount,
    collective_total: Amount.openapi({ description: "Retention + earmarks + cap excess" }),
    pool_amount: Amount.openapi({ description: "Income − retention − earmarks: the household pool" }),
    shares_total: Amount,
    household_count: z.number().int(),
    total_weight: z.string(),
    excluded: z.record(z.string(), z.number()).openapi({ description: "Households of the beneficiaries not sharing, by reason (ROLLED_OUT, REMOVED, NOT_REGISTERED)" }),
    computations: z.number().int(),
    computed_at: z.string(),
    notice_date: IsoDate.nullable(),
    payable_from: IsoDate.nullable(),
    approved_by: Uuid.nullable(),
    approved_at: z.string().nullable(),
    paid_total: Amount,
    returned_total: Amount,
    paid_on: IsoDate.nullable(),
    reversed_at: z.string().nullable(),
    reversal_reason: z.string().nullable(),
    payments: z.record(z.string(), z.number()).openapi({ description: "Shares by payment status" }),
    objections: z.array(z.record(z.string(), z.unknown())),
    version: z.number().int(),
    shares: z.array(Share).optional(),
    shares_next_cursor: z.string().nullable().optional(),
  })
  .openapi("Distribution");
export const DistributionQuery = ListQuery.extend({
  asset_id: Uuid.optional(),
  village_code: VillageCode.optional(),
  period: PeriodStr.optional(),
  status: z.enum(DISTRIBUTION_STATUSES).optional(),
});
export const DistributionList = z.object({ items: z.array(Distribution), next_cursor: z.string().nullable() }).openapi("DistributionList");
export const SharesQuery = z.object({
  limit: z.coerce.number().int().min(0).max(5000).default(1000).openapi({ description: "Shares per page (0: none)" }),
  cursor: z.string().max(200).optional(),
  village_code: VillageCode.optional(),
});

/** A distribution's shares as a download: every household (or one village's), a format. */
export const SharesExportQuery = z.object({ village_code: VillageCode.optional(), format: z.enum(DOWNLOAD_FORMATS).default("xlsx") });

export const NoticeQuery = z.object({ village_code: VillageCode.optional() });
export const NoticeList = z
  .object({
    distribution_id: Uuid,
    title: z.string(),
    period: z.string(),
    notice_date: IsoDate.nullable(),
    payable_from: IsoDate.nullable(),
    villages: z.array(
      z.object({
        village_code: z.string(),
        village_name: z.string(),
        households: z.number().int(),
        total: Amount,
        items: z.array(
          z.object({
            household_no: z.string(),
            head_name: z.string().openapi({ description: "Masked (张*明)" }),
            id_number: z.string().nullable().openapi({ description: "The head's, masked (469030********123X)" }),
            members: z.number().int(),
            weight: z.string(),
            basis: z.string(),
            amount: Amount,
          }),
        ),
      }),
    ),
  })
  .openapi("DistributionNotice");

export const ObjectionCreate = z
  .object({
    household_id: Uuid.optional().openapi({ description: "The household the objection is about (if any)" }),
    raised_by: z.string().trim().min(1).max(100).openapi({ description: "Who objected (a villager, a household head…)" }),
    content: z.string().trim().min(2).max(2000),
  })
  .strict()
  .openapi("ObjectionCreate");
export const ObjectionResolve = z
  .object({
    decision: z.enum(["DISMISSED", "UPHELD"]).openapi({ description: "UPHELD sends the distribution back to DRAFT and recomputes it (the register having been corrected)" }),
    resolution: z.string().trim().min(2).max(2000),
  })
  .strict()
  .openapi("ObjectionResolve");
export const Objection = z
  .object({
    id: Uuid,
    distribution_id: Uuid,
    household_id: Uuid.nullable(),
    raised_by: z.string(),
    content: z.string(),
    status: z.enum(["OPEN", "DISMISSED", "UPHELD"]),
    resolution: z.string().nullable(),
    recorded_by: Uuid,
    recorded_at: z.string(),
    resolved_by: Uuid.nullable(),
    resolved_at: z.string().nullable(),
  })
  .openapi("DistributionObjection");

export const NoticeCreate = z.object({}).strict().openapi("DistributionNoticeCreate");
export const ApproveBody = z.object({ note: z.string().max(1000).optional() }).strict().openapi("DistributionApprove");
export const PayBody = z
  .object({
    paid_on: IsoDate.optional().openapi({ description: "Default today; not before the notice period ends" }),
    batch_reference: z.string().trim().min(1).max(100).openapi({ description: "The bank batch; a share paid without its own reference gets `<batch_reference>:<household_no>`" }),
    payments: z
      .array(z.object({ household_id: Uuid, bank_reference: z.string().trim().min(1).max(100) }).strict())
      .max(2000)
      .optional()
      .openapi({ description: "Pay only these households, each with its bank reference. Without it, every pending or failed share is paid (but the failures listed)" }),
    failures: z
      .array(z.object({ household_id: Uuid, reason: z.string().trim().min(1).max(500) }).strict())
      .max(2000)
      .default([])
      .openapi({ description: "Transfers the bank refused: the share stays unpaid (FAILED) to be retried or returned" }),
  })
  .strict()
  .openapi("DistributionPay");
export const ReturnBody = z
  .object({ household_ids: z.array(Uuid).min(1).max(2000), reason: z.string().trim().min(2).max(500) })
  .strict()
  .openapi("DistributionReturn");
export const ReverseBody = z.object({ reason: z.string().trim().min(2).max(1000) }).strict().openapi("DistributionReverse");

export const Dividend = z
  .object({
    distribution_id: Uuid,
    scope: z.enum(["ASSET", "VILLAGE"]),
    assets: z.array(z.object({ id: Uuid, name: z.string(), asset_type: z.string() })),
    village_code: z.string(),
    period: z.string(),
    reference_date: IsoDate,
    weight: z.string(),
    members: z.number().int(),
    multiplier: z.string(),
    eligibility: z.enum(ELIGIBILITY_REASONS),
    multiplier_reason: z.enum(MULTIPLIER_REASONS).nullable(),
    transition_ends: IsoDate.nullable(),
    why: z.string().openapi({ description: "The reason in words, e.g. 脱贫户过渡期内(至2025-06-30)；无劳动能力 ×1.5" }),
    amount: Amount,
    capped: z.boolean(),
    status: z.string().openapi({ description: "NOTICED, APPROVED, PAID, FAILED, RETURNED or REVERSED" }),
    paid_on: IsoDate.nullable(),
  })
  .openapi("Dividend");
export const DividendList = z.object({ items: z.array(Dividend), next_cursor: z.string().nullable() }).openapi("DividendList");
