import { addMonths, format, lastDayOfMonth, parse as parseDate } from "date-fns";
import type { Knex } from "knex";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import type { ExportTable } from "../../http/export.js";
import { type Figure, figureSources, type SummaryMonth } from "./figures.js";

type Db = Knex | Knex.Transaction;

export const UNIT_ZH: Record<Figure["unit"], string> = { households: "户", people: "人", count: "笔", yuan: "元", ratio: "比率" };
const MAX_SERIES_MONTHS = 36;

function periodOf(countyCode: string, month: string, today: string): SummaryMonth {
  const start = parseDate(`${month}-01`, "yyyy-MM-dd", new Date(2000, 0, 1));
  const monthStart = format(start, "yyyy-MM-dd");
  let monthEnd = format(lastDayOfMonth(start), "yyyy-MM-dd");
  if (monthStart > today) {
    throw new AppError("RULE_VIOLATION", { zh: `月份 ${month} 尚未开始`, en: `Month ${month} has not begun` }, [
      { path: "query.month", message: { zh: "须为本月或以前的月份", en: "a month up to the current one" } },
    ]);
  }
  if (monthEnd > today) monthEnd = today; // the current month: as of today
  return { countyCode, monthStart, monthEnd };
}

function checkCounty(actor: Actor, countyCode: string): void {
  requireRole(actor, "admin", "regulator", "finance_officer");
  if (!actor.countyCodes.includes(countyCode)) throw notFound("county");
}

export async function figuresFor(db: Db, p: SummaryMonth): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const s of figureSources()) out.push(...(await s.compute(db, p)));
  return out;
}

export async function countySummary(db: Db, actor: Actor, countyCode: string, month: string, today: string) {
  checkCounty(actor, countyCode);
  const p = periodOf(countyCode, month, today);
  const county = await db("divisions").where({ code: countyCode, level: "COUNTY" }).first<{ name: string } | undefined>();
  if (!county) throw notFound("county");
  return { county_code: countyCode, county_name: county.name, month, as_of: p.monthEnd, items: await figuresFor(db, p) };
}

export async function countySeries(db: Db, actor: Actor, countyCode: string, from: string, to: string, today: string) {
  checkCounty(actor, countyCode);
  if (from > to) throw new AppError("VALIDATION_FAILED", { zh: "起始月份 from 晚于结束月份 to", en: "from is after to" }, [{ path: "query.from", message: { zh: "须不晚于 to", en: "on or before to" } }]);
  const months: string[] = [];
  for (let m = parseDate(`${from}-01`, "yyyy-MM-dd", new Date(2000, 0, 1)); format(m, "yyyy-MM") <= to; m = addMonths(m, 1)) {
    if (format(m, "yyyy-MM-dd") > today) break;
    months.push(format(m, "yyyy-MM"));
    if (months.length > MAX_SERIES_MONTHS) {
      throw new AppError("VALIDATION_FAILED", { zh: `最多 ${MAX_SERIES_MONTHS} 个月`, en: `At most ${MAX_SERIES_MONTHS} months` }, [{ path: "query.from", message: { zh: "时间范围过长", en: "range too long" } }]);
    }
  }
  const series: Record<string, { label_zh: string; label: string; unit: Figure["unit"]; values: (number | string)[] }> = {};
  for (const month of months) {
    for (const f of await figuresFor(db, periodOf(countyCode, month, today))) {
      series[f.key] ??= { label_zh: f.label_zh, label: f.label, unit: f.unit, values: [] };
      series[f.key].values.push(f.value);
    }
  }
  return { county_code: countyCode, months, series };
}

type Summary = Awaited<ReturnType<typeof countySummary>>;

/** The summary as a table for the shared CSV/XLSX writer: one row per figure, its unit in a column. */
export function summaryTable(s: Summary): ExportTable<Figure> {
  return {
    sheet: `${s.county_code} ${s.month}`,
    columns: [
      { header: "指标代码", kind: "text", width: 34, value: (f) => f.key },
      { header: "指标", kind: "text", width: 24, value: (f) => f.label_zh },
      { header: "英文名称", kind: "text", width: 48, value: (f) => f.label },
      { header: "单位", kind: "text", width: 8, value: (f) => UNIT_ZH[f.unit] },
      { header: "数值", kind: (f) => (f.unit === "yuan" ? "yuan" : f.unit === "ratio" ? "ratio" : "count"), width: 18, value: (f) => f.value },
    ],
    rows: s.items,
    notes: [
      ["县(市、区)", s.county_name],
      ["行政区划代码", s.county_code],
      ["月份", s.month],
      ["统计截至", s.as_of],
    ],
  };
}
