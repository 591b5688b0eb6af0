import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Knex } from "knex";
import { createApp } from "../../src/app.js";
import { createDb, migrateLatest } from "../../src/db/knex.js";
import type { Deps } from "../../src/deps.js";
import { signStaffToken } from "../../src/http/auth.js";
import { FixedClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { Pii } from "../../src/lib/pii.js";
import { args, out } from "../cli.js";
import { buildPortfolio } from "./loan-portfolio.js";

/**
 * `DATABASE_URL=postgres://… npx tsx scripts/bench/repayments.ts [--requests N] [--concurrency C]`:
 * repayments per second and p50/p99 latency of `POST /loans/{id}/repayments` over HTTP against an
 * in-process server on PostgreSQL (scratch database `huinong_bench_repay`, dropped afterwards).
 * Each request pays 50.00 with its own Idempotency-Key on a loan of a synthetic portfolio (every
 * request a different loan, as at a bank counter; the lock test on one loan is in the API tests).
 * Targets: ≥ 500 repayments/s and p99 < 100 ms at concurrency 32.
 */
const SCRATCH = "huinong_bench_repay";
const BANK = "0b000000-0000-4000-8000-0000000000be";
const a = args();
const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write("set DATABASE_URL to a PostgreSQL server (PGlite has one connection)\n");
  process.exit(2);
}
const requests = Number(a.get("requests") ?? 5000);
const concurrency = Number(a.get("concurrency") ?? 32);
const asOf = "2025-06-01";

const admin: Knex = createDb({ databaseUrl: url, poolMax: 1 });
await admin.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
await admin.raw(`CREATE DATABASE ${SCRATCH}`);
const u = new URL(url);
u.pathname = `/${SCRATCH}`;
const db = createDb({ databaseUrl: u.toString(), poolMax: concurrency + 2 });
const server = createServer();
try {
  await migrateLatest(db);
  await db("divisions").insert([
    { code: "469030", name: "琼中县", level: "COUNTY", parent_code: null, county_code: "469030" },
    { code: "469030100", name: "营根镇", level: "TOWNSHIP", parent_code: "469030", county_code: "469030" },
    { code: "469030100201", name: "新市村", level: "VILLAGE", parent_code: "469030100", county_code: "469030" },
  ]);
  await db("banks").insert({ id: BANK, name: "基准农商银行", short_name: "基准农商行" });
  await buildPortfolio(db, { loans: requests, asOf, bankId: BANK, countyCode: "469030", villageCode: "469030100201", households: Math.max(50, Math.floor(requests / 10)), defaultEvery: 1_000_000 });
  const loanIds = await db("loans").whereIn("status", ["DISBURSED", "EXTENDED"]).orderBy("id").pluck<string[]>("id");
  await db.raw("VACUUM ANALYZE");

  const jwt = { secret: "bench-secret-bench-secret-bench-secret-01", issuer: "huinong", audience: "huinong-api", ttlSeconds: 3600 };
  const deps: Deps = {
    db,
    clock: new FixedClock(asOf),
    logger: createLogger("silent"),
    pii: new Pii({ encKey: Buffer.alloc(32, 1), hashKey: Buffer.alloc(32, 2) }),
    jwt,
    settings: { bodyLimit: "1mb", loginMaxFailures: 5, loginLockSeconds: 900 },
  };
  server.on("request", createApp(deps));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const token = signStaffToken(jwt, { userId: "0a000000-0000-4000-8000-0000000000be", role: "loan_officer", countyCodes: ["469030"], bankId: BANK, operatorId: null, villageCode: null });
  const pay = async (loanId: string) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/loans/${loanId}/repayments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "idempotency-key": randomUUID() },
      body: JSON.stringify({ amount: "50.00", reference: "bench" }),
    });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`repayment answered ${res.status}: ${body}`);
    return performance.now() - t0;
  };
  let queries = 0;
  let sqlMs = 0;
  const started = new Map<string, number>();
  if (a.has("profile")) {
    db.on("query", (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
    db.on("query-response", (_r: unknown, q: { __knexQueryUid: string }) => {
      queries += 1;
      sqlMs += performance.now() - (started.get(q.__knexQueryUid) ?? performance.now());
      started.delete(q.__knexQueryUid);
    });
  }
  // Warm up connections and code paths on the first loans.
  const warm = Math.min(200, Math.floor(loanIds.length / 10));
  for (let i = 0; i < warm; i += concurrency) await Promise.all(loanIds.slice(i, i + concurrency).map(pay));
  const work = loanIds.slice(warm);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < work.length) latencies.push(await pay(work[next++]));
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  if (a.has("profile")) out(`sql: ${queries} statements, ${sqlMs.toFixed(0)} ms of round trips in total (${(queries / latencies.length).toFixed(1)} per repayment)`);
  latencies.sort((x, y) => x - y);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  out(`${latencies.length} repayments at concurrency ${concurrency} in ${secs.toFixed(2)} s: ${Math.round(latencies.length / secs)} repayments/s, p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms (targets ≥ 500/s, p99 < 100 ms)`);
} finally {
  server.close();
  await db.destroy();
  await admin.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
  await admin.destroy();
}
