import { migrateLatest } from "../../src/db/knex.js";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { transaction } from "../../src/db/transaction.js";
import { FixedClock } from "../../src/lib/clock.js";
import { processRepaymentFile } from "../../src/modules/bankfiles/index.js";
import { readRepaymentFile, receiveRepaymentFile } from "../../src/modules/bankfiles/repayment-files.js";
import type { Ctx } from "../../src/lib/context.js";
import { args, out } from "../cli.js";
import { scratchDb } from "./database.js";
import { buildPortfolio } from "./loan-portfolio.js";

/**
 * `npx tsx scripts/bench/repayment-file.ts [--loans N] [--chunk N] [--keep]`: a settlement-day
 * repayment file (结息日还款文件) — one row per active bullet loan paying the quarter's interest
 * with value date 2025-12-20, received the next morning after that day's close of business — over
 * a portfolio of N loans (default 100,000 on PostgreSQL with DATABASE_URL, in a scratch database
 * `huinong_bench_rfile`; 5,000 on PGlite in memory). Times the file's processing (in the file's
 * lanes — two on PostgreSQL, one on PGlite, `REPAYMENT_FILE_LANES` sets them; each chunk: the
 * settlement day's payments recognised and written set-based, any others decided in memory, then
 * journal and audit written in a few statements) and, in the same run on the same loans, a floor:
 * one bare set-based UPDATE of those loans plus one INSERT of as many repayment rows. Prints rows
 * per second, the floor and the ratio, and (on PostgreSQL) the write-ahead log each phase wrote.
 * Targets: at least 5,000 rows a second, and within 5× the floor.
 */
const SCRATCH = "huinong_bench_rfile";
const BANK = "0b000000-0000-4000-8000-0000000000be";
const COUNTY = "469030";
const a = args();
const url = process.env.DATABASE_URL;
const loans = Number(a.get("loans") ?? (url ? 100_000 : 5_000));
const chunk = a.get("chunk") ? Number(a.get("chunk")) : undefined;
const settlement = "2025-12-20";
const today = "2025-12-21";

