import { DOWNLOAD_FORMATS } from "../../http/export.js";
import { Amount, CountyCode, IsoDate, ListQuery, RateStr, Uuid, z, StatusLabel } from "../../http/zod.js";
import { DPD_BUCKETS, LOAN_STATUSES, PURPOSES, REPAYMENT_METHODS } from "./model.js";

export const IdParam = z.object({ id: Uuid });
export const RepaymentParam = z.object({ id: Uuid, repaymentId: Uuid });

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
export const LoanProductQuery = ListQuery.extend({
  bank_id: Uuid.optional(),
  county_code: CountyCode.optional(),
  code: z.string().max(40).optional(),
  latest: z.enum(["true", "false"]).optional(),
  in_force_on: IsoDate.optional().openapi({ description: "Only the version of each product code in force on this date: the latest effective date on or before it (the highest version among equal dates)" }),
});
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
/** The bank's contract number (合同号): what its core system and its files know the loan by; unique per bank. */
export const ContractNo = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\s\u0000-\u001f]+(?: [^\s\u0000-\u001f]+)*$/, "printable characters, no leading, trailing or double spaces")
  .openapi({ description: "The bank's contract number (合同号), unique per bank", example: "QZ-FP-2025-000123" });
const ValueDate = IsoDate.optional().openapi({
  description: "起息日 value date: the business date the money moved (default today, Asia/Shanghai). Not in the future, not before the loan's latest value date, at most the county's days back (30 unless set).",
});
export const Disburse = z
  .object({
    reference: z.string().trim().max(100).optional(),
    contract_no: ContractNo.optional().openapi({ description: "The bank's contract number (合同号), unique per bank for ever; its files (balance statements) name the loan by it" }),
    value_date: ValueDate,
  })
  .strict()
  .openapi("LoanDisburse");
export const Extend = z
  .object({ months: z.number().int().min(1).max(12).openapi({ description: "展期: at most 12 months, once, before maturity" }), reason: z.string().trim().min(1).max(500) })
  .strict()
  .openapi("LoanExtend");
export const Renew = z
  .object({
    term_months: z.number().int().min(1).max(36),
    repayment_method: Method.optional(),
    product_id: Uuid.optional().openapi({ description: "Defaults to the version of the old loan's product code in force today (latest effective date, then highest version)" }),
    reason: z.string().trim().min(1).max(500),
    contract_no: ContractNo.optional().openapi({ description: "The new loan's contract number (合同号), unique per bank" }),
  })
  .strict()
  .openapi("LoanRenew", { description: "无还本续贷: a new loan takes over the balance without the principal being repaid first; the old loan's interest to date is collected" });
export const WriteOff = z.object({ reason: z.string().trim().min(1).max(500) }).strict().openapi("LoanWriteOff");
export const RepaymentCreate = z
  .object({
    amount: Amount.refine((s) => Number(s) > 0, "must be more than zero"),
    source: z.enum(["BORROWER", "TRUSTEE", "OTHER"]).default("BORROWER"),
    reference: z.string().trim().min(1).max(100).optional().openapi({ description: "银行流水号 bank transaction reference: recorded once per bank for ever; the same reference again is a 409 DUPLICATE_BANK_REFERENCE" }),
    value_date: ValueDate,
  })
  .strict()
  .openapi("RepaymentCreate");
