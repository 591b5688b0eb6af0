/**
 * The household's own part of the interest under a `TO_BANK` subsidy policy (docs/DOMAIN.md#interest-subsidy): the bank
 * collects only interest − subsidy from the household and claims the subsidy from the county.
 *
 * A schedule period stores `interest_due` (what the household owes) and `interest_subsidy` (what
 * the bank claims instead); the contract interest is their sum. Every place that writes a period
 * (disbursement, prepayment, extension, payoff, renewal) splits the contract interest with
 * `splitInterest`, using the same formula as the claims (subsidy-split.ts `periodSubsidy`, and its
 * SQL twin), so the claimed subsidy and the household's part always add up to the interest.
 *
 * A share is forfeited — moved back into `interest_due`, with the reason — when the household's
 * part is not paid by the due date plus grace days (LATE_INTEREST), once a misuse finding is
 * recorded on the loan (MISUSE) or the household is REMOVED (HOUSEHOLD_REMOVED): the close of
 * business does it set-based (`forfeitSubsidyShares`), a repayment or a read before that close does
 * it in memory for late periods (`withLateForfeits`).
 */
import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import { D, type Dec, Money } from "../../lib/money.js";
import { periodSubsidy, type SubsidyLoan, type SubsidyMode, type SubsidyPolicy } from "./subsidy-split.js";
import type { LoanRow, PeriodRow } from "./queries.js";

export interface SubsidyTerms {
  mode: SubsidyMode;
  policy: SubsidyPolicy;
  loan: SubsidyLoan;
}

/** The subsidy policy columns of a product version. */
export interface PolicyColumns {
  subsidy_ratio: string;
  subsidy_rate_cap: string | null;
  subsidy_term_months: number;
  subsidy_principal_cap: string;
  subsidy_mode: string;
}

interface TermsRow extends PolicyColumns {
  lpr_1y: string | null;
  lpr_5y: string | null;
}

/** The subsidy terms of a loan under a product version's policy (pure: a disbursement and a preview build them the same way). */
export function termsFrom(policy: PolicyColumns, loan: SubsidyLoan): SubsidyTerms {
  const mode = policy.subsidy_mode as SubsidyMode;
  return {
    mode,
    policy: {
      ratio: new D(policy.subsidy_ratio),
      rateCap: policy.subsidy_rate_cap === null ? null : new D(policy.subsidy_rate_cap),
      termMonths: policy.subsidy_term_months,
      principalCap: new D(policy.subsidy_principal_cap),
      mode,
    },
    loan,
  };
}

/** The subsidy policy of a disbursed loan's product and what the formula needs of the loan; null without a product. */
export async function subsidyTermsOf(
  db: Db,
  loan: Pick<LoanRow, "product_id" | "lpr_date" | "rate_basis" | "repayment_method" | "annual_rate" | "amount"> & { disbursed_on: string | null },
): Promise<SubsidyTerms | null> {
  if (!loan.product_id || !loan.disbursed_on || loan.annual_rate === null) return null;
  const r = await db("loan_products as pr")
    .leftJoin("rate_tables as r", "r.publication_date", db.raw("?::date", [loan.lpr_date]))
    .where("pr.id", loan.product_id)
    .first<TermsRow | undefined>("pr.subsidy_ratio", "pr.subsidy_rate_cap", "pr.subsidy_term_months", "pr.subsidy_principal_cap", "pr.subsidy_mode", "r.lpr_1y", "r.lpr_5y");
  if (!r) return null;
  const lpr = loan.rate_basis === "LPR_1Y" ? r.lpr_1y : loan.rate_basis === "LPR_5Y" ? r.lpr_5y : null;
  return termsFrom(r, { method: loan.repayment_method, annualRate: new D(loan.annual_rate), pricedLpr: lpr === null ? null : new D(lpr), disbursedOn: loan.disbursed_on, amount: new D(loan.amount) });
}

/** What a period needs to be split: its dates, opening principal, carried interest and its contract interest. */
export interface SplittablePeriod {
  accrual_start: string;
  accrual_end: string;
  opening_principal: string;
  carried_interest?: string | null;
  carried_through?: string | null;
  frame_days?: number | null;
}

/** The subsidy share of a period's contract interest: zero unless the loan's policy is TO_BANK. */
export function subsidyShare(terms: SubsidyTerms | null, p: SplittablePeriod, contractInterest: Dec): Dec {
  if (!terms || terms.mode !== "TO_BANK") return new D(0);
  return policyShare(terms, p, contractInterest);
}

/**
 * The subsidy of a period under the policy whatever its mode: what the bank claims (TO_BANK) or
 * what the county reimburses the household (TO_HOUSEHOLD, 先缴后补).
 */
