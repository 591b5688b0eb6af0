import type { Knex } from "knex";

/**
 * Entrusted operation (委托经营, docs/DOMAIN.md#entrusted-operation): operators (also the management-right holders of the
 * assets module), county trusteeship policies (versioned), contracts, their generated return
 * installments and the payments against them. Every table carries `county_code`.
 *
 * `users.operator_id` gets no foreign key: fixture and demo users are bound to operator ids before
 * the operators exist (the operator is then registered with that id through `POST /operators`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("operators", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.text("name").notNullable();
    t.string("credit_code", 18).notNullable();
    t.enu("operator_type", ["COOPERATIVE", "LEADING_ENTERPRISE", "RURAL_INVESTMENT_COMPANY", "LARGE_HOUSEHOLD"]).notNullable();
    t.text("legal_representative").notNullable();
    t.decimal("registered_capital", 18, 2).notNullable();
    t.text("bank_account_enc");
    t.text("bank_account_masked");
    t.text("bank_name");
    t.text("rating");
    t.uuid("created_by").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["county_code", "credit_code"]);
    t.index(["county_code", "id"]);
  });
  await knex.raw(`ALTER TABLE operators ADD CONSTRAINT operators_capital CHECK (registered_capital >= 0)`);
  await knex.raw(`ALTER TABLE operators ADD CONSTRAINT operators_credit_code CHECK (credit_code ~ '^[0-9A-HJ-NP-RTUW-Y]{18}$')`);

  // County policy versions: the values a contract copies when it is made.
  await knex.schema.createTable("trusteeship_policies", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.date("effective_from").notNullable();
    t.decimal("default_annual_rate", 9, 6).notNullable();
    t.integer("grace_days").notNullable();
    t.decimal("exposure_multiple", 9, 2).notNullable();
    t.decimal("exposure_cap", 18, 2);
    t.uuid("created_by").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["county_code", "effective_from"]);
  });
  await knex.raw(`ALTER TABLE trusteeship_policies ADD CONSTRAINT trusteeship_policies_values CHECK (
    default_annual_rate >= 0 AND default_annual_rate < 1 AND grace_days BETWEEN 0 AND 365 AND exposure_multiple > 0 AND (exposure_cap IS NULL OR exposure_cap >= 0))`);

  await knex.schema.createTable("trusteeships", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12).notNullable();
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.uuid("operator_id").notNullable().references("id").inTable("operators");
    t.enu("source", ["HOUSEHOLD_LOAN", "POVERTY_FUND_SHARE", "LAND_SHARE", "IN_KIND"]).notNullable();
    t.decimal("principal", 18, 2).notNullable();
    t.decimal("principal_returned", 18, 2).notNullable().defaultTo(0);
    t.date("start_date").notNullable();
    t.date("end_date").notNullable();
    t.date("first_due_date").notNullable();
    t.decimal("annual_rate", 9, 6).notNullable();
    t.enu("frequency", ["ANNUAL", "SEMIANNUAL", "QUARTERLY"]).notNullable();
    t.integer("grace_days").notNullable();
    t.uuid("linked_loan_id").references("id").inTable("loans");
    t.date("loan_disbursed_on");
    t.enu("status", ["ACTIVE", "CLOSED"]).notNullable().defaultTo("ACTIVE");
    t.date("principal_returned_on");
    t.text("note");
    t.uuid("created_by").notNullable();
    t.integer("version").notNullable().defaultTo(1);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "operator_id", "status"]);
    t.index(["village_code", "id"]);
    t.index(["household_id"]);
    t.index(["linked_loan_id"]);
  });
  await knex.raw(`ALTER TABLE trusteeships ADD CONSTRAINT trusteeships_amounts CHECK (
    principal > 0 AND principal_returned >= 0 AND principal_returned <= principal AND annual_rate >= 0 AND annual_rate < 1 AND grace_days BETWEEN 0 AND 365)`);
  await knex.raw(`ALTER TABLE trusteeships ADD CONSTRAINT trusteeships_dates CHECK (
    end_date > start_date AND first_due_date > start_date AND first_due_date <= end_date)`);
  await knex.raw(`ALTER TABLE trusteeships ADD CONSTRAINT trusteeships_county CHECK (county_code = substr(village_code, 1, 6))`);
  await knex.raw(`ALTER TABLE trusteeships ADD CONSTRAINT trusteeships_loan_source CHECK (
    source = 'HOUSEHOLD_LOAN' OR (linked_loan_id IS NULL AND loan_disbursed_on IS NULL))`);
  await knex.raw(`ALTER TABLE trusteeships ADD CONSTRAINT trusteeships_closed CHECK (status <> 'CLOSED' OR principal_returned = principal)`);
  // At most one open contract per linked loan: the principal returned repays it once.
  await knex.raw(`CREATE UNIQUE INDEX trusteeships_one_per_loan ON trusteeships (linked_loan_id) WHERE linked_loan_id IS NOT NULL AND status = 'ACTIVE'`);

  await knex.schema.createTable("trusteeship_installments", (t) => {
    t.uuid("trusteeship_id").notNullable().references("id").inTable("trusteeships");
    t.integer("seq").notNullable();
    t.string("county_code", 6).notNullable();
    t.date("period_start").notNullable();
    t.date("due_date").notNullable();
    t.integer("days").notNullable();
    t.boolean("pro_rated").notNullable();
    t.decimal("amount_due", 18, 2).notNullable();
    t.decimal("amount_paid", 18, 2).notNullable().defaultTo(0);
    // First day the unpaid part is in arrears: due date + grace days + 1.
    t.date("arrears_from").notNullable();
    t.boolean("in_arrears").notNullable().defaultTo(false);
    t.date("arrears_since");
    t.date("paid_off_on");
    // Receivable recognised when the installment fell due (the arrears job): 1402 ← 2201.
    t.date("accrued_on");
    t.decimal("accrued_amount", 18, 2);
    t.uuid("accrual_entry_id");
    t.primary(["trusteeship_id", "seq"]);
    t.index(["county_code", "due_date"]);
  });
  await knex.raw(`ALTER TABLE trusteeship_installments ADD CONSTRAINT trusteeship_installments_amounts CHECK (
    amount_due >= 0 AND amount_paid >= 0 AND amount_paid <= amount_due AND days >= 0 AND due_date > period_start
    AND (accrued_amount IS NULL OR (accrued_amount >= 0 AND accrued_amount <= amount_due))
    AND NOT (in_arrears AND amount_paid >= amount_due))`);
  // Installments still unpaid, for the arrears job and the operator dashboards.
  await knex.raw(`CREATE INDEX trusteeship_installments_open ON trusteeship_installments (arrears_from) WHERE amount_paid < amount_due`);
  await knex.raw(`CREATE INDEX trusteeship_installments_unaccrued ON trusteeship_installments (due_date) WHERE accrued_on IS NULL`);

  await knex.schema.createTable("trusteeship_payments", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("trusteeship_id").notNullable().references("id").inTable("trusteeships");
    t.string("county_code", 6).notNullable();
    t.enu("kind", ["RETURN", "PRINCIPAL"]).notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.date("paid_on").notNullable();
    t.text("reference");
    t.jsonb("allocation").notNullable();
    t.uuid("journal_entry_id").notNullable().references("id").inTable("journal_entries");
    t.uuid("actor_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["trusteeship_id", "created_at"]);
  });
  await knex.raw(`ALTER TABLE trusteeship_payments ADD CONSTRAINT trusteeship_payments_amount CHECK (amount > 0)`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
