import type { Knex } from "knex";
import * as foundation from "./20261125000100_foundation.js";
import * as alerts from "./20261125000200_alerts.js";
import * as assets from "./20261125000700_assets.js";
import * as loans from "./20261125000300_loans.js";
import * as loanLifecycle from "./20261125000500_loan_lifecycle.js";
import * as ratings from "./20261125000400_ratings.js";
import * as trusteeship from "./20261125000600_trusteeship.js";
import * as subsidies from "./20261125000900_subsidies.js";
import * as riskfund from "./20261125001000_riskfund.js";
import * as portal from "./20261125000800_portal.js";
import * as householdInterest from "./20261125001100_household_interest.js";
import * as hotUpdates from "./20261125001200_hot_updates.js";
import * as overduePeriods from "./20261125001300_overdue_periods.js";
import * as sessions from "./20261201000100_sessions.js";
import * as auditSeals from "./20261201000200_audit_seals.js";
import * as claimMakers from "./20261201000300_claim_makers.js";
import * as jobs from "./20261201000400_jobs.js";
import * as valueDates from "./20261202000100_value_dates.js";
import * as repaymentFiles from "./20261202000200_repayment_files.js";
import * as loanMigrations from "./20261202003000_loan_migrations.js";
import * as contractNo from "./20261202005000_contract_no_and_balance_statements.js";
import * as registerImports from "./20261202002000_register_imports.js";
import * as alertKinds from "./20261202009000_alert_kinds.js";
import * as keptScheduleRows from "./20261203000100_kept_schedule_rows.js";
import * as repaymentFileLanes from "./20261203000200_repayment_file_lanes.js";
import * as journalBalanceByEntry from "./20261203000300_journal_balance_by_entry.js";
import * as journalChecksPerStatement from "./20261204000100_journal_checks_per_statement.js";
import * as dividendVersions from "./20261204000200_dividend_versions.js";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations in order. Listed here (not discovered on disk) so tsx, vitest and bundlers agree. */
const MIGRATIONS: Record<string, Migration> = {
  "20261125000100_foundation": foundation,
  "20261125000200_alerts": alerts,
  "20261125000300_loans": loans,
  "20261125000500_loan_lifecycle": loanLifecycle,
  "20261125000400_ratings": ratings,
  "20261125000600_trusteeship": trusteeship,
  "20261125000700_assets": assets,
  "20261125000800_portal": portal,
  "20261125000900_subsidies": subsidies,
  "20261125001000_riskfund": riskfund,
  "20261125001100_household_interest": householdInterest,
  "20261125001200_hot_updates": hotUpdates,
  "20261125001300_overdue_periods": overduePeriods,
  "20261201000100_sessions": sessions,
  "20261201000200_audit_seals": auditSeals,
  "20261201000300_claim_makers": claimMakers,
  "20261201000400_jobs": jobs,
  "20261202000100_value_dates": valueDates,
  "20261202000200_repayment_files": repaymentFiles,
  "20261202003000_loan_migrations": loanMigrations,
  "20261202005000_contract_no_and_balance_statements": contractNo,
  "20261202002000_register_imports": registerImports,
  "20261202009000_alert_kinds": alertKinds,
  "20261203000100_kept_schedule_rows": keptScheduleRows,
  "20261203000200_repayment_file_lanes": repaymentFileLanes,
  "20261203000300_journal_balance_by_entry": journalBalanceByEntry,
  "20261204000100_journal_checks_per_statement": journalChecksPerStatement,
  "20261204000200_dividend_versions": dividendVersions,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};
