import type { Knex } from "knex";

type Db = Knex | Knex.Transaction;

/**
 * Figures by township, village or bank (分乡镇、分村、分银行): each module that owns figures
 * registers a source that computes them in one set-based statement over its own tables, grouped by
 * the scope's key with a total line (`GROUPING SETS ((key), ())`), so the total is computed by the
 * database and not added up here.
 */
export const BREAKDOWN_BY = ["township", "village", "bank"] as const;
export type BreakdownBy = (typeof BREAKDOWN_BY)[number];

export interface BreakdownScope {
  by: BreakdownBy;
  countyCode: string;
  /** Only the villages of this township (9 digits). */
  townshipCode: string | null;
  /** Only this village (12 digits): a village officer's, or a drill-down. */
  villageCode: string | null;
  /** Only this bank's loans, ratings and claims: a bank's staff, or a drill-down. */
  bankId: string | null;
  /** The business date the figures stand at (today). */
  asOf: string;
}

export type BreakdownValue = number | string | null;
/** One group's figures from one source; `key` null is the total of the scope. */
export interface BreakdownRow {
  key: string | null;
  values: Record<string, BreakdownValue>;
  /** On the total of a source whose records have no such groups (dividends by bank): no lines at all. */
  totalOnly?: boolean;
}

export interface BreakdownSource {
  name: string;
  compute(db: Db, scope: BreakdownScope): Promise<BreakdownRow[]>;
}

const sources: BreakdownSource[] = [];
export function registerBreakdownSource(s: BreakdownSource): void {
  if (!sources.some((x) => x.name === s.name)) sources.push(s);
}
export function breakdownSources(): readonly BreakdownSource[] {
  return sources;
}

/** The columns of a module's table the scope is applied to. */
export interface ScopeColumns {
  county: string;
  village: string;
  /** Absent when the module's records belong to no bank (dividends). */
  bank?: string;
}

/**
 * The group key and the filters of a scope over a module's own columns, for its one statement:
 * `SELECT ${key} AS key, … FROM … WHERE ${where} GROUP BY GROUPING SETS ((${key}), ())`. The filters
 * use named bindings (`:scope_county`…), which `groupedRows` supplies with the statement's own.
 * Null when the module has nothing in that scope (records of no bank, for one bank); records of no
 * bank grouped by bank give only the scope's total.
 */
export function scopeSql(s: BreakdownScope, c: ScopeColumns): { key: string; where: string; bindings: Record<string, string>; totalOnly: boolean } | null {
  if (s.bankId && !c.bank) return null;
  // Records of no bank, grouped by bank: only the scope's total (one constant group).
  const totalOnly = s.by === "bank" && !c.bank;
  const key = totalOnly ? "'-'::text" : s.by === "township" ? `substr(${c.village}, 1, 9)` : s.by === "village" ? c.village : `${c.bank}::text`;
  const where = [`${c.county} = :scope_county`];
  const bindings: Record<string, string> = { scope_county: s.countyCode };
  if (s.townshipCode) {
    where.push(`substr(${c.village}, 1, 9) = :scope_township`);
    bindings.scope_township = s.townshipCode;
  }
  if (s.villageCode) {
    where.push(`${c.village} = :scope_village`);
    bindings.scope_village = s.villageCode;
  }
  if (s.bankId) {
    where.push(`${c.bank} = :scope_bank`);
    bindings.scope_bank = s.bankId;
  }
  return { key, where: where.join(" AND "), bindings, totalOnly };
}

/**
 * Runs a source's statement built on `scopeSql` (it selects `key` and `is_total` =
 * `GROUPING(key) = 1`): the grouped rows and the total (key null). `as_of` is bound for the statement.
 */
export async function groupedRows(db: Db, s: BreakdownScope, c: ScopeColumns, sql: (key: string, where: string) => string): Promise<BreakdownRow[]> {
  const sc = scopeSql(s, c);
  if (!sc) return [];
  const { rows } = await db.raw<{ rows: ({ key: string | null; is_total: boolean } & Record<string, BreakdownValue>)[] }>(sql(sc.key, sc.where), { ...sc.bindings, as_of: s.asOf });
  return rows.filter((r) => r.is_total || !sc.totalOnly).map(({ key, is_total, ...values }) => (is_total ? { key: null, values, ...(sc.totalOnly ? { totalOnly: true } : {}) } : { key, values }));
}
