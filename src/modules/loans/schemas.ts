import { DOWNLOAD_FORMATS } from "../../http/export.js";
import { Amount, CountyCode, IsoDate, ListQuery, RateStr, Uuid, z } from "../../http/zod.js";
import { DPD_BUCKETS, LOAN_STATUSES, PURPOSES, REPAYMENT_METHODS } from "./model.js";

export const IdParam = z.object({ id: Uuid });

const Method = z.enum(REPAYMENT_METHODS).openapi({ description: "BULLET_QUARTERLY 到期还本、按季结息; EQUAL_INSTALLMENT 等额本息; EQUAL_PRINCIPAL 等额本金" });
const PurposeEnum = z.enum(PURPOSES).openapi({ description: "Production purposes only: PLANTING 种植, BREEDING 养殖, PROCESSING 加工, RURAL_TOURISM 乡村旅游, COMMERCE 商贸流通" });

// ---------- rate tables (LPR) ----------

export const RateTableCreate = z
  .object({
    publication_date: IsoDate,
    lpr_1y: RateStr.openapi({ description: "1-year LPR, e.g. \"0.0345\"" }),
    lpr_5y: RateStr.openapi({ description: "5-year-and-above LPR, e.g. \"0.0395\"" }),
    note: z.string().max(500).optional(),
  })
  .strict()
  .openapi("RateTableCreate");
export const RateTable = z
  .object({ id: Uuid, publication_date: z.string(), lpr_1y: z.string(), lpr_5y: z.string(), note: z.string().nullable(), created_at: z.string() })
  .openapi("RateTable", { description: "LPR (贷款市场报价利率) published on a date" });
export const RateTableQuery = ListQuery.extend({ on: IsoDate.optional().openapi({ description: "Only the table in force on this date" }) });
export const RateTableList = z.object({ items: z.array(RateTable), next_cursor: z.string().nullable() }).openapi("RateTableList");

// ---------- products ----------

export const SubsidyPolicy = z
  .object({
    ratio: RateStr.default("1").openapi({ description: "Share of the interest subsidised (贴息比例), default 1 = 100%" }),
    rate_cap: RateStr.nullable().default(null).openapi({ description: "Subsidy rate cap; null = the loan's contract rate capped at the LPR it was priced on" }),
    term_months: z.number().int().min(1).max(60).default(36),
    principal_cap: Amount.default("50000.00"),
    mode: z.enum(["TO_BANK", "TO_HOUSEHOLD"]).default("TO_BANK").openapi({ description: "TO_BANK: the bank claims the subsidy; TO_HOUSEHOLD 先缴后补: the household pays and is reimbursed" }),
  })
  .strict()
  .openapi("SubsidyPolicy", { description: "Interest subsidy policy (财政贴息), stored for the subsidy module" });

export const LoanProductCreate = z
  .object({
    bank_id: Uuid.optional().openapi({ description: "Defaults to the caller's bank" }),
    county_code: CountyCode,
    code: z.string().trim().regex(/^[A-Za-z0-9_-]{1,40}$/, "letters, digits, _ or -"),
    name: z.string().trim().min(1).max(100),
    effective_from: IsoDate,
    max_amount: Amount.default("50000.00"),
    max_term_months: z.number().int().min(1).max(36).default(36),
    rate_rule: z.enum(["LPR", "FIXED"]).default("LPR").openapi({ description: "LPR: the 1-year LPR for terms ≤ 12 months, the 5-year LPR above, plus the spread; fixed for the life of the contract" }),
    fixed_rate: RateStr.optional(),
    rate_spread: z.string().regex(/^-?\d(\.\d{1,6})?$/).default("0").openapi({ description: "Added to the LPR (may be negative)" }),
    repayment_methods: z.array(Method).min(1).max(3).default(["BULLET_QUARTERLY"]),
    penalty_markup: RateStr.default("0.5").openapi({ description: "Penalty interest markup over the contract rate (罚息上浮), default 0.5 = +50%" }),
    grace_days: z.number().int().min(0).max(90).default(0),
    allowed_purposes: z.array(PurposeEnum).min(1).default([...PURPOSES]),
    subsidy: SubsidyPolicy.default({ ratio: "1", rate_cap: null, term_months: 36, principal_cap: "50000.00", mode: "TO_BANK" }),
  })
  .strict()
  .openapi("LoanProductCreate", { description: "Creates version 1 of a product code, or the next version of an existing one" });
