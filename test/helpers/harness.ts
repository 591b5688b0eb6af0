import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import type { Express } from "express";
import type { Knex } from "knex";
import supertest from "supertest";
import { afterAll, beforeAll, inject } from "vitest";
import { createApp } from "../../src/app.js";
import { createDb } from "../../src/db/knex.js";
import type { Deps } from "../../src/deps.js";
import { FixedClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { Pii } from "../../src/lib/pii.js";
import { auditKeysOf, useAuditKeys } from "../../src/lib/audit-keys.js";
import { tokenFor, type UserName } from "./fixture.js";
import { withDatabase } from "./global-setup.js";
import { APP_LOG_DIR } from "./log-scan.js";

export const TEST_JWT = { secret: "test-secret-test-secret-test-secret-0123", issuer: "huinong", audience: "huinong-api", ttlSeconds: 3600 };
export const TEST_PII = new Pii({ encKey: Buffer.alloc(32, 7), hashKey: Buffer.alloc(32, 9) });
export const onPostgres = Boolean(process.env.DATABASE_URL);
/** The audit keys of every test: a fixed HMAC key and a fixed Ed25519 key (PKCS#8 DER of a fixed seed). */
export const TEST_AUDIT_KEYS = auditKeysOf(
  Buffer.alloc(32, 11),
  Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.alloc(32, 13)]).toString("base64"),
);
useAuditKeys(TEST_AUDIT_KEYS);

/** A fresh database cloned from the run's template (PGlite dump or PostgreSQL template). */
export async function openTestDb(): Promise<{ db: Knex; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const tpl = inject("pgTemplate");
    const name = `huinong_t_${process.pid}_${randomBytes(4).toString("hex")}`;
    const admin = createDb({ databaseUrl: url, poolMax: 1 });
    await admin.raw(`CREATE DATABASE ${name} TEMPLATE ${tpl}`);
    const db = createDb({ databaseUrl: withDatabase(url, name), poolMax: 20 });
    return {
      db,
      drop: async () => {
        await db.destroy();
        await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.destroy();
      },
    };
  }
  const file = inject("pgliteTemplate");
  const db = createDb({ pgliteLoad: new Blob([readFileSync(file)]) });
  return { db, drop: () => db.destroy() };
}

export interface TestApp {
  app: Express;
  db: Knex;
  deps: Deps;
  clock: FixedClock;
  http: supertest.Agent;
  token(who: UserName): string;
  /** supertest request with the bearer token of a fixture user. */
  as(who: UserName): {
    get(path: string): supertest.Test;
    post(path: string, body?: object, key?: string): supertest.Test;
    patch(path: string, body?: object): supertest.Test;
  };
}

let appLog: ReturnType<typeof pino.destination> | undefined;
/**
 * The app's log for this worker process: `info` (every request, every error) into
 * test-results/app-log/, which the run's teardown scans for personal data (test/helpers/log-scan.ts).
 * `TEST_LOG_LEVEL` changes the level.
 */
export function testLogger() {
  if (!appLog) {
    mkdirSync(APP_LOG_DIR, { recursive: true });
    appLog = pino.destination({ dest: join(APP_LOG_DIR, `${process.pid}.ndjson`), append: true, sync: true });
  }
  return createLogger(process.env.TEST_LOG_LEVEL ?? "info", appLog);
}

/** Builds the app on a fresh database for one test file (beforeAll/afterAll). */
export function useTestApp(opts: { today?: string; settings?: Partial<Deps["settings"]> } = {}): TestApp {
  const t = {} as TestApp;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const opened = await openTestDb();
    drop = opened.drop;
    const clock = new FixedClock(opts.today ?? "2025-06-02");
    const deps: Deps = {
      db: opened.db,
      clock,
      logger: testLogger(),
      pii: TEST_PII,
      jwt: TEST_JWT,
      settings: { bodyLimit: "1mb", loginMaxFailures: 5, loginLockSeconds: 900, ...opts.settings },
    };
    const app = createApp(deps);
    Object.assign(t, {
      app,
      db: opened.db,
      deps,
      clock,
      http: supertest.agent(app),
      token: (who: UserName) => tokenFor(TEST_JWT, who),
      as: (who: UserName) => {
        const auth = `Bearer ${tokenFor(TEST_JWT, who)}`;
        return {
          get: (path: string) => supertest(app).get(path).set("Authorization", auth),
          post: (path: string, body?: object, key?: string) => {
            const r = supertest(app).post(path).set("Authorization", auth);
            if (key) r.set("Idempotency-Key", key);
            return body === undefined ? r : r.send(body);
          },
          patch: (path: string, body?: object) => supertest(app).patch(path).set("Authorization", auth).send(body ?? {}),
        };
      },
    });
  });
  afterAll(async () => {
    await drop();
  });
  return t;
}
