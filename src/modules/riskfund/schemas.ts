import { Amount, CountyCode, IsoDate, ListQuery, RateStr, Uuid, z, StatusLabel } from "../../http/zod.js";

export const IdParam = z.object({ id: Uuid });

export const FundCreate = z
  .object({
    county_code: CountyCode,
    bank_id: Uuid,
    name: z.string().trim().min(1).max(100),
    leverage_cap: z.string().regex(/^\d{1,4}(\.\d{1,4})?$/).default("10").openapi({ description: "Lending cap as a multiple of the balance (放大倍数), default 10" }),
    fund_share: RateStr.default("0.7").openapi({ description: "The fund's share of a compensated loss (补偿比例), default 0.7" }),
    npl_threshold: RateStr.default("0.03").openapi({ description: "Circuit-breaker NPL ratio threshold (熔断线), default 0.03" }),
    compensation_dpd: z.number().int().min(1).max(720).default(90).openapi({ description: "Days past due from which a loan may be claimed" }),
  })
  .strict()
  .openapi("RiskFundCreate");

export const Fund = z
  .object({
    id: Uuid,
    county_code: z.string(),
    bank_id: Uuid,
    name: z.string(),
    balance: z.string(),
    leverage_cap: z.string(),
    fund_share: z.string(),
    npl_threshold: z.string(),
    compensation_dpd: z.number().int(),
    outstanding: z.string().openapi({ description: "Outstanding poverty loans of the bank in the county" }),
    lending_cap: z.string().openapi({ description: "balance × leverage cap" }),
    headroom: z.string().openapi({ description: "lending cap − outstanding (negative when over)" }),
    leverage: z.string().nullable().openapi({ description: "outstanding / balance" }),
    obligations: z.string().openapi({ description: "Fund shares of submitted and approved compensation claims not yet paid" }),
    created_at: z.string(),
  })
  .openapi("RiskFund", { description: "Risk compensation fund (风险补偿金) of a bank in a county" });
export const FundList = z.object({ items: z.array(Fund), next_cursor: z.string().nullable() }).openapi("RiskFundList");
export const FundQuery = ListQuery.extend({ county_code: CountyCode.optional(), bank_id: Uuid.optional() });

export const DepositCreate = z
  .object({ amount: Amount, reference: z.string().trim().min(1).max(100).optional() })
  .strict()
  .openapi("RiskFundDepositCreate");
export const Deposit = z
  .object({ id: Uuid, fund_id: Uuid, kind: z.string(), amount: z.string(), balance_after: z.string(), movement_date: z.string(), reference: z.string().nullable(), fund: Fund })
  .openapi("RiskFundDeposit");

export const CompensationCreate = z.object({ loan_id: Uuid, note: z.string().max(2000).optional() }).strict().openapi("CompensationClaimCreate");
export const CompensationDecision = z.object({ note: z.string().max(2000).optional() }).strict().openapi("CompensationDecision");
export const RecoveryCreate = z.object({ amount: Amount, reference: z.string().trim().min(1).max(100).optional() }).strict().openapi("CompensationRecoveryCreate");

export const Compensation = z
  .object({
    id: Uuid,
    county_code: z.string(),
    bank_id: Uuid,
    fund_id: Uuid,
    loan_id: Uuid,
    status: z.enum(["SUBMITTED", "APPROVED", "REJECTED", "PAID"]),
    status_label: StatusLabel,
    dpd: z.number().int(),
    collection_actions: z.number().int(),
    unpaid_principal: z.string(),
    unpaid_interest: z.string().openapi({ description: "Normal interest due and unpaid (penalty never counts)" }),
    loss: z.string(),
    fund_share: z.string(),
    fund_amount: z.string(),
    bank_amount: z.string(),
    recovered: z.string(),
    fund_recovered: z.string(),
    submitted_on: z.string(),
    decided_on: z.string().nullable(),
    pay_by: z.string().nullable(),
    paid_on: z.string().nullable(),
    note: z.string().nullable(),
    decision_note: z.string().nullable(),
  })
  .openapi("CompensationClaim", { description: "Risk-fund compensation of a non-performing loan (风险补偿)" });
export const Recovery = z
  .object({ id: Uuid, claim_id: Uuid, recovered_on: z.string(), amount: z.string(), fund_part: z.string(), bank_part: z.string(), reference: z.string().nullable(), claim: Compensation })
  .openapi("CompensationRecovery");

export const Breaker = z
  .object({
    id: Uuid,
    county_code: z.string(),
    bank_id: Uuid,
    status: z.enum(["TRIPPED", "LIFTED"]),
    reason: z.enum(["NPL_RATIO", "FUND_SHORTFALL", "BOTH"]),
    tripped_on: z.string(),
    outstanding_principal: z.string(),
    npl_principal: z.string(),
    npl_ratio: z.string(),
    threshold: z.string(),
    fund_balance: z.string().nullable(),
    fund_obligations: z.string().nullable(),
    last_evaluated_on: z.string(),
    last_npl_ratio: z.string(),
    lifted_on: z.string().nullable(),
    lifted_by: z.string().nullable(),
    lift_npl_ratio: z.string().nullable(),
    lift_note: z.string().nullable(),
  })
  .openapi("CircuitBreaker", { description: "A circuit-breaker trip (熔断) of a bank's poverty lending in a county, and its lift" });
export const BreakerList = z.object({ items: z.array(Breaker), next_cursor: z.string().nullable() }).openapi("CircuitBreakerList");
export const BreakerQuery = ListQuery.extend({ status: z.enum(["TRIPPED", "LIFTED"]).optional(), county_code: CountyCode.optional(), bank_id: Uuid.optional() });
export const BreakerLift = z.object({ note: z.string().trim().min(2).max(2000) }).strict().openapi("CircuitBreakerLift");
export const BreakerJob = z.object({ business_date: IsoDate }).strict().openapi("CircuitBreakerJob");
export const BreakerJobResult = z
  .object({ business_date: z.string(), evaluated: z.number().int(), tripped: z.number().int(), open: z.number().int() })
  .openapi("CircuitBreakerJobResult");
