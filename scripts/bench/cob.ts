import { migrateLatest } from "../../src/db/knex.js";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { args, out } from "../cli.js";
import { scratchDb } from "./database.js";
import { buildPortfolio } from "./loan-portfolio.js";
import { addDays } from "../../src/lib/dates.js";

/**
 * `npx tsx scripts/bench/cob.ts [--loans N] [--keep]`: builds N loans (default 1,000,000 on
 * PostgreSQL with DATABASE_URL — a scratch database `huinong_bench_cob` is created and dropped —
 * or 20,000 on PGlite in memory), closes one business date to warm up (it fills every loan's
 * current period), then times, on the same loans table, a bare single-statement UPDATE adding a
 * day's interest (the floor) and one ordinary close of business. Prints both and the ratio.
 * Targets: COB within 3× the floor and at least 50,000 loans/s.
 */
const SCRATCH = "huinong_bench_cob";
const BANK = "0b000000-0000-4000-8000-0000000000be";
const a = args();
const url = process.env.DATABASE_URL;
const loans = Number(a.get("loans") ?? (url ? 1_000_000 : 20_000));
const asOf = "2025-06-01";

const { db, drop } = await scratchDb(SCRATCH, { poolMax: 2, keep: a.has("keep") });
const secs = (t0: number) => (performance.now() - t0) / 1000;
const vacuum = async () => {
  await db.raw("VACUUM ANALYZE loans");
  await db.raw("VACUUM ANALYZE loan_schedule_periods");
};

try {
  await migrateLatest(db);
  await db("divisions").insert([
    { code: "469030", name: "琼中县", level: "COUNTY", parent_code: null, county_code: "469030" },
    { code: "469030100", name: "营根镇", level: "TOWNSHIP", parent_code: "469030", county_code: "469030" },
    { code: "469030100201", name: "新市村", level: "VILLAGE", parent_code: "469030100", county_code: "469030" },
  ]);
  await db("banks").insert({ id: BANK, name: "基准农商银行", short_name: "基准农商行" });
  let t0 = performance.now();
  process.stdout.write(`building ${loans.toLocaleString("en")} loans… `);
  const built = await buildPortfolio(db, {
    loans,
    asOf,
    bankId: BANK,
    countyCode: "469030",
    villageCode: "469030100201",
    households: Math.max(100, Math.floor(loans / 20)),
    defaultEvery: 25,
    skipTriggers: Boolean(url),
    methods: [
      { method: "BULLET_QUARTERLY", term: 12 },
      { method: "BULLET_QUARTERLY", term: 24 },
      { method: "EQUAL_INSTALLMENT", term: 12 },
      { method: "EQUAL_PRINCIPAL", term: 12 },
    ],
  });
  out(`${built.periods.toLocaleString("en")} schedule periods in ${secs(t0).toFixed(1)} s`);
  const active = Number((await db("loans").whereIn("status", ["DISBURSED", "EXTENDED"]).count<{ n: number }[]>("* as n"))[0].n);
  await vacuum();

  t0 = performance.now();
  await runCloseOfBusiness(db, asOf);
  out(`warm-up close of ${asOf} (fills every current period): ${secs(t0).toFixed(2)} s`);
  await vacuum();

  t0 = performance.now();
  await db.raw(`UPDATE loans SET cur_period_interest = cur_period_interest + round(outstanding_principal * annual_rate / 360, 2) WHERE status IN ('DISBURSED', 'EXTENDED')`);
  const floor = secs(t0);
  out(`floor: one UPDATE adding a day's interest over ${active.toLocaleString("en")} active loans: ${floor.toFixed(2)} s`);
  await vacuum();

  const day = addDays(asOf, 1);
  t0 = performance.now();
  await runCloseOfBusiness(db, day, {
    onProgress: (e) => process.stdout.write(`  ${e.step.padEnd(16)} ${String(e.rows).padStart(9)} rows ${String(e.ms).padStart(7)} ms\n`),
  });
  const cob = secs(t0);
  out(`close of business ${day}: ${cob.toFixed(2)} s for ${active.toLocaleString("en")} active loans = ${Math.round(active / cob).toLocaleString("en")} loans/s`);
  out(`ratio COB / floor: ${(cob / floor).toFixed(2)}× (target ≤ 3×, ≥ 50,000 loans/s)`);
} finally {
  await drop();
}
