import type { Knex } from "knex";
import { type Actor, requireRole } from "../../http/auth.js";
import { notFound } from "../../http/errors.js";
import type { CellKind, ExportTable } from "../../http/export.js";
import { D } from "../../lib/money.js";
import { type BreakdownBy, type BreakdownRow, type BreakdownScope, type BreakdownValue, breakdownSources } from "./breakdown.js";

type Db = Knex | Knex.Transaction;

/**
 * Figures by township, village or bank (分乡镇 / 分村 / 分银行): each module's source gives its own
 * figures per group and for the whole scope (computed by the database, not added up here); this
 * file puts them side by side and derives the ratios from them.
 */
export const FIGURE_COLUMNS = [
  { key: "eligible_households", label_zh: "符合条件户数", kind: "count" },
  { key: "households_with_line", label_zh: "授信户数", kind: "count" },
  { key: "lines_granted_amount", label_zh: "授信总额", kind: "yuan" },
  { key: "households_borrowed", label_zh: "累计获贷户数", kind: "count" },
  { key: "coverage_ratio", label_zh: "获贷率", kind: "ratio" },
  { key: "households_with_loan", label_zh: "有贷款余额户数", kind: "count" },
  { key: "credit_use_ratio", label_zh: "用信率", kind: "ratio" },
  { key: "credit_use_amount_ratio", label_zh: "余额占授信比", kind: "ratio" },
  { key: "loans_active", label_zh: "在贷笔数", kind: "count" },
  { key: "outstanding_amount", label_zh: "贷款余额", kind: "yuan" },
  { key: "overdue_amount", label_zh: "逾期贷款余额", kind: "yuan" },
  { key: "overdue_ratio", label_zh: "逾期率", kind: "ratio" },
  { key: "npl_amount", label_zh: "不良贷款余额", kind: "yuan" },
  { key: "npl_ratio", label_zh: "不良率", kind: "ratio" },
  { key: "subsidies_claimed_amount", label_zh: "申报贴息", kind: "yuan" },
  { key: "subsidies_paid_amount", label_zh: "已拨付贴息", kind: "yuan" },
  { key: "dividends_distributed_amount", label_zh: "已分配分红", kind: "yuan" },
  { key: "dividends_paid_amount", label_zh: "已发放分红", kind: "yuan" },
  { key: "dividend_households", label_zh: "分红受益户数", kind: "count" },
] as const satisfies readonly { key: string; label_zh: string; kind: CellKind }[];
export type FigureKey = (typeof FIGURE_COLUMNS)[number]["key"];

export type FigureRow = { key: string | null; name: string | null } & Record<FigureKey, BreakdownValue>;

export interface FiguresQuery {
  by: BreakdownBy;
  county_code: string;
  township_code?: string;
  village_code?: string;
  bank_id?: string;
}

/**
 * The scope a caller may see: county staff (admin, regulator, finance officer) their counties; a
 * village officer its village only; a bank's loan officers and managers their bank only. A
 * township, village or bank outside that is 404, like one that does not exist.
 */
function scopeFor(actor: Actor, q: FiguresQuery, today: string): BreakdownScope {
  requireRole(actor, "admin", "regulator", "finance_officer", "village_officer", "loan_officer", "bank_manager");
  if (!actor.countyCodes.includes(q.county_code)) throw notFound("county");
  if (q.township_code && !q.township_code.startsWith(q.county_code)) throw notFound("township");
  if (q.village_code && !q.village_code.startsWith(q.township_code ?? q.county_code)) throw notFound("village");
  let villageCode = q.village_code ?? null;
  let bankId = q.bank_id ?? null;
  if (actor.role === "village_officer") {
    const own = actor.villageCode ?? "";
    if ((q.village_code && q.village_code !== own) || (q.township_code && !own.startsWith(q.township_code))) throw notFound("village");
    villageCode = own;
  }
  if (actor.role === "loan_officer" || actor.role === "bank_manager") {
    if (q.bank_id && q.bank_id !== actor.bankId) throw notFound("bank");
    bankId = actor.bankId;
  }
  return { by: q.by, countyCode: q.county_code, townshipCode: q.township_code ?? null, villageCode, bankId, asOf: today };
}

/** A ratio as a decimal string with four places, half-up ("0.0000" when the denominator is 0). */
function ratio(num: BreakdownValue, den: BreakdownValue): string | null {
  if (num === null || den === null) return null;
  const d = new D(den);
  return d.isZero() ? "0.0000" : new D(num).div(d).toFixed(4, D.ROUND_HALF_UP);
}