export const RepaymentReversal = z
  .object({ reason: z.string().trim().min(1).max(500).openapi({ description: "冲正原因 why the repayment is reversed" }) })
  .strict()
  .openapi("RepaymentReversal");
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
  contract_no: ContractNo.optional(),
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
    contract_no: z.string().nullable().openapi({ description: "The bank's contract number (合同号), given at disbursement" }),
    migrated_on: IsoDate.nullable().openapi({ description: "The date the loan was migrated onto the platform with its history (存量贷款迁移); null for a loan disbursed here" }),
    status: z.enum(LOAN_STATUSES),
    status_label: StatusLabel,
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
    paid_on: z.string().openapi({ description: "起息日 value date" }),
    entered_on: z.string().openapi({ description: "The business date it was entered on" }),
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
    reversed_at: z.string().nullable().openapi({ description: "冲正 when the repayment was reversed" }),
    reversal_reason: z.string().nullable(),
    reversal_entry_id: Uuid.nullable(),
    loan: z.object({ status: z.string(), outstanding_principal: z.string(), dpd: z.number().int() }).optional(),
    created_at: z.string(),
  })
  .openapi("Repayment");
export const RepaymentList = z.object({ items: z.array(Repayment), next_cursor: z.string().nullable() }).openapi("RepaymentList");

export const CollectionAction = z
  .object({ id: Uuid, loan_id: Uuid, action_date: z.string(), method: z.string(), result: z.string(), note: z.string().nullable(), promised_date: z.string().nullable(), actor_id: Uuid, created_at: z.string() })
  .openapi("CollectionAction");

export const RenewResult = z.object({ old_loan: Loan, new_loan: Loan, interest_collected: z.string() }).openapi("LoanRenewResult");


// ---------- schedule preview (试算) ----------

export const SchedulePreviewCreate = z
  .object({
    product_id: Uuid.optional().openapi({ description: "A product version: used as it is (it must be in force on the disbursement date)" }),
    product_code: z.string().max(40).optional().openapi({ description: "A product code: the version in force on the disbursement date is used (with `county_code`; `bank_id` for callers outside a bank)" }),
    county_code: CountyCode.optional(),
    bank_id: Uuid.optional().openapi({ description: "With `product_code`: defaults to the caller's bank" }),
    annual_rate: RateStr.optional().openapi({ description: "Instead of a product: an explicit contract rate (fixed), e.g. \"0.0345\"" }),
    subsidy: SubsidyPolicy.optional().openapi({ description: "With `annual_rate`: the subsidy policy to split the interest by (none: no subsidy)" }),
    amount: Amount.refine((s) => Number(s) > 0, "must be more than zero"),
    term_months: z.number().int().min(1).max(36),
    repayment_method: Method.optional().openapi({ description: "Defaults to the product's first method (BULLET_QUARTERLY with an explicit rate)" }),
    disbursement_date: IsoDate.openapi({ description: "Any date, past or future: the schedule is what a disbursement on that date writes" }),
    purpose: PurposeEnum.optional().openapi({ description: "Checked against the product's purposes when given" }),
    format: z.enum(["json", "html"]).optional().openapi({ description: "html: the printable schedule (also with `Accept: text/html`)" }),
  })
  .strict()
  .superRefine((v, ctx) => {
    const sources = [v.product_id, v.product_code, v.annual_rate].filter((x) => x !== undefined).length;
    if (sources !== 1) ctx.addIssue({ code: "custom", path: ["product_id"], message: "give exactly one of product_id, product_code or annual_rate" });
    if (v.product_code !== undefined && v.county_code === undefined) ctx.addIssue({ code: "custom", path: ["county_code"], message: "required with product_code" });
    if (v.subsidy !== undefined && v.annual_rate === undefined) ctx.addIssue({ code: "custom", path: ["subsidy"], message: "only with annual_rate (a product brings its own policy)" });
    if (v.annual_rate !== undefined && !(Number(v.annual_rate) > 0 && Number(v.annual_rate) < 1)) ctx.addIssue({ code: "custom", path: ["annual_rate"], message: "more than 0 and less than 1" });
  })
  .openapi("SchedulePreviewRequest", { description: "试算: a product version (or a product code and the version in force on the date), or an explicit rate" });

