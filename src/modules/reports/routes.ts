import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { CountyCode, z } from "../../http/zod.js";
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
  tag: TAG,
  summary: "County figures for a month (as of its last day, or today for the current month); JSON, CSV or XLSX",
  description: "`?format=csv|xlsx` or `Accept: text/csv` / `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`. The spreadsheet has Chinese headers.",
  query: SummaryQuery,
  response: Summary,
  roles: "admin, regulator, finance_officer (own counties)",
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
  r.get("/reports/county-summary/series", async (req, res) => {
    const q = parse(SeriesQuery, req.query, "query");
    res.json(await countySeries(db, actorOf(req), q.county_code, q.from, q.to, clock.today()));
  });
  return r;
}
