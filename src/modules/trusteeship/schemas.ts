import { Amount, CountyCode, IsoDate, ListQuery, RateStr, Uuid, VillageCode, z, StatusLabel } from "../../http/zod.js";
import { FREQUENCIES } from "./model.js";

export const IdParam = z.object({ id: Uuid });

export const OPERATOR_TYPES = ["COOPERATIVE", "LEADING_ENTERPRISE", "RURAL_INVESTMENT_COMPANY", "LARGE_HOUSEHOLD"] as const;
export const SOURCES = ["HOUSEHOLD_LOAN", "POVERTY_FUND_SHARE", "LAND_SHARE", "IN_KIND"] as const;
export const CONTRACT_STATUSES = ["ACTIVE", "CLOSED"] as const;

const PositiveAmount = Amount.refine((v) => /[1-9]/.test(v), "须大于零 / more than zero");

// ---------- operators ----------

export const OperatorCreate = z
  .object({
    id: Uuid.optional().openapi({
      description: "Optional id, for registering an operator whose staff accounts are already bound to it (seeding, migration from an earlier system). Generated when absent.",
    }),
    county_code: CountyCode,
    name: z.string().trim().min(1).max(200),
    credit_code: z
      .string()
      .trim()
      .toUpperCase()
      .openapi({ description: "Unified social credit code 统一社会信用代码 (GB 32100: 18 characters, check character last)", example: "91469030MA5T2XQ38F" }),
    operator_type: z.enum(OPERATOR_TYPES).openapi({ description: "COOPERATIVE 合作社, LEADING_ENTERPRISE 龙头企业, RURAL_INVESTMENT_COMPANY 农投公司, LARGE_HOUSEHOLD 种养大户" }),
    legal_representative: z.string().trim().min(1).max(100),
    registered_capital: Amount,
    bank_account: z.string().regex(/^\d{8,30}$/, "8 至 30 位数字 / 8 to 30 digits").optional(),
    bank_name: z.string().max(100).optional(),
    rating: z.string().max(20).optional(),
  })
  .strict()
  .openapi("OperatorCreate");

export const PaymentRecord = z
  .object({
    installments_due: z.number().int().openapi({ description: "Installments whose due date has passed" }),
    paid_on_time: z.number().int(),
    paid_late: z.number().int(),
    in_arrears: z.number().int(),
    amount_due_to_date: Amount,
    amount_paid: Amount,
    amount_in_arrears: Amount,
  })
  .openapi("OperatorPaymentRecord");

export const Operator = z
  .object({
    id: Uuid,
    county_code: z.string(),
    name: z.string(),
    credit_code: z.string(),
    operator_type: z.enum(OPERATOR_TYPES),
    legal_representative: z.string(),
    registered_capital: Amount,
    bank_account: z.string().nullable().openapi({ description: "Masked (6217************1234) except for the county admin and the operator itself" }),
    bank_name: z.string().nullable(),
    rating: z.string().nullable(),
    exposure: Amount.openapi({ description: "Open entrusted principal of its active contracts" }),
    exposure_limit: Amount.openapi({ description: "min(registered capital × county multiple (default 10), county cap)" }),
    over_limit: z.boolean(),
    active_contracts: z.number().int(),
    payment_record: PaymentRecord.optional(),
    created_at: z.string(),
  })
  .openapi("Operator");
export const OperatorQuery = ListQuery.extend({
  county_code: CountyCode.optional(),
  operator_type: z.enum(OPERATOR_TYPES).optional(),
  credit_code: z.string().max(18).optional(),
});
export const OperatorList = z.object({ items: z.array(Operator), next_cursor: z.string().nullable() }).openapi("OperatorList");

// ---------- county policy ----------

