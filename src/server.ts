import type { Server } from "node:http";
import { createApp } from "./app.js";
import { buildDeps } from "./bootstrap.js";
import { ConfigError, loadConfig } from "./config.js";
import { migrateLatest } from "./db/knex.js";
import { attestLegacyChains } from "./lib/audit.js";
import { type JobScheduler, startJobScheduler } from "./jobs/scheduler.js";
import { createLogger } from "./lib/logger.js";
import { processInBackground, unfinishedRepaymentFiles } from "./modules/bankfiles/index.js";
import { DEMO_PASSWORD, DEMO_USERS, isDemoSeeded, seedDemoCounty } from "../db/seeds/demo.js";

/** How long in-flight requests may take to finish after SIGTERM before their connections are cut. */
const DRAIN_MS = 8_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const deps = buildDeps(config);
  const { db, logger } = deps;
  const where = config.DATABASE_URL ? "PostgreSQL server" : `embedded PGlite in ${config.DATA_DIR}/pg`;
  logger.info({ database: config.DATABASE_URL ? "postgresql" : "pglite", node_env: config.NODE_ENV }, `opening ${where}`);
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ applied }, "migrations applied");
  // Chains written before the audit key: verified under the old rule and attested under the key.
  const legacy = await attestLegacyChains(db);
  if (legacy.attested.length > 0) logger.info({ chains: legacy.attested }, "audit chains from before the keyed rule verified and attested");
  if (legacy.refused.length > 0) logger.error({ problems: legacy.refused }, "audit chains from before the keyed rule do not verify: not attested");

  // Never in production: loadConfig refuses SEED_DEMO=true there and defaults it to false.
  let seeded = false;
  if (config.SEED_DEMO && config.NODE_ENV !== "production" && !(await isDemoSeeded(db))) {
    logger.info("seeding the demo county (琼中县 469030) on first start");
    const t0 = performance.now();
    await seedDemoCounty(deps, { households: 300 });
    seeded = true;
    logger.info({ ms: Math.round(performance.now() - t0) }, "demo county seeded");
  }

  const app = createApp(deps);
  let scheduler: JobScheduler | undefined;
  const server: Server = app.listen(config.PORT, config.HOST, () => {
    const port = (server.address() as { port: number }).port;
    logger.info({ port, docs: `http://localhost:${port}/docs` }, "listening");
    if (config.SCHEDULER === "on") scheduler = startJobScheduler(deps);
    // Bank repayment files a stop interrupted carry on where they stopped.
    void unfinishedRepaymentFiles(db).then((ids) => ids.forEach((id) => processInBackground(deps, id)));
    if (seeded) {
      const logins = DEMO_USERS.map((u) => ({ username: u.username, role: u.role, name: u.display_name }));
      logger.info({ logins }, "demo county seeded: these users log in with the demo password (README)");
      process.stderr.write(
        [
          `Demo logins (password for all: ${DEMO_PASSWORD}):`,
          ...DEMO_USERS.map((u) => `  ${u.username.padEnd(18)} ${u.role.padEnd(16)} ${u.display_name}`),
          "",
        ].join("\n"),
      );
    }
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down: no new connections, finishing requests in flight");
    // close() stops accepting and ends idle keep-alive connections; requests in flight finish first.
    server.close(() => {
      Promise.resolve(scheduler?.stop())
        .then(() => db.destroy())
        .then(() => {
          logger.info("stopped");
          process.exit(0);
        })
        .catch((err: unknown) => {
          logger.error({ err }, "closing the database failed");
          process.exit(1);
        });
    });
    setTimeout(() => {
      logger.warn("requests still running after the drain time: closing their connections");
      server.closeAllConnections();
    }, DRAIN_MS).unref();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  // One log line that says what is wrong; ConfigError names every missing or bad setting.
  const logger = createLogger(process.env.LOG_LEVEL === "silent" ? "fatal" : "info");
  if (err instanceof ConfigError) {
    logger.fatal({ problems: err.problems, exit_code: err.exitCode }, err.message);
    process.exit(err.exitCode);
  }
  logger.fatal({ err }, `failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
