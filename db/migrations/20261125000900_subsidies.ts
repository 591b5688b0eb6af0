import type { Knex } from "knex";

/**
 * Interest subsidies (财政贴息): misuse findings on loans, quarterly claim batches with one line per
 * loan-period (a period is claimed at most once, across every batch), and the per-household
 * reimbursement rows of TO_HOUSEHOLD payments (先缴后补) that the household portal shows.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("loan_misuse_findings", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("loan_id").notNullable().references("id").inTable("loans");
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable();
    t.date("finding_date").notNullable();
    t.text("kind").notNullable();
    t.text("note").notNullable();
    t.uuid("actor_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["loan_id"]);
  });
  await knex.raw(`ALTER TABLE loan_misuse_findings ADD CONSTRAINT loan_misuse_findings_kind CHECK (kind IN ('PURPOSE_VIOLATION', 'HANDED_TO_ENTERPRISE', 'FALSE_INFORMATION'))`);

  await knex.schema.createTable("subsidy_claims", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.string("quarter", 6).notNullable();
    t.date("quarter_start").notNullable();
    t.date("quarter_end").notNullable();
    t.text("status").notNullable().defaultTo("DRAFT"); // DRAFT, APPROVED, PAID
    t.date("generated_on").notNullable();
    t.integer("generations").notNullable().defaultTo(1);
    t.date("approved_on");
    t.uuid("approved_by");
    t.date("notice_start");
    t.date("notice_end");
    t.date("paid_on");
    t.uuid("paid_by");
    t.text("payment_reference");
    t.uuid("approval_entry_id");
    t.uuid("payment_entry_id");
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["bank_id", "county_code", "quarter"]);
  });
  await knex.raw(`ALTER TABLE subsidy_claims ADD CONSTRAINT subsidy_claims_shape CHECK (
    quarter ~ '^[0-9]{4}Q[1-4]$' AND quarter_end > quarter_start AND status IN ('DRAFT', 'APPROVED', 'PAID')
    AND (status = 'DRAFT' OR approved_on IS NOT NULL) AND (status <> 'PAID' OR paid_on IS NOT NULL))`);

  // One row per loan-period ever claimed: the unique key is what makes regeneration claim nothing twice.
  await knex.schema.createTable("subsidy_claim_lines", (t) => {
    t.bigIncrements("id").primary();
    // No per-row foreign keys: lines are only ever written by the INSERT … SELECT that joins the
    // claim and the loans, and a foreign-key trigger per row would dominate a 500,000-line batch.
    t.uuid("claim_id").notNullable();
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable();
    t.uuid("loan_id").notNullable();
    t.integer("seq").notNullable();
    t.uuid("household_id").notNullable();
    t.string("village_code", 12).notNullable();
    t.uuid("borrower_member_id").notNullable();
    t.text("mode").notNullable();
    t.text("repayment_method").notNullable();
    t.date("accrual_start").notNullable();
    t.date("accrual_end").notNullable();
    t.date("due_date").notNullable();
    t.integer("days").notNullable();
    t.integer("days_in_term").notNullable();
    t.decimal("opening_principal", 18, 2).notNullable();
    t.decimal("principal_base", 18, 2).notNullable();
    t.decimal("contract_rate", 9, 6).notNullable();
    t.decimal("subsidy_rate", 9, 6).notNullable();
    t.decimal("ratio", 9, 6).notNullable();
    t.decimal("interest", 18, 2).notNullable();
    /** The subsidy as computed, before any forfeiture. */
    t.decimal("computed_subsidy", 18, 2).notNullable();
    /** What is claimed: the computed subsidy, or 0 when forfeited or rejected. */
    t.decimal("subsidy", 18, 2).notNullable();
    t.text("forfeit_reason");
    t.text("status").notNullable(); // CLAIMED, FORFEITED, APPROVED, REJECTED
    t.text("reject_reason");
    t.unique(["loan_id", "seq"]);
    t.index(["claim_id", "id"]);
  });
  await knex.raw(`ALTER TABLE subsidy_claim_lines ADD CONSTRAINT subsidy_claim_lines_amounts CHECK (
    subsidy >= 0 AND computed_subsidy >= 0 AND subsidy <= computed_subsidy AND computed_subsidy <= interest
    AND principal_base <= opening_principal AND subsidy_rate <= contract_rate AND ratio >= 0 AND ratio <= 1
    AND days_in_term >= 0 AND days_in_term <= days
    AND mode IN ('TO_BANK', 'TO_HOUSEHOLD') AND status IN ('CLAIMED', 'FORFEITED', 'APPROVED', 'REJECTED')
    AND (forfeit_reason IS NULL OR (subsidy = 0 AND status = 'FORFEITED'))
    AND (forfeit_reason IN ('LATE_INTEREST', 'MISUSE', 'HOUSEHOLD_REMOVED') OR forfeit_reason IS NULL)
    AND (status <> 'REJECTED' OR (subsidy = 0 AND reject_reason IS NOT NULL)))`);

  await knex.schema.createTable("household_subsidy_payments", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.uuid("claim_id").notNullable().references("id").inTable("subsidy_claims");
    t.string("quarter", 6).notNullable();
    t.integer("periods").notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.date("paid_on").notNullable();
    t.text("reference");
    t.uuid("journal_entry_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["claim_id", "household_id"]);
    t.index(["household_id", "paid_on"]);
  });
  await knex.raw(`ALTER TABLE household_subsidy_payments ADD CONSTRAINT household_subsidy_payments_positive CHECK (amount > 0 AND periods > 0)`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
