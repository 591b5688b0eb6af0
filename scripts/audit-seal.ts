import { loadConfig } from "../src/config.js";
import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { auditKeys } from "../src/lib/audit-keys.js";
import { sealAuditChains } from "../src/lib/audit-seal.js";
import { systemClock } from "../src/lib/clock.js";
import { args, out } from "./cli.js";

/**
 * `npm run audit:seal -- --date YYYY-MM-DD` (default: yesterday's business date): seals every audit
 * chain head for that date, signed with the seal key (once per date and county: a second run keeps the
 * seals made). Prints each seal; a county whose chains do not verify is not sealed, is printed with
 * what was found, and the command exits with status 1.
 */
const a = args();
const today = systemClock.today();
const date = a.get("date") ?? new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
  process.stderr.write("usage: npm run audit:seal -- --date YYYY-MM-DD\n");
  process.exit(2);
}
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  await migrateLatest(db);
  const keys = auditKeys();
  const r = await sealAuditChains(db, keys, date);
  for (const s of r.sealed) out(`${s.business_date}  ${s.scope.padEnd(8)} sealed    id ${s.id}  ${s.chains} chains, ${s.rows} rows`);
  for (const s of r.existing) out(`${s.business_date}  ${s.scope.padEnd(8)} already sealed (id ${s.id}); unchanged`);
  for (const x of r.refused) {
    out(`${date}  ${x.scope.padEnd(8)} NOT SEALED: the chains do not verify`);
    for (const p of x.problems.slice(0, 20)) out(`    ${p.problem} chain ${p.chain} row ${p.seq}${p.id ? ` (id ${p.id})` : ""}: ${p.detail}`);
  }
  out(`seal key fingerprint ${keys.fingerprint}`);
  if (r.refused.length > 0) process.exitCode = 1;
} catch (err) {
  process.stderr.write(`audit seal failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
