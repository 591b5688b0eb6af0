/**
 * How every table of the schema would be placed when the nation's counties run on one Citus
 * cluster distributed by county code (docs/SCALING.md#per-table). test/db/distribution.test.ts
 * reads the migrated schema and fails when a table is missing here, when a distributed table lacks
 * its distribution column, or when a foreign key between distributed tables does not carry the
 * county code — unless that key is listed in CROSS_SHARD_FOREIGN_KEYS with its reason.
 *
 * - `distributed`: sharded by `column` (hash); rows of one county live together on one node, so a
 *   request bounded by its jurisdiction touches one shard group. The column is NOT NULL, and every
 *   primary and unique key of the table would include it.
 * - `reference`: small, read by every county, changed rarely; copied whole to every node, so any
 *   shard may join it and point a foreign key at it.
 * - `local`: kept on the coordinator only: bookkeeping of the installation itself, never joined
 *   with county data.
 *
 * A new table: add it below (most business tables: `{ kind: "distributed", column: "county_code" }`
 * with a NOT NULL `county_code` column, and foreign keys to other county tables written as
 * `(county_code, x_id) REFERENCES x (county_code, id)` — or listed in CROSS_SHARD_FOREIGN_KEYS).
 */

export type Distribution =
  | { kind: "distributed"; column: string; note?: string }
  | { kind: "reference"; note: string }
  | { kind: "local"; note: string };

const BY_COUNTY = { kind: "distributed", column: "county_code" } as const;

export const DISTRIBUTION: Record<string, Distribution> = {
  // register
  households: BY_COUNTY,
  household_members: BY_COUNTY,
  household_incomes: BY_COUNTY,
  household_status_changes: BY_COUNTY,
  register_imports: BY_COUNTY,
  register_import_problem_rows: BY_COUNTY,
  household_credentials: BY_COUNTY,
  // ratings
  scorecards: { ...BY_COUNTY, note: "a county publishes its own versions; ratings join the version they were made under" },
  scorecard_grades: BY_COUNTY,
  ratings: BY_COUNTY,
  // loans
  loan_products: { ...BY_COUNTY, note: "a product is per bank and county (unique on bank, county, code, version)" },
  loans: BY_COUNTY,
  loan_schedule_periods: BY_COUNTY,
  loan_repayments: BY_COUNTY,
  loan_schedule_bases: BY_COUNTY,
  loan_county_settings: BY_COUNTY,
  loan_close_marks: { kind: "local", note: "the last business date the close of business ran the loans' steps, for the whole installation" },
  loan_collection_actions: BY_COUNTY,
  loan_misuse_findings: BY_COUNTY,
  loan_portfolio_daily: BY_COUNTY,
  // subsidies
  subsidy_claims: BY_COUNTY,
  subsidy_claim_lines: BY_COUNTY,
  household_subsidy_payments: BY_COUNTY,
  // risk fund
  risk_funds: BY_COUNTY,
  risk_fund_movements: BY_COUNTY,
  compensation_claims: BY_COUNTY,
  compensation_recoveries: BY_COUNTY,
  circuit_breakers: BY_COUNTY,
  // trusteeship
  operators: { ...BY_COUNTY, note: "an operator is registered per county (unique on county, credit code)" },
  trusteeship_policies: BY_COUNTY,
  trusteeships: BY_COUNTY,
  trusteeship_installments: BY_COUNTY,
  trusteeship_payments: BY_COUNTY,
  // assets and distributions
  assets: BY_COUNTY,
  asset_funding_sources: BY_COUNTY,
  asset_beneficiary_villages: BY_COUNTY,
  asset_beneficiary_households: BY_COUNTY,
  asset_changes: BY_COUNTY,
  asset_return_reports: BY_COUNTY,
  distribution_rules: BY_COUNTY,
  distributions: BY_COUNTY,
  distribution_incomes: BY_COUNTY,
  distribution_shares: BY_COUNTY,
  dividend_versions: BY_COUNTY,
  distribution_objections: BY_COUNTY,
  // bank files
  balance_statements: BY_COUNTY,
  repayment_files: BY_COUNTY,
  repayment_file_rows: BY_COUNTY,
  balance_statement_lines: BY_COUNTY,
  // cross-module mechanisms
  alerts: BY_COUNTY,
  journal_entries: BY_COUNTY,
  journal_lines: BY_COUNTY,
  audit_log: { ...BY_COUNTY, note: "rows of the `system` scope have no county: see NULLABLE_DISTRIBUTION_COLUMNS" },
  audit_chain_heads: { ...BY_COUNTY, note: "the county is the chain name's prefix today: see MISSING_DISTRIBUTION_COLUMNS" },
  idempotency_keys: {
    kind: "distributed",
    column: "owner",
    note: "looked up by (owner, key) only, never joined; its own colocation group, so a command's transaction spans two shard groups (two-phase commit) until the table carries the county code",
  },

  // read by every county, changed by the admin now and then
  divisions: { kind: "reference", note: "GB/T 2260 codes of the whole nation (~700,000 rows); every county table points at its villages" },
  banks: { kind: "reference", note: "a few hundred banks, each lending in many counties" },
  users: { kind: "reference", note: "staff accounts, read at login; a user's jurisdiction may name several counties" },
  partners: { kind: "reference", note: "portal clients, each serving a list of counties" },
  ledger_accounts: { kind: "reference", note: "the chart of accounts, the same for every county" },
  rate_tables: { kind: "reference", note: "LPR publications, national" },

  // the installation's own bookkeeping
  app_meta: { kind: "local", note: "installation settings and markers" },
  knex_migrations: { kind: "local", note: "migration history; Citus propagates the DDL itself" },
  knex_migrations_lock: { kind: "local", note: "migration lock" },
  cob_runs: { kind: "local", note: "progress of the close of business per business date; each step is one statement Citus runs on every shard in parallel" },
  login_throttle: { kind: "local", note: "failed logins per username, checked before a user is known; logins are served by the coordinator" },
  sessions: { kind: "local", note: "staff sessions (a row per login, ended by logout or an administrator); logins and token checks are served by the coordinator, like login_throttle" },
  job_runs: { kind: "local", note: "one row per run of a daily job, whole-database runs with no county among them; written by the scheduler on the coordinator" },
  job_schedules: { kind: "local", note: "the daily jobs' times per county ('*' for all); read by the scheduler on the coordinator" },
  audit_seals: { kind: "local", note: "one signed seal per county (or 'system') and day, signed by the installation's one key; small, read by auditors through the coordinator" },
};

