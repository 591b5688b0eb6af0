import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { exportFormat, sendDownload } from "../../http/formats.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { worklistCsv, worklistXlsx } from "./export.js";
import { Worklist, WorklistQuery } from "./schemas.js";
import { worklist } from "./service.js";

const TAG = "Worklist 客户经理工作台";

doc({
  method: "get",
  path: "/worklist",
  tag: TAG,
  summary: "A bank's worklist: instalments due soon, overdue loans by bucket, ratings expiring, approved loans not disbursed; a manager's approvals waiting",
  description: [
    "Instalments (到期提醒) of open loans falling due from today through today + `days` (default 7, at most 60) and not yet overdue, with the household, the borrower, the household's contact phone (masked, as everywhere for bank staff) and what is owed: unpaid principal, the household's unpaid interest (after a TO_BANK subsidy), and the loan's penalty owed on its first instalment listed.",
    "Overdue loans (逾期) grouped by days-past-due bucket (1-30, 31-90, 91-180, 181+) from the standing the close of business stored. Ratings (评级) whose last valid day is within 30 days. Approved loans not yet disbursed (已批未放). For a bank manager, the ratings and loan applications waiting for approval (待审批).",
    "Only the caller's bank in the caller's counties. `?format=csv|xlsx` or `Accept: text/csv` / the XLSX media type: the workbook has one sheet per section (header row frozen, autofilter); the CSV has the sections one after the other, each under its header line, the first column (`分类`) naming the section.",
  ].join("\n\n"),
  query: WorklistQuery,
  response: Worklist,
  produces: ["csv", "xlsx"],
  roles: "loan_officer, bank_manager (own bank, own counties); other roles 403",
});

export function worklistRoutes(deps: Deps): Router {
  const { db, clock, pii } = deps;
  const r = Router();
  r.get("/worklist", async (req, res) => {
    const q = parse(WorklistQuery, req.query, "query");
    const today = clock.today();
    const w = await worklist(db, actorOf(req), pii, { today, days: q.days });
    const format = exportFormat(req, q.format);
    if (format === "json") return void res.json(w);
    const name = `worklist-${today}`;
    sendDownload(res, format, name, format === "csv" ? worklistCsv(w) : await worklistXlsx(w));
  });
  return r;
}
