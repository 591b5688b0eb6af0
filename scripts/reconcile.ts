import { loadConfig } from "../src/config.js";
import { createDb, pgliteDirFor } from "../src/db/knex.js";
import { reconciliationChecks } from "../src/lib/ledger.js";
import { Money } from "../src/lib/money.js";
import "../src/modules.js"; // loads every module, so every reconciliation check is registered
import { args, out } from "./cli.js";

/**
 * `npx tsx scripts/reconcile.ts [--county 469030]`: the trial balance and every registered
 * reconciliation check (each loan's principal receivable against its outstanding principal, …)
 * over the given counties (default: all). Exits 1 when anything differs.
 */
const a = args();
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  const counties = a.get("county")
    ? [a.get("county")!]
    : (await db("divisions").where({ level: "COUNTY" }).pluck<string[]>("code"));
  const tb = await db("journal_lines").whereIn("county_code", counties).select(db.raw("coalesce(sum(debit), 0)::text AS d, coalesce(sum(credit), 0)::text AS c")).first<{ d: string; c: string }>();
  let ok = Money.of(Money.format(tb.d)).eq(Money.of(Money.format(tb.c)));
  out(`trial balance: debits ${Money.format(tb.d)} credits ${Money.format(tb.c)} ${ok ? "balanced" : "NOT BALANCED"}`);
  for (const c of reconciliationChecks()) {
    const diffs = await c.run(db, counties);
    out(`${c.name}: ${diffs.length === 0 ? "ok" : `${diffs.length} difference(s)`} — ${c.description}`);
    for (const d of diffs.slice(0, 20)) out(`  ${d.ref}: ledger ${d.ledger} records ${d.records}`);
    if (diffs.length) ok = false;
  }
  process.exitCode = ok ? 0 : 1;
} finally {
  await db.destroy();
}
