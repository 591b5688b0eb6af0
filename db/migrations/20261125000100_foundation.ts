import type { Knex } from "knex";

/**
 * Foundation: divisions, banks, staff users, the household register, the audit log, the ledger
 * and idempotency records. Every business table carries `county_code`, the key it would be
 * distributed by (Citus) when one server is not enough.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("app_meta", (t) => {
    t.text("key").primary();
    t.jsonb("value").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // GB/T 2260 divisions: county 6 digits, township 9, village 12.
  await knex.schema.createTable("divisions", (t) => {
    t.string("code", 12).primary();
    t.text("name").notNullable();
    t.enu("level", ["COUNTY", "TOWNSHIP", "VILLAGE"]).notNullable();
    t.string("parent_code", 12).references("code").inTable("divisions");
    t.string("county_code", 6).notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "level"]);
    t.index(["parent_code"]);
  });
  await knex.raw(`ALTER TABLE divisions ADD CONSTRAINT divisions_code_shape CHECK (
    (level = 'COUNTY' AND code ~ '^[0-9]{6}$' AND parent_code IS NULL) OR
    (level = 'TOWNSHIP' AND code ~ '^[0-9]{9}$' AND parent_code = substr(code, 1, 6)) OR
    (level = 'VILLAGE' AND code ~ '^[0-9]{12}$' AND parent_code = substr(code, 1, 9)))`);
  await knex.raw(`ALTER TABLE divisions ADD CONSTRAINT divisions_county CHECK (county_code = substr(code, 1, 6))`);

  await knex.schema.createTable("banks", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("name").notNullable();
    t.text("short_name").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("users", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("username").notNullable().unique();
    t.text("password_hash").notNullable();
    t.text("display_name").notNullable();
    t.enu("role", ["admin", "village_officer", "loan_officer", "bank_manager", "finance_officer", "operator", "regulator"]).notNullable();
    t.specificType("county_codes", "varchar(6)[]").notNullable();
    t.uuid("bank_id").references("id").inTable("banks");
    t.uuid("operator_id");
    t.string("village_code", 12).references("code").inTable("divisions");
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_jurisdiction CHECK (
    cardinality(county_codes) >= 1 AND
    (role <> 'village_officer' OR village_code IS NOT NULL) AND
    (role NOT IN ('loan_officer', 'bank_manager') OR bank_id IS NOT NULL) AND
    (role <> 'operator' OR operator_id IS NOT NULL))`);

  await knex.schema.createTable("login_throttle", (t) => {
    t.text("username").primary();
    t.integer("failures").notNullable().defaultTo(0);
    t.timestamp("window_started_at", { useTz: true }).notNullable();
    t.timestamp("locked_until", { useTz: true });
  });

  // Household register (建档立卡).
  await knex.schema.createTable("households", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.string("township_code", 9).notNullable();
    t.string("village_code", 12).notNullable().references("code").inTable("divisions");
    t.text("household_no").notNullable().unique();
    t.enu("household_type", ["GENERAL", "DIBAO", "TEKUN", "MONITORED"]).notNullable();
    t.enu("status", ["POOR", "EXITED", "MONITORED", "REMOVED"]).notNullable();
    t.date("status_since").notNullable();
    t.date("exit_date");
    t.text("main_cause").notNullable();
    t.specificType("secondary_causes", "text[]").notNullable().defaultTo("{}");
    t.enu("housing_safety", ["SAFE", "RENOVATED", "UNSAFE"]).notNullable().defaultTo("SAFE");
    t.text("phone_enc");
    t.text("phone_masked");
    t.text("bank_account_enc");
    t.text("bank_account_masked");
    t.text("bank_name");
    t.integer("version").notNullable().defaultTo(1);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "village_code", "status"]);
    t.index(["village_code", "id"]);
  });
  await knex.raw(`ALTER TABLE households ADD CONSTRAINT households_division_codes CHECK (
    township_code = substr(village_code, 1, 9) AND county_code = substr(village_code, 1, 6))`);
  await knex.raw(`ALTER TABLE households ADD CONSTRAINT households_secondary_causes CHECK (cardinality(secondary_causes) <= 2)`);
  await knex.raw(`ALTER TABLE households ADD CONSTRAINT households_exit_date CHECK (status <> 'EXITED' OR exit_date IS NOT NULL)`);

  await knex.raw(`CREATE SEQUENCE household_no_seq`);

  await knex.schema.createTable("household_members", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.string("county_code", 6).notNullable();
    t.text("name").notNullable();
    t.text("id_number_hash").notNullable().unique();
    t.text("id_number_enc").notNullable();
    t.text("id_number_masked").notNullable();
    t.enu("relation", ["HEAD", "SPOUSE", "CHILD", "PARENT", "GRANDCHILD", "SIBLING", "OTHER"]).notNullable();
    t.enu("sex", ["M", "F"]).notNullable();
    t.date("birth_date").notNullable();
    t.enu("health", ["HEALTHY", "CHRONIC", "SERIOUS", "DISABLED"]).notNullable();
    t.enu("labour_capacity", ["ORDINARY", "SKILLED", "WEAK", "NONE"]).notNullable();
    t.enu("schooling", ["NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "VOCATIONAL", "COLLEGE", "NOT_IN_SCHOOL"]).notNullable();
    t.boolean("on_dibao").notNullable().defaultTo(false);
    t.boolean("on_tekun").notNullable().defaultTo(false);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["household_id"]);
  });
  // One head per household.
  await knex.raw(`CREATE UNIQUE INDEX household_members_one_head ON household_members (household_id) WHERE relation = 'HEAD'`);

  await knex.schema.createTable("household_incomes", (t) => {
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.string("county_code", 6).notNullable();
    t.integer("year").notNullable();
    t.decimal("net_income", 18, 2).notNullable();
    t.decimal("per_capita_net_income", 18, 2).notNullable();
    t.primary(["household_id", "year"]);
  });

  await knex.schema.createTable("household_status_changes", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.string("county_code", 6).notNullable();
    t.string("from_status", 16).notNullable();
    t.string("to_status", 16).notNullable();
    t.date("effective_date").notNullable();
    t.text("reason").notNullable();
    t.jsonb("approvals").notNullable();
    t.date("notice_start");
    t.date("notice_end");
    t.uuid("actor_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["household_id", "created_at"]);
  });

  // Audit log: append-only, hash-chained per county (one chain head row per chain, locked to append).
  await knex.schema.createTable("audit_chain_heads", (t) => {
    t.text("chain").primary();
    t.bigInteger("last_seq").notNullable();
    t.text("last_hash").notNullable();
  });
  await knex.schema.createTable("audit_log", (t) => {
    t.bigIncrements("id").primary();
    t.text("chain").notNullable();
    t.bigInteger("seq").notNullable();
    t.timestamp("occurred_at", { useTz: true }).notNullable();
    t.uuid("actor_id");
    t.text("actor_role");
    t.text("action").notNullable();
    t.text("entity_type").notNullable();
    t.text("entity_id").notNullable();
    t.string("county_code", 6);
    t.text("request_id");
    t.jsonb("before");
    t.jsonb("after");
    t.text("prev_hash").notNullable();
    t.text("hash").notNullable();
    t.unique(["chain", "seq"]);
    t.index(["entity_type", "entity_id"]);
    t.index(["county_code", "occurred_at"]);
  });

  // Ledger: a chart of accounts, journal entries and their lines. A line may name a sub-ledger
  // party (a loan, a fund, a household) so that balances reconcile per business record.
  await knex.schema.createTable("ledger_accounts", (t) => {
    t.string("code", 16).primary();
    t.text("name").notNullable();
    t.text("name_zh").notNullable();
    t.enu("type", ["ASSET", "LIABILITY", "EQUITY", "INCOME", "EXPENSE"]).notNullable();
  });
  await knex.schema.createTable("journal_entries", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.date("entry_date").notNullable();
    t.text("kind").notNullable();
    t.text("ref_type");
    t.text("ref_id");
    t.text("memo");
    t.decimal("total", 18, 2).notNullable();
    t.uuid("reverses_entry_id").references("id").inTable("journal_entries");
    t.uuid("actor_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["ref_type", "ref_id"]);
    t.index(["county_code", "entry_date"]);
  });
  await knex.raw(`CREATE UNIQUE INDEX journal_entries_one_reversal ON journal_entries (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL`);
  await knex.raw(`ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_total_positive CHECK (total > 0)`);
  await knex.schema.createTable("journal_lines", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("entry_id").notNullable().references("id").inTable("journal_entries");
    t.string("account_code", 16).notNullable().references("code").inTable("ledger_accounts");
    t.string("county_code", 6).notNullable();
    t.text("party_type");
    t.text("party_id");
    t.decimal("debit", 18, 2).notNullable().defaultTo(0);
    t.decimal("credit", 18, 2).notNullable().defaultTo(0);
    t.index(["entry_id"]);
    t.index(["account_code", "party_id"]);
  });
  await knex.raw(`ALTER TABLE journal_lines ADD CONSTRAINT journal_lines_one_side CHECK (
    debit >= 0 AND credit >= 0 AND ((debit = 0) <> (credit = 0)))`);

  // An entry's lines are inserted in one statement; this statement-level check refuses any entry
  // whose lines do not balance or that does not match its header total.
  await knex.raw(`
    CREATE FUNCTION journal_lines_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
      SELECT n.entry_id, sum(n.debit) AS d, sum(n.credit) AS c INTO bad
        FROM new_lines n JOIN journal_entries e ON e.id = n.entry_id
        GROUP BY n.entry_id, e.total
        HAVING sum(n.debit) <> sum(n.credit) OR sum(n.debit) <> e.total
        LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance (debits %, credits %)', bad.entry_id, bad.d, bad.c
          USING ERRCODE = '23514';
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
    REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION journal_lines_balanced()`);

  // Append-only tables: corrections are new rows (reversals), never edits.
  await knex.raw(`
    CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '42501';
    END $$`);
  for (const table of ["audit_log", "journal_entries", "journal_lines"]) {
    await knex.raw(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
  }

  await knex.schema.createTable("idempotency_keys", (t) => {
    t.text("owner").notNullable();
    t.text("key").notNullable();
    t.text("method").notNullable();
    t.text("path").notNullable();
    t.text("request_hash").notNullable();
    t.integer("status_code").notNullable();
    t.jsonb("response_body").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["owner", "key"]);
  });

  await knex("ledger_accounts").insert(CHART_OF_ACCOUNTS);
}

/** The chart of accounts the money modules post to. */
export const CHART_OF_ACCOUNTS = [
  { code: "1001", name: "Bank settlement (cash)", name_zh: "银行存款/清算", type: "ASSET" },
  { code: "1301", name: "Loan principal receivable", name_zh: "贷款本金", type: "ASSET" },
  { code: "1302", name: "Interest receivable", name_zh: "应收利息", type: "ASSET" },
  { code: "1303", name: "Penalty interest receivable", name_zh: "应收罚息", type: "ASSET" },
  { code: "1311", name: "Subsidy receivable from finance", name_zh: "应收财政贴息", type: "ASSET" },
  { code: "1401", name: "Entrusted principal receivable", name_zh: "委托经营本金", type: "ASSET" },
  { code: "1402", name: "Trustee return receivable", name_zh: "应收委托经营收益", type: "ASSET" },
  { code: "1501", name: "Risk compensation fund cash", name_zh: "风险补偿金存款", type: "ASSET" },
  { code: "2201", name: "Households payable", name_zh: "应付农户款", type: "LIABILITY" },
  { code: "2301", name: "Distribution pool", name_zh: "待分配收益", type: "LIABILITY" },
  { code: "3001", name: "Fund capital", name_zh: "补偿金本金", type: "EQUITY" },
  { code: "4001", name: "Interest income", name_zh: "利息收入", type: "INCOME" },
  { code: "4002", name: "Penalty interest income", name_zh: "罚息收入", type: "INCOME" },
  { code: "4101", name: "Asset return income", name_zh: "资产收益", type: "INCOME" },
  { code: "5001", name: "Loan losses", name_zh: "贷款损失", type: "EXPENSE" },
  { code: "5101", name: "Interest subsidy expense", name_zh: "贴息支出", type: "EXPENSE" },
  { code: "5201", name: "Collective retention", name_zh: "集体留存", type: "EXPENSE" },
];

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
