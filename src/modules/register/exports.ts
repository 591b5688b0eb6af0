import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import type { ExportTable } from "../../http/export.js";
import type { Ctx } from "../../lib/context.js";
import { type HouseholdRow, householdsQuery } from "./queries.js";
import type { HouseholdExportQuery } from "./schemas.js";

type Db = Knex | Knex.Transaction;
type RegisterLine = HouseholdRow & { head_id_number_masked: string | null };

const STATUS_ZH: Record<string, string> = { POOR: "贫困户", EXITED: "脱贫户", MONITORED: "监测户", REMOVED: "清退" };
const TYPE_ZH: Record<string, string> = { GENERAL: "一般贫困户", DIBAO: "低保贫困户", TEKUN: "特困供养户", MONITORED: "边缘户/监测户" };
const READERS = ["admin", "village_officer", "loan_officer", "bank_manager", "finance_officer", "regulator"] as const;

/**
 * The register (建档立卡花名册) of the caller's jurisdiction with the list's filters, every household
 * at once, ordered by village and household number. ID numbers, phones and bank accounts are always
 * masked here — even for the village officer who sees them whole in the API: a file leaves the
 * system and is forwarded, printed and kept.
 */
export async function registerBook(db: Db, ctx: Pick<Ctx, "actor" | "clock">, q: z.infer<typeof HouseholdExportQuery>): Promise<ExportTable<RegisterLine>> {
  requireRole(ctx.actor, ...READERS);
  const query = householdsQuery(db, ctx.actor).select("head.id_number_masked as head_id_number_masked");
  for (const k of ["county_code", "township_code", "village_code", "status", "household_type", "main_cause"] as const) {
    if (q[k]) query.andWhere(`h.${k}`, q[k]);
  }
  const rows = (await query.orderBy([{ column: "h.village_code" }, { column: "h.household_no" }])) as RegisterLine[];
  return {
    sheet: `建档立卡 ${ctx.clock.today()}`,
    columns: [
      { header: "户编号", kind: "text", width: 18, value: (h) => h.household_no },
      { header: "乡镇代码", kind: "text", width: 12, value: (h) => h.township_code },
      { header: "村代码", kind: "text", width: 14, value: (h) => h.village_code },
      { header: "户主", kind: "text", width: 10, value: (h) => h.head_name },
      { header: "户主身份证号（脱敏）", kind: "text", width: 22, value: (h) => h.head_id_number_masked },
      { header: "联系电话（脱敏）", kind: "text", width: 16, value: (h) => h.phone_masked },
      { header: "银行账号（脱敏）", kind: "text", width: 24, value: (h) => h.bank_account_masked },
      { header: "人口数", kind: "count", value: (h) => h.member_count },
      { header: "状态", kind: "text", width: 8, value: (h) => STATUS_ZH[h.status] ?? h.status },
      { header: "状态起始日", kind: "date", value: (h) => h.status_since },
      { header: "脱贫日期", kind: "date", value: (h) => h.exit_date },
      { header: "户类型", kind: "text", width: 14, value: (h) => TYPE_ZH[h.household_type] ?? h.household_type },
      { header: "主要致贫原因", kind: "text", width: 14, value: (h) => h.main_cause },
    ],
    rows,
    notes: [
      ["导出日期", ctx.clock.today()],
      ["个人信息", "身份证号、电话、银行账号均已脱敏"],
    ],
  };
}
