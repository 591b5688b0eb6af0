import type { Knex } from "knex";
import type { z } from "zod";
import type { ExportTable } from "../../http/export.js";
import type { Ctx } from "../../lib/context.js";
import type { LoanRow } from "./queries.js";
import type { LoanExportQuery } from "./schemas.js";
import { filteredLoans, loanView } from "./views.js";

type Db = Knex | Knex.Transaction;
type LoanLine = ReturnType<typeof loanView>;

const STATUS_ZH: Record<string, string> = {
  APPLIED: "已申请", APPROVED: "已审批", REJECTED: "已拒绝", CANCELLED: "已取消", DISBURSED: "已放款", EXTENDED: "已展期",
  REPAID: "已结清", RENEWED: "已续贷", WRITTEN_OFF: "已核销", COMPENSATED: "已代偿",
};

/**
 * The loan book (贷款台账) of the caller's jurisdiction with the list's filters, every loan at once
 * (no pages), ordered by village and disbursement date: the contract, its standing today. No
 * personal data: households are named by id only.
 */
export async function loanBook(db: Db, ctx: Pick<Ctx, "actor" | "clock">, q: z.infer<typeof LoanExportQuery>): Promise<ExportTable<LoanLine>> {
  const rows = (await filteredLoans(db, ctx.actor, q).orderBy([{ column: "loans.village_code" }, { column: "loans.disbursed_on" }, { column: "loans.id" }])) as LoanRow[];
  const today = ctx.clock.today();
  return {
    sheet: `贷款台账 ${today}`,
    columns: [
      { header: "贷款编号", kind: "text", width: 38, value: (l) => l.id },
      { header: "村代码", kind: "text", width: 14, value: (l) => l.village_code },
      { header: "银行编号", kind: "text", width: 38, value: (l) => l.bank_id },
      { header: "农户编号", kind: "text", width: 38, value: (l) => l.household_id },
      { header: "状态", kind: "text", width: 8, value: (l) => STATUS_ZH[l.status] ?? l.status },
      { header: "贷款金额", kind: "yuan", value: (l) => l.amount },
      { header: "贷款余额", kind: "yuan", value: (l) => l.outstanding_principal },
      { header: "年利率", kind: "ratio", value: (l) => l.annual_rate },
      { header: "期限（月）", kind: "count", value: (l) => l.term_months },
      { header: "还款方式", kind: "text", width: 18, value: (l) => l.repayment_method },
      { header: "用途", kind: "text", width: 12, value: (l) => l.purpose },
      { header: "申请日", kind: "date", value: (l) => l.applied_on },
      { header: "放款日", kind: "date", value: (l) => l.disbursed_on },
      { header: "到期日", kind: "date", value: (l) => l.maturity_date },
      { header: "逾期天数", kind: "count", value: (l) => l.dpd },
      { header: "逾期本金", kind: "yuan", value: (l) => l.overdue_principal },
      { header: "逾期利息", kind: "yuan", value: (l) => l.overdue_interest },
      { header: "应收罚息", kind: "yuan", value: (l) => l.penalty_due },
      { header: "不良", kind: "text", width: 6, value: (l) => (l.non_performing ? "是" : "否") },
    ],
    rows: rows.map((r) => loanView(r, { on: today })),
    notes: [
      ["统计截至", today],
      ["不良", "逾期天数 > 90"],
    ],
  };
}
