import type { Knex } from "knex";
import { migrateLatest } from "../../src/db/knex.js";
import { postJournalEntriesFrom } from "../../src/lib/ledger.js";
import { args, out } from "../cli.js";
import { scratchDb } from "./database.js";

/**
 * `npx tsx scripts/bench/journal-batch.ts [--sizes 1000,5000,20000]`: the journal's guards on a
 * batch. For each size N, N two-line entries (Dr 1001 / Cr 1301, as a night's or a file's postings)
 * are posted in one statement by `postJournalEntriesFrom` — the batch path of the distributions,
 * trustee returns and bank files — on a journal that already holds the earlier sizes' entries;
 * then, as the floor, the same rows written by one bare statement with the database's triggers
 * (balance check, foreign keys) switched off. Prints the time of each and their ratio: the guards'
 * cost should grow with the batch, not with the journal or the batch squared. With DATABASE_URL a
 * scratch database `huinong_bench_journal` on that server, otherwise PGlite in memory.
 */
const a = args();
const sizes = (a.get("sizes") ?? "1000,5000,20000").split(",").map(Number);
const { db, kind, drop } = await scratchDb("huinong_bench_journal", { poolMax: 2 });

const entriesSql = `SELECT gen_random_uuid() AS id, '469030'::text AS county_code, '2025-12-20'::date AS entry_date, 'bench.batch'::text AS kind,
                           'loan'::text AS ref_type, n::text AS ref_id, NULL::text AS memo, NULL::uuid AS actor_id, NULL::uuid AS reverses_entry_id
                      FROM generate_series(1, ?) n`;

async function guarded(n: number): Promise<number> {
  const t0 = performance.now();
  await db.transaction(async (trx) => {
    // Entries and their lines from one set (ids assigned in the entries' CTE, lines joined to them).
    await postJournalEntriesFrom(trx, {
      entriesSql: `SELECT * FROM (${entriesSql}) x`,
      linesSql: `SELECT e.id AS entry_id, v.account_code, e.county_code, 'loan'::text AS party_type, e.ref_id AS party_id,
                        CASE WHEN v.debit THEN 40.00 ELSE 0 END::numeric AS debit, CASE WHEN v.debit THEN 0 ELSE 40.00 END::numeric AS credit
                   FROM e CROSS JOIN (VALUES ('1001'::text, true), ('1301'::text, false)) v(account_code, debit)`,
      bindings: [n],
    });
  });
  return performance.now() - t0;
}

async function bare(n: number): Promise<number> {
  const t0 = performance.now();
  await db.transaction(async (trx: Knex.Transaction) => {
    await trx.raw("SET LOCAL session_replication_role = replica");
    await trx.raw(
      `WITH e AS (INSERT INTO journal_entries (id, county_code, entry_date, kind, ref_type, ref_id, total)
                  SELECT id, county_code, entry_date, kind, ref_type, ref_id, 40.00 FROM (${entriesSql}) x RETURNING id, county_code, ref_id)
       INSERT INTO journal_lines (entry_id, account_code, county_code, party_type, party_id, debit, credit)
       SELECT e.id, v.account_code, e.county_code, 'loan', e.ref_id, CASE WHEN v.debit THEN 40.00 ELSE 0 END, CASE WHEN v.debit THEN 0 ELSE 40.00 END
         FROM e CROSS JOIN (VALUES ('1001', true), ('1301', false)) v(account_code, debit)`,
      [n],
    );
  });
  return performance.now() - t0;
}

try {
  await migrateLatest(db);
  out(`journal batch benchmark — ${kind}`);
  for (const n of sizes) {
    const before = Number((await db("journal_entries").count<{ c: string }[]>("* as c"))[0].c);
    const g = await guarded(n);
    const f = await bare(n);
    out(
      `${n.toLocaleString("en")} entries (${(2 * n).toLocaleString("en")} lines) in one statement, journal holding ${before.toLocaleString("en")}: ` +
        `posted with its checks ${g.toFixed(0)} ms (${Math.round((n / g) * 1000).toLocaleString("en")} entries/s); floor (bare, no triggers) ${f.toFixed(0)} ms; ratio ${(g / f).toFixed(2)}×`,
    );
  }
} finally {
  await drop();
}
