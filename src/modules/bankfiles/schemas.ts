import { CountyCode, IsoDate, ListQuery, Uuid, z } from "../../http/zod.js";

export const IdParam = z.object({ id: Uuid });

const Row = z
  .object({
    contract_no: z.string().max(200).optional().openapi({ description: "The bank's contract number (合同号)" }),
    loan_id: z.string().max(200).optional().openapi({ description: "Or the platform's loan id (used instead of the contract number when given)" }),
    outstanding_principal: z.string().max(40).openapi({ description: "The bank's outstanding principal (贷款余额) on as_of, yuan, e.g. \"12345.67\"" }),
  })
  .strict();

export const StatementCreate = z
  .object({
    as_of: IsoDate.openapi({ description: "The date of the bank's balances (end of day); today or earlier" }),
    county_code: CountyCode.optional().openapi({ description: "The county of the loans; needed only when you work in several" }),
    rows: z.array(Row).max(200_000),
  })
  .strict()
  .openapi("BalanceStatementCreate");

/** With a CSV or XLSX body the date and county come in the query. */
export const StatementFileQuery = z.object({
  as_of: IsoDate.optional().openapi({ description: "Required with a CSV or XLSX body" }),
  county_code: CountyCode.optional(),
});

export const LinesQuery = ListQuery.extend({
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  outcome: z.enum(["DIFFERS", "UNKNOWN", "MISSING_FROM_FILE"]).optional(),
  format: z.enum(["json", "csv", "xlsx"]).optional().openapi({ description: "csv or xlsx: every line as a download (limit and cursor do not apply)" }),
});
export const StatementListQuery = ListQuery.extend({ as_of: IsoDate.optional() });

export const StatementLine = z
  .object({
    seq: z.number().int(),
    outcome: z.enum(["DIFFERS", "UNKNOWN", "MISSING_FROM_FILE"]).openapi({
      description: "DIFFERS: both have the contract, the figures differ; UNKNOWN: the platform has no such loan of your bank (or it was not disbursed by as_of); MISSING_FROM_FILE: a loan of your bank open on as_of that the file lacks",
    }),
    file_row: z.number().int().nullable().openapi({ description: "The file's row (1 = first data row); null for MISSING_FROM_FILE" }),
    contract_no: z.string().nullable(),
    loan_id: z.string().nullable(),
    bank_principal: z.string().nullable(),
    platform_principal: z.string().nullable(),
    difference: z.string().nullable().openapi({ description: "bank − platform" }),
  })
  .openapi("BalanceStatementLine");

export const Statement = z
  .object({
    id: Uuid,
    county_code: z.string(),
    bank_id: Uuid,
    as_of: z.string(),
    source_format: z.enum(["json", "csv", "xlsx"]),
    file_rows: z.number().int(),
    matched: z.number().int(),
    differing: z.number().int(),
    unknown: z.number().int(),
    missing_from_file: z.number().int(),
    bank_total: z.string().openapi({ description: "Sum of the file's balances" }),
    platform_total: z.string().openapi({ description: "The platform's outstanding principal of your bank's loans open on as_of in the county" }),
    created_by: Uuid,
    created_at: z.string(),
    lines: z.array(StatementLine).openapi({ description: "The contracts that did not match, a page at a time (file order, then those the file lacks)" }),
    next_cursor: z.string().nullable(),
  })
  .openapi("BalanceStatement");

export const StatementSummary = Statement.omit({ lines: true, next_cursor: true }).openapi("BalanceStatementSummary");
export const StatementList = z.object({ items: z.array(StatementSummary), next_cursor: z.string().nullable() }).openapi("BalanceStatementList");

const Payment = z
  .object({
    contract_no: z.string().max(200).optional().openapi({ description: "The bank's contract number (合同号)" }),
    loan_id: z.string().max(200).optional().openapi({ description: "Or the platform's loan id" }),
    value_date: z.string().max(40).optional().openapi({ description: "起息日 YYYY-MM-DD; the day the file arrives when absent" }),
    amount: z.string().max(40).openapi({ description: "Yuan, e.g. \"345.67\"" }),
    reference: z.string().max(200).openapi({ description: "银行流水号: recorded once per bank for ever" }),
  })
  .strict();
export const RepaymentFileCreate = z.object({ rows: z.array(Payment).max(200_000) }).strict().openapi("RepaymentFileCreate");
export const RepaymentFileQuery = z.object({ county_code: CountyCode.optional().openapi({ description: "The county of the loans; needed only when you work in several" }) });
export const RepaymentFileRowsQuery = ListQuery.extend({
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  status: z.enum(["PENDING", "APPLIED", "REFUSED", "DUPLICATE"]).optional(),
  format: z.enum(["json", "csv", "xlsx"]).optional().openapi({ description: "csv or xlsx: the result of every row as a download (limit and cursor do not apply)" }),
});
const FileRowView = z.object({
  line: z.number().int(),
  contract_no: z.string().nullable(),
  loan_id: z.string().nullable(),
  value_date: z.string().nullable(),
  amount: z.string().nullable(),
  reference: z.string().nullable(),
  status: z.enum(["PENDING", "APPLIED", "REFUSED", "DUPLICATE"]).openapi({ description: "APPLIED 已入账; REFUSED 拒绝 (code: the API's own); DUPLICATE 流水号已入账, nothing moved; PENDING 待处理" }),
  code: z.string().nullable(),
  message: z.string().nullable(),
  applied_loan_id: z.string().nullable(),
  repayment_id: z.string().nullable(),
  principal: z.string().nullable(),
  interest: z.string().nullable(),
  penalty: z.string().nullable(),
});
const FileFields = {
  id: Uuid,
  county_code: z.string(),
  bank_id: z.string(),
  status: z.enum(["RECEIVED", "PROCESSING", "DONE", "FAILED"]),
  format: z.string(),
  received_on: z.string(),
  rows_total: z.number().int(),
  rows_done: z.number().int(),
  applied: z.number().int(),
  refused: z.number().int(),
  duplicates: z.number().int(),
  progress: z.string().openapi({ description: "rows_done / rows_total, 0 to 1" }),
  error: z.string().nullable(),
  created_by: z.string(),
  created_at: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
};
export const RepaymentFile = z.object(FileFields).openapi("RepaymentFile");
export const RepaymentFileWithRows = z.object({ ...FileFields, rows: z.array(FileRowView), next_cursor: z.string().nullable() }).openapi("RepaymentFileWithRows");
export const RepaymentFileList = z.object({ items: z.array(RepaymentFile), next_cursor: z.string().nullable() }).openapi("RepaymentFileList");
