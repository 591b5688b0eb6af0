import { CountyCode, IsoDate, ListQuery, Uuid, z } from "../../http/zod.js";
import { FORFEIT_REASONS, MISUSE_KINDS } from "./model.js";

export const IdParam = z.object({ id: Uuid });
const Quarter = z.string().regex(/^\d{4}Q[1-4]$/, "a quarter like 2025Q2").openapi({ example: "2025Q2", description: "Calendar quarter, YYYYQn" });

export const ClaimCreate = z
  .object({ bank_id: Uuid, county_code: CountyCode, quarter: Quarter })
  .strict()
  .openapi("SubsidyClaimCreate", { description: "Generates (or regenerates) the claim batch of a bank in a county for a quarter" });

export const ClaimLine = z
  .object({
    id: z.string(),
    loan_id: Uuid,
    seq: z.number().int(),
    household_id: Uuid,
    village_code: z.string(),
    mode: z.enum(["TO_BANK", "TO_HOUSEHOLD"]),
    repayment_method: z.string(),
    accrual_start: z.string(),
    accrual_end: z.string(),
    due_date: z.string(),
    days: z.number().int(),
    days_in_term: z.number().int(),
    opening_principal: z.string(),
    principal_base: z.string().openapi({ description: "Principal subsidised: the opening principal capped (default 50,000)" }),
    contract_rate: z.string(),
    subsidy_rate: z.string().openapi({ description: "min(contract rate, cap rate)" }),
    ratio: z.string(),
    interest: z.string().openapi({ description: "The period's contract interest" }),
    computed_subsidy: z.string().openapi({ description: "Subsidy by the formula, before forfeiture or rejection" }),
    subsidy: z.string().openapi({ description: "Claimed: the computed subsidy, or 0.00 when forfeited or rejected" }),
    household_interest: z.string().openapi({ description: "The household's own part: interest − subsidy in TO_BANK, all of it in TO_HOUSEHOLD" }),
    forfeit_reason: z.enum(FORFEIT_REASONS).nullable().openapi({ description: "HOUSEHOLD_REMOVED 清退, MISUSE 违规使用, LATE_INTEREST 未按期付息" }),
    status: z.enum(["CLAIMED", "FORFEITED", "APPROVED", "REJECTED"]),
    reject_reason: z.string().nullable(),
  })
  .openapi("SubsidyClaimLine");

const Totals = z.object({
  lines: z.number().int(),
  forfeited_lines: z.number().int(),
  rejected_lines: z.number().int(),
  interest: z.string(),
  claimed: z.string(),
  to_bank: z.string(),
  to_household: z.string(),
});

export const Claim = z
  .object({
    id: Uuid,
    county_code: z.string(),
    bank_id: Uuid,
    quarter: z.string(),
    quarter_start: z.string(),
    quarter_end: z.string(),
    status: z.enum(["DRAFT", "APPROVED", "PAID"]),
    generated_on: z.string(),
    generations: z.number().int(),
    lines_added: z.number().int().optional().openapi({ description: "Lines this generation added (0 when regenerating adds nothing)" }),
    approved_on: z.string().nullable(),
    notice_start: z.string().nullable(),
    notice_end: z.string().nullable(),
    paid_on: z.string().nullable(),
    payment_reference: z.string().nullable(),
    totals: Totals,
    lines: z.array(ClaimLine).optional(),
    next_line_cursor: z.string().nullable().optional(),
  })
  .openapi("SubsidyClaim", { description: "A quarterly interest-subsidy claim batch (贴息申报) with its lines" });

export const ClaimQuery = z.object({
  line_limit: z.coerce.number().int().min(1).max(5000).default(1000),
  line_cursor: z.string().max(200).optional(),
});
export const ClaimListQuery = ListQuery.extend({ quarter: Quarter.optional(), bank_id: Uuid.optional(), county_code: CountyCode.optional(), status: z.enum(["DRAFT", "APPROVED", "PAID"]).optional() });
export const ClaimList = z.object({ items: z.array(Claim), next_cursor: z.string().nullable() }).openapi("SubsidyClaimList");

export const ClaimApprove = z
  .object({
    rejected_lines: z
      .array(z.object({ line_id: z.string().regex(/^\d{1,18}$/, "a line id"), reason: z.string().trim().min(2).max(500) }).strict())
      .max(10000)
      .default([])
      .openapi({ description: "Lines the finance officer rejects, each with a reason; every other claimed line is approved" }),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("SubsidyClaimApprove");

export const ClaimPay = z
  .object({ reference: z.string().trim().min(1).max(100).optional(), paid_on: IsoDate.optional() })
  .strict()
  .openapi("SubsidyClaimPay");

export const MisuseFindingCreate = z
  .object({
    kind: z.enum(MISUSE_KINDS).openapi({ description: "PURPOSE_VIOLATION 改变用途, HANDED_TO_ENTERPRISE 转贷企业, FALSE_INFORMATION 虚假信息" }),
    finding_date: IsoDate.optional().openapi({ description: "Defaults to today" }),
    note: z.string().trim().min(2).max(2000),
  })
  .strict()
  .openapi("MisuseFindingCreate");
export const MisuseFinding = z
  .object({ id: Uuid, loan_id: Uuid, county_code: z.string(), kind: z.string(), finding_date: z.string(), note: z.string(), forfeited_draft_lines: z.number().int(), forfeited_shares: z.number().int().openapi({ description: "TO_BANK: schedule periods whose subsidy share moved back to the household" }), created_at: z.string() })
  .openapi("MisuseFinding");

export const SubsidyScheduleLine = z.object({
  seq: z.number().int(),
  due_date: z.string(),
  days: z.number().int(),
  days_in_term: z.number().int(),
  interest: z.string(),
  computed_subsidy: z.string().openapi({ description: "The period's subsidy by the formula (model.ts), before forfeiture" }),
  subsidy: z.string().openapi({ description: "As claimed when the period is on a claim line, else the computed subsidy" }),
  household_interest: z.string().openapi({ description: "What the household owes for the period: interest − subsidy in TO_BANK (all of it once the share is forfeited), all of it in TO_HOUSEHOLD" }),
  subsidy_forfeited: z.string().nullable().openapi({ description: "TO_BANK: why the share moved back to the household (LATE_INTEREST, MISUSE, HOUSEHOLD_REMOVED)" }),
  claim_status: z.string().nullable(),
});
export const SubsidySchedule = z
  .object({ loan_id: Uuid, mode: z.string(), ratio: z.string(), subsidy_rate: z.string(), term_end: z.string(), periods: z.array(SubsidyScheduleLine), totals: z.object({ interest: z.string(), subsidy: z.string(), household_interest: z.string() }) })
  .openapi("SubsidySchedule", { description: "A loan's interest subsidy per schedule period, with the household's own part" });
