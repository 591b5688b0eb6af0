/**
 * A bank's file of existing loans (存量贷款迁移) read into rows, each field checked for its shape,
 * every problem named by sheet, row and column. Pure: JSON, CSV bytes or XLSX bytes in, rows and
 * problems out; what the rows mean against the platform (households, products, history) is
 * migration.ts's.
 *
 * Layout: one row per loan, and the repayments made to date keyed by contract number — a second
 * worksheet of the workbook, a second section of the CSV (after an empty line, with its own header
 * line), or nested under each loan in JSON. docs/examples/loan-migration.csv shows it.
 */
import { parse as parseCsv } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { AppError } from "../../http/errors.js";
import { isIsoDate } from "../../lib/dates.js";
import { ID_NUMBER_PROBLEM_TEXT, parseIdNumber } from "../../lib/id-number.js";
import { D } from "../../lib/money.js";
import { PURPOSES, type Purpose, REPAYMENT_METHODS, type RepaymentMethod } from "./model.js";

/** More loans than this in one file is refused (a county's bank has a few thousand poverty loans). */
export const MAX_LOANS = 20_000;

export type Sheet = "loans" | "repayments";

/** One problem of the file: where it is (sheet, row as the bank sees it, column), a stable code and a message (Chinese first). */
export interface MigrationProblem {
  sheet: Sheet;
  row: number;
  column: string;
  code: string;
  message: string;
  /** The same place as one path (`loans[2].amount`, `file.repayments[7].value_date`), for problem+json readers. */
  path: string;
}

export type Where = (column: string) => Omit<MigrationProblem, "code" | "message">;

export interface RepaymentLine {
  value_date: string;
  amount: string;
  reference: string | null;
  where: Where;
}

export interface LoanLine {
  contract_no: string;
  household_no: string | null;
  borrower_id_number: string | null;
  product_code: string;
  amount: string;
  annual_rate: string;
  repayment_method: RepaymentMethod;
  term_months: number;
  disbursed_on: string;
  purpose: Purpose | null;
  repayments: RepaymentLine[];
  where: Where;
}

type LoanField = Exclude<keyof LoanLine, "repayments" | "where">;
type RepaymentField = "contract_no" | "value_date" | "amount" | "reference";

/** Column headers a bank's file may use, Chinese or English, for each field. */
const LOAN_HEADERS: Record<LoanField, string[]> = {
  contract_no: ["contract_no", "合同号", "合同编号", "借款合同号"],
  household_no: ["household_no", "户编号", "农户编号"],
  borrower_id_number: ["borrower_id_number", "借款人身份证号", "身份证号"],
  product_code: ["product_code", "产品代码", "产品编号"],
  amount: ["amount", "贷款金额", "合同金额", "放款金额"],
  annual_rate: ["annual_rate", "年利率", "执行利率"],
  repayment_method: ["repayment_method", "还款方式"],
  term_months: ["term_months", "期限", "期限月数", "贷款期限"],
  disbursed_on: ["disbursed_on", "放款日", "放款日期"],
  purpose: ["purpose", "用途", "贷款用途"],
};
const REPAYMENT_HEADERS: Record<RepaymentField, string[]> = {
  contract_no: ["contract_no", "合同号", "合同编号", "借款合同号"],
  value_date: ["value_date", "还款日", "起息日", "还款日期"],
  amount: ["amount", "还款金额", "金额"],
  reference: ["reference", "银行流水号", "流水号"],
};

const METHOD_NAMES: Record<string, RepaymentMethod> = { 到期还本按季结息: "BULLET_QUARTERLY", 到期还本: "BULLET_QUARTERLY", 等额本息: "EQUAL_INSTALLMENT", 等额本金: "EQUAL_PRINCIPAL" };
const PURPOSE_NAMES: Record<string, Purpose> = { 种植: "PLANTING", 种植业: "PLANTING", 养殖: "BREEDING", 养殖业: "BREEDING", 加工: "PROCESSING", 乡村旅游: "RURAL_TOURISM", 商贸: "COMMERCE" };

const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;
const GROUPED_AMOUNT = /^\d{1,3}(,\d{3}){1,5}(\.\d{1,2})?$/;
const RATE = /^0?\.\d{1,6}$|^0$/;
const PRINTABLE = /^[^\s\u0000-\u001f]+(?: [^\s\u0000-\u001f]+)*$/;

function text(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? "" : v.toISOString().slice(0, 10);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  if (typeof v === "string") return v.trim();
  return "";
}

type Raw<F extends string> = Partial<Record<F, unknown>>;

