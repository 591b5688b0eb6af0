import type { Knex } from "knex";
import * as balanceByEntry from "./20261203000300_journal_balance_by_entry.js";

/**
 * A journal line's entry and account are checked once per statement, by the statement-level
 * trigger that already checks every entry's balance, instead of by two foreign keys checked row by
 * row. A foreign key runs one lookup and takes one row lock per line (`FOR KEY SHARE` on its entry,
 * which also writes that lock to the write-ahead log); a settlement-day file posts thousands of
 * lines a statement, and the two checks were half of its journal posting. The rules stay the
 * database's: a line must name an entry that exists (its header total is what the lines must add up
 * to) and an account of the chart. What the foreign keys also guarded on the other side holds
 * otherwise: entries are append-only (never deleted or re-keyed), and the chart's accounts are now
 * refused DELETE and a change of code.
 */

/** The trigger function: every new line's account in the chart and its entry in the journal, and every entry balanced to its header. */
const CHECKS = `
  CREATE OR REPLACE FUNCTION journal_lines_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE bad record;
  BEGIN
    SELECT n.account_code INTO bad FROM (SELECT DISTINCT account_code FROM new_lines) n
     WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.code = n.account_code) LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'journal line names account %, which is not in the chart of accounts', bad.account_code USING ERRCODE = '23503';
    END IF;
    SELECT t.entry_id, t.d, t.c, t.total INTO bad
      FROM (SELECT n.entry_id, sum(n.debit) AS d, sum(n.credit) AS c, (SELECT e.total FROM journal_entries e WHERE e.id = n.entry_id) AS total
              FROM new_lines n GROUP BY n.entry_id) t
     WHERE t.d <> t.c OR t.total IS DISTINCT FROM t.d
     LIMIT 1;
    IF FOUND THEN
      IF bad.total IS NULL THEN
        RAISE EXCEPTION 'journal line names entry %, which is not in the journal', bad.entry_id USING ERRCODE = '23503';
      END IF;
      RAISE EXCEPTION 'journal entry % does not balance (debits %, credits %)', bad.entry_id, bad.d, bad.c USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
  END $$`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(CHECKS);
  await knex.raw("ALTER TABLE journal_lines DROP CONSTRAINT journal_lines_entry_id_foreign, DROP CONSTRAINT journal_lines_account_code_foreign");
  await knex.raw(`CREATE TRIGGER ledger_accounts_kept BEFORE DELETE OR UPDATE OF code ON ledger_accounts FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TRIGGER ledger_accounts_kept ON ledger_accounts");
  await knex.raw(`ALTER TABLE journal_lines ADD CONSTRAINT journal_lines_entry_id_foreign FOREIGN KEY (entry_id) REFERENCES journal_entries(id),
                  ADD CONSTRAINT journal_lines_account_code_foreign FOREIGN KEY (account_code) REFERENCES ledger_accounts(code)`);
  await balanceByEntry.up(knex); // the check as it was: balance only
}
