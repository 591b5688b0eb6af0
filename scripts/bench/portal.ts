import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import autocannon from "autocannon";
import express from "express";
import { pino } from "pino";
import { seedDemoReference, seedHouseholds } from "../../db/seeds/demo.js";
import { createApp } from "../../src/app.js";
import { migrateLatest } from "../../src/db/knex.js";
import { preparedRows } from "../../src/lib/prepared.js";
import { verifyToken } from "../../src/http/auth.js";
import type { Deps } from "../../src/deps.js";
import { systemClock } from "../../src/lib/clock.js";
import { REDACT_PATHS } from "../../src/lib/logger.js";
import { hashPassword } from "../../src/lib/password.js";
import { Pii } from "../../src/lib/pii.js";
import { args, out } from "../cli.js";
import { backendsOf, databaseCpuMs, serverCpuMs } from "./cpu.js";
import { scratchDb } from "./database.js";

/**
 * `npx tsx scripts/bench/portal.ts [--households 20000] [--seconds 10] [--connections 32] [--tokens 50]`:
 * seeds a county of N households with four paid dividends each and trusteeship-free records, signs
 * in `--tokens` households through a partner, then runs autocannon against GET /portal/me/dividends
 * and GET /portal/me/summary on an in-process server, rotating the household tokens, and prints
 * requests per second and latency percentiles. Target on PostgreSQL: ≥ 2,000 req/s, p99 < 50 ms.
 * `--log-requests` logs every request at info (into /dev/null) as a production server would.
 * `--serve` instead leaves the seeded server running for an external load generator (prints URL and a token).
 * `--floor` also measures, with the same load, two ceilings of this machine: a bare Node HTTP
 * handler that checks the token and reads the household's shares with one indexed query, and an
 * Express app with no middleware answering a constant JSON (no token, no database); each read's
 * req/s is also given as a multiple of the bare handler's. `--compare` also measures the same app
 * built without its hot routes (the reads through the whole Express stack). `--rounds N` repeats
 * it all N times back to back, so a change of the machine's load falls on every figure alike.
 */

const a = args();
const households = Number(a.get("households") ?? 20000);
const seconds = Number(a.get("seconds") ?? 10);
const connections = Number(a.get("connections") ?? 32);
const tokenCount = Number(a.get("tokens") ?? 50);
const rounds = Number(a.get("rounds") ?? 1);
const closers: Server[] = [];

