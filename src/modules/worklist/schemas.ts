import { z } from "../../http/zod.js";

export const WorklistQuery = z.object({
  days: z.coerce
    .number()
    .int()
    .min(1)
    .max(60)
    .default(7)
    .openapi({ description: "Instalments due from today through today + days (1-60, default 7)", example: 7 }),
  format: z.enum(["json", "csv", "xlsx"]).optional().openapi({ description: "Or the Accept header: text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }),
});

const Who = {
  household_id: z.string(),
  household_no: z.string().nullable(),
  village_code: z.string(),
  village_name: z.string().nullable(),
  head_name: z.string().nullable().openapi({ description: "户主" }),
  phone: z.string().nullable().openapi({ description: "The household's contact phone, masked (138****5678) for bank staff" }),
  phone_masked: z.boolean(),
};
const Borrower = { borrower_member_id: z.string(), borrower_name: z.string().nullable().openapi({ description: "借款人" }) };

const DueItem = z
  .object({
    due_date: z.string(),
    loan_id: z.string(),
    contract_no: z.string().nullable(),
    seq: z.number().int().openapi({ description: "The schedule period" }),
    ...Who,
    ...Borrower,
    principal: z.string().openapi({ description: "Principal of the instalment not yet paid" }),
    interest: z.string().openapi({ description: "The household's interest of the instalment not yet paid (after a TO_BANK subsidy)" }),
    penalty: z.string().openapi({ description: "Penalty interest the loan owes (罚息), on its first instalment listed" }),
    total: z.string(),
  })
  .openapi("WorklistDue");

const OverdueItem = z
  .object({
    loan_id: z.string(),
    contract_no: z.string().nullable(),
    ...Who,
    ...Borrower,
    dpd: z.number().int(),
    dpd_bucket: z.enum(["DPD_1_30", "DPD_31_90", "DPD_91_180", "DPD_181_PLUS"]),
    outstanding_principal: z.string(),
    overdue_principal: z.string(),
    overdue_interest: z.string(),
    penalty_due: z.string(),
    overdue_total: z.string(),
    standing_date: z.string().nullable().openapi({ description: "Business date of the stored standing (the last close of business or repayment)" }),
  })
  .openapi("WorklistOverdue");

const RatingItem = z
  .object({
    rating_id: z.string(),
    ...Who,
    grade: z.string(),
    score: z.number().int(),
    credit_line: z.string(),
    rated_on: z.string(),
    valid_until: z.string().nullable(),
    days_left: z.number().int().nullable(),
    renewal_pending: z.boolean().openapi({ description: "A new rating of the household by this bank already waits for approval" }),
    created_by: z.string(),
  })
  .openapi("WorklistRating");

const LoanItem = z
  .object({
    loan_id: z.string(),
    ...Who,
    ...Borrower,
    amount: z.string(),
    term_months: z.number().int(),
    repayment_method: z.string(),
    applied_on: z.string(),
    decided_on: z.string().nullable(),
    days_waiting: z.number().int().openapi({ description: "Days since the approval (approved loans) or the application (pending ones)" }),
    officer_id: z.string(),
    approver_id: z.string().nullable(),
  })
  .openapi("WorklistLoan");

export const Worklist = z
  .object({
    as_of: z.string().openapi({ description: "Today's business date" }),
    days: z.number().int(),
    role: z.enum(["loan_officer", "bank_manager"]),
    due: z.object({ count: z.number().int(), total: z.string(), items: z.array(DueItem) }),
    overdue: z.object({
      count: z.number().int(),
      overdue_total: z.string(),
      buckets: z.array(
        z.object({
          bucket: z.enum(["DPD_1_30", "DPD_31_90", "DPD_91_180", "DPD_181_PLUS"]),
          label: z.string(),
          count: z.number().int(),
          outstanding_principal: z.string(),
          overdue_total: z.string(),
          items: z.array(OverdueItem),
        }),
      ),
    }),
    expiring_ratings: z.object({ within_days: z.number().int(), count: z.number().int(), items: z.array(RatingItem) }),
    approved_not_disbursed: z.object({ count: z.number().int(), amount: z.string(), items: z.array(LoanItem) }),
    pending_approval: z
      .object({ ratings: z.array(RatingItem), loans: z.array(LoanItem) })
      .nullable()
      .openapi({ description: "A bank manager's approval queue (ratings and loan applications waiting); null for a loan officer" }),
  })
  .openapi("Worklist");
