import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Who owns which table. A module writes and locks only its own tables; when it must act on another
 * module's records it calls that module's named operation (e.g. loans' `closeByCompensation`).
 * Reading another module's table inside one set-based statement (a report, an alert, a claim run) is
 * allowed and listed in docs/ARCHITECTURE.md; writing or locking it is not. `lib` and `http` own the
 * shared mechanisms; `shared` tables (alerts) are written by every module that raises alerts.
 */
export const TABLE_OWNERS: Record<string, string> = {
  app_meta: "db",
  divisions: "register",
  banks: "register",
  households: "register",
  household_members: "register",
  household_incomes: "register",
  household_status_changes: "register",
  register_imports: "register",
  register_import_problem_rows: "register",
  users: "auth",
  login_throttle: "auth",
  audit_chain_heads: "lib",
  audit_log: "lib",
  audit_seals: "lib",
  ledger_accounts: "lib",
  journal_entries: "lib",
  journal_lines: "lib",
  idempotency_keys: "http",
  alerts: "shared",
  loans: "loans",
  rate_tables: "loans",
  loan_products: "loans",
  loan_schedule_periods: "loans",
  loan_repayments: "loans",
  loan_schedule_bases: "loans",
  loan_close_marks: "loans",
  loan_county_settings: "loans",
  loan_collection_actions: "loans",
  cob_runs: "jobs",
  job_runs: "jobs",
  job_schedules: "jobs",
  sessions: "auth",
  loan_portfolio_daily: "loans",
  balance_statements: "bankfiles",
  repayment_files: "bankfiles",
  repayment_file_rows: "bankfiles",
  balance_statement_lines: "bankfiles",
  scorecards: "ratings",
  scorecard_grades: "ratings",
  ratings: "ratings",
  operators: "trusteeship",
  trusteeship_policies: "trusteeship",
  trusteeships: "trusteeship",
  trusteeship_installments: "trusteeship",
  trusteeship_payments: "trusteeship",
  assets: "assets",
  asset_funding_sources: "assets",
  asset_beneficiary_villages: "assets",
  asset_beneficiary_households: "assets",
  asset_changes: "assets",
  asset_return_reports: "assets",
  distribution_rules: "distributions",
  distributions: "distributions",
  distribution_incomes: "distributions",
  distribution_shares: "distributions",
  dividend_versions: "distributions",
  distribution_objections: "distributions",
  partners: "portal",
  household_credentials: "portal",
  loan_misuse_findings: "subsidies",
  subsidy_claims: "subsidies",
  subsidy_claim_lines: "subsidies",
  household_subsidy_payments: "subsidies",
  risk_funds: "riskfund",
  risk_fund_movements: "riskfund",
  compensation_claims: "riskfund",
  compensation_recoveries: "riskfund",
  circuit_breakers: "riskfund",
};

const ROOT = resolve(import.meta.dirname, "../..");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Tables created by the migrations (`createTable("…")` and `CREATE TABLE …`). */
function migratedTables(): string[] {
  const names = new Set<string>();
  for (const f of filesUnder(join(ROOT, "db/migrations"))) {
    const s = readFileSync(f, "utf8");
    for (const m of s.matchAll(/createTable\("(\w+)"/g)) names.add(m[1]);
    for (const m of s.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)/g)) names.add(m[1]);
  }
  return [...names].sort();
}

/** Writes and locks in a source file: `trx("t")….update|insert|delete|forUpdate` and raw INSERT INTO / UPDATE / DELETE FROM. */
export function writesIn(source: string): { table: string; line: number; how: string }[] {
  const found: { table: string; line: number; how: string }[] = [];
  const lineOf = (i: number) => source.slice(0, i).split("\n").length;
  for (const m of source.matchAll(/\b(?:trx|db|knex|q|tx)\(\s*"(\w+)(?: as \w+)?"\s*\)([^;]*?)\.(update|insert|delete|del|forUpdate|increment|decrement)\(/g)) {
    if (!m[2].includes(";")) found.push({ table: m[1], line: lineOf(m.index ?? 0), how: m[3] });
  }
  for (const m of source.matchAll(/\b(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)\b/g)) {
    found.push({ table: m[2], line: lineOf(m.index ?? 0), how: m[1] });
  }
  return found;
}

describe("table ownership", () => {
  it("names an owner for every table the migrations create", () => {
    expect(migratedTables().filter((t) => !(t in TABLE_OWNERS))).toEqual([]);
  });

  it("lets no module write or lock another module's tables", () => {
    const crossing: string[] = [];
    for (const file of filesUnder(join(ROOT, "src/modules"))) {
      const module = file.slice(join(ROOT, "src/modules").length + 1).split("/")[0];
      for (const w of writesIn(readFileSync(file, "utf8"))) {
        const owner = TABLE_OWNERS[w.table];
        if (!owner || owner === module || owner === "shared") continue;
        crossing.push(`${file.slice(ROOT.length + 1)}:${w.line} ${w.how} ${w.table} (owned by ${owner})`);
      }
    }
    expect(crossing).toEqual([]);
  });

  it("sees a crossing write when there is one", () => {
    const planted = `await trx("loans").where({ id }).update({ status: "COMPENSATED" });\nawait trx.raw("UPDATE loan_schedule_periods SET status = 'CLOSED'");`;
    expect(writesIn(planted).map((w) => `${w.how} ${w.table}`)).toEqual(["update loans", "UPDATE loan_schedule_periods"]);
  });
});
