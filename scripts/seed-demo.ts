import { buildDeps } from "../src/bootstrap.js";
import { loadConfig } from "../src/config.js";
import { migrateLatest } from "../src/db/knex.js";
import { isDemoSeeded, seedDemoCounty, seedHouseholds } from "../db/seeds/demo.js";
import { args, out, progressBar } from "./cli.js";

/**
 * `npm run seed:demo -- --households N [--seed S]`: builds a larger realistic demo county
 * (members with valid ID numbers, statuses, causes, incomes, labour) in the configured database.
 * On a database already seeded it adds N more households.
 */
const a = args();
const households = Number(a.get("households") ?? 20000);
if (!Number.isInteger(households) || households < 1) {
  process.stderr.write("usage: npm run seed:demo -- --households N [--seed S]\n");
  process.exit(2);
}
const config = loadConfig();
if (config.NODE_ENV === "production") {
  process.stderr.write("seed:demo never runs in production (NODE_ENV=production): demo users share one published password\n");
  process.exit(78);
}
const deps = buildDeps(config, {});
await migrateLatest(deps.db);
const seeded = await isDemoSeeded(deps.db);
const bar = progressBar("households", households);
const started = performance.now();
const seed = Number(a.get("seed") ?? (seeded ? Date.now() % 1_000_000 : 469030));
const result = seeded
  ? await seedHouseholds(deps, { households, seed, onProgress: (d) => bar.update(d) })
  : await seedDemoCounty(deps, { households, seed, onProgress: (d) => bar.update(d) });
bar.stop();
const seconds = (performance.now() - started) / 1000;
out(`seeded ${result.households} households, ${result.members} members in ${seconds.toFixed(1)} s (${Math.round(result.households / seconds)} households/s)`);
await deps.db.destroy();
