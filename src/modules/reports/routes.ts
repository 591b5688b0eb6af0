import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { CountyCode, Uuid, VillageCode, z } from "../../http/zod.js";
import { BREAKDOWN_BY } from "./breakdown.js";
import { FIGURE_COLUMNS, figuresBy, figuresTable } from "./figures-by.js";
import { EXPORT_FORMATS, exportFormat, sendTable } from "../../http/export.js";
import { countySeries, countySummary, summaryTable } from "./service.js";
import "./sources.js";

const TAG = "Reports 统计报表";
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "a month as YYYY-MM");
const SummaryQuery = z.object({ county_code: CountyCode, month: Month, format: z.enum(EXPORT_FORMATS).optional() });
const SeriesQuery = z.object({ county_code: CountyCode, from: Month, to: Month });
const FigureSchema = z.object({
  key: z.string(),
  label_zh: z.string(),
  label: z.string(),
  unit: z.enum(["households", "people", "count", "yuan", "ratio"]),
  value: z.union([z.number(), z.string()]).openapi({ description: "Counts as numbers; amounts (yuan) and ratios as decimal strings" }),
});
const Summary = z
  .object({ county_code: z.string(), county_name: z.string(), month: z.string(), as_of: z.string(), items: z.array(FigureSchema) })
  .openapi("CountySummary");
const Series = z
  .object({
    county_code: z.string(),
    months: z.array(z.string()),
    series: z.record(z.string(), z.object({ label_zh: z.string(), label: z.string(), unit: z.string(), values: z.array(z.union([z.number(), z.string()])) })),
  })
  .openapi("CountySeries");

doc({
  method: "get",
  path: "/reports/county-summary",
  operationId: "getCountySummary",
  tag: TAG,
  summary: "County figures for a month (as of its last day, or today for the current month); JSON, CSV or XLSX",
  description: "`?format=csv|xlsx` or `Accept: text/csv` / `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`. The spreadsheet has Chinese headers.",
  query: SummaryQuery,
  response: Summary,
  produces: ["csv", "xlsx"],
  roles: "admin, regulator, finance_officer (own counties)",
});
const FiguresQuery = z.object({
  by: z.enum(BREAKDOWN_BY).openapi({ description: "Group by township (乡镇), village (村) or bank (银行)" }),
  county_code: CountyCode,
  township_code: z.string().regex(/^\d{9}$/, "a 9-digit GB/T 2260 township code").optional().openapi({ description: "Only this township's villages (drill-down)" }),
  village_code: VillageCode.optional().openapi({ description: "Only this village (drill-down; a village officer always sees only its own)" }),
  bank_id: Uuid.optional().openapi({ description: "Only this bank's loans, ratings and claims (a bank's staff always see only their own)" }),
  format: z.enum(EXPORT_FORMATS).optional(),
});
const FigureValue = z.union([z.number(), z.string(), z.null()]);
const FigureRow = z
  .object({
    key: z.string().nullable().openapi({ description: "Division code or bank id; null on the total line" }),
    name: z.string().nullable(),
    ...Object.fromEntries(FIGURE_COLUMNS.map((c) => [c.key, FigureValue.openapi({ description: `${c.label_zh} (${c.kind === "yuan" ? "yuan, decimal string" : c.kind === "ratio" ? "ratio, decimal string with 4 places" : "count"}); null where it does not apply (dividends by bank)` })])),
  })
  .openapi("FigureRow");
const FiguresBy = z
  .object({
    county_code: z.string(),
    by: z.enum(BREAKDOWN_BY),
    township_code: z.string().nullable(),
    village_code: z.string().nullable(),
    bank_id: z.string().nullable(),
    bank_name: z.string().nullable().openapi({ description: "The bank's short name when the figures are one bank's" }),
    as_of: z.string(),
    scope_name: z.string(),
    items: z.array(FigureRow),
    total: FigureRow.openapi({ description: "The whole scope, computed by the database (not added up): amounts and counts equal the sum of the items, except households counted once that borrowed from two banks" }),
  })
  .openapi("FiguresBy");

doc({
  method: "get",
  path: "/reports/figures",
  tag: TAG,
  summary: "Figures by township, village or bank (获贷率, 用信率, outstanding, overdue, NPL, subsidies, dividends) as of today; JSON, CSV or XLSX",
  description:
    "获贷率 = households that ever borrowed / eligible households (POOR, EXITED, MONITORED; for a bank, those of the whole scope); 用信率 = households with principal outstanding / households with a valid credit line; overdue and NPL = outstanding principal of loans with DPD > 0 and DPD > 90 over the outstanding principal, from each loan's standing (kept by every change and the close of business). Subsidies claimed (every batch's lines) and paid (batches paid); dividends distributed (shares of distributions noticed, approved or paid) and paid. `?format=csv|xlsx` (or the Accept header) downloads the same table with a total line (合计).",
  query: FiguresQuery,
  response: FiguresBy,
  produces: ["csv", "xlsx"],
  roles: "admin, regulator, finance_officer (own counties); village_officer (own village); loan_officer, bank_manager (own bank)",
});
doc({ method: "get", path: "/reports/county-summary/series", tag: TAG, summary: "Monthly series of every county figure (for charts)", query: SeriesQuery, response: Series, roles: "admin, regulator, finance_officer" });

export function reportsRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  r.get("/reports/county-summary", async (req, res) => {
    const q = parse(SummaryQuery, req.query, "query");
    const s = await countySummary(db, actorOf(req), q.county_code, q.month, clock.today());
    const wanted = exportFormat(req, q.format);
    if (wanted === "json") res.json(s);
    else await sendTable(res, wanted, `county-summary-${s.county_code}-${s.month}`, summaryTable(s));
  });
  r.get("/reports/figures", async (req, res) => {
    const q = parse(FiguresQuery, req.query, "query");
    const f = await figuresBy(db, actorOf(req), q, clock.today());
    const wanted = exportFormat(req, q.format);
    if (wanted === "json") res.json(f);
    else await sendTable(res, wanted, `figures-${f.by}-${f.village_code ?? f.township_code ?? f.county_code}-${f.as_of}`, figuresTable(f));
  });
  r.get("/reports/county-summary/series", async (req, res) => {
    const q = parse(SeriesQuery, req.query, "query");
    res.json(await countySeries(db, actorOf(req), q.county_code, q.from, q.to, clock.today()));
  });
  return r;
}
