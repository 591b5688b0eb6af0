import type { Knex } from "knex";

/**
 * Value dates (起息日) and reversals of repayments, and bank references recorded for ever.
 *
 * - `loan_schedule_bases`: a loan's schedule as it stood right after the last operation that set
 *   it other than a repayment (disbursement, extension), with that operation's value date. A
 *   back-dated repayment starts from it (or from the latest repayment after it) and brings the
 *   loan forward as the close of business would have.
 * - `loan_repayments`: the business date it was entered on (`entered_on`; `paid_on` is its value
 *   date), the schedule it was allocated over (`schedule_before`, as of its value date: a reversal
 *   returns the loan to it), and the reversal (who, when, why, the reversing journal entry).
 * - A bank's reference (流水号) is unique per bank for ever: a payment sent again, whenever it
 *   comes, is a duplicate (trustee payments carry the trusteeship's own reference and are not
 *   bank references).
 * - `loan_close_marks`: the last business date whose close of business ran the loans' steps.
 * - `loan_county_settings`: how many days back a value date may go in a county (default 30).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("loan_schedule_bases", (t) => {
    t.uuid("loan_id").primary().references("id").inTable("loans");
    t.string("county_code", 6).notNullable();
    t.date("value_date").notNullable();
    t.text("event").notNullable(); // DISBURSEMENT, EXTENSION, MIGRATION
    t.jsonb("periods").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN entered_on date`);
  await knex.raw(`UPDATE loan_repayments SET entered_on = paid_on`);
  await knex.raw(`ALTER TABLE loan_repayments ALTER COLUMN entered_on SET NOT NULL`);
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN schedule_before jsonb`);
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN reversed_at timestamptz`);
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN reversed_by uuid`);
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN reversal_reason text`);
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN reversal_entry_id uuid`);
  await knex.raw(`CREATE INDEX loan_repayments_latest ON loan_repayments (loan_id, paid_on DESC, created_at DESC) WHERE reversed_at IS NULL`);
  await knex.raw(`CREATE UNIQUE INDEX loan_repayments_bank_reference ON loan_repayments (bank_id, reference) WHERE reference IS NOT NULL AND source <> 'TRUSTEE'`);
  await knex.schema.createTable("loan_close_marks", (t) => {
    t.text("scope").primary(); // '*': the whole database
    t.date("closed_through").notNullable();
  });
  await knex.schema.createTable("loan_county_settings", (t) => {
    t.string("county_code", 6).primary();
    t.integer("value_date_days_back").notNullable().defaultTo(30);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE loan_county_settings ADD CONSTRAINT loan_county_settings_days_back CHECK (value_date_days_back BETWEEN 0 AND 365)`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
