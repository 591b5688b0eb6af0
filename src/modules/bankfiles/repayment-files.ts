/**
 * A bank's repayment files (还款文件): received whole (every row stored PENDING, or REFUSED when it
 * cannot be read), then processed in the background in chunks — rows in value-date then file
 * order, each chunk one transaction in which the loans module applies its payments set-based
 * (`applyRepaymentBatch`) and the rows take their outcomes. The rows are split by the loan they
 * name into the file's lanes, whose chunks are written at the same time over separate connections
 * (a loan's rows are all in one lane, so they are still applied in order). A crash loses at most
 * the chunks in flight, which are rolled back with their money: processing resumes at the first row still PENDING
 * (at the next start of the server, or `npm run repayment-files`), so no row is applied twice. A
 * bank reference is recorded once per bank for ever, so a file sent twice, or two files that
 * overlap, move no money twice: the rows come out DUPLICATE.
 */
import type { Knex } from "knex";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import type { Upload } from "../../http/upload.js";
import { oneConnection } from "../../db/knex.js";
import { transaction } from "../../db/transaction.js";
import type { Actor } from "../../lib/actor.js";
import { appendAudit } from "../../lib/audit.js";
import type { Clock } from "../../lib/clock.js";
import type { Ctx } from "../../lib/context.js";
import type { Logger } from "../../lib/logger.js";
import { applyRepaymentBatch, type BatchPayment, loanIdsByContract } from "../loans/index.js";
import { csvTable, xlsxTable } from "./model.js";
import { checkPayments, type FileRow, paymentsOfTable, type RawPayment } from "./repayment-file-model.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  REPAYMENT_FILE_UNREADABLE: {
    status: 400,
    title: { zh: "文件无法读取", en: "File unreadable" },
    description: { zh: "还款文件不是可读的 CSV 或 XLSX（或缺少工作表）。", en: "The repayment file is not a CSV or XLSX that can be read (or its worksheet is missing)." },
  },
});

const BANK_STAFF = ["loan_officer", "bank_manager"] as const;
/** Rows per chunk: one transaction each (REPAYMENT_FILE_CHUNK overrides, for tests and benchmarks). */
export const DEFAULT_CHUNK = 1000;

/**
 * Lanes a file received now is split into (REPAYMENT_FILE_LANES overrides, 1 to 8): two on a
 * database server — the machine's two cores then write two chunks at once — and one on the
 * embedded database, which serves one connection at a time.
 */
function lanesFor(db: Db): number {
  const set = Number(process.env.REPAYMENT_FILE_LANES);
  if (Number.isInteger(set) && set >= 1 && set <= 8) return set;
  return oneConnection(db) ? 1 : 2;
}