/** Problems found while reading, and a helper to add one. */
class Problems {
  readonly list: MigrationProblem[] = [];
  add(at: Omit<MigrationProblem, "code" | "message">, code: string, message: string): void {
    this.list.push({ ...at, code, message });
  }
}

const invalid = "VALIDATION_FAILED";

function amountOf(raw: string): string | null {
  const plain = GROUPED_AMOUNT.test(raw) ? raw.replaceAll(",", "") : raw;
  return AMOUNT.test(plain) && new D(plain).gt(0) ? new D(plain).toFixed(2) : null;
}

function printable(v: string, max: number): boolean {
  return v.length <= max && PRINTABLE.test(v);
}

function readRepayment(r: Raw<RepaymentField>, where: Where, p: Problems): RepaymentLine | null {
  const before = p.list.length;
  const valueDate = text(r.value_date);
  if (!isIsoDate(valueDate)) p.add(where("value_date"), invalid, "还款日须为 YYYY-MM-DD 格式的日期 / the value date as YYYY-MM-DD");
  const amount = amountOf(text(r.amount));
  if (amount === null) p.add(where("amount"), invalid, "还款金额须为大于 0 的元金额，至多两位小数 / an amount in yuan above 0, at most two decimals");
  const reference = text(r.reference);
  if (reference && !printable(reference, 64)) p.add(where("reference"), invalid, "银行流水号至多 64 个可打印字符 / the bank reference: at most 64 printable characters");
  if (p.list.length > before) return null;
  return { value_date: valueDate, amount: amount!, reference: reference || null, where };
}

function readLoan(r: Raw<LoanField>, where: Where, p: Problems): Omit<LoanLine, "repayments"> | null {
  const before = p.list.length;
  const contractNo = text(r.contract_no);
  if (!contractNo || !printable(contractNo, 64)) p.add(where("contract_no"), invalid, "合同号必填，至多 64 个可打印字符 / the contract number: required, at most 64 printable characters");
  const householdNo = text(r.household_no);
  const idNumber = text(r.borrower_id_number).toUpperCase();
  if (!householdNo && !idNumber) p.add(where("borrower_id_number"), invalid, "须填户编号或借款人身份证号 / give the household number or the borrower's ID number");
  const parsedId = idNumber ? parseIdNumber(idNumber) : null;
  if (parsedId && !parsedId.ok) p.add(where("borrower_id_number"), "INVALID_ID_NUMBER", `身份证号不符合 GB 11643 / the ID number ${ID_NUMBER_PROBLEM_TEXT[parsedId.problem]}`);
  const productCode = text(r.product_code);
  if (!productCode || productCode.length > 32) p.add(where("product_code"), invalid, "产品代码必填 / the product code is required");
  const amount = amountOf(text(r.amount));
  if (amount === null) p.add(where("amount"), invalid, "贷款金额须为大于 0 的元金额，至多两位小数 / an amount in yuan above 0, at most two decimals");
  const rateText = text(r.annual_rate);
  const rate = RATE.test(rateText) && new D(rateText).gt(0) ? new D(rateText).toFixed(6) : null;
  if (rate === null) p.add(where("annual_rate"), invalid, "年利率须为 0 到 1 之间的小数，至多六位（如 0.0435） / the annual rate as a fraction above 0, at most six places (e.g. 0.0435)");
  const methodText = text(r.repayment_method);
  const method = (REPAYMENT_METHODS as readonly string[]).includes(methodText.toUpperCase()) ? (methodText.toUpperCase() as RepaymentMethod) : METHOD_NAMES[methodText];
  if (!method) p.add(where("repayment_method"), invalid, `还款方式须为 ${REPAYMENT_METHODS.join(" / ")}（或 到期还本按季结息 / 等额本息 / 等额本金） / one of ${REPAYMENT_METHODS.join(", ")}`);
  const termText = text(r.term_months);
  const term = /^\d{1,3}$/.test(termText) ? Number(termText) : NaN;
  if (!(term >= 1 && term <= 60)) p.add(where("term_months"), invalid, "期限须为 1 到 60 的整月数 / the term in whole months");
  const disbursedOn = text(r.disbursed_on);
  if (!isIsoDate(disbursedOn)) p.add(where("disbursed_on"), invalid, "放款日须为 YYYY-MM-DD 格式的日期 / the disbursement date as YYYY-MM-DD");
  const purposeText = text(r.purpose);
  const purpose = !purposeText ? null : (PURPOSES as readonly string[]).includes(purposeText.toUpperCase()) ? (purposeText.toUpperCase() as Purpose) : (PURPOSE_NAMES[purposeText] ?? undefined);
  if (purpose === undefined) p.add(where("purpose"), invalid, `用途须为 ${PURPOSES.join(" / ")} 之一（或 种植 / 养殖 / 加工 / 乡村旅游 / 商贸） / one of ${PURPOSES.join(", ")}`);
  if (p.list.length > before) return null;
  return {
    contract_no: contractNo,
    household_no: householdNo || null,
    borrower_id_number: parsedId?.ok ? parsedId.info.value : null,
    product_code: productCode,
    amount: amount!,
    annual_rate: rate!,
    repayment_method: method!,
    term_months: term,
    disbursed_on: disbursedOn,
    purpose: purpose ?? null,
    where,
  };
}