export const PreviewPeriod = z
  .object({
    seq: z.number().int(),
    accrual_start: z.string(),
    accrual_end: z.string().openapi({ description: "Exclusive (算头不算尾)" }),
    due_date: z.string(),
    days: z.number().int(),
    opening_principal: z.string(),
    principal: z.string(),
    interest: z.string().openapi({ description: "Contract interest of the period (合同利息)" }),
    interest_subsidy: z.string().openapi({ description: "Subsidy of the period under the policy (贴息): claimed by the bank (TO_BANK) or reimbursed to the household (TO_HOUSEHOLD)" }),
    household_interest: z.string().openapi({ description: "The household's own interest after the subsidy: interest − interest_subsidy" }),
    interest_due: z.string().openapi({ description: "Interest the schedule charges the household on the due date, as a disbursement stores it (TO_BANK: the household's part; otherwise all of it)" }),
    payment: z.string().openapi({ description: "Due on the due date: principal + interest_due (应还金额)" }),
  })
  .openapi("SchedulePreviewPeriod");

const RatePair = z
  .object({
    contract: z.string().openapi({ description: "Of the contract's cash flows: the amount received, principal and contract interest paid" }),
    household: z.string().openapi({ description: "Of the household's own part: principal and interest less the subsidy" }),
  })
  .openapi("AnnualisedRate", {
    description: "年化利率 (People's Bank of China announcement [2021] No. 3): XIRR on actual/365 dates from the disbursement date, as a fraction rounded half-up to four places (two places of a percent), e.g. \"0.0354\" = 3.54%",
  });

export const SchedulePreview = z
  .object({
    product: z.object({ id: Uuid, code: z.string(), version: z.number().int(), name: z.string(), effective_from: z.string() }).nullable(),
    amount: z.string(),
    term_months: z.number().int(),
    repayment_method: z.string(),
    annual_rate: z.string(),
    rate_basis: z.string().openapi({ description: "LPR_1Y, LPR_5Y or FIXED" }),
    lpr_date: z.string().nullable().openapi({ description: "Publication date of the LPR priced on (the one in force on the disbursement date)" }),
    disbursement_date: z.string(),
    maturity_date: z.string(),
    subsidy: z
      .object({ mode: z.string(), ratio: z.string(), rate_cap: z.string().nullable(), rate: z.string().openapi({ description: "Rate the subsidy is computed at: min(contract rate, cap)" }), term_months: z.number().int(), principal_cap: z.string() })
      .nullable(),
    periods: z.array(PreviewPeriod),
    totals: z.object({
      principal: z.string(),
      interest: z.string(),
      interest_subsidy: z.string(),
      household_interest: z.string(),
      interest_due: z.string(),
      payment: z.string(),
      days: z.number().int(),
    }),
    annualised_rate: RatePair,
  })
  .openapi("SchedulePreview", { description: "The schedule a disbursement on the date would write; nothing is stored" });

export const ScheduleQuery = z.object({
  format: z.enum(["json", "html"]).optional().openapi({ description: "html: the printable schedule with the annualised rates (also with `Accept: text/html`)" }),
});

// ---------- migration of existing loans (存量贷款迁移) ----------

/** A cell as a bank's system writes it: text or a number; each is checked by the migration and named in its problems. */
const Cell = z.union([z.string().max(200), z.number()]);

const MigrationRepaymentRow = z
  .object({
    value_date: Cell.openapi({ description: "起息日 / 还款日: the repayment's value date, YYYY-MM-DD, on or after the disbursement, not after today" }),
    amount: Cell.openapi({ description: "还款金额 in yuan, e.g. \"1200.00\"" }),
    reference: Cell.optional().openapi({ description: "银行流水号: the bank's transaction reference, recorded once per bank for ever" }),
  })
  .strict();