const { db, kind, drop } = await scratchDb(SCRATCH, { poolMax: 4, keep: a.has("keep") });
const secs = (t0: number) => (performance.now() - t0) / 1000;
// The write-ahead log a phase wrote (PostgreSQL server only): what its writes cost the server's disk.
const walPosition = async () => (url ? (await db.raw<{ rows: { lsn: string }[] }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0].lsn : "0/0");
const walSince = async (from: string) =>
  url ? Number((await db.raw<{ rows: { n: string }[] }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ?::pg_lsn)::text AS n", [from])).rows[0].n) : 0;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
try {
  await migrateLatest(db);
  await db("divisions").insert([
    { code: COUNTY, name: "琼中县", level: "COUNTY", parent_code: null, county_code: COUNTY },
    { code: "469030100", name: "营根镇", level: "TOWNSHIP", parent_code: COUNTY, county_code: COUNTY },
    { code: "469030100201", name: "新市村", level: "VILLAGE", parent_code: "469030100", county_code: COUNTY },
  ]);
  await db("banks").insert({ id: BANK, name: "基准农商银行", short_name: "基准农商行" });
  let t0 = performance.now();
  process.stdout.write(`building ${loans.toLocaleString("en")} bullet loans… `);
  await buildPortfolio(db, {
    loans,
    // Every period due before the settlement day paid; the one due on it not yet.
    asOf: settlement,
    bankId: BANK,
    countyCode: COUNTY,
    villageCode: "469030100201",
    households: Math.max(100, Math.floor(loans / 2)),
    defaultEvery: 1_000_000_000,
    skipTriggers: Boolean(url),
    // Each loan's disbursement entry, as a county's journal holds (the file's postings are planned on it).
    ledger: true,
    methods: [
      { method: "BULLET_QUARTERLY", term: 24 },
      { method: "BULLET_QUARTERLY", term: 36 },
    ],
  });
  out(`${secs(t0).toFixed(1)} s`);
  // The settlement day closed (its instalments DUE), as on the morning the bank's file arrives.
  t0 = performance.now();
  await runCloseOfBusiness(db, settlement);
  out(`close of business ${settlement}: ${secs(t0).toFixed(1)} s`);
  const due = await db("loan_schedule_periods as p")
    .join("loans as l", "l.id", "p.loan_id")
    .whereIn("l.status", ["DISBURSED", "EXTENDED"])
    .where("p.due_date", settlement)
    .orderBy("p.loan_id")
    .select<{ loan_id: string; interest_due: string }[]>("p.loan_id", "p.interest_due");
  const rows = due.map((d, i) => ({ loan_id: d.loan_id, value_date: settlement, amount: d.interest_due, reference: `JX${settlement.replaceAll("-", "")}-${String(i).padStart(7, "0")}` }));
  out(`file: ${rows.length.toLocaleString("en")} rows (one per active bullet loan, the quarter's interest)`);
  if (url) await db.raw("VACUUM ANALYZE");

  // Floor: the same loans updated by one bare statement, as many repayment rows inserted by one.
  const ids = rows.map((r) => r.loan_id);
  const wal0 = await walPosition();
  t0 = performance.now();
  class Rollback extends Error {}
  await db.transaction(async (trx) => {
    await trx.raw(`UPDATE loans SET outstanding_principal = outstanding_principal, updated_at = now() WHERE id = ANY(?::uuid[])`, [ids]);
    await trx.raw(
      `INSERT INTO loan_repayments (loan_id, county_code, bank_id, paid_on, entered_on, amount, penalty, interest, principal, prepayment, kind, source, reference, allocation)
       SELECT id, ?, ?::uuid, ?::date, ?::date, 1, 0, 1, 0, 0, 'REPAYMENT', 'BORROWER', 'FLOOR-' || id, '[]'::jsonb FROM unnest(?::uuid[]) AS id`,
      [COUNTY, BANK, settlement, today, ids],
    );
    throw new Rollback(); // leaves nothing behind
  }).catch((e: unknown) => {
    if (!(e instanceof Rollback)) throw e;
  });
  const floor = secs(t0);
  const floorWal = await walSince(wal0);

  const clock = new FixedClock(today);
  const ctx: Ctx = { actor: { kind: "staff", userId: "0a000000-0000-4000-8000-000000000004", role: "loan_officer", countyCodes: [COUNTY], bankId: BANK, operatorId: null, villageCode: null }, clock, requestId: "bench" };
  t0 = performance.now();
  const input = await readRepaymentFile({ format: "json", body: { rows } });
  const file = await transaction(db, (trx) => receiveRepaymentFile(trx, ctx, input, {}));
  const received = secs(t0);
  // --trace: time spent per statement kind while processing.
  const spent = new Map<string, { n: number; ms: number }>();
  const started = new Map<string, number>();
  if (a.has("trace")) {
    db.on("query", (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
    db.on("query-response", (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
      const k = q.sql.replace(/\s+/g, " ").slice(0, 70);
      const e = spent.get(k) ?? { n: 0, ms: 0 };
      e.n += 1;
      e.ms += performance.now() - (started.get(q.__knexQueryUid) ?? performance.now());
      spent.set(k, e);
    });
  }
  const wal1 = await walPosition();
  t0 = performance.now();
  const r = await processRepaymentFile({ db, clock }, file.id, { chunk });
  const processing = secs(t0);
  const processingWal = await walSince(wal1);
  const rate = rows.length / processing;
  out("");
  out(`database: ${kind}; loans ${loans.toLocaleString("en")}; file ${rows.length.toLocaleString("en")} rows; chunk ${chunk ?? "default"}; lanes ${(await db("repayment_files").where({ id: file.id }).first<{ lanes: number }>("lanes"))!.lanes}`);
  out(`received (read, checked, stored):  ${received.toFixed(2)} s`);
  out(`processed: ${r.applied} applied, ${r.refused} refused, ${r.duplicates} duplicates in ${processing.toFixed(2)} s = ${Math.round(rate).toLocaleString("en")} rows/s`);
  out(`floor (bare UPDATE of the loans + INSERT of the repayment rows): ${floor.toFixed(2)} s = ${Math.round(rows.length / floor).toLocaleString("en")} rows/s`);
  out(`ratio processing / floor: ${(processing / floor).toFixed(2)}× (target ≤ 5×); rows/s target ≥ 5,000`);
  if (url) out(`write-ahead log: processing ${mb(processingWal)}, floor ${mb(floorWal)}`);
  for (const [k, e] of [...spent].sort((x, y) => y[1].ms - x[1].ms).slice(0, 15)) out(`${(e.ms / 1000).toFixed(2).padStart(8)} s ${String(e.n).padStart(6)}× ${k}`);
  const check = await db("loan_repayments").where({ paid_on: settlement }).count<{ n: number }[]>("* as n");
  out(`repayments recorded with value date ${settlement}: ${Number(check[0].n).toLocaleString("en")}`);
} finally {
  await drop();
}
