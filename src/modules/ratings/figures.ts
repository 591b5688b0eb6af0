import type { Knex } from "knex";
import { type BreakdownRow, type BreakdownScope, groupedRows, registerBreakdownSource } from "../reports/index.js";

type Db = Knex | Knex.Transaction;

/**
 * Credit granted (授信) by township, village or bank on the day: each household's rating valid that
 * day (effective, or superseded after it), the households whose line is above zero and the sum of
 * the lines. A rating belongs to the bank whose officer made it.
 */
export function ratingFiguresBy(db: Db, scope: BreakdownScope): Promise<BreakdownRow[]> {
  return groupedRows(db, scope, { county: "v.county_code", village: "v.village_code", bank: "v.bank_id" }, (key, where) => `
    WITH v AS (
      SELECT DISTINCT ON (r.household_id) r.household_id, r.county_code, r.village_code, r.bank_id, r.credit_line
        FROM ratings r
       WHERE r.county_code = :scope_county AND r.status IN ('EFFECTIVE', 'SUPERSEDED')
         AND r.valid_from <= :as_of AND r.valid_until >= :as_of AND (r.superseded_on IS NULL OR r.superseded_on > :as_of)
       ORDER BY r.household_id, r.valid_from DESC)
    SELECT ${key} AS key, GROUPING(${key}) = 1 AS is_total,
           count(*) FILTER (WHERE v.credit_line > 0)::int AS households_with_line,
           coalesce(sum(v.credit_line), 0)::numeric(18,2)::text AS lines_granted_amount
      FROM v
     WHERE ${where}
     GROUP BY GROUPING SETS ((${key}), ())`);
}

registerBreakdownSource({ name: "ratings", compute: ratingFiguresBy });
