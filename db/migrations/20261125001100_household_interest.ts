import type { Knex } from "knex";

/**
 * The household's own part of a period's interest (docs/DOMAIN.md#interest-subsidy, mode TO_BANK): `interest_due` is what
 * the household owes; `interest_subsidy` is the part the bank claims from the county instead, so
 * the contract interest of a period is their sum. A share that is forfeited (interest paid late, a
 * misuse finding, a removed household) moves back into `interest_due`, with the reason.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("loan_schedule_periods", (t) => {
    t.decimal("interest_subsidy", 18, 2).notNullable().defaultTo(0);
    t.text("subsidy_forfeited");
    // A period cut short by a payoff or renewal: its days as scheduled, by which the monthly methods pro-rate a month.
    t.integer("frame_days");
  });
  await knex.raw(`ALTER TABLE loan_schedule_periods ADD CONSTRAINT loan_schedule_periods_subsidy CHECK (
    interest_subsidy >= 0 AND (subsidy_forfeited IS NULL OR (subsidy_forfeited IN ('LATE_INTEREST', 'MISUSE', 'HOUSEHOLD_REMOVED') AND interest_subsidy = 0)))`);
  // The close of business looks for subsidised periods in arrears; few periods are.
  await knex.raw(`CREATE INDEX loan_schedule_periods_subsidised ON loan_schedule_periods (loan_id) WHERE interest_subsidy > 0 AND status IN ('PENDING', 'DUE', 'OVERDUE')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX IF EXISTS loan_schedule_periods_subsidised`);
  await knex.raw(`ALTER TABLE loan_schedule_periods DROP CONSTRAINT IF EXISTS loan_schedule_periods_subsidy`);
  await knex.schema.alterTable("loan_schedule_periods", (t) => {
    t.dropColumn("frame_days");
    t.dropColumn("subsidy_forfeited");
    t.dropColumn("interest_subsidy");
  });
}
