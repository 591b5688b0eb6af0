import { loadConfig } from "../src/config.js";
import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { systemClock } from "../src/lib/clock.js";
import { runCloseOfBusiness } from "../src/modules/loans/index.js";
import { args, out } from "./cli.js";

/**
 * `npm run cob -- --date YYYY-MM-DD` (default: yesterday's business date): runs the close of
 * business (日终) through that date, catching up any missing date in order and resuming a run that
 * was interrupted; prints each step as it commits. Re-running a closed date changes nothing.
 */
const a = args();
const today = systemClock.today();
const date = a.get("date") ?? new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
  process.stderr.write("usage: npm run cob -- --date YYYY-MM-DD\n");
  process.exit(2);
}
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  await migrateLatest(db);
  const t0 = performance.now();
  const result = await runCloseOfBusiness(db, date, {
    clock: systemClock,
    requestId: `cob-${date}`,
    onProgress: (e) => process.stdout.write(`${e.date}  [${e.index}/${e.of}] ${e.step.padEnd(16)} ${String(e.rows).padStart(9)} rows  ${String(e.ms).padStart(7)} ms\n`),
  });
  for (const d of result.dates) if (d.skipped) out(`${d.business_date}  already closed (${d.status}); nothing changed`);
  out(`close of business through ${date}: ${result.dates.filter((d) => !d.skipped).length} date(s) in ${Math.round(performance.now() - t0)} ms`);
} catch (err) {
  process.stderr.write(`close of business failed: ${err instanceof Error ? err.message : String(err)}\n(run it again: finished steps are kept and it resumes)\n`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