export interface RepaymentFileRecord {
  id: string;
  county_code: string;
  bank_id: string;
  status: "RECEIVED" | "PROCESSING" | "DONE" | "FAILED";
  format: string;
  received_on: string;
  rows_total: number;
  rows_done: number;
  applied: number;
  refused: number;
  duplicates: number;
  error: string | null;
  lanes: number;
  actor: Actor;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

export interface FileRowRecord {
  line: number;
  contract_no: string | null;
  loan_id: string | null;
  value_date: string | null;
  amount: string | null;
  reference: string | null;
  status: "PENDING" | "APPLIED" | "REFUSED" | "DUPLICATE";
  code: string | null;
  message: string | null;
  applied_loan_id: string | null;
  repayment_id: string | null;
  principal: string | null;
  interest: string | null;
  penalty: string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function fileView(f: RepaymentFileRecord) {
  return {
    id: f.id,
    county_code: f.county_code,
    bank_id: f.bank_id,
    status: f.status,
    format: f.format,
    received_on: f.received_on,
    rows_total: f.rows_total,
    rows_done: f.rows_done,
    applied: f.applied,
    refused: f.refused,
    duplicates: f.duplicates,
    progress: f.rows_total === 0 ? "1.0000" : (f.rows_done / f.rows_total).toFixed(4),
    error: f.error,
    created_by: f.actor.userId,
    created_at: iso(f.created_at),
    started_at: iso(f.started_at),
    finished_at: iso(f.finished_at),
  };
}

export function rowView(r: FileRowRecord) {
  return {
    line: r.line,
    contract_no: r.contract_no,
    loan_id: r.loan_id,
    value_date: r.value_date,
    amount: r.amount,
    reference: r.reference,
    status: r.status,
    code: r.code,
    message: r.message,
    applied_loan_id: r.applied_loan_id,
    repayment_id: r.repayment_id,
    principal: r.principal,
    interest: r.interest,
    penalty: r.penalty,
  };
}

export async function readRepaymentFile(upload: Upload): Promise<{ format: string; rows: FileRow[] }> {
  if (upload.format === "json") {
    const body = upload.body as { rows?: unknown } | null;
    if (!body || typeof body !== "object" || !Array.isArray(body.rows)) {
      throw new AppError("VALIDATION_FAILED", "JSON 须为 {\"rows\": [...]} / send {\"rows\": [...]}", [{ path: "body.rows", message: { zh: "还款记录的数组", en: "an array of payments" } }]);
    }
    return { format: "json", rows: checkPayments(body.rows.map((r) => (r && typeof r === "object" ? (r as RawPayment) : {}))) };
  }
  const table = upload.format === "csv" ? csvTable(upload.bytes, "REPAYMENT_FILE_UNREADABLE") : await xlsxTable(upload.bytes, "REPAYMENT_FILE_UNREADABLE");
  return { format: upload.format, rows: checkPayments(paymentsOfTable(table)) };
}

function countyOf(actor: Actor, requested: string | undefined): string {
  const county = requested ?? (actor.countyCodes.length === 1 ? actor.countyCodes[0] : undefined);
  if (!county) throw new AppError("VALIDATION_FAILED", "你在多个县工作：请给出 county_code / you work in several counties: give county_code", [{ path: "query.county_code", message: { zh: "必填", en: "required" } }]);
  if (!actor.countyCodes.includes(county)) throw notFound("county");
  return county;
}

/** Receives a file: its rows stored (PENDING, or REFUSED when unreadable), nothing applied yet. */
export async function receiveRepaymentFile(trx: Knex.Transaction, ctx: Ctx, input: { format: string; rows: FileRow[] }, q: { county_code?: string }) {
  requireRole(ctx.actor, ...BANK_STAFF);
  const county = countyOf(ctx.actor, q.county_code);
  const today = ctx.clock.today();
  const refused = input.rows.filter((r) => r.problem).length;
  const [file] = await trx("repayment_files")
    .insert({
      county_code: county,
      bank_id: ctx.actor.bankId,
      format: input.format,
      received_on: today,
      rows_total: input.rows.length,
      rows_done: refused,
      refused,
      lanes: lanesFor(trx),
      actor: JSON.stringify(ctx.actor),
      created_at: ctx.clock.now(),
    })
    .returning<RepaymentFileRecord[]>("*");
  // The loan each row names, as found now: its lane follows the loan, however the row names it.
  const byContract = await loanIdsByContract(trx, ctx.actor.bankId ?? "00000000-0000-0000-0000-000000000000", input.rows.flatMap((r) => (r.contract_no && !r.problem ? [r.contract_no] : [])));
  const rows = input.rows.map((r) => ({
    file_id: file.id,
    lane_key: (r.contract_no ? byContract.get(r.contract_no) : undefined) ?? r.loan_id?.toLowerCase() ?? r.contract_no,
    line: r.line,
    county_code: county,
    contract_no: r.contract_no,
    loan_id: r.loan_id,
    value_date: r.value_date,
    sort_date: r.value_date ?? today,
    amount: r.amount,
    reference: r.reference || null,
    status: r.problem ? "REFUSED" : "PENDING",
    code: r.problem ? "VALIDATION_FAILED" : null,
    message: r.problem,
  }));
  for (let i = 0; i < rows.length; i += 5000) {
    await trx.raw(
      `INSERT INTO repayment_file_rows (file_id, line, county_code, contract_no, loan_id, lane_key, value_date, sort_date, amount, reference, status, code, message)
       SELECT file_id, line, county_code, contract_no, loan_id, lane_key, value_date, sort_date, amount, reference, status, code, message
         FROM json_populate_recordset(NULL::repayment_file_rows, ?::json)`,
      [JSON.stringify(rows.slice(i, i + 5000))],
    );
  }
  await appendAudit(trx, ctx, { action: "repayment_file.receive", entityType: "repayment_file", entityId: file.id, countyCode: county, after: { rows: file.rows_total, refused, format: input.format } });
  return fileView(file);
}

export interface ProcessDeps {
  db: Knex;
  clock: Clock;
  logger?: Logger;
}

export interface ProcessOptions {
  chunk?: number;
  onProgress?: (f: ReturnType<typeof fileView>) => void;
  /** Tests: stop (as a crash would) once this many chunks have committed. */
  stopAfterChunks?: number;
  /** Tests: process in this many lanes instead of the file's own (every processor of a file must split it alike). */
  lanes?: number;
}

/**
 * Processes a file's PENDING rows until none is left; returns the file as it ends. The rows are
 * split into the file's lanes by the loan they name (`lane_key`); each lane takes its rows chunk by
 * chunk, in value-date then file order, and the lanes run at the same time, each chunk its own
 * transaction. Several processors of one file take turns lane by lane (a transaction-scoped
 * advisory lock on the file and lane), so a row is never taken twice. When a lane fails, the
 * others stop after their chunk in flight and the failure is thrown.
 */
export async function processRepaymentFile(deps: ProcessDeps, id: string, opts: ProcessOptions = {}): Promise<ReturnType<typeof fileView>> {
  const chunk = opts.chunk ?? (Number(process.env.REPAYMENT_FILE_CHUNK) || DEFAULT_CHUNK);
  const file = await deps.db("repayment_files").where({ id }).first<RepaymentFileRecord | undefined>();
  if (!file) throw notFound("repayment file");
  if (file.status === "DONE") return fileView(file);
  const lanes = opts.lanes ?? file.lanes;
  let chunks = 0;
  let stop = false;
  const lane = async (k: number) => {
    while (!stop && (opts.stopAfterChunks === undefined || chunks < opts.stopAfterChunks)) {
      const next = await transaction(deps.db, (trx) => processChunk(trx, deps, id, { lane: k, lanes, chunk }));
      if (!next) return;
      chunks += 1;
      opts.onProgress?.(fileView(next));
    }
  };
  const ran = await Promise.allSettled(
    Array.from({ length: lanes }, (_, k) =>
      lane(k).catch((err: unknown) => {
        stop = true;
        throw err;
      }),
    ),
  );
  const failed = ran.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  if (opts.stopAfterChunks !== undefined && chunks >= opts.stopAfterChunks) return fileView((await deps.db("repayment_files").where({ id }).first<RepaymentFileRecord>())!);
  return transaction(deps.db, async (trx) => {
    const f = (await trx("repayment_files").where({ id }).forUpdate().first<RepaymentFileRecord>())!;
    // DONE once no row is left; rows another processor still holds are PENDING until it commits, and it finishes the file.
    if (f.status === "DONE" || (await trx("repayment_file_rows").where({ file_id: id, status: "PENDING" }).first("line"))) return fileView(f);
    const [done] = await trx("repayment_files").where({ id }).update({ status: "DONE", error: null, finished_at: deps.clock.now(), started_at: f.started_at ?? deps.clock.now() }).returning<RepaymentFileRecord[]>("*");
    await appendAudit(trx, { actor: f.actor, clock: deps.clock, requestId: `repayment-file:${id}` }, { action: "repayment_file.done", entityType: "repayment_file", entityId: id, countyCode: f.county_code, after: fileView(done) });
    return fileView(done);
  });
}

/** One chunk of one lane: its rows applied and their outcomes written; the file as it then stands, or undefined when the lane has no row left. */
async function processChunk(trx: Knex.Transaction, deps: ProcessDeps, id: string, o: { lane: number; lanes: number; chunk: number }): Promise<RepaymentFileRecord | undefined> {
  // The lane is taken in turns by every processor of the file (held to the end of this transaction).
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?), ?)", [`repayment-file:${id}`, o.lane]);
  const f = (await trx("repayment_files").where({ id }).first<RepaymentFileRecord>())!;
  // A FAILED file is taken up again when asked (the command line); its applied rows stay applied.
  if (f.status === "DONE") return undefined;
  const rows = await trx("repayment_file_rows")
    .where({ file_id: id, status: "PENDING" })
    .modify((q) => {
      if (o.lanes > 1) q.whereRaw("(hashtext(coalesce(lane_key, line::text))::bigint & 2147483647) % ? = ?", [o.lanes, o.lane]);
    })
    .orderBy(["sort_date", "line"])
    .limit(o.chunk)
    .select<(FileRowRecord & { sort_date: string })[]>();
  if (rows.length === 0) return undefined;
  const payments: BatchPayment[] = rows.map((r) => ({ key: String(r.line), loanId: r.loan_id, contractNo: r.contract_no, valueDate: r.value_date ?? r.sort_date, amount: r.amount!, reference: r.reference! }));
  const ctx = { actor: f.actor, clock: deps.clock, requestId: `repayment-file:${id}` };
  const outcomes = await applyRepaymentBatch(trx, ctx, payments);
  const now = deps.clock.now();
  const updates = outcomes.map((r) =>
    r.status === "APPLIED"
      ? { line: Number(r.key), status: r.status, code: null, message: null, applied_loan_id: r.loanId, repayment_id: r.repaymentId, principal: r.principal, interest: r.interest, penalty: r.penalty }
      : { line: Number(r.key), status: r.status, code: r.code, message: r.message, applied_loan_id: r.loanId, repayment_id: null, principal: null, interest: null, penalty: null },
  );
  await trx.raw(
    `UPDATE repayment_file_rows r SET status = v.status, code = v.code, message = v.message, applied_loan_id = v.applied_loan_id, repayment_id = v.repayment_id,
            principal = v.principal, interest = v.interest, penalty = v.penalty, processed_at = ?::timestamptz
       FROM json_to_recordset(?::json) AS v(line int, status text, code text, message text, applied_loan_id uuid, repayment_id uuid, principal numeric, interest numeric, penalty numeric)
      WHERE r.file_id = ? AND r.line = v.line`,
    [now.toISOString(), JSON.stringify(updates), id],
  );
  const count = (s: string) => outcomes.filter((r) => r.status === s).length;
  // The file's counts, last: the other lanes' chunks wait here only for this one's commit.
  const [next] = await trx("repayment_files")
    .where({ id })
    .update({
      status: "PROCESSING",
      error: null,
      started_at: trx.raw("coalesce(started_at, ?::timestamptz)", [now.toISOString()]),
      rows_done: trx.raw("rows_done + ?", [outcomes.length]),
      applied: trx.raw("applied + ?", [count("APPLIED")]),
      refused: trx.raw("refused + ?", [count("REFUSED")]),
      duplicates: trx.raw("duplicates + ?", [count("DUPLICATE")]),
    })
    .returning<RepaymentFileRecord[]>("*");
  return next;
}

