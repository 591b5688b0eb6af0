import { type Request, type Response, Router } from "express";
import type { Deps } from "../../deps.js";
import { type Actor, actorOf } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { exportFormat, sendDownload } from "../../http/formats.js";
import { doc } from "../../http/openapi.js";
import { fileBody, uploadOf } from "../../http/upload.js";
import { parse } from "../../http/validate.js";
import { z } from "../../http/zod.js";
import { repaymentFileCsv, repaymentFileXlsx, statementCsv, statementXlsx } from "./export.js";
import { processInBackground, readRepaymentFile, receiveRepaymentFile, getRepaymentFile, listRepaymentFiles, repaymentFileWithAllRows } from "./repayment-files.js";
import {
  IdParam,
  LinesQuery,
  RepaymentFile,
  RepaymentFileCreate,
  RepaymentFileList,
  RepaymentFileQuery,
  RepaymentFileRowsQuery,
  RepaymentFileWithRows,
  Statement,
  StatementCreate,
  StatementFileQuery,
  StatementList,
  StatementListQuery,
} from "./schemas.js";
import { ListQuery } from "../../http/zod.js";
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
  produces: ["csv", "xlsx"],
  roles: BANK,
});
doc({ method: "get", path: "/balance-statements/:id.csv", tag: TAG, summary: "A balance statement's lines as CSV", params: IdParam, produces: ["csv"], roles: BANK });
doc({ method: "get", path: "/balance-statements/:id.xlsx", tag: TAG, summary: "A balance statement as an XLSX workbook", params: IdParam, produces: ["xlsx"], roles: BANK });

doc({
  method: "post",
  path: "/repayment-files",
  tag: TAG,
  summary: "Send a repayment file (还款文件): the payments the bank's core system deducted, applied in the background",
  description: [
    "One row per payment: the contract number (合同号) or loan id, the value date (起息日, YYYY-MM-DD; the day the file arrives when empty), the amount and the bank reference (流水号). JSON (`rows`), or the file itself: `Content-Type: text/csv` (UTF-8, header line `contract_no,value_date,amount,reference` — Chinese headers 合同号 / 起息日 / 金额 / 流水号 are read too) or the XLSX media type (first worksheet, same header). `?county_code=` if you work in several counties.",
    "The answer (202) is the file as received: rows that cannot be read are REFUSED at once (VALIDATION_FAILED), the others PENDING. They are then applied in the background in value-date then file order, each as a repayment with its value date (the same rules as `POST /loans/{id}/repayments`) or refused with the code that call would give (NOT_FOUND, INVALID_STATE for a closed loan, LOAN_OVERPAYMENT, VALUE_DATE_IN_FUTURE, …); a row whose bank reference is already recorded — by an earlier file, an overlapping one or a single repayment — is DUPLICATE and moves nothing. Follow the progress with `GET /repayment-files/{id}`; download the result as CSV or XLSX. A crash resumes where it stopped without applying a row twice.",
  ].join("\n\n"),
  query: RepaymentFileQuery,
  body: RepaymentFileCreate,
  files: { description: "The repayment file: CSV (UTF-8) or XLSX, header line contract_no (or loan_id), value_date, amount, reference" },
  response: RepaymentFile,
  status: 202,
  roles: BANK,
  idempotent: "required",
});
doc({ method: "get", path: "/repayment-files", tag: TAG, summary: "Repayment files of your bank", query: ListQuery, response: RepaymentFileList, roles: BANK });
doc({
  method: "get",
  path: "/repayment-files/:id",
  tag: TAG,
  summary: "A repayment file: its progress and counts, and its rows' outcomes a page at a time (or all as CSV / XLSX)",
  description: "`?format=csv|xlsx` (or `Accept: text/csv` / the XLSX media type, or the paths `.csv` / `.xlsx`): the result of every row, for the bank's own records; the workbook's header row is frozen with an autofilter.",
  params: IdParam,
  query: RepaymentFileRowsQuery,
  response: RepaymentFileWithRows,
  produces: ["csv", "xlsx"],
  roles: BANK,
});
doc({ method: "get", path: "/repayment-files/:id.csv", tag: TAG, summary: "A repayment file's result as CSV", params: IdParam, produces: ["csv"], roles: BANK });
doc({ method: "get", path: "/repayment-files/:id.xlsx", tag: TAG, summary: "A repayment file's result as an XLSX workbook", params: IdParam, produces: ["xlsx"], roles: BANK });

export function bankFileRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();

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
  downloadable(r, "/balance-statements", LinesQuery, {
    whole: (actor, id) => statementWithAllLines(db, actor, id),
    name: (s) => `balance-statement-${s.as_of}-${s.id.slice(0, 8)}`,
    csv: statementCsv,
    xlsx: statementXlsx,
    page: (actor, id, q) => getStatement(db, actor, id, q),
  });
  r.post(
    "/repayment-files",
    fileBody(deps.settings.uploadLimit),
    command(
      db,
      async (req, trx) => {
        const input = await readRepaymentFile(uploadOf(req));
        const file = await receiveRepaymentFile(trx, ctxOf(req, clock), input, parse(RepaymentFileQuery, req.query, "query"));
        return { status: 202, body: file, afterCommit: () => processInBackground(deps, file.id) };
      },
      { requireKey: true },
    ),
  );
  r.get("/repayment-files", async (req, res) => {
    res.json(await listRepaymentFiles(db, actorOf(req), parse(ListQuery, req.query, "query")));
  });
  downloadable(r, "/repayment-files", RepaymentFileRowsQuery, {
    whole: (actor, id) => repaymentFileWithAllRows(db, actor, id),
    name: (f) => `repayment-file-${f.received_on}-${f.id.slice(0, 8)}`,
    csv: repaymentFileCsv,
    xlsx: repaymentFileXlsx,
    page: (actor, id, q) => getRepaymentFile(db, actor, id, q),
  });
  return r;
}

/**
 * A kept result (`{path}/:id`): a page of it as JSON, or the whole of it as CSV or XLSX — by
 * `?format=`, the Accept header, or the `.csv` / `.xlsx` paths (which take no query parameters).
 */
function downloadable<W extends { id: string }, Q extends z.ZodType<{ format?: "json" | "csv" | "xlsx" }>>(
  r: Router,
  path: string,
  query: Q,
  o: { whole: (actor: Actor, id: string) => Promise<W>; name: (w: W) => string; csv: (w: W) => string; xlsx: (w: W) => Promise<Buffer>; page: (actor: Actor, id: string, q: z.infer<Q>) => Promise<unknown> },
): void {
  const send = async (req: Request, res: Response, format: "csv" | "xlsx") => {
    const w = await o.whole(actorOf(req), parse(IdParam, req.params, "params").id);
    sendDownload(res, format, o.name(w), format === "csv" ? o.csv(w) : await o.xlsx(w));
  };
  r.get(`${path}/:id.csv`, (req, res) => send(req, res, parse(NoQuery, req.query, "query") && "csv"));
  r.get(`${path}/:id.xlsx`, (req, res) => send(req, res, parse(NoQuery, req.query, "query") && "xlsx"));
  r.get(`${path}/:id`, async (req, res) => {
    const q = parse(query, req.query, "query");
    const format = exportFormat(req, q.format);
    if (format !== "json") return send(req, res, format);
    res.json(await o.page(actorOf(req), parse(IdParam, req.params, "params").id, q));
  });
}
