import type { Server } from "node:http";
import { createApp } from "./app.js";
import { buildDeps } from "./bootstrap.js";
import { loadConfig } from "./config.js";
import { migrateLatest } from "./db/knex.js";
import { attestLegacyChains } from "./lib/audit.js";
import { type JobScheduler, startJobScheduler } from "./jobs/scheduler.js";
import { DEMO_PASSWORD, DEMO_USERS, isDemoSeeded, seedDemoCounty } from "../db/seeds/demo.js";

async function main(): Promise<void> {
  const config = loadConfig();
  const deps = buildDeps(config);
  const { db, logger } = deps;
  const where = config.DATABASE_URL ? "PostgreSQL server" : `embedded PGlite in ${config.DATA_DIR}/pg`;
  logger.info({ database: config.DATABASE_URL ? "postgresql" : "pglite" }, `opening ${where}`);
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ applied }, "migrations applied");
  // Chains written before the audit key: verified under the old rule and attested under the key.
  const legacy = await attestLegacyChains(db);
  if (legacy.attested.length > 0) logger.info({ chains: legacy.attested }, "audit chains from before the keyed rule verified and attested");
  if (legacy.refused.length > 0) logger.error({ problems: legacy.refused }, "audit chains from before the keyed rule do not verify: not attested");

  if (config.SEED_DEMO && !(await isDemoSeeded(db))) {
    logger.info("seeding the demo county (琼中县 469030) on first start");
    await seedDemoCounty(deps, { households: 300 });
  }

  const app = createApp(deps);
  let scheduler: JobScheduler | undefined;
  const server: Server = app.listen(config.PORT, config.HOST, () => {
    const port = (server.address() as { port: number }).port;
    logger.info({ port }, "listening");
    if (config.SCHEDULER === "on") scheduler = startJobScheduler(deps);
    if (config.SEED_DEMO) {
      const lines = [
        "",
        `Huinong API on http://localhost:${port}  (reference: /docs, OpenAPI: /openapi.json)`,
        `Demo logins (password for all: ${DEMO_PASSWORD}):`,
        ...DEMO_USERS.map((u) => `  ${u.username.padEnd(18)} ${u.role.padEnd(16)} ${u.display_name}`),
        "",
      ];
      process.stdout.write(lines.join("\n") + "\n");
    }
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down");
    server.close(() => {
      Promise.resolve(scheduler?.stop())
        .then(() => db.destroy())
        .then(() => process.exit(0))
        .catch(() => process.exit(1));
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
