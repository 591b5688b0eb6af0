import type { Knex } from "knex";

/**
 * Loan products and rate tables, the schedule as rows (so the close of business is set-based),
 * repayments, collection actions, close-of-business runs and the daily portfolio snapshot.
 */
export async function up(knex: Knex): Promise<void> {
  // LPR (贷款市场报价利率) by publication date; a loan is priced on the latest one on or before its date.
  await knex.schema.createTable("rate_tables", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.date("publication_date").notNullable().unique();
    t.decimal("lpr_1y", 9, 6).notNullable();
    t.decimal("lpr_5y", 9, 6).notNullable();
    t.text("note");
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE rate_tables ADD CONSTRAINT rate_tables_positive CHECK (lpr_1y > 0 AND lpr_5y > 0 AND lpr_1y < 1 AND lpr_5y < 1)`);

  // Versioned per bank, county and code: a new version never changes loans made under an old one.
  await knex.schema.createTable("loan_products", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.string("county_code", 6).notNullable();
    t.text("code").notNullable();
    t.integer("version").notNullable();
    t.text("name").notNullable();
    t.date("effective_from").notNullable();
    t.decimal("max_amount", 18, 2).notNullable();
    t.integer("max_term_months").notNullable();
    t.text("rate_rule").notNullable(); // LPR (1y ≤ 12 months, 5y above) or FIXED
    t.decimal("fixed_rate", 9, 6);
    t.decimal("rate_spread", 9, 6).notNullable().defaultTo(0);
    t.specificType("repayment_methods", "text[]").notNullable();
    t.decimal("penalty_markup", 9, 6).notNullable();
    t.integer("grace_days").notNullable();
    t.specificType("allowed_purposes", "text[]").notNullable();
    t.decimal("subsidy_ratio", 9, 6).notNullable();
    t.decimal("subsidy_rate_cap", 9, 6);
    t.integer("subsidy_term_months").notNullable();
    t.decimal("subsidy_principal_cap", 18, 2).notNullable();
    t.text("subsidy_mode").notNullable();
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["bank_id", "county_code", "code", "version"]);
  });
  await knex.raw(`ALTER TABLE loan_products ADD CONSTRAINT loan_products_rules CHECK (
    max_amount > 0 AND max_amount <= 50000 AND max_term_months BETWEEN 1 AND 36 AND grace_days >= 0 AND penalty_markup >= 0
    AND rate_rule IN ('LPR', 'FIXED') AND (rate_rule <> 'FIXED' OR fixed_rate IS NOT NULL)
    AND subsidy_ratio >= 0 AND subsidy_ratio <= 1 AND subsidy_mode IN ('TO_BANK', 'TO_HOUSEHOLD') AND subsidy_principal_cap >= 0
    AND cardinality(repayment_methods) >= 1 AND cardinality(allowed_purposes) >= 1)`);
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_product FOREIGN KEY (product_id) REFERENCES loan_products (id)`);

  // The schedule, one row per period. Interest accrues over [accrual_start, accrual_end).
  await knex.schema.createTable("loan_schedule_periods", (t) => {
    t.uuid("loan_id").notNullable().references("id").inTable("loans");
    t.integer("seq").notNullable();
    t.string("county_code", 6).notNullable();
    t.date("accrual_start").notNullable();
    t.date("accrual_end").notNullable();
    t.date("due_date").notNullable();
    t.date("overdue_from").notNullable(); // due date + grace days + 1
    t.integer("days").notNullable();
    t.decimal("opening_principal", 18, 2).notNullable();
    t.decimal("principal_due", 18, 2).notNullable();
    t.decimal("interest_due", 18, 2).notNullable();
    t.decimal("principal_paid", 18, 2).notNullable().defaultTo(0);
    t.decimal("interest_paid", 18, 2).notNullable().defaultTo(0);
    t.decimal("penalty_accrued", 28, 10).notNullable().defaultTo(0);
    t.decimal("penalty_paid", 18, 2).notNullable().defaultTo(0);
    t.date("penalty_through");
    t.decimal("carried_interest", 28, 10); // interest earned before carried_through at an earlier balance
    t.date("carried_through");
    t.text("status").notNullable().defaultTo("PENDING"); // PENDING, DUE, OVERDUE, PAID, CLOSED
    t.date("settled_on");
    t.primary(["loan_id", "seq"]);
  });
  await knex.raw(`ALTER TABLE loan_schedule_periods ADD CONSTRAINT loan_schedule_periods_amounts CHECK (
    principal_due >= 0 AND interest_due >= 0 AND principal_paid >= 0 AND interest_paid >= 0 AND penalty_paid >= 0
    AND principal_paid <= principal_due AND interest_paid <= interest_due AND round(penalty_accrued, 2) >= penalty_paid
    AND accrual_end >= accrual_start AND status IN ('PENDING', 'DUE', 'OVERDUE', 'PAID', 'CLOSED'))`);
  await knex.raw(`CREATE INDEX loan_schedule_periods_open ON loan_schedule_periods (due_date) WHERE status IN ('PENDING', 'DUE', 'OVERDUE')`);

  await knex.schema.createTable("loan_repayments", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("loan_id").notNullable().references("id").inTable("loans");
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable();
    t.date("paid_on").notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.decimal("penalty", 18, 2).notNullable();
    t.decimal("interest", 18, 2).notNullable();
    t.decimal("principal", 18, 2).notNullable();
    t.decimal("prepayment", 18, 2).notNullable();
    t.text("kind").notNullable(); // REPAYMENT, RENEWAL_INTEREST
    t.text("source").notNullable(); // BORROWER, TRUSTEE, OTHER
    t.text("reference");
    t.jsonb("allocation").notNullable();
    t.uuid("journal_entry_id");
    t.uuid("actor_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["loan_id", "created_at"]);
  });
  await knex.raw(`ALTER TABLE loan_repayments ADD CONSTRAINT loan_repayments_adds_up CHECK (
    amount >= 0 AND penalty >= 0 AND interest >= 0 AND principal >= 0 AND prepayment >= 0 AND prepayment <= principal
    AND amount = penalty + interest + principal)`);

  await knex.schema.createTable("loan_collection_actions", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("loan_id").notNullable().references("id").inTable("loans");
    t.string("county_code", 6).notNullable();
    t.date("action_date").notNullable();
    t.text("method").notNullable();
    t.text("result").notNullable();
    t.text("note");
    t.date("promised_date");
    t.uuid("actor_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["loan_id", "action_date"]);
  });

  // Close of business (日终): one row per business date with per-step progress.
  await knex.schema.createTable("cob_runs", (t) => {
    t.date("business_date").primary();
    t.text("status").notNullable(); // RUNNING, DONE
    t.jsonb("steps").notNullable().defaultTo("{}");
    t.timestamp("started_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("finished_at", { useTz: true });
  });

  await knex.schema.createTable("loan_portfolio_daily", (t) => {
    t.date("business_date").notNullable();
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable();
    t.integer("active_loans").notNullable();
    t.integer("households").notNullable();
    t.decimal("outstanding_principal", 18, 2).notNullable();
    t.decimal("accrued_interest", 18, 2).notNullable();
    t.integer("overdue_loans").notNullable();
    t.decimal("overdue_principal", 18, 2).notNullable();
    t.decimal("overdue_interest", 18, 2).notNullable();
    t.decimal("penalty_due", 18, 2).notNullable();
    t.decimal("principal_dpd_1_30", 18, 2).notNullable();
    t.decimal("principal_dpd_31_90", 18, 2).notNullable();
    t.decimal("principal_dpd_91_180", 18, 2).notNullable();
    t.decimal("principal_dpd_181_plus", 18, 2).notNullable();
    t.integer("npl_loans").notNullable();
    t.decimal("npl_principal", 18, 2).notNullable();
    t.decimal("npl_ratio", 9, 6).notNullable();
    t.timestamp("computed_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["business_date", "county_code", "bank_id"]);
  });
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
