import type { Knex } from "knex";

/**
 * A repayment file processed in lanes: the rows split by the loan they name, each lane taking its
 * chunks in turn while the other lanes take theirs at the same time (on a database server with
 * more than one connection). `repayment_files.lanes` is fixed when the file is received, so every
 * processor of the file splits it the same way; `repayment_file_rows.lane_key` is the loan the row
 * names as found when the file was received (its id; the row's own contract number or loan id
 * when none was found), so a loan's rows — named by contract number or by id — are in one lane.
 * Files received before have one lane.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE repayment_files ADD COLUMN lanes smallint NOT NULL DEFAULT 1`);
  await knex.raw(`ALTER TABLE repayment_files ADD CONSTRAINT repayment_files_lanes CHECK (lanes BETWEEN 1 AND 8)`);
  await knex.raw(`ALTER TABLE repayment_file_rows ADD COLUMN lane_key text`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE repayment_file_rows DROP COLUMN lane_key`);
  await knex.raw(`ALTER TABLE repayment_files DROP COLUMN lanes`);
}
