import type { Knex } from "knex";
import { type BreakdownRow, type BreakdownScope, registerBreakdownSource, scopeSql } from "../reports/index.js";

type Db = Knex | Knex.Transaction;

/**
 * The register's part of the figures by township, village or bank: the groups themselves (every
 * township or village of the scope, with its name, even one with no household; or every bank, by
 * short name), and the eligible households (POOR, EXITED, MONITORED: 获贷率's denominator) of each
 * division. Households belong to no bank: asked by bank, only the scope's total has them. The total
 * line carries the scope's name (the village, township or county), and the bank's when the scope is
 * one bank's.
 */
export async function registerFiguresBy(db: Db, scope: BreakdownScope): Promise<BreakdownRow[]> {
  const by = scope.by === "bank" ? "village" : scope.by;
  const hs = scopeSql({ ...scope, by, bankId: null }, { county: "h.county_code", village: "h.village_code" });
  if (!hs) return [];
  const eligible = `SELECT ${hs.key} AS k, count(*) AS n FROM households h WHERE ${hs.where} AND h.status IN ('POOR', 'EXITED', 'MONITORED') GROUP BY ${hs.key}`;
  const divisionFilters: string[] = [];
  if (scope.by === "township") {
    if (scope.townshipCode) divisionFilters.push("d.code = :scope_township");
    if (scope.villageCode) divisionFilters.push("d.code = substr(:scope_village, 1, 9)");
  } else {
    if (scope.townshipCode) divisionFilters.push("substr(d.code, 1, 9) = :scope_township");
    if (scope.villageCode) divisionFilters.push("d.code = :scope_village");
  }
  // Filtered to one bank: the total names it (null when there is no such bank).
  const bankName = scope.bankId ? ", NULL::text AS bank_name" : "";
  const groups =
    scope.by === "bank"
      ? `SELECT b.id::text AS key, false AS is_total, b.short_name AS name, NULL::int AS eligible_households ${bankName} FROM banks b ${scope.bankId ? "WHERE b.id = :bank" : ""}`
      : `SELECT d.code AS key, false AS is_total, d.name, coalesce(x.n, 0)::int AS eligible_households ${bankName}
           FROM divisions d LEFT JOIN (${eligible}) x ON x.k = d.code
          WHERE d.county_code = :scope_county AND d.level = :level ${divisionFilters.map((f) => `AND ${f}`).join(" ")}`;
  const { rows } = await db.raw<{ rows: { key: string | null; is_total: boolean; name: string | null; eligible_households: number | null }[] }>(
    `${groups}
     UNION ALL
     SELECT NULL, true, (SELECT name FROM divisions WHERE code = :scope_code),
            (SELECT coalesce(sum(n), 0) FROM (${eligible}) x)::int
            ${scope.bankId ? ", (SELECT short_name FROM banks WHERE id = :bank) AS bank_name" : ""}
     ORDER BY 1`,
    { ...hs.bindings, level: scope.by === "township" ? "TOWNSHIP" : "VILLAGE", scope_code: scope.villageCode ?? scope.townshipCode ?? scope.countyCode, ...(scope.bankId ? { bank: scope.bankId } : {}) },
  );
  return rows.map(({ key, is_total, ...values }) => ({ key: is_total ? null : key, values }));
}

registerBreakdownSource({ name: "register", compute: registerFiguresBy });
