import type { Knex } from "knex";

/**
 * The schedule a repayment was allocated over, kept as the periods' own rows: `schedule_kept`, an
 * array of `loan_schedule_periods` records, beside the packed JSON of `schedule_before`. A bank
 * file's settlement-day payments keep the loan's stored periods as they stood, copied in the
 * database as they are (no conversion to text or JSON: about a fifth of the cost of packing them);
 * the schedule is packed only when it is read back, for a reversal or a later back-dated payment.
 * A repayment keeps its schedule in one column or the other, never both.
 *
 * The column's type is the periods table's row type: a column added to `loan_schedule_periods` later
 * reads as null in the schedules kept before it, and a dropped one disappears from them; changing a
 * period column's type is refused by the database while schedules are kept this way (the kept rows
 * would have to be rewritten by that migration).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE loan_repayments ADD COLUMN schedule_kept loan_schedule_periods[]`);
  await knex.raw(`ALTER TABLE loan_repayments ADD CONSTRAINT loan_repayments_one_kept_schedule CHECK (schedule_before IS NULL OR schedule_kept IS NULL)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE loan_repayments DROP COLUMN schedule_kept`);
}
