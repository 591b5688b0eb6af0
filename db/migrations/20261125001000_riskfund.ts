import type { Knex } from "knex";

/**
 * Risk compensation funds (风险补偿金) per county and bank, their movements, compensation claims
 * with recoveries, and circuit breakers (熔断) with every trip and lift recorded.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("risk_funds", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.text("name").notNullable();
    t.decimal("balance", 18, 2).notNullable().defaultTo(0);
    t.decimal("leverage_cap", 9, 4).notNullable().defaultTo(10);
    t.decimal("fund_share", 9, 6).notNullable().defaultTo("0.7");
    t.decimal("npl_threshold", 9, 6).notNullable().defaultTo("0.03");
    t.integer("compensation_dpd").notNullable().defaultTo(90);
    t.uuid("created_by");
    t.integer("version").notNullable().defaultTo(1);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["county_code", "bank_id"]);
  });
  await knex.raw(`ALTER TABLE risk_funds ADD CONSTRAINT risk_funds_rules CHECK (
    balance >= 0 AND leverage_cap > 0 AND fund_share > 0 AND fund_share <= 1 AND npl_threshold > 0 AND npl_threshold < 1 AND compensation_dpd >= 1)`);

  await knex.schema.createTable("risk_fund_movements", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("fund_id").notNullable().references("id").inTable("risk_funds");
    t.string("county_code", 6).notNullable();
    t.text("kind").notNullable(); // DEPOSIT, COMPENSATION, RECOVERY
    /** Signed: deposits and recoveries add, compensations take away. */
    t.decimal("amount", 18, 2).notNullable();
    t.decimal("balance_after", 18, 2).notNullable();
    t.date("movement_date").notNullable();
    t.text("reference");
    t.uuid("ref_id");
    t.uuid("journal_entry_id");
    t.uuid("actor_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["fund_id", "created_at"]);
  });
  await knex.raw(`ALTER TABLE risk_fund_movements ADD CONSTRAINT risk_fund_movements_sign CHECK (
    kind IN ('DEPOSIT', 'COMPENSATION', 'RECOVERY') AND balance_after >= 0
    AND ((kind = 'COMPENSATION' AND amount < 0) OR (kind <> 'COMPENSATION' AND amount > 0)))`);

  await knex.schema.createTable("compensation_claims", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable();
    t.uuid("fund_id").notNullable().references("id").inTable("risk_funds");
    t.uuid("loan_id").notNullable().references("id").inTable("loans");
    t.text("status").notNullable(); // SUBMITTED, APPROVED, REJECTED, PAID
    t.integer("dpd").notNullable();
    t.integer("collection_actions").notNullable();
    t.decimal("unpaid_principal", 18, 2).notNullable();
    t.decimal("unpaid_interest", 18, 2).notNullable();
    t.decimal("loss", 18, 2).notNullable();
    t.decimal("fund_share", 9, 6).notNullable();
    t.decimal("fund_amount", 18, 2).notNullable();
    t.decimal("bank_amount", 18, 2).notNullable();
    t.decimal("recovered", 18, 2).notNullable().defaultTo(0);
    t.decimal("fund_recovered", 18, 2).notNullable().defaultTo(0);
    t.date("submitted_on").notNullable();
    t.uuid("submitted_by").notNullable();
    t.text("note");
    t.date("decided_on");
    t.uuid("decided_by");
    t.text("decision_note");
    t.date("pay_by");
    t.date("paid_on");
    t.uuid("paid_by");
    t.uuid("payment_entry_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "bank_id", "status"]);
  });
  // A loan is compensated at most once: one claim that is not rejected.
  await knex.raw(`CREATE UNIQUE INDEX compensation_claims_one_per_loan ON compensation_claims (loan_id) WHERE status <> 'REJECTED'`);
  await knex.raw(`ALTER TABLE compensation_claims ADD CONSTRAINT compensation_claims_amounts CHECK (
    status IN ('SUBMITTED', 'APPROVED', 'REJECTED', 'PAID') AND unpaid_principal >= 0 AND unpaid_interest >= 0
    AND loss = unpaid_principal + unpaid_interest AND fund_amount + bank_amount = loss AND fund_amount >= 0 AND bank_amount >= 0
    AND recovered >= 0 AND recovered <= loss AND fund_recovered >= 0 AND fund_recovered <= recovered)`);

  await knex.schema.createTable("compensation_recoveries", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("claim_id").notNullable().references("id").inTable("compensation_claims");
    t.string("county_code", 6).notNullable();
    t.date("recovered_on").notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.decimal("fund_part", 18, 2).notNullable();
    t.decimal("bank_part", 18, 2).notNullable();
    t.text("reference");
    t.uuid("journal_entry_id");
    t.uuid("actor_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["claim_id"]);
  });
  await knex.raw(`ALTER TABLE compensation_recoveries ADD CONSTRAINT compensation_recoveries_split CHECK (amount > 0 AND fund_part >= 0 AND bank_part >= 0 AND fund_part + bank_part = amount)`);

  await knex.schema.createTable("circuit_breakers", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.text("status").notNullable(); // TRIPPED, LIFTED
    t.text("reason").notNullable(); // NPL_RATIO, FUND_SHORTFALL, BOTH
    t.date("tripped_on").notNullable();
    t.decimal("outstanding_principal", 18, 2).notNullable();
    t.decimal("npl_principal", 18, 2).notNullable();
    t.decimal("npl_ratio", 9, 6).notNullable();
    t.decimal("threshold", 9, 6).notNullable();
    t.decimal("fund_balance", 18, 2);
    t.decimal("fund_obligations", 18, 2);
    t.date("last_evaluated_on").notNullable();
    t.decimal("last_npl_ratio", 9, 6).notNullable();
    t.date("lifted_on");
    t.uuid("lifted_by");
    t.decimal("lift_npl_ratio", 9, 6);
    t.text("lift_note");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "bank_id", "tripped_on"]);
  });
  await knex.raw(`CREATE UNIQUE INDEX circuit_breakers_one_open ON circuit_breakers (county_code, bank_id) WHERE status = 'TRIPPED'`);
  await knex.raw(`ALTER TABLE circuit_breakers ADD CONSTRAINT circuit_breakers_shape CHECK (
    status IN ('TRIPPED', 'LIFTED') AND reason IN ('NPL_RATIO', 'FUND_SHORTFALL', 'BOTH') AND (status = 'TRIPPED' OR lifted_on IS NOT NULL))`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
