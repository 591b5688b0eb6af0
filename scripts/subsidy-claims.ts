import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { transaction } from "../src/db/transaction.js";
import { systemClock } from "../src/lib/clock.js";
import type { Ctx } from "../src/lib/context.js";
import type { Role } from "../src/http/auth.js";
import { generateClaim, quarterBounds, type SubsidyMode } from "../src/modules/subsidies/index.js";
import { args, out, progressBar } from "./cli.js";
import { loadConfig } from "../src/config.js";

/**
 * `npx tsx scripts/subsidy-claims.ts --quarter 2025Q2 --as USERNAME [--county 469030] [--bank <id>]`:
 * generates (or regenerates) the quarter's interest-subsidy claim batches as the named user, one
 * transaction per batch, with progress. The user is the batches' maker (and so may not approve them):
 * a loan officer or bank manager generates the TO_BANK batches of its bank, a finance officer the
 * TO_HOUSEHOLD batches of every bank, in the user's counties.
 */
const a = args();
const quarter = a.get("quarter") ?? "";
const username = a.get("as") ?? "";
if (!quarterBounds(quarter) || !username) {
  process.stderr.write("usage: npx tsx scripts/subsidy-claims.ts --quarter YYYYQn --as USERNAME [--county CODE] [--bank ID]\n");
  process.exit(2);
}
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  await migrateLatest(db);
  const user = await db("users").where({ username, active: true }).first<{ id: string; role: Role; county_codes: string[]; bank_id: string | null } | undefined>();
  const mode: SubsidyMode | null = !user ? null : user.role === "finance_officer" ? "TO_HOUSEHOLD" : user.role === "loan_officer" || user.role === "bank_manager" ? "TO_BANK" : null;
  if (!user || !mode) {
    process.stderr.write(`${username}: no active loan officer, bank manager or finance officer of that name (the bank generates TO_BANK batches, the finance bureau TO_HOUSEHOLD ones)\n`);
    process.exit(2);
  }
  const pairs = await db("loans")
    .whereNotNull("disbursed_on")
    .whereIn("county_code", user.county_codes)
    .modify((q) => {
      if (a.get("county")) q.where("county_code", a.get("county"));
      if (a.get("bank")) q.where("bank_id", a.get("bank"));
      if (user.bank_id) q.where("bank_id", user.bank_id);
    })
    .distinct("county_code", "bank_id")
    .orderBy(["county_code", "bank_id"])
    .select<{ county_code: string; bank_id: string }[]>();
  const bar = progressBar(`subsidy claims ${quarter} ${mode}`, pairs.length);
  let done = 0;
  for (const p of pairs) {
    const ctx: Ctx = {
      actor: { kind: "staff", userId: user.id, role: user.role, countyCodes: user.county_codes, bankId: user.bank_id, operatorId: null, villageCode: null },
      requestId: `subsidy-claims-${quarter}-${mode}`,
      clock: systemClock,
    };
    const t0 = performance.now();
    const r = await transaction(db, (trx) => generateClaim(trx, ctx, { bank_id: p.bank_id, county_code: p.county_code, quarter, mode }));
    bar.update(++done);
    out(
      `${p.county_code} ${p.bank_id} ${quarter} ${mode}: ${r.created ? "created" : "regenerated"} ${r.claim.id} (${r.claim.status}), ${r.claim.lines_added ?? 0} lines added, ` +
        `${r.claim.totals.lines} lines, claimed ${r.claim.totals.claimed}, ${((performance.now() - t0) / 1000).toFixed(2)} s`,
    );
  }
  bar.stop();
} finally {
  await db.destroy();
}
