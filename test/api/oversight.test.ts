import { Writable } from "node:stream";
import { pino } from "pino";
import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createDb } from "../../src/db/knex.js";
import { ACCOUNTS, postJournalEntry } from "../../src/lib/ledger.js";
import { REDACT_PATHS } from "../../src/lib/logger.js";
import { createHousehold, householdBody } from "../helpers/factories.js";
import { expectProblem } from "../helpers/expect.js";
import { COUNTY, USERS } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp();
const API = "/api/v1";

interface AuditItem {
  id: number;
  seq: number;
  chain: string;
  action: string;
  entity_type: string;
  entity_id: string;
  county_code: string;
  actor_id: string;
  actor_role: string;
  request_id: string;
  occurred_at: string;
  hash: string;
  after: Record<string, unknown>;
}

describe("GET /audit-log", () => {
  it("shows every write of the county: who, when, what and the request id", async () => {
    const res = await t.as("village").post(`${API}/households`, householdBody()).set("X-Request-Id", "req-audit-001");
    expect(res.status).toBe(201);
    expect(res.headers["x-request-id"]).toBe("req-audit-001");
    const log = await t.as("regulator").get(`${API}/audit-log?entity_id=${res.body.id}`);
    expect(log.status).toBe(200);
    const [row] = log.body.items as AuditItem[];
    expect(log.body.items).toHaveLength(1);
    expect(row).toMatchObject({
      action: "household.create",
      entity_type: "household",
      entity_id: res.body.id,
      county_code: COUNTY,
      chain: COUNTY,
      actor_id: USERS.village.userId,
      actor_role: "village_officer",
      request_id: "req-audit-001",
      occurred_at: "2025-06-02T04:00:00.000Z",
    });
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.after).toMatchObject({ status: "POOR", village_code: res.body.village_code });
  });

  it("filters by entity type and action and pages by cursor", async () => {
    const h = await createHousehold(t, { as: "village" });
    await t.as("village").patch(`${API}/households/${h.id}`, { housing_safety: "UNSAFE" });
    await t.as("village").patch(`${API}/households/${h.id}`, { housing_safety: "RENOVATED" });
    const updates = await t.as("admin").get(`${API}/audit-log?action=household.update&entity_id=${h.id}`);
    expect(updates.body.items.map((r: AuditItem) => r.after.housing_safety)).toEqual(["UNSAFE", "RENOVATED"]);
    const first = await t.as("admin").get(`${API}/audit-log?entity_type=household&entity_id=${h.id}&limit=2`);
    expect(first.body.items.map((r: AuditItem) => r.action)).toEqual(["household.create", "household.update"]);
    const second = await t.as("admin").get(`${API}/audit-log?entity_type=household&entity_id=${h.id}&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items.map((r: AuditItem) => r.action)).toEqual(["household.update"]);
    expect(second.body.next_cursor).toBeNull();
    const seqs = [...first.body.items, ...second.body.items].map((r: AuditItem) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("is for admins and regulators of the county only", async () => {
    const h = await createHousehold(t, { as: "village" });
    expectProblem(await t.as("village").get(`${API}/audit-log`), 403, "FORBIDDEN");
    expectProblem(await t.as("officer").get(`${API}/audit-log`), 403, "FORBIDDEN");
    expectProblem(await t.as("finance").get(`${API}/audit-log`), 403, "FORBIDDEN");
    expectProblem(await t.http.get(`${API}/audit-log`), 401, "UNAUTHENTICATED");
    expect((await t.as("otherAdmin").get(`${API}/audit-log?entity_id=${h.id}`)).body.items).toEqual([]);
    expect((await t.as("otherRegulator").get(`${API}/audit-log?county_code=${COUNTY}`)).body.items).toEqual([]);
    expectProblem(await t.as("admin").get(`${API}/audit-log?limit=abc`), 400, "VALIDATION_FAILED", "query.limit");
    expectProblem(await t.as("admin").get(`${API}/audit-log?county_code=46903`), 400, "VALIDATION_FAILED", "query.county_code");
    expectProblem(await t.as("admin").get(`${API}/audit-log?cursor=${Buffer.from("not-a-number").toString("base64url")}`), 400, "VALIDATION_FAILED", "query.cursor");
    expectProblem(await t.as("admin").get(`${API}/audit-log?entity_id=%00`), 400, "VALIDATION_FAILED", "query.entity_id");
  });
});

describe("GET /audit-log/verify", () => {
  it("confirms an intact chain, names an edited row, and is for admins and regulators", async () => {
    await createHousehold(t, { as: "village" });
    const total = Number((await t.db("audit_log").where({ chain: COUNTY }).count<{ n: string }[]>("* as n"))[0].n);
    const ok = await t.as("regulator").get(`${API}/audit-log/verify`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, chains: 1, checked: total, problems: [] });
    expectProblem(await t.as("village").get(`${API}/audit-log/verify`), 403, "FORBIDDEN");
    expectProblem(await t.as("officer").get(`${API}/audit-log/verify`), 403, "FORBIDDEN");
    expectProblem(await t.http.get(`${API}/audit-log/verify`), 401, "UNAUTHENTICATED");
    // The other county's regulator verifies its own (empty) chains only.
    expect((await t.as("otherRegulator").get(`${API}/audit-log/verify`)).body).toMatchObject({ ok: true, checked: 0 });

    // Someone with database access rewrites history: the verify call names the row.
    const victim = await t.db("audit_log").where({ chain: COUNTY }).orderBy("seq").offset(1).first();
    await t.db.raw("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    try {
      await t.db("audit_log").where({ id: victim.id }).update({ actor_role: "admin" });
      const bad = await t.as("admin").get(`${API}/audit-log/verify`);
      expect(bad.body.ok).toBe(false);
      expect(bad.body.problems).toEqual([expect.objectContaining({ chain: COUNTY, id: Number(victim.id), seq: Number(victim.seq), problem: "HASH_MISMATCH" })]);
      await t.db("audit_log").where({ id: victim.id }).update({ actor_role: victim.actor_role });
    } finally {
      await t.db.raw("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
    }
    expect((await t.as("admin").get(`${API}/audit-log/verify`)).body.ok).toBe(true);
  });
});

describe("GET /ledger/reconciliation", () => {
  it("reports a balanced trial balance of the caller's counties", async () => {
    const empty = await t.as("finance").get(`${API}/ledger/reconciliation`);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ ok: true, trial_balance: { debits: "0.00", credits: "0.00", balanced: true } });
    await t.db.transaction((trx) =>
      postJournalEntry(trx, {
        countyCode: COUNTY,
        entryDate: "2025-06-02",
        kind: "test.fund_deposit",
        lines: [
          { account: ACCOUNTS.FUND_CASH, debit: "1000000.00" },
          { account: ACCOUNTS.FUND_CAPITAL, credit: "1000000.00" },
        ],
      }),
    );
    const after = await t.as("admin").get(`${API}/ledger/reconciliation`);
    expect(after.body.trial_balance).toEqual({ debits: "1000000.00", credits: "1000000.00", balanced: true });
    expect(Array.isArray(after.body.checks)).toBe(true);
    const regulator = await t.as("regulator").get(`${API}/ledger/reconciliation`);
    expect(regulator.body.trial_balance.debits).toBe("1000000.00");
    // Another county's ledger is its own.
    expect((await t.as("otherAdmin").get(`${API}/ledger/reconciliation`)).body.trial_balance).toEqual({ debits: "0.00", credits: "0.00", balanced: true });
    expectProblem(await t.as("operator").get(`${API}/ledger/reconciliation`), 403, "FORBIDDEN");
    expectProblem(await t.as("village").get(`${API}/ledger/reconciliation`), 403, "FORBIDDEN");
    expectProblem(await t.as("officer").get(`${API}/ledger/reconciliation`), 403, "FORBIDDEN");
    expectProblem(await t.http.get(`${API}/ledger/reconciliation`), 401, "UNAUTHENTICATED");
  });
});

describe("platform endpoints", () => {
  it("/healthz answers without a token and echoes a sane request id", async () => {
    const res = await t.http.get("/healthz").set("X-Request-Id", "abc-123");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
    expect(res.headers["x-request-id"]).toBe("abc-123");
    const odd = await t.http.get("/healthz").set("X-Request-Id", "bad id with spaces <script>");
    expect(odd.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("/readyz is 200 on a migrated database and 503 when the database is unreachable", async () => {
    const res = await t.http.get("/readyz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ready" });
    const unreachable = createDb({ databaseUrl: "postgres://nobody@127.0.0.1:1/none", poolMax: 1 });
    try {
      const app = createApp({ ...t.deps, db: unreachable });
      expectProblem(await supertest(app).get("/readyz"), 503, "SERVICE_UNAVAILABLE");
    } finally {
      await unreachable.destroy();
    }
  });

  it("/openapi.json is an OpenAPI 3.1 document listing every endpoint with its schemas", async () => {
    const res = await t.http.get("/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toEqual(expect.any(String));
    const expected: [string, string[]][] = [
      ["/api/v1/auth/token", ["post"]],
      ["/api/v1/divisions", ["get", "post"]],
      ["/api/v1/households", ["get", "post"]],
      ["/api/v1/households/{id}", ["get", "patch"]],
      ["/api/v1/households/{id}/members", ["get", "post"]],
      ["/api/v1/households/{id}/status-changes", ["get", "post"]],
      ["/api/v1/audit-log", ["get"]],
      ["/api/v1/audit-log/verify", ["get"]],
      ["/api/v1/ledger/reconciliation", ["get"]],
    ];
    for (const [path, methods] of expected) {
      expect(Object.keys(doc.paths), path).toContain(path);
      for (const m of methods) expect(doc.paths[path][m], `${m} ${path}`).toBeDefined();
    }
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.schemas.Problem).toBeDefined();
    const create = doc.components.schemas.HouseholdCreate;
    expect(create.required).toEqual(expect.arrayContaining(["village_code", "household_type", "main_cause", "members"]));
    expect(doc.paths["/api/v1/households/{id}"].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toContain("path:id");
    expect(doc.paths["/api/v1/households"].post.responses["201"]).toBeDefined();
    expect(doc.paths["/api/v1/households"].post.responses["400"].content["application/problem+json"]).toBeDefined();
    expect(doc.paths["/api/v1/auth/token"].post.security).toEqual([]);
    expect(doc.info.description).toContain("[/docs/errors](/docs/errors)");
    expect((await t.http.get("/docs/errors")).text).toContain('<tr id="INVALID_STATUS_CHANGE">');
  });

  it("/docs serves the interactive reference", async () => {
    const res = await t.http.get("/docs").redirects(1);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
    expect(res.text).toContain("swagger-ui");
    const init = await t.http.get("/docs/swagger-ui-init.js");
    expect(init.status).toBe(200);
    expect(init.text).toContain("/openapi.json");
  });

  it("answers unknown routes and oversized bodies with problem+json", async () => {
    expectProblem(await t.http.get("/nowhere"), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").get(`${API}/nowhere`), 404, "NOT_FOUND");
    expectProblem(await t.http.get(`${API}/nowhere`), 401, "UNAUTHENTICATED");
    const huge = { ...householdBody(), bank_name: "x".repeat(1_100_000) };
    expectProblem(await t.as("admin").post(`${API}/households`, huge), 413, "PAYLOAD_TOO_LARGE");
  });

  it("keeps personal data out of the request log", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: "info", redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, sink);
    const app = createApp({ ...t.deps, logger });
    const body = householdBody();
    const plainId = body.members[0].id_number;
    const auth = `Bearer ${t.token("village")}`;
    const created = await supertest(app).post(`${API}/households`).set("Authorization", auth).send(body);
    expect(created.status).toBe(201);
    expect((await supertest(app).get(`${API}/households?id_number=${plainId}&status=POOR`).set("Authorization", auth)).status).toBe(200);
    expect((await supertest(app).get("/healthz")).status).toBe(200);
    const text = lines.join("");
    expect(text).toContain("/api/v1/households?id_number=%5Bredacted%5D&status=POOR");
    for (const secret of [plainId, body.phone, body.bank_account, t.token("village")]) expect(text).not.toContain(secret);
    // One line per request, when answered: id (as sent back to the client), method, URL, status, time.
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 30, msg: "request completed", req: { id: created.headers["x-request-id"], method: "POST", url: `${API}/households` }, res: { statusCode: 201 } });
    expect(logged[0].responseTime).toEqual(expect.any(Number));
    expect(Object.keys(logged[0].req).sort()).toEqual(["id", "method", "url"]);
    expect(logged[1]).toMatchObject({ level: 30, req: { method: "GET" }, res: { statusCode: 200 } });
  });
});
