/** A balance statement as a download: CSV (one line per contract that did not match) or XLSX (a sheet per outcome, and a summary). */
import { sheetOf, type TableColumn, tableCsv, tablesXlsx } from "../../lib/tables.js";
import type { statementWithAllLines } from "./service.js";
import type { repaymentFileWithAllRows } from "./repayment-files.js";

type Full = Awaited<ReturnType<typeof statementWithAllLines>>;
type Line = Full["lines"][number];

export const OUTCOME_LABELS: Record<Line["outcome"], string> = {
  DIFFERS: "余额不符",
  UNKNOWN: "平台无此合同",
  MISSING_FROM_FILE: "文件缺少",
};

const LINE: TableColumn<Line>[] = [
  { header: "结果", value: (l) => OUTCOME_LABELS[l.outcome], width: 14 },
  { header: "结果代码", value: (l) => l.outcome, width: 20 },
  { header: "文件行号", value: (l) => l.file_row, width: 10 },
  { header: "合同号", value: (l) => l.contract_no, width: 22 },
  { header: "贷款ID", value: (l) => l.loan_id, width: 38 },
  { header: "银行余额", value: (l) => l.bank_principal, money: true, width: 14 },
  { header: "平台余额", value: (l) => l.platform_principal, money: true, width: 14 },
  { header: "差额(银行-平台)", value: (l) => l.difference, money: true, width: 16 },
];

type Fact = [string, string | number];
const SUMMARY: TableColumn<Fact>[] = [
  { header: "项目", value: (f) => f[0], width: 22 },
  { header: "数值", value: (f) => f[1], width: 40 },
];

export function statementCsv(s: Full): string {
  return tableCsv(LINE, s.lines);
}

export function statementXlsx(s: Full): Promise<Buffer> {
  const facts: Fact[] = [
    ["对账日期", s.as_of],
    ["县(市、区)代码", s.county_code],
    ["银行ID", s.bank_id],
    ["文件行数", s.file_rows],
    ["一致", s.matched],
    ["余额不符", s.differing],
    ["平台无此合同", s.unknown],
    ["文件缺少", s.missing_from_file],
    ["银行余额合计", s.bank_total],
    ["平台余额合计", s.platform_total],
  ];
  return tablesXlsx([
    sheetOf({ name: "汇总", columns: SUMMARY, rows: facts }),
    ...(Object.keys(OUTCOME_LABELS) as Line["outcome"][]).map((o) => sheetOf({ name: OUTCOME_LABELS[o], columns: LINE, rows: s.lines.filter((l) => l.outcome === o) })),
  ]);
}

type FileResult = Awaited<ReturnType<typeof repaymentFileWithAllRows>>;
type FileLine = FileResult["rows"][number];

export const ROW_STATUS_LABELS: Record<FileLine["status"], string> = { APPLIED: "已入账", REFUSED: "拒绝", DUPLICATE: "重复（流水号已入账）", PENDING: "待处理" };

const FILE_ROW: TableColumn<FileLine>[] = [
  { header: "行号", value: (r) => r.line, width: 8 },
  { header: "合同号", value: (r) => r.contract_no, width: 22 },
  { header: "贷款ID", value: (r) => r.loan_id ?? r.applied_loan_id, width: 38 },
  { header: "起息日", value: (r) => r.value_date, width: 12 },
  { header: "金额(元)", value: (r) => r.amount, money: true, width: 14 },
  { header: "银行流水号", value: (r) => r.reference, width: 24 },
  { header: "结果", value: (r) => ROW_STATUS_LABELS[r.status], width: 18 },
  { header: "结果代码", value: (r) => (r.status === "APPLIED" ? "APPLIED" : r.code), width: 26 },
  { header: "说明", value: (r) => r.message, width: 50 },
  { header: "本金(元)", value: (r) => r.principal, money: true, width: 14 },
  { header: "利息(元)", value: (r) => r.interest, money: true, width: 14 },
  { header: "罚息(元)", value: (r) => r.penalty, money: true, width: 14 },
  { header: "还款ID", value: (r) => r.repayment_id, width: 38 },
];

export function repaymentFileCsv(f: FileResult): string {
  return tableCsv(FILE_ROW, f.rows);
}

export async function repaymentFileXlsx(f: FileResult): Promise<Buffer> {
  const facts: Fact[] = [
    ["文件ID", f.id],
    ["状态", f.status],
    ["接收日", f.received_on],
    ["总行数", f.rows_total],
    ["已入账", f.applied],
    ["拒绝", f.refused],
    ["重复", f.duplicates],
  ];
  return tablesXlsx([sheetOf({ name: "结果", columns: FILE_ROW, rows: f.rows }), sheetOf({ name: "汇总", columns: SUMMARY, rows: facts })]);
}