const MigrationLoanRow = z
  .object({
    contract_no: Cell.openapi({ description: "合同号: the bank's contract number, unique per bank" }),
    household_no: Cell.optional().openapi({ description: "户编号: the household's register number (the borrower is then its head unless borrower_id_number names another member)" }),
    borrower_id_number: Cell.optional().openapi({ description: "借款人身份证号: the borrower's ID number (looked up by the register's keyed hash; never stored or echoed)" }),
    product_code: Cell.openapi({ description: "产品代码: the bank's product code; the version in force on the disbursement date applies" }),
    amount: Cell.openapi({ description: "贷款金额 in yuan (at most 50,000 and the product's maximum)" }),
    annual_rate: Cell.openapi({ description: "年利率: the contract's rate as a fraction, e.g. \"0.0435\" (a fixed-rate product's loans carry its rate)" }),
    repayment_method: Cell.openapi({ description: "还款方式: BULLET_QUARTERLY, EQUAL_INSTALLMENT, EQUAL_PRINCIPAL (or 到期还本按季结息, 等额本息, 等额本金)" }),
    term_months: Cell.openapi({ description: "期限 in months (at most 36 and the product's maximum)" }),
    disbursed_on: Cell.openapi({ description: "放款日: YYYY-MM-DD, not after today" }),
    purpose: Cell.optional().openapi({ description: "用途 (PLANTING, BREEDING, …); the product's first allowed purpose when absent" }),
    repayments: z.array(MigrationRepaymentRow).max(500).optional().openapi({ description: "The repayments made to date, in any order (they are applied in value-date order)" }),
  })
  .strict();

export const LoanMigrationCreate = z
  .object({ loans: z.array(MigrationLoanRow).min(1).max(20_000) })
  .strict()
  .openapi("LoanMigrationCreate");

export const LoanMigrationQuery = z.object({
  dry_run: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ description: "true: check every row and answer the problems and what would be migrated; nothing is stored" }),
  county_code: CountyCode.optional().openapi({ description: "The county of the loans; needed only when you work in several" }),
});

const MigrationProblemView = z.object({
  sheet: z.enum(["loans", "repayments"]),
  row: z.number().int().openapi({ description: "The row as the bank sees it: the spreadsheet's or CSV's line number (header included), or the loan's position (1-based) in JSON" }),
  column: z.string(),
  code: z.string().openapi({ description: "Stable code, e.g. MIGRATION_BORROWER_UNKNOWN, LOAN_PRODUCT_NOT_AVAILABLE, LOAN_OVERPAYMENT, DUPLICATE_BANK_REFERENCE" }),
  message: z.string().openapi({ description: "What is wrong, Chinese first" }),
  path: z.string(),
});

export const LoanMigrationResult = z
  .object({
    dry_run: z.boolean(),
    county_code: z.string(),
    bank_id: Uuid,
    source_format: z.enum(["json", "csv", "xlsx"]),
    brought_to: IsoDate.openapi({ description: "The loans stand as after the close of business of this date (the last closed date, or yesterday before the first close)" }),
    loans: z.number().int(),
    repayments: z.number().int(),
    migrated: z.number().int(),
    to_migrate: z.number().int().openapi({ description: "Dry run: the loans an apply would migrate" }),
    already_present: z.number().int().openapi({ description: "Loans already on the platform under their contract number, identical (a file sent again)" }),
    outstanding_principal: Amount.openapi({ description: "Outstanding principal of the loans migrated (or to migrate), as opened on 1301" }),
    problem_count: z.number().int(),
    problems: z.array(MigrationProblemView).openapi({ description: "Every problem (at most 1,000 listed); an apply with any is refused whole (422 LOAN_MIGRATION_REJECTED, the same list in `errors`)" }),
    results: z.array(
      z.object({
        row: z.number().int(),
        contract_no: z.string(),
        outcome: z.enum(["MIGRATED", "TO_MIGRATE", "ALREADY_PRESENT"]),
        loan_id: Uuid.nullable(),
        status: z.string(),
        outstanding_principal: Amount,
        dpd: z.number().int(),
        penalty_due: Amount,
        repayments: z.number().int(),
      }),
    ),
  })
  .openapi("LoanMigrationResult");
