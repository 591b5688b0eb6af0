/**
 * A bank's balance file (对账): the bank's outstanding principal per contract on a date against the
 * platform's (the comparison is the loans module's `compareBankBalances`, one statement); the
 * result is kept (`balance_statements`, and a line per contract that did not match) so the bank
 * can read and download it later.
 */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import type { Upload } from "../../http/upload.js";
import type { Actor } from "../../lib/actor.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { D, Money } from "../../lib/money.js";
import { compareBankBalances } from "../loans/index.js";
import { rowsOfCsv, rowsOfJson, rowsOfXlsx, type StatementRow } from "./model.js";
import { StatementCreate, type StatementFileQuery, type StatementListQuery } from "./schemas.js";
import { parse } from "../../http/validate.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  BALANCE_FILE_UNREADABLE: {
    status: 400,
    title: { zh: "文件无法读取", en: "File unreadable" },
    description: { zh: "余额文件不是可读的 CSV 或 XLSX（或缺少工作表）。", en: "The balance file is not a CSV or XLSX that can be read (or its worksheet is missing)." },
  },
  BALANCE_AS_OF_FUTURE: {
    status: 422,
    title: { zh: "余额日期在未来", en: "Balance date in the future" },
    description: { zh: "余额对账单的日期须为今天或更早。", en: "A balance statement is of today or an earlier date." },
  },
});

const BANK_STAFF = ["loan_officer", "bank_manager"] as const;

export interface StatementRecord {
  id: string;
  county_code: string;
  bank_id: string;
  as_of: string;
  source_format: "json" | "csv" | "xlsx";
  file_rows: number;
  matched: number;
  differing: number;
  unknown: number;
  missing_from_file: number;
  bank_total: string;
  platform_total: string;
  created_by: string;
  created_at: Date | string;
}

export interface LineRecord {
  seq: number;
  outcome: "DIFFERS" | "UNKNOWN" | "MISSING_FROM_FILE";
  file_row: number | null;
  contract_no: string | null;
  loan_id: string | null;
  bank_principal: string | null;
  platform_principal: string | null;
  difference: string | null;
}

export function statementView(s: StatementRecord) {
  return {
    id: s.id,
    county_code: s.county_code,
    bank_id: s.bank_id,
    as_of: s.as_of,
    source_format: s.source_format,
    file_rows: s.file_rows,
    matched: s.matched,
    differing: s.differing,
    unknown: s.unknown,
    missing_from_file: s.missing_from_file,
    bank_total: Money.format(s.bank_total),
    platform_total: Money.format(s.platform_total),
    created_by: s.created_by,
    created_at: new Date(s.created_at).toISOString(),
  };
}

const money = (v: string | null) => (v === null ? null : Money.format(v));
function lineView(l: LineRecord & { file_row?: number | null }) {
  return {
    seq: l.seq,
    outcome: l.outcome,
    file_row: l.file_row ?? null,
    contract_no: l.contract_no,
    loan_id: l.loan_id,
    bank_principal: money(l.bank_principal),
    platform_principal: money(l.platform_principal),
    difference: money(l.difference),
  };
}

/** The bank and county a statement is for: the caller's bank, and the county given or the caller's only one. */
function scopeOf(actor: Actor, countyCode: string | undefined): { bankId: string; countyCode: string } {
  requireRole(actor, ...BANK_STAFF);
  if (!actor.bankId) throw new AppError("FORBIDDEN", { zh: "您的账号未绑定银行", en: "Your account is not bound to a bank" });
  if (countyCode === undefined) {
    if (actor.countyCodes.length !== 1) {
      const message = { zh: "必填：您所在的县之一", en: "required: one of your counties" };
      throw new AppError("VALIDATION_FAILED", { zh: "您在多个县工作：请指明县", en: "You work in several counties: name the county" }, [{ path: "county_code", message }]);
    }
    return { bankId: actor.bankId, countyCode: actor.countyCodes[0] };
  }
  if (!actor.countyCodes.includes(countyCode)) throw notFound("county");
  return { bankId: actor.bankId, countyCode };
}

/** The file's rows and date from a JSON body or a CSV/XLSX one (date and county then in the query). */
export async function readStatementInput(upload: Upload, query: z.infer<typeof StatementFileQuery>): Promise<{ asOf: string; countyCode?: string; rows: StatementRow[]; format: "json" | "csv" | "xlsx" }> {
  if (upload.format === "json") {
    if (query.as_of !== undefined || query.county_code !== undefined) {
      throw new AppError("VALIDATION_FAILED", { zh: "请求体为 JSON 时，as_of 和 county_code 须写在请求体中", en: "With a JSON body, give as_of and county_code in the body" }, [
        { path: "query", message: { zh: "仅用于 CSV 或 XLSX 请求体", en: "only with a CSV or XLSX body" } },
      ]);
    }
    const body = parse(StatementCreate, upload.body);
    return { asOf: body.as_of, countyCode: body.county_code, rows: rowsOfJson(body.rows), format: "json" };
  }
  if (query.as_of === undefined) {
    throw new AppError("VALIDATION_FAILED", { zh: "请给出余额的日期：?as_of=YYYY-MM-DD", en: "Give the date of the balances: ?as_of=YYYY-MM-DD" }, [
      { path: "query.as_of", message: { zh: "请求体为 CSV 或 XLSX 时必填", en: "required with a CSV or XLSX body" } },
    ]);
  }
  const rows = upload.format === "csv" ? rowsOfCsv(upload.bytes) : await rowsOfXlsx(upload.bytes);
  return { asOf: query.as_of, countyCode: query.county_code, rows, format: upload.format };
}