export const LoanProduct = z
  .object({
    id: Uuid,
    bank_id: Uuid,
    county_code: z.string(),
    code: z.string(),
    version: z.number().int(),
    name: z.string(),
    effective_from: z.string(),
    max_amount: z.string(),
    max_term_months: z.number().int(),
    rate_rule: z.string(),
    fixed_rate: z.string().nullable(),
    rate_spread: z.string(),
    repayment_methods: z.array(z.string()),
    penalty_markup: z.string(),
    grace_days: z.number().int(),
    allowed_purposes: z.array(z.string()),
    subsidy: z.object({ ratio: z.string(), rate_cap: z.string().nullable(), term_months: z.number().int(), principal_cap: z.string(), mode: z.string() }),
    created_at: z.string(),
  })
  .openapi("LoanProduct");
export const LoanProductQuery = ListQuery.extend({ bank_id: Uuid.optional(), county_code: CountyCode.optional(), code: z.string().max(40).optional(), latest: z.enum(["true", "false"]).optional() });
export const LoanProductList = z.object({ items: z.array(LoanProduct), next_cursor: z.string().nullable() }).openapi("LoanProductList");

// ---------- loans ----------

export const LoanApply = z
  .object({
    household_id: Uuid,
    borrower_member_id: Uuid.openapi({ description: "The member who borrows (户借): 18-65 at application" }),
    product_id: Uuid.openapi({ description: "A product version of the officer's bank in the household's county" }),
    amount: Amount,
    term_months: z.number().int().min(1).max(36),
    repayment_method: Method.optional().openapi({ description: "One of the product's methods; defaults to its first" }),
    purpose: PurposeEnum,
    purpose_detail: z.string().trim().max(500).optional(),
  })
  .strict()
  .openapi("LoanApply");

export const Decision = z.object({ note: z.string().trim().max(500).optional() }).strict().openapi("LoanDecision");
export const Disburse = z.object({ reference: z.string().trim().max(100).optional() }).strict().openapi("LoanDisburse");
export const Extend = z
  .object({ months: z.number().int().min(1).max(12).openapi({ description: "展期: at most 12 months, once, before maturity" }), reason: z.string().trim().min(1).max(500) })
  .strict()
  .openapi("LoanExtend");
export const Renew = z
  .object({
    term_months: z.number().int().min(1).max(36),
    repayment_method: Method.optional(),
    product_id: Uuid.optional().openapi({ description: "Defaults to the latest version of the old loan's product" }),
    reason: z.string().trim().min(1).max(500),
  })
  .strict()
  .openapi("LoanRenew", { description: "无还本续贷: a new loan takes over the balance without the principal being repaid first; the old loan's interest to date is collected" });
export const WriteOff = z.object({ reason: z.string().trim().min(1).max(500) }).strict().openapi("LoanWriteOff");
export const RepaymentCreate = z
  .object({
    amount: Amount.refine((s) => Number(s) > 0, "must be more than zero"),
    source: z.enum(["BORROWER", "TRUSTEE", "OTHER"]).default("BORROWER"),
    reference: z.string().trim().max(100).optional().openapi({ description: "Bank transaction reference" }),
  })
  .strict()
  .openapi("RepaymentCreate");
export const CollectionActionCreate = z
  .object({
    method: z.enum(["PHONE", "VISIT", "LETTER", "VILLAGE_MEDIATION", "LEGAL"]).openapi({ description: "催收方式: phone, home visit, letter, village mediation, legal action" }),
    result: z.enum(["CONTACTED", "PROMISED_TO_PAY", "PAID", "UNREACHABLE", "REFUSED"]),
    note: z.string().trim().max(1000).optional(),
    promised_date: IsoDate.optional(),
  })
  .strict()
  .openapi("CollectionActionCreate");

export const LoanQuery = ListQuery.extend({
  status: z.enum(LOAN_STATUSES).optional(),
  household_id: Uuid.optional(),
  bank_id: Uuid.optional(),
  county_code: CountyCode.optional(),
  village_code: z.string().regex(/^\d{12}$/).optional(),
  dpd_bucket: z.enum(DPD_BUCKETS).optional(),
});

/** The loan book download: the list's filters, no pages, a format. */
export const LoanExportQuery = LoanQuery.omit({ limit: true, cursor: true }).extend({ format: z.enum(DOWNLOAD_FORMATS).default("xlsx") });

