import type { Knex } from "knex";

/**
 * Migration of a bank's existing loans (存量贷款迁移).
 *
 * `loans.migrated_on`: the business date a loan was migrated onto the platform (null for a loan
 * disbursed here). Its history before that date is the bank's: the subsidy claims of quarters that
 * ended before it were the bank's own, made outside the platform.
 *
 * Account 3101 期初余额 (opening balances): the other side of the principal a bank's loans owe
 * when they are migrated onto the platform (存量贷款迁移). A migrated loan's outstanding principal
 * opens as Dr 1301 loan principal / Cr 3101, so the ledger's principal receivable equals the loans'
 * outstanding principal from the first day; the cash of the years before stays in the bank's books.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE loans ADD COLUMN migrated_on date`);
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_migrated_on CHECK (migrated_on IS NULL OR migrated_on >= disbursed_on)`);
  await knex("ledger_accounts").insert({ code: "3101", name: "Opening balances", name_zh: "期初余额", type: "EQUITY" }).onConflict("code").ignore();
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
