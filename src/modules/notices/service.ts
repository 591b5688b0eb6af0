import type { Knex } from "knex";
import { type Actor, requireRole } from "../../http/auth.js";
import { Money } from "../../lib/money.js";
import { escapeHtml, printablePage } from "../../lib/html.js";
import { maskName } from "../../lib/pii.js";

type Db = Knex | Knex.Transaction;

export const NOTICE_KINDS = ["exits", "subsidies", "distributions"] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** One line of a public notice: names and ID numbers are always masked. */
export interface NoticeEntry {
  name: string;
  id_number: string;
  household_no: string;
  detail: string;
  amount?: string;
}

export interface Notice {
  kind: NoticeKind;
  ref: string;
  title: string;
  village_code: string;
  village_name: string;
  period_start: string | null;
  period_end: string | null;
  entries: NoticeEntry[];
}

export interface NoticeQuery {
  villageCodes: string[] | null;
  countyCodes: string[];
  from: string;
  to: string;
}

/** A module's public notices (公示) per village, for notices that began between `from` and `to`. */
export type NoticeProvider = (db: Db, q: NoticeQuery) => Promise<Notice[]>;
const providers = new Map<NoticeKind, NoticeProvider>();
export function registerNoticeProvider(kind: NoticeKind, p: NoticeProvider): void {
  providers.set(kind, p);
}

/** Poverty exits (脱贫退出公示): every exit whose notice began in the range, per village. */
registerNoticeProvider("exits", async (db, q) => {
  const rows = await db("household_status_changes as c")
    .join("households as h", "h.id", "c.household_id")
    .join("divisions as v", "v.code", "h.village_code")
    .join("household_members as head", function () {
      this.on("head.household_id", "h.id").andOnVal("head.relation", "HEAD");
    })
    .where("c.to_status", "EXITED")
    .whereIn("h.county_code", q.countyCodes)
    .modify((b) => {
      if (q.villageCodes) b.whereIn("h.village_code", q.villageCodes);
    })
    .whereBetween("c.notice_start", [q.from, q.to])
    .orderBy([{ column: "h.village_code" }, { column: "c.notice_start" }, { column: "h.household_no" }])
    .select("h.village_code", "v.name as village_name", "c.notice_start", "c.notice_end", "c.effective_date", "c.reason", "h.household_no", "head.name", "head.id_number_masked");
  const byKey = new Map<string, Notice>();
  for (const r of rows) {
    const key = `${r.village_code}|${r.notice_start}`;
    let n = byKey.get(key);
    if (!n) {
      n = {
        kind: "exits",
        ref: key,
        title: `${r.village_name} 贫困户退出公示`,
        village_code: r.village_code,
        village_name: r.village_name,
        period_start: r.notice_start,
        period_end: r.notice_end,
        entries: [],
      };
      byKey.set(key, n);
    }
    n.entries.push({ name: maskName(r.name), id_number: r.id_number_masked, household_no: r.household_no, detail: r.reason });
  }
  return [...byKey.values()];
});

/** Dividend shares (收益分配公示): every distribution noticed in the range, one notice per village. */
registerNoticeProvider("distributions", async (db, q) => {
  const rows = await db("distribution_shares as s")
    .join("distributions as d", "d.id", "s.distribution_id")
    .join("households as h", "h.id", "s.household_id")
    .join("divisions as v", "v.code", "s.village_code")
    .leftJoin("household_members as head", function () {
      this.on("head.household_id", "s.household_id").andOnVal("head.relation", "HEAD");
    })
    .whereIn("d.county_code", q.countyCodes)
    .whereNotNull("d.notice_date")
    .whereNot("d.status", "DRAFT")
    .whereBetween("d.notice_date", [q.from, q.to])
    .modify((b) => {
      if (q.villageCodes) b.whereIn("s.village_code", q.villageCodes);
    })
    .orderBy([{ column: "d.notice_date" }, { column: "d.id" }, { column: "s.village_code" }, { column: "h.household_no" }])
    .select("d.id as distribution_id", "d.period", "d.notice_date", "d.payable_from", "s.village_code", "v.name as village_name", "h.household_no", "head.name", "head.id_number_masked", "s.weight", "s.members", "s.amount");
  const byKey = new Map<string, Notice>();
  for (const r of rows) {
    const key = `${r.distribution_id}|${r.village_code}`;
    let n = byKey.get(key);
    if (!n) {
      n = {
        kind: "distributions",
        ref: key,
        title: `${r.village_name} 扶贫资产收益分配公示（${r.period}）`,
        village_code: r.village_code,
        village_name: r.village_name,
        period_start: r.notice_date,
        period_end: r.payable_from,
        entries: [],
      };
      byKey.set(key, n);
    }
    n.entries.push({
      name: maskName(r.name ?? ""),
      id_number: r.id_number_masked ?? "",
      household_no: r.household_no,
      detail: `${r.members}人，权重 ${Number(r.weight)}`,
      amount: Money.format(r.amount),
    });
  }
  return [...byKey.values()];
});

export async function listNotices(db: Db, actor: Actor, kind: NoticeKind | undefined, villageCode: string | undefined, from: string, to: string) {
  requireRole(actor, "admin", "village_officer", "regulator", "finance_officer", "loan_officer", "bank_manager");
  let villageCodes: string[] | null = villageCode ? [villageCode] : null;
  if (actor.role === "village_officer") villageCodes = villageCode && villageCode !== actor.villageCode ? [] : [actor.villageCode ?? ""];
  const q: NoticeQuery = { villageCodes, countyCodes: actor.countyCodes, from, to };
  const out: Notice[] = [];
  for (const k of kind ? [kind] : NOTICE_KINDS) {
    const p = providers.get(k);
    if (p) out.push(...(await p(db, q)));
  }
  return { items: out, next_cursor: null };
}

const esc = escapeHtml;

/** A printable page (A4) of notices, one per sheet, to post in the village. */
export function noticesHtml(notices: Notice[]): string {
  const sheets = notices
    .map((n) => {
      const hasAmount = n.entries.some((e) => e.amount !== undefined);
      const rows = n.entries
        .map(
          (e, i) =>
            `<tr><td>${i + 1}</td><td>${esc(e.name)}</td><td>${esc(e.id_number)}</td><td>${esc(e.household_no)}</td><td>${esc(e.detail)}</td>${hasAmount ? `<td class="num">${esc(e.amount ?? "")}</td>` : ""}</tr>`,
        )
        .join("");
      const period = n.period_start ? `<p>公示期：${esc(n.period_start)} 至 ${esc(n.period_end ?? "")}。如有异议，请在公示期内向村委会或乡镇人民政府反映。</p>` : "";
      return `<section class="sheet"><h1>${esc(n.title)}</h1>${period}
<table><thead><tr><th>序号</th><th>姓名</th><th>身份证号</th><th>户编号</th><th>事项</th>${hasAmount ? "<th>金额（元）</th>" : ""}</tr></thead><tbody>${rows}</tbody></table>
<p class="foot">${esc(n.village_name)}（${esc(n.village_code)}）· 共 ${n.entries.length} 户</p></section>`;
    })
    .join("\n");
  return printablePage(
    "公示",
    sheets || "<p>本期无公示事项。</p>",
    `.sheet{padding:20mm;page-break-after:always}
h1{text-align:center;font-size:22pt}
.foot{text-align:right;margin-top:12px}`,
  );
}
