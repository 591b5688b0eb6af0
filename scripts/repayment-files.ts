import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { systemClock } from "../src/lib/clock.js";
import { loadConfig } from "../src/config.js";
import { processRepaymentFile, unfinishedRepaymentFiles } from "../src/modules/bankfiles/index.js";
import { args, out, progressBar } from "./cli.js";

/**
 * `npm run repayment-files [-- --id FILE_ID] [--chunk N]`: processes the bank repayment files still
 * received or in progress (after a crash, or with the server stopped) — or the one named — chunk
 * by chunk in the file's lanes, with progress. Safe beside a running server: a file's lanes are taken in turns, and a
 * row applied is never applied again.
 */
const a = args();
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  await migrateLatest(db);
  const ids = a.get("id") ? [a.get("id")!] : await unfinishedRepaymentFiles(db);
  if (ids.length === 0) out("no repayment file waiting");
  for (const id of ids) {
    let bar: ReturnType<typeof progressBar> | undefined;
    const t0 = performance.now();
    const r = await processRepaymentFile({ db, clock: systemClock }, id, {
      chunk: a.get("chunk") ? Number(a.get("chunk")) : undefined,
      onProgress: (f) => {
        bar ??= progressBar(`repayment file ${id.slice(0, 8)}`, f.rows_total);
        bar.update(f.rows_done);
      },
    });
    bar?.stop();
    const s = (performance.now() - t0) / 1000;
    out(`${id}: ${r.status}, ${r.rows_total} rows — applied ${r.applied}, refused ${r.refused}, duplicates ${r.duplicates} — ${s.toFixed(2)} s`);
  }
} finally {
  await db.destroy();
}
