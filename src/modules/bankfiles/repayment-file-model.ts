/**
 * A bank's repayment file read into rows. Pure: cells in, rows out. A row that cannot be read (no
 * contract, a malformed amount, date or reference) is not a reason to refuse the file: it is kept
 * with its problem and reported REFUSED, as the bank expects of a settlement-day file where one bad
 * line must not hold back thousands of good ones. Only a file that cannot be read at all, has no
 * header naming its columns, or is too big, is refused whole.
 */
import { AppError, type FieldError } from "../../lib/errors.js";
import { D } from "../../lib/money.js";
import { columnNeeded, text } from "./model.js";

export const MAX_FILE_ROWS = 200_000;

export interface FileRow {
  line: number;
  contract_no: string | null;
  loan_id: string | null;
  value_date: string | null;
  amount: string;
  reference: string;
  /** Why the row cannot be applied at all (it is reported REFUSED with VALIDATION_FAILED). */
  problem: string | null;
}

type Field = "contract_no" | "loan_id" | "value_date" | "amount" | "reference";
export type RawPayment = Partial<Record<Field, unknown>>;

const HEADERS: Record<Field, string[]> = {
  contract_no: ["contract_no", "合同号", "合同编号", "借款合同号", "贷款合同号"],
  loan_id: ["loan_id", "贷款id", "贷款编号"],
  value_date: ["value_date", "起息日", "交易日期", "扣款日期", "记账日期"],
  amount: ["amount", "金额", "还款金额", "扣款金额", "交易金额"],
  reference: ["reference", "流水号", "银行流水号", "交易流水号"],
};

/** What a repayment file is made of, said where it has no rows. */
const ONE_LINE_PER_PAYMENT = { zh: "首行为表头，其后每行一笔还款", en: "a header line, then one line per payment" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;
const GROUPED = /^\d{1,3}(,\d{3}){1,5}(\.\d{1,2})?$/;
const PRINTABLE = /^[^\s\u0000-\u001f]+(?: [^\s\u0000-\u001f]+)*$/;

/** ISO `2025-12-20`, `20251220`, `2025/12/20`, or a spreadsheet date cell. */
function dateOf(v: unknown): string | null | undefined {
  if (v === null || v === undefined || v === "") return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString().slice(0, 10);
  const s = text(v);
  const m = /^(\d{4})[-/]?(\d{2})[-/]?(\d{2})$/.exec(s);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso ? iso : undefined;
}

export function checkPayments(raw: RawPayment[]): FileRow[] {
  if (raw.length === 0) throw new AppError("VALIDATION_FAILED", "文件没有数据行 / the file has no rows", [{ path: "body", message: ONE_LINE_PER_PAYMENT }]);
  if (raw.length > MAX_FILE_ROWS) {
    throw new AppError("VALIDATION_FAILED", `文件有 ${raw.length} 行，最多 ${MAX_FILE_ROWS} 行 / at most ${MAX_FILE_ROWS} rows`, [
      { path: "body", message: { zh: `最多 ${MAX_FILE_ROWS} 行`, en: `at most ${MAX_FILE_ROWS} rows` } },
    ]);
  }
  return raw.map((r, i) => {
    const problems: string[] = [];
    const contractNo = text(r.contract_no);
    const loanId = text(r.loan_id);
    const reference = text(r.reference);
    const amountText = text(r.amount);
    const amount = GROUPED.test(amountText) ? amountText.replaceAll(",", "") : amountText;
    const valueDate = dateOf(r.value_date);
    if (!contractNo && !loanId) problems.push("缺少合同号或贷款编号 / give the contract number or the loan id");
    if (contractNo && (contractNo.length > 64 || !PRINTABLE.test(contractNo))) problems.push("合同号格式不对 / contract number: at most 64 printable characters");
    if (loanId && !UUID.test(loanId)) problems.push("贷款编号格式不对 / loan id: a UUID");
    if (!AMOUNT.test(amount) || new D(amount).lte(0)) problems.push("金额须为大于 0 的元金额，最多两位小数 / amount: yuan above 0, at most two decimals");
    if (valueDate === undefined) problems.push("起息日格式不对（YYYY-MM-DD）/ value date: YYYY-MM-DD");
    if (!reference || reference.length > 100 || !PRINTABLE.test(reference)) problems.push("缺少银行流水号或格式不对 / bank reference: 1 to 100 printable characters");
    return {
      line: i + 1,
      contract_no: contractNo || null,
      loan_id: loanId && UUID.test(loanId) ? loanId.toLowerCase() : null,
      value_date: valueDate ?? null,
      amount: problems.length === 0 ? new D(amount).toFixed(2) : amountText.slice(0, 40),
      reference: reference.slice(0, 100),
      problem: problems.length > 0 ? problems.join("; ") : null,
    };
  });
}

/** A file's cells (header line first) as raw payments; refuses a header without the columns a payment needs. */
export function paymentsOfTable(table: unknown[][]): RawPayment[] {
  const [header, ...lines] = table;
  if (!header) throw new AppError("VALIDATION_FAILED", "文件为空 / the file is empty", [{ path: "body", message: ONE_LINE_PER_PAYMENT }]);
  const cols = new Map<number, Field>();
  header.forEach((h, i) => {
    const name = text(h).toLowerCase();
    for (const [field, names] of Object.entries(HEADERS) as [Field, string[]][]) if (names.includes(name)) cols.set(i, field);
  });
  const fields = new Set(cols.values());
  const missing: FieldError[] = [];
  if (!fields.has("amount")) missing.push({ path: "body.header", message: columnNeeded(HEADERS.amount) });
  if (!fields.has("reference")) missing.push({ path: "body.header", message: columnNeeded(HEADERS.reference) });
  if (!fields.has("contract_no") && !fields.has("loan_id")) missing.push({ path: "body.header", message: columnNeeded(HEADERS.contract_no, HEADERS.loan_id) });
  if (missing.length > 0) throw new AppError("VALIDATION_FAILED", "文件第一行须写明各列 / the file's first line must name its columns", missing);
  return lines
    .filter((cells) => cells.some((c) => text(c) !== ""))
    .map((cells) => {
      const r: RawPayment = {};
      for (const [i, field] of cols) r[field] = cells[i];
      return r;
    });
}