function withRatios(v: Record<string, BreakdownValue>, countyEligible: BreakdownValue): Record<string, BreakdownValue> {
  const has = (k: string) => (k in v ? v[k] : null);
  return {
    ...v,
    coverage_ratio: ratio(has("households_borrowed"), has("eligible_households") ?? countyEligible),
    credit_use_ratio: ratio(has("households_with_loan"), has("households_with_line")),
    credit_use_amount_ratio: ratio(has("outstanding_amount"), has("lines_granted_amount")),
    overdue_ratio: ratio(has("overdue_amount"), has("outstanding_amount")),
    npl_ratio: ratio(has("npl_amount"), has("outstanding_amount")),
  };
}

function rowOf(key: string | null, name: BreakdownValue, v: Record<string, BreakdownValue>): FigureRow {
  const row = { key, name: name === null ? null : String(name) } as FigureRow;
  for (const c of FIGURE_COLUMNS) row[c.key] = c.key in v ? v[c.key] : null;
  return row;
}

export async function figuresBy(db: Db, actor: Actor, q: FiguresQuery, today: string) {
  const scope = scopeFor(actor, q, today);
  const parts: { name: string; rows: BreakdownRow[] }[] = [];
  for (const s of breakdownSources()) parts.push({ name: s.name, rows: await s.compute(db, scope) });
  const register = parts.find((p) => p.name === "register")?.rows ?? [];
  const total = register.find((r) => r.key === null);
  if (!total || total.values.name === null) throw notFound(q.village_code ? "village" : q.township_code ? "township" : "county");
  if (scope.bankId && !total.values.bank_name) throw notFound("bank");

  // A source that applies to the scope answers a total; a group it has nothing for is zero there.
  const values = new Map<string | null, Record<string, BreakdownValue>>();
  const withFigures = new Set<string>();
  for (const p of parts) {
    const own = new Map(p.rows.map((r) => [r.key, r.values]));
    const ptotal = p.rows.find((r) => r.key === null);
    if (!ptotal) continue;
    // A source whose records have no such groups (dividends by bank) has a total only: its lines stay null.
    const zero = p.name === "register" || ptotal.totalOnly ? {} : Object.fromEntries(Object.entries(ptotal.values).map(([k, v]) => [k, typeof v === "number" ? 0 : "0.00"]));
    for (const g of new Set([...register.map((r) => r.key), ...own.keys()])) {
      values.set(g, { ...values.get(g), ...(g === null ? {} : zero), ...own.get(g) });
      if (own.has(g) && g !== null && p.name !== "register") withFigures.add(g);
    }
  }
  // Banks: those with figures in the scope (or the caller's own); divisions: all of the scope.
  const groups = register.filter((r) => r.key !== null && (q.by !== "bank" || withFigures.has(r.key) || r.key === scope.bankId));
  const countyEligible = total.values.eligible_households;
  return {
    county_code: scope.countyCode,
    by: scope.by,
    township_code: scope.townshipCode,
    village_code: scope.villageCode,
    bank_id: scope.bankId,
    bank_name: scope.bankId ? String(total.values.bank_name) : null,
    as_of: today,
    scope_name: String(total.values.name),
    items: groups.map((g) => rowOf(g.key, g.values.name, withRatios(values.get(g.key) ?? {}, countyEligible))),
    total: rowOf(null, total.values.name, withRatios(values.get(null) ?? {}, countyEligible)),
  };
}

export type FiguresBy = Awaited<ReturnType<typeof figuresBy>>;
const BY_ZH: Record<BreakdownBy, string> = { township: "乡镇", village: "村", bank: "银行" };

/** The figures as a table for the shared CSV/XLSX writer: one row per group, then the total (合计). */
export function figuresTable(f: FiguresBy): ExportTable<FigureRow> {
  return {
    sheet: `分${BY_ZH[f.by]} ${f.as_of}`,
    columns: [
      { header: f.by === "bank" ? "银行编号" : "行政区划代码", kind: "text", width: f.by === "bank" ? 38 : 14, value: (r) => r.key ?? "合计" },
      { header: f.by === "bank" ? "银行" : BY_ZH[f.by], kind: "text", width: 16, value: (r) => r.name },
      ...FIGURE_COLUMNS.map((c) => ({ header: c.label_zh, kind: c.kind, width: c.kind === "yuan" ? 16 : 12, value: (r: FigureRow) => r[c.key] })),
    ],
    rows: [...f.items, f.total],
    notes: [
      ["范围", f.scope_name],
      ["县级行政区划代码", f.county_code],
      ["分组", BY_ZH[f.by]],
      ["统计截至", f.as_of],
      ["获贷率", "累计获贷户数 ÷ 符合条件户数（贫困户、脱贫户、监测户；按银行分组时为全范围户数）"],
      ["用信率", "有贷款余额户数 ÷ 授信户数"],
      ["逾期率 / 不良率", "逾期（逾期天数 > 0）/ 不良（逾期天数 > 90）贷款余额 ÷ 贷款余额"],
    ],
  };
}