/** Distributed tables that do not have their distribution column yet: table → what is missing and why. */
export const MISSING_DISTRIBUTION_COLUMNS: Record<string, string> = {
  audit_chain_heads:
    "the chain name starts with the county code (`469030.3`); a `county_code` column (set from the chain name, `system` chains on a reserved code) is needed before the heads can sit beside their county's audit rows",
};

/** Distributed tables whose distribution column may still be NULL: table → why. Citus refuses NULL there. */
export const NULLABLE_DISTRIBUTION_COLUMNS: Record<string, string> = {
  audit_log: "rows of the `system` scope (logins, users, partners) have no county; they need a reserved county code (or a table of their own) before distribution",
};

const SAME_COUNTY =
  "parent and child are always in the same county (the service copies the parent's county_code); the key is the parent's UUID alone today — it becomes (county_code, …) REFERENCES parent (county_code, id) when the parent's primary key is extended (docs/SCALING.md#keys)";

/**
 * Foreign keys from one distributed table to another that do not include the county code, as
 * `table.constraint` → reason. Each one is a key between two rows of the same county that would
 * cross shards on Citus until both keys carry `county_code`. Do not add a key between counties here.
 */
export const CROSS_SHARD_FOREIGN_KEYS: Record<string, string> = {
  "repayment_file_rows.repayment_file_rows_file_id_foreign": SAME_COUNTY,
  "household_members.household_members_household_id_foreign": SAME_COUNTY,
  "household_incomes.household_incomes_household_id_foreign": SAME_COUNTY,
  "household_status_changes.household_status_changes_household_id_foreign": SAME_COUNTY,
  "register_import_problem_rows.register_import_problem_rows_import_id_foreign": SAME_COUNTY,
  "household_credentials.household_credentials_household_id_foreign": SAME_COUNTY,
  "scorecard_grades.scorecard_grades_scorecard_id_foreign": SAME_COUNTY,
  "ratings.ratings_household_id_foreign": SAME_COUNTY,
  "ratings.ratings_scorecard_version_id_foreign": "a rating uses its household's county's scorecard; " + SAME_COUNTY,
  "ratings.ratings_superseded_by_foreign": "a rating is superseded by a later rating of the same household; " + SAME_COUNTY,
  "loans.loans_household_id_foreign": SAME_COUNTY,
  "loans.loans_borrower_member_id_foreign": "the borrower is a member of the loan's household; " + SAME_COUNTY,
  "loans.loans_product": "a loan is priced on a product of its bank in its county; " + SAME_COUNTY,
  "loans.loans_renewed_from_loan_id_foreign": "a renewal replaces a loan of the same household; " + SAME_COUNTY,
  "loans.loans_renewed_to_loan_id_foreign": "a renewal replaces a loan of the same household; " + SAME_COUNTY,
  "loan_schedule_periods.loan_schedule_periods_loan_id_foreign": SAME_COUNTY,
  "loan_repayments.loan_repayments_loan_id_foreign": SAME_COUNTY,
  "loan_schedule_bases.loan_schedule_bases_loan_id_foreign": SAME_COUNTY,
  "loan_collection_actions.loan_collection_actions_loan_id_foreign": SAME_COUNTY,
  "loan_misuse_findings.loan_misuse_findings_loan_id_foreign": SAME_COUNTY,
  "household_subsidy_payments.household_subsidy_payments_claim_id_foreign": SAME_COUNTY,
  "household_subsidy_payments.household_subsidy_payments_household_id_foreign": SAME_COUNTY,
  "risk_fund_movements.risk_fund_movements_fund_id_foreign": SAME_COUNTY,
  "compensation_claims.compensation_claims_fund_id_foreign": "a claim is paid by the fund of the loan's bank and county; " + SAME_COUNTY,
  "compensation_claims.compensation_claims_loan_id_foreign": SAME_COUNTY,
  "compensation_recoveries.compensation_recoveries_claim_id_foreign": SAME_COUNTY,
  "trusteeships.trusteeships_household_id_foreign": SAME_COUNTY,
  "trusteeships.trusteeships_operator_id_foreign": "an operator is registered in the county of its contracts; " + SAME_COUNTY,
  "trusteeships.trusteeships_linked_loan_id_foreign": "the linked loan is the household's own; " + SAME_COUNTY,
  "trusteeship_installments.trusteeship_installments_trusteeship_id_foreign": SAME_COUNTY,
  "trusteeship_payments.trusteeship_payments_trusteeship_id_foreign": SAME_COUNTY,
  "trusteeship_payments.trusteeship_payments_journal_entry_id_foreign": "the journal entry is posted in the contract's county; " + SAME_COUNTY,
  "assets.assets_operator_id_foreign": "the managing operator is registered in the asset's county; " + SAME_COUNTY,
  "asset_funding_sources.asset_funding_sources_asset_id_foreign": SAME_COUNTY,
  "asset_beneficiary_villages.asset_beneficiary_villages_asset_id_foreign": SAME_COUNTY,
  "asset_beneficiary_households.asset_beneficiary_households_asset_id_foreign": SAME_COUNTY,
  "asset_beneficiary_households.asset_beneficiary_households_household_id_foreign": "beneficiaries are households of the asset's villages; " + SAME_COUNTY,
  "asset_changes.asset_changes_asset_id_foreign": SAME_COUNTY,
  "asset_return_reports.asset_return_reports_asset_id_foreign": SAME_COUNTY,
  "asset_return_reports.asset_return_reports_operator_id_foreign": SAME_COUNTY,
  "asset_return_reports.asset_return_reports_resubmits_id_foreign": "a resubmission replaces a report of the same asset; " + SAME_COUNTY,
  "distribution_rules.distribution_rules_asset_id_foreign": SAME_COUNTY,
  "distributions.distributions_asset_id_foreign": SAME_COUNTY,
  "distributions.distributions_rule_id_foreign": SAME_COUNTY,
  "distribution_incomes.distribution_incomes_asset_id_foreign": SAME_COUNTY,
  "distribution_incomes.distribution_incomes_distribution_id_foreign": SAME_COUNTY,
  "distribution_incomes.distribution_incomes_report_id_foreign": SAME_COUNTY,
  "distribution_shares.distribution_shares_distribution_id_foreign": SAME_COUNTY,
  "distribution_objections.distribution_objections_distribution_id_foreign": SAME_COUNTY,
  "distribution_objections.distribution_objections_household_id_foreign": SAME_COUNTY,
  "journal_entries.journal_entries_reverses_entry_id_foreign": "a reversal is posted in the county of the entry it reverses; " + SAME_COUNTY,
};
