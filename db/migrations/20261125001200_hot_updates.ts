import type { Knex } from "knex";

/**
 * Room on each page for the close of business's daily updates: penalty accrual and the loans'
 * standing rewrite rows whose indexed columns do not change, and with free space on the page
 * PostgreSQL updates them in place (HOT: no new index entries) instead of moving them. Applies to
 * pages written from now on; a table rewritten (VACUUM FULL, CLUSTER) gets it everywhere.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE loan_schedule_periods SET (fillfactor = 80)`);
  await knex.raw(`ALTER TABLE loans SET (fillfactor = 80)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE loans RESET (fillfactor)`);
  await knex.raw(`ALTER TABLE loan_schedule_periods RESET (fillfactor)`);
}
