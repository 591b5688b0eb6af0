import type { Knex } from "knex";
import { type BreakdownRow, type BreakdownScope, groupedRows, registerBreakdownSource } from "../reports/index.js";

type Db = Knex | Knex.Transaction;

/**
 * The loan book by township, village or bank, as the loans stand now (their standing is kept by
 * every change and by the close of business): households that ever borrowed (disbursed on or
 * before the day; a renewal is not new lending), households with principal outstanding, active
 * loans, outstanding principal, and the outstanding principal of loans past due (DPD > 0, 逾期) and
 * non-performing (DPD > 90, 不良) — the definitions of the county summary, applied per loan.
 */
export function loanFiguresBy(db: Db, scope: BreakdownScope): Promise<BreakdownRow[]> {
  const active = "l.status IN ('DISBURSED', 'EXTENDED')";
  return groupedRows(db, scope, { county: "l.county_code", village: "l.village_code", bank: "l.bank_id" }, (key, where) => `
    SELECT ${key} AS key, GROUPING(${key}) = 1 AS is_total,
           count(DISTINCT l.household_id) FILTER (WHERE l.disbursed_on <= :as_of AND l.renewed_from_loan_id IS NULL)::int AS households_borrowed,
           count(DISTINCT l.household_id) FILTER (WHERE ${active} AND l.outstanding_principal > 0)::int AS households_with_loan,
           count(*) FILTER (WHERE ${active})::int AS loans_active,
           coalesce(sum(l.outstanding_principal) FILTER (WHERE ${active}), 0)::numeric(18,2)::text AS outstanding_amount,
           coalesce(sum(l.outstanding_principal) FILTER (WHERE ${active} AND l.dpd > 0), 0)::numeric(18,2)::text AS overdue_amount,
           coalesce(sum(l.outstanding_principal) FILTER (WHERE ${active} AND l.dpd > 90), 0)::numeric(18,2)::text AS npl_amount
      FROM loans l
     WHERE ${where} AND l.disbursed_on IS NOT NULL
     GROUP BY GROUPING SETS ((${key}), ())`);
}

registerBreakdownSource({ name: "loans", compute: loanFiguresBy });
