import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { createDb, migrateLatest, pgliteOf } from "../../src/db/knex.js";
import { seedFixture } from "./fixture.js";
import { APP_LOG_DIR, resetAppLogs, scanAppLogs } from "./log-scan.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
  }
}

/**
 * Builds one migrated database with the reference fixture, once per run. On PGlite it is dumped
 * to a file every test file loads; on a PostgreSQL server (DATABASE_URL) it is a template database
 * every test file clones (CREATE DATABASE … TEMPLATE), so no test sees another's data, and no run
 * sees an earlier run's.
 */
export default async function setup(project: TestProject) {
  resetAppLogs();
  const dropDatabase = await setupDatabase(project);
  return async () => {
    await dropDatabase();
    // Last of all, when every test file has finished: the app's log of the whole run.
    const { files, lines, findings } = scanAppLogs();
    if (findings.length > 0) {
      const shown = findings.slice(0, 20).map((f) => `  ${f.file}:${f.line} ${f.kind} ${f.text}`);
      process.exitCode = 1; // vitest reports an error thrown here but would still exit 0
      throw new Error(`Personal data or secrets in the app's log (${findings.length} found in ${APP_LOG_DIR}):\n${shown.join("\n")}`);
    }
    if (process.env.LOG_SCAN_VERBOSE) process.stdout.write(`app log scanned: ${files} files, ${lines} lines, nothing personal\n`);
  };
}

async function setupDatabase(project: TestProject): Promise<() => unknown> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const admin = createDb({ databaseUrl: url, poolMax: 2 });
    const name = `huinong_tpl_${process.pid}_${randomBytes(3).toString("hex")}`;
    await admin.raw(`CREATE DATABASE ${name}`);
    const tplUrl = withDatabase(url, name);
    const tpl = createDb({ databaseUrl: tplUrl, poolMax: 2 });
    await migrateLatest(tpl);
    await seedFixture(tpl);
    await tpl.destroy();
    project.provide("pgTemplate", name);
    project.provide("pgliteTemplate", "");
    return async () => {
      // Drop the template and any clone a crashed test file left behind.
      const { rows } = await admin.raw<{ rows: { datname: string }[] }>(`SELECT datname FROM pg_database WHERE datname LIKE ?`, [`huinong_t%_${process.pid}_%`]);
      for (const r of rows) await admin.raw(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
      await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    };
  }
  const db = createDb({});
  await migrateLatest(db);
  await seedFixture(db);
  const pglite = await pgliteOf(db);
  const dump = await pglite!.dumpDataDir("none");
  const dir = mkdtempSync(join(tmpdir(), "huinong-test-"));
  const file = join(dir, "template.tar");
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await db.destroy();
  project.provide("pgliteTemplate", file);
  project.provide("pgTemplate", "");
  return () => rmSync(dir, { recursive: true, force: true });
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
