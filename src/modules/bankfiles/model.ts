/**
 * A bank's balance file read into rows, and every problem of it named by row and column. Pure: the
 * bytes or JSON rows in, checked rows (or the problems) out; no database.
 */
import { parse as parseCsv } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { AppError, type Detail, type FieldError } from "../../http/errors.js";
import type { Bilingual } from "../../lib/i18n.js";
import { D } from "../../lib/money.js";

/** More rows than this is refused (a county's bank has tens of thousands of loans). */
export const MAX_ROWS = 200_000;
/** At most this many problems are listed; the detail says how many there were. */
export const MAX_REPORTED = 100;

export interface StatementRow {
  line: number;
  contract_no: string | null;
  loan_id: string | null;
  outstanding_principal: string;
}

/** Column headers a bank's file may use, Chinese or English, for each field. */
const HEADERS: Record<keyof Omit<StatementRow, "line">, string[]> = {
  contract_no: ["contract_no", "合同号", "合同编号", "借款合同号", "贷款合同号"],
  loan_id: ["loan_id", "贷款id", "贷款编号"],
  outstanding_principal: ["outstanding_principal", "贷款余额", "本金余额", "余额"],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLAIN_AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;
const GROUPED_AMOUNT = /^\d{1,3}(,\d{3}){1,5}(\.\d{1,2})?$/;
const CONTRACT_NO = /^[^\s\u0000-\u001f]+(?: [^\s\u0000-\u001f]+)*$/;

/** Raw cells of one data row, by field (missing columns are undefined). */
type RawRow = Partial<Record<keyof Omit<StatementRow, "line">, unknown>>;

/** A header problem: a column named one of `names` (or else one of `or`) is needed. */
export function columnNeeded(names: string[], or?: string[]): Bilingual {
  const zh = `须有一列，列名为以下之一：${names.join(" / ")}`;
  const en = `a column ${names.join(" / ")}`;
  return or ? { zh: `${zh}；或 ${or.join(" / ")}`, en: `${en} or ${or.join(" / ")}` } : { zh, en };
}

export function text(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  if (typeof v === "string") return v.trim();
  return "";
}

/**
 * Checks every row; refuses the whole file (400 `VALIDATION_FAILED`, `errors` naming each row and
 * column) when any row is wrong, so a statement is made of a file that is right as a whole.
 */
export function checkRows(raw: RawRow[], where: (line: number, field: string) => string): StatementRow[] {
  if (raw.length > MAX_ROWS) {
    throw new AppError("VALIDATION_FAILED", { zh: `文件有 ${raw.length} 行，最多 ${MAX_ROWS} 行`, en: `The file has ${raw.length} rows; at most ${MAX_ROWS}` }, [
      { path: "body", message: { zh: `最多 ${MAX_ROWS} 行`, en: `at most ${MAX_ROWS} rows` } },
    ]);
  }
  const errors: FieldError[] = [];
  const rows: StatementRow[] = [];
  const seen = new Map<string, number>();
  raw.forEach((r, i) => {
    const line = i + 1;
    const contractNo = text(r.contract_no);
    const loanId = text(r.loan_id);
    const amount = text(r.outstanding_principal);
    const before = errors.length;
    const problem = (field: string, zh: string, en: string) => errors.push({ path: where(line, field), message: { zh, en } });
    if (!contractNo && !loanId) problem("contract_no", "须给出合同号或贷款编号", "give the contract number (合同号) or the loan id");
    if (contractNo && (contractNo.length > 64 || !CONTRACT_NO.test(contractNo))) problem("contract_no", "最多 64 个可打印字符", "at most 64 printable characters");
    if (loanId && !UUID.test(loanId)) problem("loan_id", "贷款编号（UUID）", "a loan id (UUID)");
    const plain = GROUPED_AMOUNT.test(amount) ? amount.replaceAll(",", "") : amount;
    if (!PLAIN_AMOUNT.test(plain)) problem("outstanding_principal", "以元为单位的金额，不小于 0，最多两位小数（例如 12345.67）", "an amount in yuan, 0 or more, at most two decimals (e.g. 12345.67)");
    if (errors.length > before) return;
    const ref = loanId ? `loan_id ${loanId.toLowerCase()}` : `contract_no ${contractNo}`;
    const first = seen.get(ref);
    if (first !== undefined) {
      problem(loanId ? "loan_id" : "contract_no", `与第 ${first} 行的${loanId ? "贷款编号" : "合同号"}相同`, `the same ${ref.split(" ")[0]} as row ${first}`);
      return;
    }
    seen.set(ref, line);
    rows.push({ line, contract_no: contractNo || null, loan_id: loanId ? loanId.toLowerCase() : null, outstanding_principal: new D(plain).toFixed(2) });
  });
  if (errors.length > 0) {
    const listed = errors.length > MAX_REPORTED;
    throw new AppError(
      "VALIDATION_FAILED",
      {
        zh: `文件有 ${errors.length} 个问题${listed ? `（列出前 ${MAX_REPORTED} 个）` : ""}，未记录任何内容`,
        en: `${errors.length} problems in the file${listed ? ` (the first ${MAX_REPORTED} are listed)` : ""}; nothing was recorded`,
      },
      errors.slice(0, MAX_REPORTED),
    );
  }
  return rows;
}

/** Maps a header line to fields; refuses a file without the amount column or any column naming the loan. */
function columnsOf(header: unknown[]): Map<number, keyof RawRow> {
  const cols = new Map<number, keyof RawRow>();
  header.forEach((h, i) => {
    const name = text(h).toLowerCase();
    for (const [field, names] of Object.entries(HEADERS) as [keyof RawRow, string[]][]) if (names.includes(name)) cols.set(i, field);
  });
  const fields = new Set(cols.values());
  const missing: FieldError[] = [];
  if (!fields.has("outstanding_principal")) missing.push({ path: "body.header", message: columnNeeded(HEADERS.outstanding_principal) });
  if (!fields.has("contract_no") && !fields.has("loan_id")) missing.push({ path: "body.header", message: columnNeeded(HEADERS.contract_no, HEADERS.loan_id) });
  if (missing.length > 0) throw new AppError("VALIDATION_FAILED", { zh: "文件第一行须写明各列", en: "The file's first line must name its columns" }, missing);
  return cols;
}

function rowsOf(table: unknown[][]): RawRow[] {
  const [header, ...lines] = table;
  if (!header) {
    throw new AppError("VALIDATION_FAILED", { zh: "文件为空", en: "The file is empty" }, [{ path: "body", message: { zh: "首行为表头，其后每行一份合同", en: "a header line, then one line per contract" } }]);
  }
  const cols = columnsOf(header);
  return lines
    .filter((cells) => cells.some((c) => text(c) !== ""))
    .map((cells) => {
      const r: RawRow = {};
      for (const [i, field] of cols) r[field] = cells[i];
      return r;
    });
}

const fileLine = (line: number, field: string) => `file.row[${line}].${field}`;

/** A CSV file's lines as cells (UTF-8, a byte-order mark allowed). */
export function csvTable(bytes: Buffer, code = "BALANCE_FILE_UNREADABLE"): unknown[][] {
  try {
    return parseCsv(bytes, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  } catch (e) {
    const why = (e as Error).message.split("\n")[0].slice(0, 200);
    throw new AppError(code, { zh: `无法读取 CSV 文件：${why}`, en: `The CSV could not be read: ${why}` }, undefined, 400);
  }
}

export function rowsOfCsv(bytes: Buffer): StatementRow[] {
  return checkRows(rowsOf(csvTable(bytes)), fileLine);
}

/** A cell's value as text or number (formula results, rich text and hyperlinks read as what they show). */
function cellValue(v: ExcelJS.CellValue): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number") return v;
  if (v instanceof Date) return v;
  if (typeof v === "object") {
    if ("result" in v) return cellValue(v.result as ExcelJS.CellValue);
    if ("richText" in v) return v.richText.map((t) => t.text).join("");
    if ("text" in v) return v.text;
  }
  return String(v);
}

/** The first worksheet of an XLSX workbook as cells. */
export async function xlsxTable(bytes: Buffer, code = "BALANCE_FILE_UNREADABLE"): Promise<unknown[][]> {
  const bad = (detail: Detail) => new AppError(code, detail, undefined, 400);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(bytes as unknown as Parameters<typeof wb.xlsx.load>[0]);
  } catch {
    throw bad({ zh: "无法读取 XLSX 工作簿", en: "The XLSX workbook could not be read" });
  }
  const ws = wb.worksheets[0];
  if (!ws) throw bad({ zh: "XLSX 工作簿中没有工作表", en: "The XLSX workbook has no worksheet" });
  const table: unknown[][] = [];
  ws.eachRow({ includeEmpty: true }, (row) => {
    const values = row.values as ExcelJS.CellValue[];
    table.push(values.slice(1).map(cellValue));
  });
  return table;
}

/** The first worksheet of an XLSX workbook. */
export async function rowsOfXlsx(bytes: Buffer): Promise<StatementRow[]> {
  return checkRows(rowsOf(await xlsxTable(bytes)), fileLine);
}

/** JSON rows (`rows[i]`), checked like a file's. */
export function rowsOfJson(rows: RawRow[]): StatementRow[] {
  return checkRows(rows, (line, field) => `body.rows[${line - 1}].${field}`);
}