export const PolicyCreate = z
  .object({
    county_code: CountyCode,
    effective_from: IsoDate,
    default_annual_rate: RateStr.default("0.08"),
    grace_days: z.number().int().min(0).max(365).default(0),
    exposure_multiple: z.string().regex(/^\d{1,4}(\.\d{1,2})?$/, "倍数，例如 \"10\" / a multiple, e.g. \"10\"").default("10"),
    exposure_cap: Amount.nullable().default(null).openapi({ description: "County cap on one operator's open entrusted principal; null for none" }),
  })
  .strict()
  .openapi("TrusteeshipPolicyCreate");
export const Policy = z
  .object({
    id: Uuid,
    county_code: z.string(),
    effective_from: IsoDate,
    default_annual_rate: RateStr,
    grace_days: z.number().int(),
    exposure_multiple: z.string(),
    exposure_cap: Amount.nullable(),
  })
  .openapi("TrusteeshipPolicy");
export const PolicyQuery = ListQuery.extend({ county_code: CountyCode.optional() });
export const PolicyList = z.object({ items: z.array(Policy), next_cursor: z.string().nullable() }).openapi("TrusteeshipPolicyList");

// ---------- contracts ----------

export const TrusteeshipCreate = z
  .object({
    household_id: Uuid.openapi({ description: "The beneficiary household (受益农户)" }),
    operator_id: Uuid,
    source: z.enum(SOURCES).openapi({ description: "HOUSEHOLD_LOAN 户贷企用 (only loans disbursed before 2021-03-04), POVERTY_FUND_SHARE 扶贫资金入股, LAND_SHARE 土地入股, IN_KIND 实物入股" }),
    principal: PositiveAmount,
    start_date: IsoDate,
    end_date: IsoDate,
    first_due_date: IsoDate.optional().openapi({ description: "Makes the first period short (at most one period after the start); later due dates step from it" }),
    annual_rate: RateStr.optional().openapi({ description: "Guaranteed annual return; default the county policy's (0.08)" }),
    frequency: z.enum(FREQUENCIES).default("ANNUAL"),
    grace_days: z.number().int().min(0).max(365).optional().openapi({ description: "Days after a due date before an unpaid return is in arrears; default the county policy's (0)" }),
    linked_loan_id: Uuid.optional().openapi({ description: "Source HOUSEHOLD_LOAN only: the household's loan that the returned principal repays" }),
    loan_disbursed_on: IsoDate.optional().openapi({ description: "Source HOUSEHOLD_LOAN without a loan on this platform: the disbursement date of the (historic) loan" }),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("TrusteeshipCreate");

export const InstallmentView = z
  .object({
    seq: z.number().int(),
    period_start: IsoDate,
    due_date: IsoDate,
    days: z.number().int(),
    pro_rated: z.boolean(),
    amount_due: Amount,
    amount_paid: Amount,
    status: z.enum(["PAID", "IN_ARREARS", "DUE", "NOT_DUE"]),
    arrears_from: IsoDate,
    days_in_arrears: z.number().int(),
    paid_off_on: IsoDate.nullable(),
  })
  .openapi("TrusteeshipInstallment");

export const PaymentView = z
  .object({
    id: Uuid,
    kind: z.enum(["RETURN", "PRINCIPAL"]),
    amount: Amount,
    paid_on: IsoDate,
    reference: z.string().nullable(),
    allocation: z.array(z.object({ seq: z.number().int(), amount: Amount })),
    journal_entry_id: Uuid,
    created_at: z.string(),
  })
  .openapi("TrusteeshipPayment");

export const Trusteeship = z
  .object({
    id: Uuid,
    county_code: z.string(),
    village_code: z.string(),
    household_id: Uuid,
    operator_id: Uuid,
    operator_name: z.string(),
    source: z.enum(SOURCES),
    principal: Amount,
    principal_returned: Amount,
    open_principal: Amount,
    start_date: IsoDate,
    end_date: IsoDate,
    annual_rate: RateStr,
    frequency: z.enum(FREQUENCIES),
    grace_days: z.number().int(),
    linked_loan_id: Uuid.nullable(),
    loan_disbursed_on: IsoDate.nullable(),
    status: z.enum(CONTRACT_STATUSES),
    status_label: StatusLabel,
    principal_returned_on: IsoDate.nullable(),
    scheduled_returns: Amount,
    returns_paid: Amount,
    arrears: z.object({ amount: Amount, installments: z.number().int(), days: z.number().int(), since: IsoDate.nullable() }),
    next_due: z.object({ seq: z.number().int(), due_date: IsoDate, amount_open: Amount }).nullable(),
    note: z.string().nullable(),
    created_at: z.string(),
    schedule: z.array(InstallmentView).optional(),
    payments: z.array(PaymentView).optional(),
  })
  .openapi("Trusteeship");

export const TrusteeshipQuery = ListQuery.extend({
  operator_id: Uuid.optional(),
  household_id: Uuid.optional(),
  village_code: VillageCode.optional(),
  county_code: CountyCode.optional(),
  status: z.enum(CONTRACT_STATUSES).optional(),
  source: z.enum(SOURCES).optional(),
  in_arrears: z.enum(["true", "false"]).optional().openapi({ description: "Only contracts with (true) or without (false) an installment in arrears today" }),
  due_month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "年月，格式 YYYY-MM / YYYY-MM")
    .optional()
    .openapi({ description: "Only contracts with an installment due in this month (YYYY-MM)" }),
});
export const TrusteeshipList = z.object({ items: z.array(Trusteeship), next_cursor: z.string().nullable() }).openapi("TrusteeshipList");

export const PaymentCreate = z
  .object({
    amount: PositiveAmount,
    paid_on: IsoDate.optional().openapi({ description: "Value date; default today; not in the future" }),
    reference: z.string().trim().max(100).optional().openapi({ description: "Bank transfer reference" }),
  })
  .strict()
  .openapi("TrusteeshipPaymentCreate");

export const PaymentResult = z
  .object({ payment: PaymentView, trusteeship: Trusteeship, loan_repayment: z.unknown().optional() })
  .openapi("TrusteeshipPaymentResult");

export const PrincipalReturnCreate = z
  .object({
    amount: PositiveAmount.openapi({ description: "The whole open principal" }),
    returned_on: IsoDate.optional().openapi({ description: "Value date; default today; on or after the end date, not in the future" }),
    reference: z.string().trim().max(100).optional(),
  })
  .strict()
  .openapi("TrusteeshipPrincipalReturnCreate");

export const DashboardQuery = z.object({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "年月，格式 YYYY-MM / YYYY-MM")
    .optional()
    .openapi({ description: "Month of 'due this month' (default the current month)" }),
});
const DueLine = z.object({
  trusteeship_id: Uuid,
  household_id: Uuid,
  village_code: z.string(),
  seq: z.number().int(),
  due_date: IsoDate,
  amount_due: Amount,
  amount_paid: Amount,
  amount_open: Amount,
  days_in_arrears: z.number().int(),
});
export const Dashboard = z
  .object({
    operator_id: Uuid,
    as_of: IsoDate,
    month: z.string(),
    active_contracts: z.number().int(),
    exposure: Amount,
    exposure_limit: Amount,
    due_this_month: z.object({ amount_open: Amount, items: z.array(DueLine) }),
    overdue: z.object({ amount_open: Amount, items: z.array(DueLine) }),
    principal_due: z.array(z.object({ trusteeship_id: Uuid, end_date: IsoDate, open_principal: Amount })),
  })
  .openapi("OperatorDashboard");

export const ArrearsJob = z.object({ business_date: IsoDate }).strict().openapi("TrusteeshipArrearsJob");
export const ArrearsJobResult = z
  .object({
    business_date: IsoDate,
    installments_accrued: z.number().int(),
    installments_newly_in_arrears: z.number().int(),
    contracts_in_arrears: z.number().int(),
    operators_over_limit: z.number().int(),
    alerts_cleared: z.number().int(),
  })
  .openapi("TrusteeshipArrearsJobResult");
