import type { Knex } from "knex";
import { type BreakdownRow, type BreakdownScope, groupedRows, registerBreakdownSource } from "../reports/index.js";

type Db = Knex | Knex.Transaction;

/**
 * Dividends by township or village of the households (分红): distributed = the shares of
 * distributions put on notice, approved or paid (not drafts, not reversed); paid = the shares paid
 * by the day, of distributions not reversed (as the county summary counts them), and the households
 * they reached. Dividends belong to no bank: asked by bank, there are none.
 */
export function dividendFiguresBy(db: Db, scope: BreakdownScope): Promise<BreakdownRow[]> {
  const paid = "s.payment_status = 'PAID' AND s.paid_on <= :as_of AND d.status <> 'REVERSED'";
  return groupedRows(db, scope, { county: "s.county_code", village: "s.village_code" }, (key, where) => `
    SELECT ${key} AS key, GROUPING(${key}) = 1 AS is_total,
           coalesce(sum(s.amount) FILTER (WHERE d.status IN ('NOTICED', 'APPROVED', 'PAID')), 0)::numeric(18,2)::text AS dividends_distributed_amount,
           coalesce(sum(s.amount) FILTER (WHERE ${paid}), 0)::numeric(18,2)::text AS dividends_paid_amount,
           count(DISTINCT s.household_id) FILTER (WHERE ${paid})::int AS dividend_households
      FROM distribution_shares s JOIN distributions d ON d.id = s.distribution_id
     WHERE ${where}
     GROUP BY GROUPING SETS ((${key}), ())`);
}

registerBreakdownSource({ name: "distributions", compute: dividendFiguresBy });
