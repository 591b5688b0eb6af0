/**
 * The worklist as a download: an XLSX workbook with one sheet per section (header row frozen, an
 * autofilter over it), or one CSV whose first column names the section of each row.
 */
import { type SheetCells, sheetOf, type TableColumn, tableCsv, tablesXlsx } from "../../lib/tables.js";
import type { WorklistView } from "./service.js";

type Due = WorklistView["due"]["items"][number];
type Overdue = WorklistView["overdue"]["buckets"][number]["items"][number];
type Rating = WorklistView["expiring_ratings"]["items"][number];
type LoanWaiting = WorklistView["approved_not_disbursed"]["items"][number];

const household = <T extends { household_no: string | null; village_name: string | null; head_name: string | null; phone: string | null }>(): TableColumn<T>[] => [
  { header: "户号", value: (r) => r.household_no, width: 22 },
  { header: "村", value: (r) => r.village_name, width: 12 },
  { header: "户主", value: (r) => r.head_name, width: 10 },
];
const phone = <T extends { phone: string | null }>(): TableColumn<T> => ({ header: "联系电话", value: (r) => r.phone, width: 14 });

const DUE: TableColumn<Due>[] = [
  { header: "到期日", value: (r) => r.due_date, width: 12 },
  { header: "合同号", value: (r) => r.contract_no, width: 20 },
  { header: "贷款ID", value: (r) => r.loan_id, width: 38 },
  { header: "期次", value: (r) => r.seq, width: 6 },
  ...household<Due>(),
  { header: "借款人", value: (r) => r.borrower_name, width: 10 },
  phone<Due>(),
  { header: "应还本金", value: (r) => r.principal, money: true, width: 14 },
  { header: "应还利息(农户)", value: (r) => r.interest, money: true, width: 14 },
  { header: "罚息", value: (r) => r.penalty, money: true, width: 12 },
  { header: "合计", value: (r) => r.total, money: true, width: 14 },
];

const OVERDUE: TableColumn<Overdue>[] = [
  { header: "逾期档次", value: (r) => r.dpd_bucket, width: 14 },
  { header: "逾期天数", value: (r) => r.dpd, width: 10 },
  { header: "合同号", value: (r) => r.contract_no, width: 20 },
  { header: "贷款ID", value: (r) => r.loan_id, width: 38 },
  ...household<Overdue>(),
  { header: "借款人", value: (r) => r.borrower_name, width: 10 },
  phone<Overdue>(),
  { header: "贷款余额", value: (r) => r.outstanding_principal, money: true, width: 14 },
  { header: "逾期本金", value: (r) => r.overdue_principal, money: true, width: 14 },
  { header: "逾期利息", value: (r) => r.overdue_interest, money: true, width: 14 },
  { header: "罚息", value: (r) => r.penalty_due, money: true, width: 12 },
  { header: "逾期合计", value: (r) => r.overdue_total, money: true, width: 14 },
  { header: "状态日期", value: (r) => r.standing_date, width: 12 },
];

const RATING: TableColumn<Rating>[] = [
  { header: "评级ID", value: (r) => r.rating_id, width: 38 },
  ...household<Rating>(),
  phone<Rating>(),
  { header: "等级", value: (r) => r.grade, width: 8 },
  { header: "得分", value: (r) => r.score, width: 8 },
  { header: "授信额度", value: (r) => r.credit_line, money: true, width: 14 },
  { header: "评级日期", value: (r) => r.rated_on, width: 12 },
  { header: "有效期至", value: (r) => r.valid_until, width: 12 },
  { header: "剩余天数", value: (r) => r.days_left, width: 10 },
  { header: "已重新评级待审", value: (r) => (r.renewal_pending ? "是" : "否"), width: 14 },
];

const LOAN: TableColumn<LoanWaiting>[] = [
  { header: "贷款ID", value: (r) => r.loan_id, width: 38 },
  ...household<LoanWaiting>(),
  { header: "借款人", value: (r) => r.borrower_name, width: 10 },
  phone<LoanWaiting>(),
  { header: "金额", value: (r) => r.amount, money: true, width: 14 },
  { header: "期限(月)", value: (r) => r.term_months, width: 10 },
  { header: "还款方式", value: (r) => r.repayment_method, width: 18 },
  { header: "申请日期", value: (r) => r.applied_on, width: 12 },
  { header: "审批日期", value: (r) => r.decided_on, width: 12 },
  { header: "等待天数", value: (r) => r.days_waiting, width: 10 },
];

/** The sheet names, in order (the bank manager's two approval sheets last). */
export const SHEETS = { due: "到期提醒", overdue: "逾期贷款", ratings: "评级到期", approved: "已批未放", pendingRatings: "待审批评级", pendingLoans: "待审批贷款" } as const;

function sheets(w: WorklistView): SheetCells[] {
  const out = [
    sheetOf({ name: SHEETS.due, columns: DUE, rows: w.due.items }),
    sheetOf({ name: SHEETS.overdue, columns: OVERDUE, rows: w.overdue.buckets.flatMap((b) => b.items) }),
    sheetOf({ name: SHEETS.ratings, columns: RATING, rows: w.expiring_ratings.items }),
    sheetOf({ name: SHEETS.approved, columns: LOAN, rows: w.approved_not_disbursed.items }),
  ];
  if (w.pending_approval) {
    out.push(sheetOf({ name: SHEETS.pendingRatings, columns: RATING, rows: w.pending_approval.ratings }));
    out.push(sheetOf({ name: SHEETS.pendingLoans, columns: LOAN, rows: w.pending_approval.loans }));
  }
  return out;
}

export function worklistXlsx(w: WorklistView): Promise<Buffer> {
  return tablesXlsx(sheets(w));
}

/** One CSV: `分类` (the sheet's name) then that section's columns, each section under its own header line. */
export function worklistCsv(w: WorklistView): string {
  return sheets(w)
    .map((s, i) => {
      const csv = tableCsv<(string | number | boolean | null)[]>(
        [{ header: "分类", value: () => s.name }, ...s.columns.map((c, k) => ({ header: c.header, value: (row: (string | number | boolean | null)[]) => row[k] }))],
        s.cells,
      );
      return i === 0 ? csv : csv.slice(1); // one byte-order mark, at the start
    })
    .join("");
}