const running = new Set<string>();

/** Starts processing a file in the background (once per process); a failure marks the file FAILED with its reason. */
export function processInBackground(deps: ProcessDeps, id: string): void {
  if (running.has(id)) return;
  running.add(id);
  void processRepaymentFile(deps, id)
    .catch(async (err: unknown) => {
      deps.logger?.error({ err, file: id }, "repayment file processing failed");
      await deps.db("repayment_files").where({ id }).whereIn("status", ["RECEIVED", "PROCESSING"]).update({ status: "FAILED", error: String((err as Error)?.message ?? err).slice(0, 500), finished_at: deps.clock.now() });
    })
    .finally(() => running.delete(id));
}

/** Files received or in progress (after a restart): their ids, oldest first. */
export async function unfinishedRepaymentFiles(db: Db): Promise<string[]> {
  return (await db("repayment_files").whereIn("status", ["RECEIVED", "PROCESSING"]).orderBy("created_at").select<{ id: string }[]>("id")).map((r) => r.id);
}

async function fileOf(db: Db, actor: Actor, id: string): Promise<RepaymentFileRecord> {
  requireRole(actor, ...BANK_STAFF);
  const f = await db("repayment_files").where({ id, bank_id: actor.bankId ?? "" }).whereIn("county_code", actor.countyCodes).first<RepaymentFileRecord | undefined>();
  if (!f) throw notFound("repayment file");
  return f;
}

export async function getRepaymentFile(db: Db, actor: Actor, id: string, q: { limit: number; cursor?: string; status?: string }) {
  const f = await fileOf(db, actor, id);
  const query = db("repayment_file_rows").where({ file_id: id }).modify((x) => (q.status ? x.where({ status: q.status }) : x)).select("*");
  const { rows, next_cursor } = await page<FileRowRecord & Record<string, unknown>>(query, "line", (r) => String(r.line), q.limit, q.cursor);
  return { ...fileView(f), rows: rows.map(rowView), next_cursor };
}

export async function repaymentFileWithAllRows(db: Db, actor: Actor, id: string) {
  const f = await fileOf(db, actor, id);
  const rows = await db("repayment_file_rows").where({ file_id: id }).orderBy("line").select<FileRowRecord[]>();
  return { ...fileView(f), rows: rows.map(rowView) };
}

export async function listRepaymentFiles(db: Db, actor: Actor, q: { limit: number; cursor?: string }) {
  requireRole(actor, ...BANK_STAFF);
  const query = db("repayment_files").where({ bank_id: actor.bankId ?? "" }).whereIn("county_code", actor.countyCodes).select("*");
  const { rows, next_cursor } = await page<RepaymentFileRecord & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(fileView), next_cursor };
}
