/**
 * A bank's outstanding principal per contract on a date (its balance file, 对账) against the
 * platform's: one statement whatever the file's size (the file's rows go in as arrays and are
 * unnested, joined with the bank's loans and their repayments, and compared in SQL).
 */
import type { Knex } from "knex";
import { Money } from "../../lib/money.js";

type Db = Knex | Knex.Transaction;

/** One row of a bank's file: the loan named by its id or by the bank's contract number. */
export interface BalanceRow {
  /** Row number in the file (1 = first data row). */
  line: number;
  contract_no: string | null;
  loan_id: string | null;
  /** The bank's figure, a decimal string with at most two places. */
  outstanding_principal: string;
}

export type BalanceOutcome = "DIFFERS" | "UNKNOWN" | "MISSING_FROM_FILE";

export interface BalanceException {
  /** The file's row number; null for a loan the file lacks. */
  line: number | null;
  outcome: BalanceOutcome;
  contract_no: string | null;
  loan_id: string | null;
  bank_principal: string | null;
  platform_principal: string | null;
  /** bank − platform, for DIFFERS. */
  difference: string | null;
}

export interface BalanceComparison {
  matched: number;
  /** The platform's principal of the bank's loans open on the date. */
  platform_total: string;
  /** File rows that differ or are unknown, in file order, then the loans the file lacks. */
  exceptions: BalanceException[];
}

/**
 * Compares a bank's balances on `asOf` with the platform's, for the bank's loans in one county.
 *
 * The platform's outstanding principal of a loan on a date (end of that day) is its amount less the
 * principal of its repayments valued on or before the date (`loan_repayments.paid_on`, prepayments
 * included), and 0 once the loan closed on or before the date (repaid, renewed, written off,
 * compensated). For a loan still open this equals "outstanding now + principal repaid after the
 * date"; written as amount − repaid it also holds for a loan closed after the date by a write-off,
 * a compensation or a renewal, which take the principal off without a repayment. Loans disbursed
 * after the date do not exist on it.
 *
 * A file row names a loan by `loan_id` when it gives one (the contract number is then not used),
 * otherwise by `contract_no`; a loan of another bank or county, or one not disbursed by the date,
 * is UNKNOWN exactly like a number never issued (jurisdiction: nothing says it exists). A loan open
 * on the date that no row names is MISSING_FROM_FILE.
 */
export async function compareBankBalances(db: Db, scope: { bankId: string; countyCode: string }, asOf: string, rows: BalanceRow[]): Promise<BalanceComparison> {
  const { rows: out } = await db.raw<{ rows: { matched: number; platform_total: string; exceptions: RawException[] | null }[] }>(
    `WITH f AS (
       SELECT * FROM unnest(?::int[], ?::text[], ?::uuid[], ?::numeric[]) AS f(line, contract_no, loan_id, bank_principal)
     ), repaid AS (
       SELECT loan_id, sum(principal) AS principal FROM loan_repayments
        WHERE bank_id = ? AND county_code = ? AND paid_on <= ?::date AND reversed_at IS NULL GROUP BY loan_id
     ), p AS (
       SELECT l.id, l.contract_no,
              CASE WHEN l.closed_on IS NOT NULL AND l.closed_on <= ?::date THEN 0 ELSE l.amount - coalesce(r.principal, 0) END AS principal,
              (l.closed_on IS NULL OR l.closed_on > ?::date) AS open
         FROM loans l LEFT JOIN repaid r ON r.loan_id = l.id
        WHERE l.bank_id = ? AND l.county_code = ? AND l.disbursed_on <= ?::date
     ), m AS (
       SELECT f.line, f.bank_principal, f.contract_no AS file_contract_no, f.loan_id AS file_loan_id,
              coalesce(pi.id, pc.id) AS id, coalesce(pi.contract_no, pc.contract_no) AS contract_no,
              coalesce(pi.principal, pc.principal) AS platform_principal
         FROM f
         LEFT JOIN p pi ON f.loan_id IS NOT NULL AND pi.id = f.loan_id
         LEFT JOIN p pc ON f.loan_id IS NULL AND pc.contract_no = f.contract_no
     ), e AS (
       SELECT 0 AS part, line, CASE WHEN id IS NULL THEN 'UNKNOWN' ELSE 'DIFFERS' END AS outcome,
              coalesce(contract_no, file_contract_no) AS contract_no, coalesce(id, file_loan_id) AS loan_id,
              bank_principal, platform_principal
         FROM m WHERE id IS NULL OR bank_principal <> platform_principal
       UNION ALL
       SELECT 1, NULL, 'MISSING_FROM_FILE', p.contract_no, p.id, NULL, p.principal
         FROM p WHERE p.open AND NOT EXISTS (SELECT 1 FROM m WHERE m.id = p.id)
     )
     SELECT (SELECT count(*)::int FROM m WHERE id IS NOT NULL AND bank_principal = platform_principal) AS matched,
            (SELECT coalesce(sum(principal), 0)::text FROM p WHERE open) AS platform_total,
            (SELECT json_agg(json_build_object('line', line, 'outcome', outcome, 'contract_no', contract_no, 'loan_id', loan_id,
                                               'bank_principal', bank_principal::text, 'platform_principal', platform_principal::text)
                             ORDER BY part, line, contract_no, loan_id) FROM e) AS exceptions`,
    [
      rows.map((r) => r.line),
      withNulls(rows.map((r) => r.contract_no)),
      withNulls(rows.map((r) => r.loan_id)),
      rows.map((r) => r.outstanding_principal),
      scope.bankId,
      scope.countyCode,
      asOf,
      asOf,
      asOf,
      scope.bankId,
      scope.countyCode,
      asOf,
    ],
  );
  const r = out[0];
  const exceptions = (typeof r.exceptions === "string" ? (JSON.parse(r.exceptions) as RawException[]) : (r.exceptions ?? [])).map(exceptionOf);
  return { matched: Number(r.matched), platform_total: Money.format(r.platform_total), exceptions };
}

/** knex's binding types take arrays without NULL elements; both drivers send a null element as SQL NULL. */
const withNulls = (values: (string | null)[]) => values as unknown as string[];

/** An exception as the statement returns it: the figures as numeric text, no difference yet. */
type RawException = Omit<BalanceException, "difference">;

function exceptionOf(e: RawException): BalanceException {
  const bank = e.bank_principal === null ? null : Money.of(e.bank_principal);
  const platform = e.platform_principal === null ? null : Money.of(e.platform_principal);
  return {
    line: e.line,
    outcome: e.outcome,
    contract_no: e.contract_no,
    loan_id: e.loan_id,
    bank_principal: bank === null ? null : Money.format(bank),
    platform_principal: platform === null ? null : Money.format(platform),
    difference: bank !== null && platform !== null ? Money.format(bank.minus(platform)) : null,
  };
}
