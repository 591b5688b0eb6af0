import type { Knex } from "knex";

/**
 * Loans (扶贫小额信贷): the core table other modules read (credit used, exposure). Columns beyond
 * the contract (status, amounts, dates) are the loan's standing as of the last change or close of
 * business: days past due, overdue amounts, interest accrued in the current period.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("loans", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12).notNullable();
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.uuid("borrower_member_id").notNullable().references("id").inTable("household_members");
    t.uuid("product_id"); // FK added with loan_products
    t.enu("status", ["APPLIED", "APPROVED", "REJECTED", "CANCELLED", "DISBURSED", "EXTENDED", "REPAID", "RENEWED", "WRITTEN_OFF", "COMPENSATED"]).notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.decimal("outstanding_principal", 18, 2).notNullable().defaultTo(0);
    t.decimal("annual_rate", 9, 6);
    t.text("rate_basis"); // LPR_1Y, LPR_5Y or FIXED
    t.date("lpr_date");
    t.integer("term_months").notNullable();
    t.text("repayment_method").notNullable();
    t.text("purpose").notNullable();
    t.text("purpose_detail");
    t.decimal("penalty_markup", 9, 6).notNullable().defaultTo("0.5");
    t.integer("grace_days").notNullable().defaultTo(0);
    t.uuid("rating_id");
    t.date("applied_on").notNullable();
    t.date("decided_on");
    t.date("disbursed_on");
    t.date("maturity_date");
    t.date("original_maturity_date");
    t.date("extended_on");
    t.integer("extension_months");
    t.date("closed_on");
    t.uuid("officer_id").notNullable();
    t.uuid("approver_id");
    t.text("decision_note");
    t.uuid("renewed_from_loan_id").references("id").inTable("loans");
    t.uuid("renewed_to_loan_id").references("id").inTable("loans");
    t.decimal("written_off_principal", 18, 2).notNullable().defaultTo(0);
    // Standing, kept by every change and by the close of business.
    t.integer("dpd").notNullable().defaultTo(0);
    t.text("dpd_bucket").notNullable().defaultTo("CURRENT");
    t.decimal("overdue_principal", 18, 2).notNullable().defaultTo(0);
    t.decimal("overdue_interest", 18, 2).notNullable().defaultTo(0);
    t.decimal("penalty_due", 18, 2).notNullable().defaultTo(0);
    t.date("cur_period_start");
    t.date("cur_period_end");
    t.decimal("cur_period_interest", 18, 2);
    t.date("standing_date");
    t.integer("version").notNullable().defaultTo(1);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["household_id", "status"]);
    t.index(["county_code", "bank_id", "status"]);
  });
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_amounts CHECK (amount > 0 AND outstanding_principal >= 0 AND outstanding_principal <= amount
    AND overdue_principal >= 0 AND overdue_interest >= 0 AND penalty_due >= 0)`);
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_terms CHECK (term_months BETWEEN 1 AND 60 AND grace_days >= 0 AND penalty_markup >= 0
    AND repayment_method IN ('BULLET_QUARTERLY', 'EQUAL_INSTALLMENT', 'EQUAL_PRINCIPAL'))`);
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_active_dates CHECK (status NOT IN ('DISBURSED', 'EXTENDED') OR (disbursed_on IS NOT NULL AND maturity_date > disbursed_on))`);
  await knex.raw(`CREATE INDEX loans_active ON loans (county_code, bank_id) WHERE status IN ('DISBURSED', 'EXTENDED')`);
  // The close of business touches only loans whose standing changes: these find them without a full scan.
  await knex.raw(`CREATE INDEX loans_in_arrears ON loans (id) WHERE dpd > 0 OR penalty_due > 0`);
  await knex.raw(`CREATE INDEX loans_period_end ON loans (cur_period_end) WHERE status IN ('DISBURSED', 'EXTENDED')`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
