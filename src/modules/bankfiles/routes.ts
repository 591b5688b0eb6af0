import { type Request, type Response, Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { exportFormat, sendDownload } from "../../http/formats.js";
import { doc } from "../../http/openapi.js";
import { fileBody, uploadOf } from "../../http/upload.js";
import { parse } from "../../http/validate.js";
import { z } from "../../http/zod.js";
import { statementCsv, statementXlsx } from "./export.js";
import { IdParam, LinesQuery, Statement, StatementCreate, StatementFileQuery, StatementList, StatementListQuery } from "./schemas.js";
import { createStatement, getStatement, listStatements, readStatementInput, statementWithAllLines } from "./service.js";

const TAG = "Bank files 银行文件对接";
const NoQuery = z.object({});
const BANK = "loan_officer, bank_manager (own bank, own counties); other roles 403";

doc({
  method: "post",
  path: "/balance-statements",
  tag: TAG,
  summary: "Reconcile the bank's balance file (对账): its outstanding principal per contract on a date against the platform's",
  description: [
    "The bank's file names each loan by its contract number (合同号, given at disbursement) or by the loan id, with the bank's outstanding principal at the end of `as_of`. JSON (`rows`, at most the JSON body limit), or the file itself: `Content-Type: text/csv` (UTF-8, header line `contract_no,outstanding_principal` — or `loan_id`; Chinese headers 合同号 / 贷款余额 are read too) or the XLSX media type (first worksheet, same header), with `?as_of=` (and `?county_code=` if you work in several counties).",
    "The platform's principal on `as_of` is each loan's amount less the principal repaid on or before that date, 0 once it closed on or before it. The answer lists every contract whose figures differ (DIFFERS, both figures and bank − platform), every contract the platform does not know for your bank (UNKNOWN: another bank's loan reads the same as a number never issued), and every loan of your bank open on `as_of` the file lacks (MISSING_FROM_FILE). The result is kept: read it again, or download it as CSV or XLSX, from `GET /balance-statements/{id}`.",
    "A file with any bad row is refused whole (400, `errors` naming each row and column); a date after today is 422.",
  ].join("\n\n"),
  query: StatementFileQuery,
  body: StatementCreate,
  files: { description: "The balance file: CSV (UTF-8) or XLSX, header line contract_no (or loan_id), outstanding_principal" },
  response: Statement,
  status: 201,
  roles: BANK,
});
doc({ method: "get", path: "/balance-statements", tag: TAG, summary: "Balance statements of your bank", query: StatementListQuery, response: StatementList, roles: BANK });
doc({
  method: "get",
  path: "/balance-statements/:id",
  tag: TAG,
  summary: "A balance statement with the contracts that did not match (a page at a time), or all of them as CSV / XLSX",
  description: "`?format=csv|xlsx` or `Accept: text/csv` / the XLSX media type, or the paths `/balance-statements/{id}.csv` and `.xlsx`: every line; the workbook has a summary sheet and one sheet per outcome (header row frozen, autofilter).",
  params: IdParam,
  query: LinesQuery,
  response: Statement,
  roles: BANK,
});
doc({ method: "get", path: "/balance-statements/:id.csv", tag: TAG, summary: "A balance statement's lines as CSV", params: IdParam, roles: BANK });
doc({ method: "get", path: "/balance-statements/:id.xlsx", tag: TAG, summary: "A balance statement as an XLSX workbook", params: IdParam, roles: BANK });

export function bankFileRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  const download = async (req: Request, res: Response, format: "csv" | "xlsx") => {
    const s = await statementWithAllLines(db, actorOf(req), parse(IdParam, req.params, "params").id);
    sendDownload(res, format, `balance-statement-${s.as_of}-${s.id.slice(0, 8)}`, format === "csv" ? statementCsv(s) : await statementXlsx(s));
  };

  r.post(
    "/balance-statements",
    fileBody(deps.settings.uploadLimit),
    command(db, async (req, trx) => {
      const input = await readStatementInput(uploadOf(req), parse(StatementFileQuery, req.query, "query"));
      return { status: 201, body: await createStatement(trx, ctxOf(req, clock), input) };
    }),
  );
  r.get("/balance-statements", async (req, res) => {
    res.json(await listStatements(db, actorOf(req), parse(StatementListQuery, req.query, "query")));
  });
  // The .csv and .xlsx paths take no query parameters.
  r.get("/balance-statements/:id.csv", (req, res) => download(req, res, parse(NoQuery, req.query, "query") && "csv"));
  r.get("/balance-statements/:id.xlsx", (req, res) => download(req, res, parse(NoQuery, req.query, "query") && "xlsx"));
  r.get("/balance-statements/:id", async (req, res) => {
    const q = parse(LinesQuery, req.query, "query");
    const format = exportFormat(req, q.format);
    if (format !== "json") return download(req, res, format);
    res.json(await getStatement(db, actorOf(req), parse(IdParam, req.params, "params").id, q));
  });
  return r;
}