/**
 * Records a balance statement: compares the file with the platform (one statement in the loans
 * module), stores the summary and every contract that did not match (one INSERT … SELECT from
 * arrays), and answers the summary with the first page of lines.
 */
export async function createStatement(trx: Knex.Transaction, ctx: Ctx, input: Awaited<ReturnType<typeof readStatementInput>>) {
  const scope = scopeOf(ctx.actor, input.countyCode);
  const today = ctx.clock.today();
  if (input.asOf > today) {
    throw new AppError("BALANCE_AS_OF_FUTURE", { zh: `余额日期为 ${input.asOf}，晚于今天（${today}）`, en: `The balances are of ${input.asOf}, after today (${today})` }, [
      { path: "as_of", message: { zh: "须为今天或更早", en: "today or earlier" } },
    ]);
  }
  const result = await compareBankBalances(trx, scope, input.asOf, input.rows);
  const count = (o: string) => result.exceptions.filter((e) => e.outcome === o).length;
  const bankTotal = input.rows.reduce((a, r) => a.plus(r.outstanding_principal), new D(0));
  const [stmt] = await trx("balance_statements")
    .insert({
      county_code: scope.countyCode,
      bank_id: scope.bankId,
      as_of: input.asOf,
      source_format: input.format,
      file_rows: input.rows.length,
      matched: result.matched,
      differing: count("DIFFERS"),
      unknown: count("UNKNOWN"),
      missing_from_file: count("MISSING_FROM_FILE"),
      bank_total: Money.format(bankTotal),
      platform_total: result.platform_total,
      created_by: ctx.actor.userId,
    })
    .returning<StatementRecord[]>("*");
  const e = result.exceptions;
  if (e.length > 0) {
    await trx.raw(
      `INSERT INTO balance_statement_lines (statement_id, county_code, seq, outcome, contract_no, loan_id, bank_principal, platform_principal, difference, file_row)
       SELECT ?, ?, x.seq, x.outcome, x.contract_no, x.loan_id, x.bank_principal, x.platform_principal, x.difference, x.file_row
         FROM unnest(?::int[], ?::text[], ?::text[], ?::uuid[], ?::numeric[], ?::numeric[], ?::numeric[], ?::int[])
           AS x(seq, outcome, contract_no, loan_id, bank_principal, platform_principal, difference, file_row)`,
      [
        stmt.id,
        scope.countyCode,
        e.map((_, i) => i + 1),
        e.map((x) => x.outcome),
        nullable(e.map((x) => x.contract_no)),
        nullable(e.map((x) => x.loan_id)),
        nullable(e.map((x) => x.bank_principal)),
        nullable(e.map((x) => x.platform_principal)),
        nullable(e.map((x) => x.difference)),
        nullable(e.map((x) => (x.line === null ? null : String(x.line)))),
      ],
    );
  }
  const view = statementView(stmt);
  await appendAudit(trx, ctx, {
    action: "balance_statement.create",
    entityType: "balance_statement",
    entityId: stmt.id,
    countyCode: scope.countyCode,
    after: { bank_id: view.bank_id, as_of: view.as_of, file_rows: view.file_rows, matched: view.matched, differing: view.differing, unknown: view.unknown, missing_from_file: view.missing_from_file },
  });
  const first = await linesOf(trx, stmt.id, { limit: 500 });
  return { ...view, ...first };
}

/** knex's binding types take arrays without NULL elements; both drivers send a null element as SQL NULL. */
const nullable = (values: (string | null)[]) => values as unknown as string[];

async function findStatement(db: Db, actor: Actor, id: string): Promise<StatementRecord> {
  requireRole(actor, ...BANK_STAFF);
  const s = await db("balance_statements")
    .where({ id, bank_id: actor.bankId ?? "00000000-0000-0000-0000-000000000000" })
    .whereIn("county_code", actor.countyCodes)
    .first<StatementRecord | undefined>();
  if (!s) throw notFound("balance statement");
  return s;
}

async function linesOf(db: Db, statementId: string, q: { limit: number; cursor?: string; outcome?: string }) {
  const query = db("balance_statement_lines").where({ statement_id: statementId }).select<LineRecord[]>("*");
  if (q.outcome) query.andWhere("outcome", q.outcome);
  const { rows, next_cursor } = await page<LineRecord & Record<string, unknown>>(query, "seq", (r) => String(r.seq), q.limit, q.cursor);
  return { lines: rows.map(lineView), next_cursor };
}

export async function getStatement(db: Db, actor: Actor, id: string, q: { limit: number; cursor?: string; outcome?: string }) {
  const s = await findStatement(db, actor, id);
  return { ...statementView(s), ...(await linesOf(db, id, q)) };
}

/** The statement with every line, for a download. */
export async function statementWithAllLines(db: Db, actor: Actor, id: string) {
  const s = await findStatement(db, actor, id);
  const lines = await db("balance_statement_lines").where({ statement_id: id }).orderBy("seq").select<LineRecord[]>("*");
  return { ...statementView(s), lines: lines.map(lineView) };
}

export async function listStatements(db: Db, actor: Actor, q: z.infer<typeof StatementListQuery>) {
  requireRole(actor, ...BANK_STAFF);
  const query = db("balance_statements")
    .where({ bank_id: actor.bankId ?? "00000000-0000-0000-0000-000000000000" })
    .whereIn("county_code", actor.countyCodes)
    .select("*");
  if (q.as_of) query.andWhere("as_of", q.as_of);
  const { rows, next_cursor } = await page<StatementRecord & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(statementView), next_cursor };
}
