import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { transaction } from "../src/db/transaction.js";
import { systemClock } from "../src/lib/clock.js";
import type { Ctx } from "../src/lib/context.js";
import { quarterBounds } from "../src/modules/subsidies/index.js";
import { generateClaim } from "../src/modules/subsidies/index.js";
import { args, out, progressBar } from "./cli.js";
import { loadConfig } from "../src/config.js";

/**
 * `npx tsx scripts/subsidy-claims.ts --quarter 2025Q2 [--county 469030] [--bank <id>]`: generates
 * (or regenerates) the quarter's interest-subsidy claim batch of every bank with loans in each county
 * (or only the given ones), as the county finance bureau, one transaction per batch, with progress.
 */
const a = args();
const quarter = a.get("quarter") ?? "";
if (!quarterBounds(quarter)) {
  process.stderr.write("usage: npx tsx scripts/subsidy-claims.ts --quarter YYYYQn [--county CODE] [--bank ID]\n");
  process.exit(2);
}
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  await migrateLatest(db);
  const pairs = await db("loans")
    .whereNotNull("disbursed_on")
    .modify((q) => {
      if (a.get("county")) q.where("county_code", a.get("county"));
      if (a.get("bank")) q.where("bank_id", a.get("bank"));
    })
    .distinct("county_code", "bank_id")
    .orderBy(["county_code", "bank_id"])
    .select<{ county_code: string; bank_id: string }[]>();
  const bar = progressBar(`subsidy claims ${quarter}`, pairs.length);
  let done = 0;
  for (const p of pairs) {
    const ctx: Ctx = {
      actor: { kind: "staff", userId: "00000000-0000-0000-0000-000000000000", role: "finance_officer", countyCodes: [p.county_code], bankId: null, operatorId: null, villageCode: null },
      requestId: `subsidy-claims-${quarter}`,
      clock: systemClock,
    };
    const t0 = performance.now();
    const r = await transaction(db, (trx) => generateClaim(trx, ctx, { bank_id: p.bank_id, county_code: p.county_code, quarter }));
    bar.update(++done);
    out(
      `${p.county_code} ${p.bank_id} ${quarter}: ${r.created ? "created" : "regenerated"} ${r.claim.id} (${r.claim.status}), ${r.claim.lines_added ?? 0} lines added, ` +
        `${r.claim.totals.lines} lines, claimed ${r.claim.totals.claimed}, ${((performance.now() - t0) / 1000).toFixed(2)} s`,
    );
  }
  bar.stop();
} finally {
  await db.destroy();
}