const { db, kind, drop } = await scratchDb("huinong_bench_portal", { poolMax: 20, keep: a.has("keep") });
try {
  const pii = new Pii({ encKey: randomBytes(32), hashKey: randomBytes(32) });
  const clock = systemClock;
  let t0 = performance.now();
  await migrateLatest(db);
  await seedDemoReference(db);
  await seedHouseholds({ db, pii, clock }, { households });
  const year = Number(clock.today().slice(0, 4));
  // Four paid village distributions a year per village (one a quarter), every eligible household a share.
  await db.raw(
    `INSERT INTO distributions (county_code, scope, village_code, period, period_year, reference_date, rule, status, income_total, retention_amount,
        earmarks_total, cap_excess, collective_total, pool_amount, shares_total, household_count, total_weight, computed_at, notice_date, payable_from, paid_total, paid_on, created_by)
     SELECT v.county_code, 'VILLAGE', v.code, ? || 'Q' || q, ?, make_date(?, q * 3, 1), '{}'::jsonb, 'PAID', 100000, 20000, 0, 0, 20000, 80000, 80000, 1, 1,
            now(), make_date(?, q * 3, 1), make_date(?, q * 3, 8), 80000, make_date(?, q * 3, 10), gen_random_uuid()
       FROM divisions v CROSS JOIN generate_series(1, 4) q WHERE v.level = 'VILLAGE'`,
    [String(year), year, year, year, year, year],
  );
  await db.raw(
    `INSERT INTO distribution_shares (distribution_id, household_id, county_code, village_code, status_at_reference, eligibility, members, multiplier, weight,
        uncapped_amount, amount, payment_status, bank_reference, paid_on)
     SELECT d.id, h.id, h.county_code, h.village_code, h.status, CASE WHEN h.status = 'MONITORED' THEN 'MONITORED' ELSE 'POOR' END, 1, 1, 1,
            412.37, 412.37, 'PAID', 'BENCH-' || left(h.id::text, 8), d.paid_on
       FROM distributions d JOIN households h ON h.village_code = d.village_code AND h.status IN ('POOR', 'MONITORED')`,
  );
  const partnerSecret = "bench-secret";
  await db("partners").insert({ client_id: "bench-app", name: "压测门户", secret_hash: await hashPassword(partnerSecret), county_codes: ["469030"], rate_limit_per_minute: 10_000_000 });
  const heads = await db("household_members as m")
    .join("households as h", "h.id", "m.household_id")
    .where("m.relation", "HEAD")
    .whereIn("h.status", ["POOR", "MONITORED"])
    .orderBy("h.id")
    .limit(tokenCount)
    .select("h.id", "m.id_number_enc");
  const pinHash = await hashPassword("258147");
  await db("household_credentials").insert(heads.map((h) => ({ household_id: h.id, county_code: "469030", pin_hash: pinHash, must_change: false, issued_by: h.id, issued_at: new Date() })));
  const seedSeconds = (performance.now() - t0) / 1000;

  const deps: Deps = {
    db,
    clock,
    // `--log-requests`: every request logged at info, as in production, into /dev/null.
    logger: a.has("log-requests") ? pino({ level: "info", redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, pino.destination({ dest: "/dev/null", sync: false })) : pino({ level: "silent" }),
    pii,
    jwt: { secret: randomBytes(32).toString("hex"), issuer: "huinong", audience: "huinong-api", ttlSeconds: 3600 },
    settings: { bodyLimit: "1mb", loginMaxFailures: 5, loginLockSeconds: 900 },
  };
  const server = createApp(deps).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  t0 = performance.now();
  const tokens: string[] = [];
  for (const h of heads) {
    const res = await fetch(`${base}/api/v1/portal/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: "bench-app", client_secret: partnerSecret, id_number: pii.decrypt(h.id_number_enc), pin: "258147" }),
    });
    if (!res.ok) throw new Error(`portal token: ${res.status} ${await res.text()}`);
    tokens.push(((await res.json()) as { access_token: string }).access_token);
  }
  const loginSeconds = (performance.now() - t0) / 1000;
  const sample = await (await fetch(`${base}/api/v1/portal/me/dividends`, { headers: { authorization: `Bearer ${tokens[0]}` } })).json();

  if (a.has("serve")) {
    // Leave the server up for an external load generator: prints the URL and one token, runs until killed.
    out(`serving ${base} token ${tokens[0]}`);
    await new Promise(() => undefined);
  }
  out(`portal benchmark — ${kind}, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  out(`seeded ${households} households and their dividends in ${seedSeconds.toFixed(1)} s; ${tokens.length} portal logins in ${loginSeconds.toFixed(1)} s; a household has ${(sample as { items: unknown[] }).items.length} dividends`);

  // The load comes from a worker thread (its own event loop) so it does not steal the server's;
  // each connection cycles through the household tokens.
  const load = async (target: string, path: string, withTokens = true) => {
    const url = new URL(`${target}${path}`);
    const cpu0 = serverCpuMs();
    // The database's part: the backends serving the scratch database (PGlite has none).
    const pids = kind.startsWith("PGlite") ? [] : await backendsOf(db);
    const db0 = databaseCpuMs(pids);
    const r = await autocannon({
      url: target,
      connections,
      duration: seconds,
      workers: 1,
      requests: withTokens ? tokens.map((tok) => ({ method: "GET" as const, path: `${url.pathname}${url.search}`, headers: { authorization: `Bearer ${tok}` } })) : [{ method: "GET" as const, path }],
    });
    const cpu = cpu0 === undefined ? undefined : (serverCpuMs()! - cpu0) / r.requests.total;
    const pidsAfter = kind.startsWith("PGlite") ? [] : await backendsOf(db);
    const dbCpu = db0 === undefined ? undefined : (databaseCpuMs(pidsAfter)! - db0) / r.requests.total;
    const us = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1000));
    return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, bad: r.non2xx + r.errors, cpuUs: us(cpu), dbCpuUs: us(dbCpu) };
  };
  type Figures = Awaited<ReturnType<typeof load>>;
  const line = (label: string, f: Figures, floor?: number) =>
    out(
      `${label.padEnd(44)} ${String(f.rps).padStart(6)} req/s  p50 ${f.p50} ms  p99 ${f.p99} ms${floor ? `  ${(f.rps / floor).toFixed(2)}× floor` : ""}${f.cpuUs === undefined ? "" : `  server ${f.cpuUs} µs CPU/request`}${f.dbCpuUs === undefined || kind.startsWith("PGlite") ? "" : `, database ${f.dbCpuUs} µs`}  (${f.total} requests, ${f.bad} non-2xx/errors, ${connections} connections, load ${os.loadavg()[0].toFixed(2)})`,
    );

  // `--compare`: the same app built without its hot routes, so the same reads take the whole Express stack.
  const servers = [{ name: "", base }];
  if (a.has("compare")) {
    const fullStack = createApp(deps, { hotRoutes: false }).listen(0, "127.0.0.1");
    await new Promise((r) => fullStack.once("listening", r));
    servers.push({ name: "full stack ", base: `http://127.0.0.1:${(fullStack.address() as AddressInfo).port}` });
    closers.push(fullStack);
  }
  // `--floor`: two ceilings of this machine under the same load.
  let bareBase = "";
  let plainBase = "";
  if (a.has("floor")) {
    const bare = createServer((req, res) => {
      void (async () => {
        try {
          const claims = verifyToken(deps.jwt, (req.headers.authorization ?? "").slice(7));
          const rows = await preparedRows(db, "floor_shares", "SELECT distribution_id, amount::text AS amount, paid_on::text AS paid_on FROM distribution_shares WHERE household_id = $1", [String(claims.sub)]);
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: rows }));
        } catch (e) {
          res.writeHead(500).end(String(e));
        }
      })();
    }).listen(0, "127.0.0.1");
    await new Promise((r) => bare.once("listening", r));
    bareBase = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    const plain = express();
    plain.get("/constant", (_req, res) => {
      res.json({ items: [], next_cursor: null });
    });
    const ps = plain.listen(0, "127.0.0.1");
    await new Promise((r) => ps.once("listening", r));
    plainBase = `http://127.0.0.1:${(ps.address() as AddressInfo).port}`;
    closers.push(bare, ps);
  }
  // `--rounds N` repeats the measurements back to back, so a change of the machine's load (other
  // work shares it) falls on all of them alike; each read is set against the floor of its round.
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) out(`round ${round}`);
    const floor = bareBase ? await load(bareBase, "/floor") : undefined;
    if (floor) line("floor (bare handler, one query)", floor);
    for (const path of ["/api/v1/portal/me/dividends", `/api/v1/portal/me/summary?year=${year}`]) {
      for (const s of servers) line(`${s.name}${path}`, await load(s.base, path), floor?.rps);
    }
    if (plainBase) line("floor (bare Express, constant JSON)", await load(plainBase, "/constant", false));
  }
  for (const c of closers) {
    c.closeAllConnections();
    await new Promise((r) => c.close(r));
  }
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
} finally {
  await drop();
}