/** The file's loans with their repayments (by contract number), and the problems of shape found. */
export interface MigrationFile {
  loans: LoanLine[];
  problems: MigrationProblem[];
  /** Rows read, loans and repayments (including the ones with problems). */
  counts: { loans: number; repayments: number };
}

/**
 * Loans and repayment rows read as tables (a sheet or section each), joined by contract number:
 * a contract twice among the loans, or a repayment of a contract the loans do not name, is a problem.
 */
function joinTables(loanRows: { raw: Raw<LoanField>; where: Where }[], repaymentRows: { raw: Raw<RepaymentField>; where: Where }[]): MigrationFile {
  if (loanRows.length > MAX_LOANS) throw new AppError("VALIDATION_FAILED", `文件有 ${loanRows.length} 笔贷款，一次至多 ${MAX_LOANS} 笔 / at most ${MAX_LOANS} loans per file`, [{ path: "body", message: `at most ${MAX_LOANS} loans` }]);
  const p = new Problems();
  const loans: LoanLine[] = [];
  const byContract = new Map<string, { line: LoanLine | null; row: number }>();
  for (const { raw, where } of loanRows) {
    const line = readLoan(raw, where, p);
    const no = text(raw.contract_no);
    const first = no ? byContract.get(no) : undefined;
    if (first) {
      p.add(where("contract_no"), "MIGRATION_DUPLICATE_CONTRACT_NO", `合同号 ${no} 在文件中重复（第 ${first.row} 行已有） / contract number ${no} appears twice in the file (first on row ${first.row})`);
      continue;
    }
    if (no) byContract.set(no, { line: line ? { ...line, repayments: [] } : null, row: where("contract_no").row });
    const kept = no ? byContract.get(no)!.line : null;
    if (kept) loans.push(kept);
  }
  for (const { raw, where } of repaymentRows) {
    const no = text(raw.contract_no);
    const rep = readRepayment(raw, where, p);
    const loan = byContract.get(no);
    if (!loan) {
      p.add(where("contract_no"), "MIGRATION_REPAYMENT_WITHOUT_LOAN", `还款所属合同号 ${no || "（空）"} 不在贷款表中 / the repayment's contract number is not among the file's loans`);
      continue;
    }
    if (rep && loan.line) loan.line.repayments.push(rep);
  }
  return { loans, problems: p.list, counts: { loans: loanRows.length, repayments: repaymentRows.length } };
}

function columnsOf<F extends string>(header: unknown[], headers: Record<F, string[]>, required: F[], sheet: Sheet): Map<number, F> {
  const cols = new Map<number, F>();
  header.forEach((h, i) => {
    const name = text(h).toLowerCase();
    for (const [field, names] of Object.entries(headers) as [F, string[]][]) if (names.includes(name)) cols.set(i, field);
  });
  const have = new Set(cols.values());
  const missing = required.filter((f) => !have.has(f));
  if (missing.length > 0) {
    throw new AppError(
      "VALIDATION_FAILED",
      `${sheet === "loans" ? "贷款表" : "还款表"}的第一行须是列名 / the ${sheet} table's first line names its columns`,
      missing.map((f) => ({ path: `file.${sheet}.header`, message: `a column ${headers[f].join(" / ")}` })),
    );
  }
  return cols;
}

/** Rows of one table (header first), with their row numbers as a spreadsheet shows them (the header is row `firstRow`). */
function tableRows<F extends string>(table: { row: number; cells: unknown[] }[], headers: Record<F, string[]>, required: F[], sheet: Sheet): { raw: Raw<F>; where: Where }[] {
  const [header, ...lines] = table;
  if (!header) return [];
  const cols = columnsOf(header.cells, headers, required, sheet);
  return lines
    .filter((l) => l.cells.some((c) => text(c) !== ""))
    .map((l) => {
      const raw: Raw<F> = {};
      for (const [i, field] of cols) raw[field] = l.cells[i];
      return { raw, where: (column: string) => ({ sheet, row: l.row, column, path: `file.${sheet}[${l.row}].${column}` }) };
    });
}

