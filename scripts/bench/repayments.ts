import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { Knex } from "knex";
import { createApp } from "../../src/app.js";
import { createDb, migrateLatest } from "../../src/db/knex.js";
import type { Deps } from "../../src/deps.js";
import { signStaffToken, verifyToken } from "../../src/http/auth.js";
import { FixedClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { Pii } from "../../src/lib/pii.js";
import { args, out } from "../cli.js";
import { backendsOf, databaseCpuMs, serverCpuMs } from "./cpu.js";
import { buildPortfolio } from "./loan-portfolio.js";

/**
 * `DATABASE_URL=postgres://… npx tsx scripts/bench/repayments.ts [--requests N] [--concurrency C] [--pay-on D]`:
 * repayments per second and p50/p99 latency of `POST /loans/{id}/repayments` over HTTP against an
 * in-process server on PostgreSQL (scratch database `huinong_bench_repay`, dropped afterwards).
 * Each request pays 50.00 with its own Idempotency-Key on a loan of a synthetic portfolio (every
 * request a different loan, as at a bank counter; the lock test on one loan is in the API tests),
 * sent by C clients in a worker thread so that the server's event loop serves only.
 * `--pay-on YYYY-MM-DD` pays on a later business date, when the loans have instalments due.
 * Targets: ≥ 500 repayments/s and p99 < 100 ms at concurrency 32.
 *
 * `--floor` then measures, with the same load generator and loans, the machine's ceiling for the
 * smallest money-moving request: a bare Node HTTP handler (JSON body, JWT check) running one
 * transaction of BEGIN, the loan row locked, the loan updated, one row inserted, COMMIT — no
 * framework, no schedule, no ledger, no audit. What a repayment may cost is bounded by it.
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
// The business date of the repayments: the portfolio's date (every loan paid up, so 50.00 is a
// prepayment that reschedules the loan), or later with `--pay-on` (e.g. 2025-09-15: every loan has
// an instalment due, and 50.00 goes to it without rescheduling).
const payOn = a.get("pay-on") ?? asOf;

const admin: Knex = createDb({ databaseUrl: url, poolMax: 1 });
await admin.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
await admin.raw(`CREATE DATABASE ${SCRATCH}`);
const u = new URL(url);
u.pathname = `/${SCRATCH}`;
const db = createDb({ databaseUrl: u.toString(), poolMax: concurrency + 2 });
const server = createServer();
const floor = createServer();
try {
  await migrateLatest(db);
  await db("divisions").insert([
    { code: "469030", name: "琼中县", level: "COUNTY", parent_code: null, county_code: "469030" },
    { code: "469030100", name: "营根镇", level: "TOWNSHIP", parent_code: "469030", county_code: "469030" },
    { code: "469030100201", name: "新市村", level: "VILLAGE", parent_code: "469030100", county_code: "469030" },
  ]);
  await db("banks").insert({ id: BANK, name: "基准农商银行", short_name: "基准农商行" });
  await buildPortfolio(db, { loans: requests, asOf, bankId: BANK, countyCode: "469030", villageCode: "469030100201", households: Math.max(50, Math.floor(requests / 10)), defaultEvery: 1_000_000, ledger: true });
  const loanIds = await db("loans").whereIn("status", ["DISBURSED", "EXTENDED"]).orderBy("id").pluck<string[]>("id");
  // What a county's database holds on such a day, so that the statements are planned on tables of
  // their working size: each loan's disbursement entry (above, `ledger`) and the Idempotency-Keys a
  // day of the same traffic left (kept 24 hours).
  await db.raw(
    `INSERT INTO idempotency_keys (owner, key, method, path, request_hash, status_code, response_body, created_at)
     SELECT 'earlier-' || (n % 20), md5('earlier-' || n), 'POST', '/api/v1/loans/' || md5(n::text) || '/repayments', md5(n::text), 201, '{}'::jsonb, now() - interval '12 hours'
       FROM generate_series(1, ?) n`,
    [requests],
  );
  await db.raw("VACUUM ANALYZE");

  const jwt = { secret: "bench-secret-bench-secret-bench-secret-01", issuer: "huinong", audience: "huinong-api", ttlSeconds: 3600 };
  const deps: Deps = {
    db,
    clock: new FixedClock(payOn),
    logger: createLogger("silent"),
    pii: new Pii({ encKey: Buffer.alloc(32, 1), hashKey: Buffer.alloc(32, 2) }),
    jwt,
    settings: { bodyLimit: "1mb", loginMaxFailures: 5, loginLockSeconds: 900 },
  };
  server.on("request", createApp(deps));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const token = signStaffToken(jwt, { userId: "0a000000-0000-4000-8000-0000000000be", role: "loan_officer", countyCodes: ["469030"], bankId: BANK, operatorId: null, villageCode: null });
  const pay = (ids: string[]) => load({ url: (id) => `${base}/loans/${id}/repayments`, ids, concurrency, token, idempotent: true, expect: 201 });
  let queries = 0;
  let sqlMs = 0;
  const started = new Map<string, number>();
  const byStatement = new Map<string, { n: number; ms: number }>();
  if (a.has("profile")) {
    db.on("query", (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
    db.on("query-response", (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
      queries += 1;
      const ms = performance.now() - (started.get(q.__knexQueryUid) ?? performance.now());
      sqlMs += ms;
      started.delete(q.__knexQueryUid);
      const k = q.sql.replace(/\s+/g, " ").slice(0, 90);
      const e = byStatement.get(k) ?? { n: 0, ms: 0 };
      byStatement.set(k, { n: e.n + 1, ms: e.ms + ms });
    });
  }
  // Warm up connections and code paths on the first loans.
  const warm = Math.min(200, Math.floor(loanIds.length / 10));
  await pay(loanIds.slice(0, warm));
  const work = loanIds.slice(warm);
  const { latencies, secs, cpu } = await measured(() => pay(work));
  if (a.has("profile")) {
    out(`sql: ${queries} statements, ${sqlMs.toFixed(0)} ms of round trips in total (${(queries / latencies.length).toFixed(1)} per repayment)`);
    const rows = [...byStatement.entries()].sort((x, y) => y[1].ms - x[1].ms);
    for (const [sql, e] of rows) out(`  ${(e.n / (latencies.length + warm)).toFixed(2).padStart(5)} per repayment, ${(e.ms / e.n).toFixed(2).padStart(7)} ms mean  ${sql}`);
  }
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  out(`${latencies.length} repayments on ${payOn} at concurrency ${concurrency} in ${secs.toFixed(2)} s: ${Math.round(latencies.length / secs)} repayments/s, p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms${cpuText(cpu, latencies.length)} (load ${os.loadavg()[0].toFixed(2)})`);

  if (a.has("floor")) {
    await db.raw(`CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, loan_id uuid NOT NULL, amount numeric(18,2) NOT NULL, reference text)`);
    floor.on("request", (req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        void (async () => {
          try {
            verifyToken(jwt, (req.headers.authorization ?? "").slice(7));
            const input = JSON.parse(body) as { amount: string; reference: string };
            const loanId = (req.url ?? "").split("/").pop()!;
            const row = await db.transaction(async (trx) => {
              await trx("loans").where({ id: loanId }).forUpdate().first("id");
              await trx("loans").where({ id: loanId }).update({ updated_at: trx.fn.now() });
              const [r] = await trx("bench_floor").insert({ loan_id: loanId, amount: input.amount, reference: input.reference }).returning("*");
              return r;
            });
            res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(row));
          } catch (e) {
            res.writeHead(500).end(String(e));
          }
        })();
      });
    });
    await new Promise<void>((r) => floor.listen(0, "127.0.0.1", r));
    const floorBase = `http://127.0.0.1:${(floor.address() as AddressInfo).port}`;
    const { latencies: fl, secs: fs, cpu: fc } = await measured(() => load({ url: (id) => `${floorBase}/floor/${id}`, ids: work, concurrency, token, idempotent: false, expect: 201 }));
    const fp = (p: number) => fl[Math.min(fl.length - 1, Math.floor((p / 100) * fl.length))];
    out(`floor: ${fl.length} bare transactions (BEGIN, SELECT … FOR UPDATE, UPDATE, INSERT, COMMIT) over HTTP at concurrency ${concurrency} in ${fs.toFixed(2)} s: ${Math.round(fl.length / fs)}/s, p50 ${fp(50).toFixed(1)} ms, p99 ${fp(99).toFixed(1)} ms${cpuText(fc, fl.length)} (load ${os.loadavg()[0].toFixed(2)})`);
    out(`repayments at ${(latencies.length / secs / (fl.length / fs)).toFixed(2)}× the floor's rate (target ≥ 0.5), p99 at ${(pct(99) / fp(99)).toFixed(2)}× the floor's (target ≤ 2)${cpu && fc ? `; CPU per request (server + database) at ${((cpu.server + cpu.database) / latencies.length / ((fc.server + fc.database) / fl.length)).toFixed(2)}× the floor's` : ""}`);
  }
} finally {
  floor.close();
  server.close();
  await db.destroy();
  await admin.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
  await admin.destroy();
}

/** CPU time (ms) of the server's main thread and of PostgreSQL while `run` runs, with its result. */
async function measured<T>(run: () => Promise<T>): Promise<T & { cpu?: { server: number; database: number } }> {
  // The database's part: the backends serving the scratch database (the pool's connections).
  const before = await backendsOf(db);
  const s0 = serverCpuMs();
  const d0 = databaseCpuMs(before);
  const r = await run();
  const s1 = serverCpuMs();
  const after = await backendsOf(db);
  // A backend opened during the run counts whole (it did nothing else); none ends while the pool is busy.
  const d1 = databaseCpuMs(after);
  return { ...r, cpu: s0 === undefined || d0 === undefined || s1 === undefined || d1 === undefined ? undefined : { server: s1 - s0, database: d1 - d0 } };
}

function cpuText(cpu: { server: number; database: number } | undefined, n: number): string {
  if (!cpu) return "";
  const us = (ms: number) => Math.round((ms * 1000) / n);
  return `, CPU per request: server ${us(cpu.server)} µs, database ${us(cpu.database)} µs`;
}

/**
 * The load generator: `concurrency` clients in a worker thread (its own event loop, so the server's
 * is left to the server), each posting 50.00 to the next id with `fetch` until none is left.
 * Returns the latencies in ms, sorted, and the seconds the whole run took.
 */
async function load(o: { url: (id: string) => string; ids: string[]; concurrency: number; token: string; idempotent: boolean; expect: number }): Promise<{ latencies: number[]; secs: number }> {
  const urls = o.ids.map(o.url);
  const worker = new Worker(
    `const { parentPort, workerData: w } = require("node:worker_threads");
     const { randomUUID } = require("node:crypto");
     (async () => {
       const latencies = [];
       let next = 0;
       const t0 = performance.now();
       await Promise.all(Array.from({ length: w.concurrency }, async () => {
         while (next < w.urls.length) {
           const url = w.urls[next++];
           const t1 = performance.now();
           const headers = { "content-type": "application/json", authorization: "Bearer " + w.token };
           if (w.idempotent) headers["idempotency-key"] = randomUUID();
           const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ amount: "50.00", reference: "BENCH-" + randomUUID() }) });
           const text = await res.text();
           if (res.status !== w.expect) throw new Error(url + " answered " + res.status + ": " + text);
           latencies.push(performance.now() - t1);
         }
       }));
       parentPort.postMessage({ latencies, secs: (performance.now() - t0) / 1000 });
     })();`,
    { eval: true, workerData: { urls, concurrency: o.concurrency, token: o.token, idempotent: o.idempotent, expect: o.expect } },
  );
  const r = await new Promise<{ latencies: number[]; secs: number }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  r.latencies.sort((x, y) => x - y);
  return r;
}
