import type { Knex } from "knex";

/**
 * The overdue periods, indexed by loan: the close of business's penalty and standing steps and the
 * risk fund's checks read only them (a few percent of all periods), not every open period.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX loan_schedule_periods_overdue ON loan_schedule_periods (loan_id) WHERE status = 'OVERDUE'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX IF EXISTS loan_schedule_periods_overdue`);
}