export function policyShare(terms: SubsidyTerms | null, p: SplittablePeriod, contractInterest: Dec): Dec {
  if (!terms || contractInterest.lte(0)) return new D(0);
  return periodSubsidy(
    terms.loan,
    {
      accrualStart: p.accrual_start,
      accrualEnd: p.accrual_end,
      openingPrincipal: new D(p.opening_principal),
      interest: contractInterest,
      carriedInterest: p.carried_interest ? new D(p.carried_interest) : null,
      carriedThrough: p.carried_through ?? null,
      frameDays: p.frame_days ?? null,
    },
    terms.policy,
  ).subsidy;
}

/**
 * Splits the contract interest of new period rows (`interest_due` holding the contract interest)
 * into the household's part and the subsidy share, in place. A no-op unless TO_BANK.
 */
export function splitInterest<T extends SplittablePeriod & { interest_due: string }>(terms: SubsidyTerms | null, rows: T[]): T[] {
  if (!terms || terms.mode !== "TO_BANK") return rows;
  for (const r of rows) {
    const contract = new D(r.interest_due);
    const share = subsidyShare(terms, r, contract);
    Object.assign(r, { interest_due: Money.format(contract.minus(share)), interest_subsidy: Money.format(share) });
  }
  return rows;
}

/** True when a period's subsidy share is lost on `on` because the household's part is unpaid past due date + grace. */
export function lateForfeit(r: Pick<PeriodRow, "interest_subsidy" | "status" | "overdue_from" | "interest_paid" | "interest_due">, on: string): boolean {
  return new D(r.interest_subsidy).gt(0) && r.status !== "PAID" && r.status !== "CLOSED" && r.overdue_from <= on && new D(r.interest_paid).lt(r.interest_due);
}

/**
 * The periods as of a date with late shares forfeited (the close of business may not have run
 * yet); `forfeited` lists the seqs whose share moved, for a writer to persist.
 */
export function withLateForfeits(rows: PeriodRow[], on: string): { rows: PeriodRow[]; forfeited: Set<number> } {
  const forfeited = new Set<number>();
  const out = rows.map((r) => {
    if (!lateForfeit(r, on)) return r;
    forfeited.add(r.seq);
    return { ...r, interest_due: Money.format(new D(r.interest_due).plus(r.interest_subsidy)), interest_subsidy: "0.00", subsidy_forfeited: "LATE_INTEREST" };
  });
  return { rows: forfeited.size > 0 ? out : rows, forfeited };
}

/**
 * Set-based forfeiture (close of business, a misuse finding): every subsidised period not settled
 * whose household part is unpaid past due date + grace days, of a loan with a misuse finding dated
 * on or before the date, or of a REMOVED household, gives its share back to the household; the
 * loan's current-period interest follows. Idempotent: a forfeited period has no share left.
 */
export async function forfeitSubsidyShares(trx: Knex.Transaction, date: string, loanId?: string): Promise<number> {
  const r = await trx.raw(
    `WITH moved AS (
       UPDATE loan_schedule_periods p
          SET interest_due = p.interest_due + p.interest_subsidy, interest_subsidy = 0,
              subsidy_forfeited = CASE WHEN h.status = 'REMOVED' THEN 'HOUSEHOLD_REMOVED'
                                       WHEN EXISTS (SELECT 1 FROM loan_misuse_findings m WHERE m.loan_id = p.loan_id AND m.finding_date <= :d::date) THEN 'MISUSE'
                                       ELSE 'LATE_INTEREST' END
         FROM loans l JOIN households h ON h.id = l.household_id
        WHERE p.interest_subsidy > 0 AND p.status IN ('PENDING', 'DUE', 'OVERDUE') AND l.id = p.loan_id
          ${loanId ? "AND p.loan_id = :loan" : ""}
          AND ((p.overdue_from <= :d::date AND p.interest_paid < p.interest_due)
               OR h.status = 'REMOVED'
               OR EXISTS (SELECT 1 FROM loan_misuse_findings m WHERE m.loan_id = p.loan_id AND m.finding_date <= :d::date))
       RETURNING p.loan_id, p.accrual_start, p.interest_due
     ),
     current_period AS (
       UPDATE loans l SET cur_period_interest = moved.interest_due
         FROM moved
        WHERE l.id = moved.loan_id AND l.cur_period_start = moved.accrual_start
       RETURNING l.id
     )
     SELECT (SELECT count(*) FROM moved)::int AS n`,
    { d: date, ...(loanId ? { loan: loanId } : {}) },
  );
  return (r as { rows: { n: number }[] }).rows[0]?.n ?? 0;
}