export const Loan = z
  .object({
    id: Uuid,
    county_code: z.string(),
    village_code: z.string(),
    bank_id: Uuid,
    household_id: Uuid,
    borrower_member_id: Uuid,
    product_id: Uuid.nullable(),
    status: z.enum(LOAN_STATUSES),
    amount: z.string(),
    outstanding_principal: z.string(),
    annual_rate: z.string().nullable(),
    rate_basis: z.string().nullable(),
    lpr_date: z.string().nullable(),
    term_months: z.number().int(),
    repayment_method: z.string(),
    purpose: z.string(),
    purpose_detail: z.string().nullable(),
    penalty_markup: z.string(),
    grace_days: z.number().int(),
    rating_id: z.string().nullable(),
    applied_on: z.string(),
    decided_on: z.string().nullable(),
    disbursed_on: z.string().nullable(),
    maturity_date: z.string().nullable(),
    original_maturity_date: z.string().nullable(),
    extended_on: z.string().nullable(),
    extension_months: z.number().int().nullable(),
    closed_on: z.string().nullable(),
    officer_id: Uuid,
    approver_id: Uuid.nullable(),
    decision_note: z.string().nullable(),
    renewed_from_loan_id: Uuid.nullable(),
    renewed_to_loan_id: Uuid.nullable(),
    written_off_principal: z.string(),
    overdue: z.boolean().openapi({ description: "OVERDUE flag: something is past its due date plus grace days" }),
    dpd: z.number().int().openapi({ description: "Days past due of the oldest overdue amount" }),
    dpd_bucket: z.enum(DPD_BUCKETS),
    non_performing: z.boolean().openapi({ description: "不良: DPD > 90" }),
    overdue_principal: z.string(),
    overdue_interest: z.string(),
    penalty_due: z.string(),
    accrued_interest: z.string().openapi({ description: "Interest earned so far in the current period (not yet due)" }),
    standing_date: z.string().nullable().openapi({ description: "Business date of the overdue figures" }),
    payoff_amount: z.string().nullable().openapi({ description: "What closes the loan today: everything due, the principal, and the current period's interest to date" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Loan");
export const LoanList = z.object({ items: z.array(Loan), next_cursor: z.string().nullable() }).openapi("LoanList");

export const SchedulePeriod = z
  .object({
    seq: z.number().int(),
    accrual_start: z.string(),
    accrual_end: z.string().openapi({ description: "Exclusive: interest days = accrual_end − accrual_start (算头不算尾)" }),
    due_date: z.string(),
    days: z.number().int(),
    opening_principal: z.string(),
    principal: z.string(),
    interest: z.string().openapi({ description: "Interest the household owes for the period: the contract interest, less the subsidy share under a TO_BANK policy" }),
    interest_subsidy: z.string().openapi({ description: "TO_BANK: the part of the contract interest the bank claims from the county instead (0.00 otherwise or once forfeited)" }),
    subsidy_forfeited: z.string().nullable().openapi({ description: "Why a TO_BANK share moved back to the household: LATE_INTEREST, MISUSE or HOUSEHOLD_REMOVED" }),
    principal_paid: z.string(),
    interest_paid: z.string(),
    penalty: z.string().openapi({ description: "Penalty interest accrued (罚息), rounded to the fen" }),
    penalty_paid: z.string(),
    outstanding: z.string().openapi({ description: "Principal + interest + penalty of this period still unpaid" }),
    overdue: z.boolean(),
    status: z.string(),
    settled_on: z.string().nullable(),
  })
  .openapi("SchedulePeriod");
export const Schedule = z
  .object({
    loan_id: Uuid,
    as_of: z.string(),
    repayment_method: z.string(),
    annual_rate: z.string().nullable(),
    periods: z.array(SchedulePeriod),
    totals: z.object({ principal: z.string(), interest: z.string(), interest_subsidy: z.string(), paid: z.string(), outstanding: z.string(), penalty: z.string(), days: z.number().int() }),
  })
  .openapi("Schedule");

export const Repayment = z
  .object({
    id: Uuid,
    loan_id: Uuid,
    paid_on: z.string(),
    amount: z.string(),
    penalty: z.string(),
    interest: z.string(),
    principal: z.string(),
    prepayment: z.string(),
    kind: z.string(),
    source: z.string(),
    reference: z.string().nullable(),
    allocation: z.array(z.object({ seq: z.number().int(), penalty: z.string(), interest: z.string(), principal: z.string() })),
    journal_entry_id: Uuid.nullable(),
    loan: z.object({ status: z.string(), outstanding_principal: z.string(), dpd: z.number().int() }).optional(),
    created_at: z.string(),
  })
  .openapi("Repayment");
export const RepaymentList = z.object({ items: z.array(Repayment), next_cursor: z.string().nullable() }).openapi("RepaymentList");

export const CollectionAction = z
  .object({ id: Uuid, loan_id: Uuid, action_date: z.string(), method: z.string(), result: z.string(), note: z.string().nullable(), promised_date: z.string().nullable(), actor_id: Uuid, created_at: z.string() })
  .openapi("CollectionAction");

export const RenewResult = z.object({ old_loan: Loan, new_loan: Loan, interest_collected: z.string() }).openapi("LoanRenewResult");