const LOAN_REQUIRED: LoanField[] = ["contract_no", "product_code", "amount", "annual_rate", "repayment_method", "term_months", "disbursed_on"];
const REPAYMENT_REQUIRED: RepaymentField[] = ["contract_no", "value_date", "amount"];

const unreadable = (detail: string) => new AppError("MIGRATION_FILE_UNREADABLE", detail, undefined, 400);

/** CSV (UTF-8): the loans table, an empty line, then the repayments table (optional), each with its header line. */
export function loansOfCsv(bytes: Buffer): MigrationFile {
  let table: string[][];
  try {
    table = parseCsv(bytes, { bom: true, relax_column_count: true, skip_empty_lines: false, trim: true }) as string[][];
  } catch (e) {
    throw unreadable(`CSV 无法读取 / the CSV could not be read: ${(e as Error).message.split("\n")[0].slice(0, 200)}`);
  }
  const numbered = table.map((cells, i) => ({ row: i + 1, cells }));
  const blank = (l: { cells: string[] }) => l.cells.every((c) => c === "");
  const firstLine = numbered.findIndex((l) => !blank(l));
  if (firstLine < 0) throw new AppError("VALIDATION_FAILED", "文件为空 / the file is empty", [{ path: "body", message: "a header line, then one line per loan" }]);
  const gap = numbered.findIndex((l, i) => i > firstLine && blank(l));
  const loanPart = numbered.slice(firstLine, gap < 0 ? undefined : gap);
  const rest = gap < 0 ? [] : numbered.slice(gap).filter((l) => !blank(l));
  return joinTables(tableRows(loanPart, LOAN_HEADERS, LOAN_REQUIRED, "loans"), tableRows(rest, REPAYMENT_HEADERS, REPAYMENT_REQUIRED, "repayments"));
}

/** A cell's value as text, number or date (formula results, rich text and hyperlinks read as what they show). */
function cellValue(v: ExcelJS.CellValue): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number" || v instanceof Date) return v;
  if (typeof v === "object") {
    if ("result" in v) return cellValue(v.result as ExcelJS.CellValue);
    if ("richText" in v) return v.richText.map((t) => t.text).join("");
    if ("text" in v) return v.text;
  }
  return String(v);
}

function sheetTable(ws: ExcelJS.Worksheet | undefined): { row: number; cells: unknown[] }[] {
  const out: { row: number; cells: unknown[] }[] = [];
  ws?.eachRow({ includeEmpty: false }, (row, n) => out.push({ row: n, cells: (row.values as ExcelJS.CellValue[]).slice(1).map(cellValue) }));
  return out;
}

/** XLSX: the loans on the first worksheet (or one named 贷款), the repayments on the second (or one named 还款). */
export async function loansOfXlsx(bytes: Buffer): Promise<MigrationFile> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(bytes as unknown as Parameters<typeof wb.xlsx.load>[0]);
  } catch {
    throw unreadable("XLSX 工作簿无法读取 / the XLSX workbook could not be read");
  }
  const loans = wb.getWorksheet("贷款") ?? wb.worksheets[0];
  if (!loans) throw unreadable("XLSX 工作簿没有工作表 / the workbook has no worksheet");
  const repayments = wb.getWorksheet("还款") ?? wb.worksheets.find((w) => w !== loans);
  return joinTables(tableRows(sheetTable(loans), LOAN_HEADERS, LOAN_REQUIRED, "loans"), tableRows(sheetTable(repayments), REPAYMENT_HEADERS, REPAYMENT_REQUIRED, "repayments"));
}

/** JSON: `loans[i]` with its `repayments[j]` nested; places are named `loans[i].field` and `loans[i].repayments[j].field`. */
export function loansOfJson(loans: (Raw<LoanField> & { repayments?: Raw<Exclude<RepaymentField, "contract_no">>[] })[]): MigrationFile {
  const loanRows = loans.map((raw, i) => ({ raw, where: (column: string) => ({ sheet: "loans" as const, row: i + 1, column, path: `body.loans[${i}].${column}` }) }));
  const repaymentRows = loans.flatMap((l, i) =>
    (l.repayments ?? []).map((raw, j) => ({
      raw: { ...raw, contract_no: l.contract_no },
      where: (column: string) => ({ sheet: "repayments" as const, row: i + 1, column: `repayments[${j}].${column}`, path: `body.loans[${i}].repayments[${j}].${column}` }),
    })),
  );
  return joinTables(loanRows, repaymentRows);
}
