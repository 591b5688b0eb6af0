import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { notFound } from "../../http/errors.js";
import type { ExportTable } from "../../http/export.js";
import type { Ctx } from "../../lib/context.js";
import { Money } from "../../lib/money.js";
import { maskName } from "../../lib/pii.js";
import { READERS } from "./common.js";
import { findDistribution } from "./queries.js";
import type { SharesExportQuery } from "./schemas.js";

type Db = Knex | Knex.Transaction;

interface ShareLine {
  household_no: string;
  village_code: string;
  head_name: string | null;
  head_id_number_masked: string | null;
  eligibility: string;
  members: number;
  multiplier: string;
  multiplier_reason: string | null;
  weight: string;
  uncapped_amount: string;
  amount: string;
  payment_status: string;
  paid_on: string | null;
  bank_reference: string | null;
}

const ELIGIBILITY_ZH: Record<string, string> = { POOR: "贫困户", MONITORED: "监测户", EXITED_IN_TRANSITION: "脱贫过渡期内" };
const PAYMENT_ZH: Record<string, string> = { PENDING: "待发放", PAID: "已发放", FAILED: "发放失败", RETURNED: "退回集体" };

/**
 * A distribution's list of shares (分红明细), every household at once (or one village's), in the
 * order of the public notice: the household, its weight and why, its amount and payment. Names
 * and ID numbers masked as on the notice. The heading notes say how the income was split, so the
 * file adds up: income = retention + earmarks + cap excess + the shares.
 */
export async function sharesBook(db: Db, ctx: Pick<Ctx, "actor">, id: string, q: z.infer<typeof SharesExportQuery>): Promise<ExportTable<ShareLine>> {
  requireRole(ctx.actor, ...READERS);
  const d = await findDistribution(db, ctx.actor, id);
  if (!d) throw notFound("distribution");
  const rows = (await db("distribution_shares as s")
    .join("households as h", "h.id", "s.household_id")
    .leftJoin("household_members as head", function () {
      this.on("head.household_id", "s.household_id").andOnVal("head.relation", "HEAD");
    })
    .where("s.distribution_id", d.id)
    .modify((b) => {
      if (q.village_code) b.andWhere("s.village_code", q.village_code);
    })
    .orderBy([{ column: "s.village_code" }, { column: "h.household_no" }])
    .select(
      "h.household_no",
      "s.village_code",
      "head.name as head_name",
      "head.id_number_masked as head_id_number_masked",
      "s.eligibility",
      "s.members",
      db.raw("s.multiplier::text AS multiplier"),
      "s.multiplier_reason",
      db.raw("s.weight::text AS weight"),
      db.raw("s.uncapped_amount::text AS uncapped_amount"),
      db.raw("s.amount::text AS amount"),
      "s.payment_status",
      "s.paid_on",
      "s.bank_reference",
    )) as ShareLine[];
  return {
    sheet: `分红明细 ${d.period}`,
    columns: [
      { header: "户编号", kind: "text", width: 18, value: (s) => s.household_no },
      { header: "村代码", kind: "text", width: 14, value: (s) => s.village_code },
      { header: "户主", kind: "text", width: 10, value: (s) => (s.head_name ? maskName(s.head_name) : null) },
      { header: "户主身份证号（脱敏）", kind: "text", width: 22, value: (s) => s.head_id_number_masked },
      { header: "受益资格", kind: "text", width: 14, value: (s) => ELIGIBILITY_ZH[s.eligibility] ?? s.eligibility },
      { header: "人口数", kind: "count", value: (s) => s.members },
      { header: "系数", kind: "count", width: 8, value: (s) => s.multiplier },
      { header: "系数原因", kind: "text", width: 16, value: (s) => s.multiplier_reason },
      { header: "权重", kind: "count", width: 10, value: (s) => s.weight },
      { header: "封顶前金额", kind: "yuan", value: (s) => s.uncapped_amount },
      { header: "分红金额", kind: "yuan", value: (s) => s.amount },
      { header: "发放状态", kind: "text", width: 10, value: (s) => PAYMENT_ZH[s.payment_status] ?? s.payment_status },
      { header: "发放日期", kind: "date", value: (s) => s.paid_on },
      { header: "银行流水号", kind: "text", width: 20, value: (s) => s.bank_reference },
    ],
    rows,
    notes: [
      ["分配编号", d.id],
      ["期间", d.period],
      ["状态", d.status],
      ["收益总额（元）", Money.format(d.income_total)],
      ["村集体留存（元）", Money.format(d.retention_amount)],
      ["专项（元）", Money.format(d.earmarks_total)],
      ["封顶超出部分（元）", Money.format(d.cap_excess)],
      ["农户分红合计（元）", Money.format(d.shares_total)],
      ["分红户数", String(d.household_count)],
    ],
  };
}
