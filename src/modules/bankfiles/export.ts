/** A balance statement as a download: CSV (one line per contract that did not match) or XLSX (a sheet per outcome, and a summary). */
import { sheetOf, type TableColumn, tableCsv, tablesXlsx } from "../../lib/tables.js";
import type { statementWithAllLines } from "./service.js";

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
