import type { Knex } from "knex";

/**
 * The journal's balance check (a statement-level trigger on `journal_lines`) sums the statement's
 * new lines by entry first and then looks each entry's header total up by its key. It joined the
 * new lines to `journal_entries` instead, under `LIMIT 1`: the planner, counting on finding a bad
 * entry early, read the whole journal for every statement (a hash join probing every header) or,
 * for a statement of thousands of entries, rescanned the new lines once per header (3,000 entries:
 * 18 million comparisons, 1.7 s; 20,000: over a minute). Looked up by key, a statement costs what
 * its own entries cost, whatever the size of the journal. Same rule, same error.
 */

/** The trigger function around the query that finds an unbalanced entry (the rule and the error unchanged). */
const balanceCheck = (findBad: string) => `
  CREATE OR REPLACE FUNCTION journal_lines_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE bad record;
  BEGIN
    ${findBad}
    IF FOUND THEN
      RAISE EXCEPTION 'journal entry % does not balance (debits %, credits %)', bad.entry_id, bad.d, bad.c
        USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
  END $$`;

const BY_ENTRY = balanceCheck(`SELECT t.entry_id, t.d, t.c INTO bad
      FROM (SELECT n.entry_id, sum(n.debit) AS d, sum(n.credit) AS c FROM new_lines n GROUP BY n.entry_id) t
     WHERE t.d <> t.c OR t.d <> (SELECT e.total FROM journal_entries e WHERE e.id = t.entry_id)
     LIMIT 1;`);

// As the foundation migration created it.
const JOINED = balanceCheck(`SELECT n.entry_id, sum(n.debit) AS d, sum(n.credit) AS c INTO bad
      FROM new_lines n JOIN journal_entries e ON e.id = n.entry_id
      GROUP BY n.entry_id, e.total
      HAVING sum(n.debit) <> sum(n.credit) OR sum(n.debit) <> e.total
      LIMIT 1;`);

export async function up(knex: Knex): Promise<void> {
  await knex.raw(BY_ENTRY);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(JOINED);
}
