import { randomUUID } from "node:crypto";
import express from "express";
import fc from "fast-check";
import supertest, { type Response } from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { problemHandler } from "../../src/http/problem.js";
import { createLogger } from "../../src/lib/logger.js";
import { expectProblem } from "../helpers/expect.js";
import { createHousehold, householdBody } from "../helpers/factories.js";
import { BANK, COUNTY, TEST_PASSWORD } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { PINS_SENT_IN_TESTS, scanLogText } from "../helpers/log-scan.js";

/**
 * What an attacker's client sends: bodies nested ten thousand deep, bodies at and over the size
 * limit, misspelt and repeated query parameters, random JSON and random query strings. The answer
 * is always a clear 4xx problem+json, never a 500, and comes back at once; nothing is changed; and
 * nothing personal reaches the log.
 */
const t = useTestApp({ today: "2024-06-21" });
const API = "/api/v1";
// Bounded so the file stays well under a minute on a busy two-core machine.
const RUNS = 40;

const deepArray = (n: number) => "[".repeat(n) + "]".repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);

/**
 * The answer and the CPU time the process (app and client, both in this process) spent on it:
 * unlike wall-clock time, it does not grow when the machine is busy with other work, so "well
 * under a second" is asserted on it.
 */
async function timed(req: supertest.Test): Promise<{ res: Response; ms: number }> {
  const start = process.cpuUsage();
  const res = await req;
  const used = process.cpuUsage(start);
  return { res, ms: (used.user + used.system) / 1000 };
}

let fundId = "";
beforeAll(async () => {
  const f = await t.as("finance").post(`${API}/risk-funds`, { county_code: COUNTY, bank_id: BANK, name: "琼中县风险补偿金（输入测试）" });
  expect(f.status, JSON.stringify(f.body)).toBe(201);
  fundId = f.body.id;
});

const deposit = (body: string, key = randomUUID()) =>
  supertest(t.app).post(`${API}/risk-funds/${fundId}/deposits`).set("Authorization", `Bearer ${t.token("finance")}`).set("Idempotency-Key", key).type("json").send(body);

describe("bodies nested too deeply", () => {
  it("are 400 BODY_TOO_DEEP at once on the public token endpoint", async () => {
    await supertest(t.app).post(`${API}/auth/token`).type("json").send("[]"); // warm up the route before timing
    for (const body of [deepArray(10_000), deepObject(10_000), `{"username":"t-admin","password":${deepArray(10_000)}}`]) {
      const { res, ms } = await timed(supertest(t.app).post(`${API}/auth/token`).type("json").send(body));
      expectProblem(res, 400, "BODY_TOO_DEEP");
      expect(ms).toBeLessThan(500);
    }
  });

  it("are 400 BODY_TOO_DEEP on a money POST, change nothing, and leave the Idempotency-Key unused", async () => {
    const key = randomUUID();
    const before = await t.db("journal_entries").count<{ n: string }[]>("* as n");
    for (const body of [deepArray(10_000), `{"amount":"100.00","reference":${deepObject(10_000)}}`]) {
      const { res, ms } = await timed(deposit(body, key));
      expectProblem(res, 400, "BODY_TOO_DEEP");
      expect(ms).toBeLessThan(500);
    }
    // Nearly a megabyte of brackets: refused after reading 33 of them, not after seconds.
    const { res, ms } = await timed(deposit("[".repeat(1_000_000), key));
    expectProblem(res, 400, "BODY_TOO_DEEP");
    expect(ms).toBeLessThan(500);
    expect(await t.db("journal_entries").count<{ n: string }[]>("* as n")).toEqual(before);
    const ok = await deposit(JSON.stringify({ amount: "100.00", reference: "县财政拨入" }), key);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.headers["idempotent-replayed"]).toBeUndefined();
    expect(ok.body.fund.balance).toBe("100.00");
  });

  it("are counted outside strings only, and the limit is 32 levels", async () => {
    // 32 levels is within the limit (the route then refuses the shape), 33 is not.
    const at = (n: number) => supertest(t.app).post(`${API}/auth/token`).type("json").send(`{"username":${deepArray(n - 1)}}`);
    expectProblem(await at(32), 400, "VALIDATION_FAILED", "body.username");
    expectProblem(await at(33), 400, "BODY_TOO_DEEP");
    const brackets = await supertest(t.app).post(`${API}/auth/token`).type("json").send({ username: "[".repeat(50), password: "{".repeat(50) });
    expectProblem(brackets, 401, "BAD_CREDENTIALS");
  });
});

describe("large bodies", () => {
  it("a wide but shallow body under the size limit is read and answered as usual", async () => {
    // A valid deposit padded to 900 kB of whitespace is accepted …
    const padded = `{"amount":"50.00",${" ".repeat(900_000)}"reference":"宽而浅"}`;
    const ok = await deposit(padded);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.fund.balance).toBe("150.00");
    // … and 40,000 array items where an object belongs are the route's own 400, not a depth or size error.
    expectProblem(await deposit(JSON.stringify(Array.from({ length: 40_000 }, (_, i) => [i, { x: i }]))), 400, "VALIDATION_FAILED");
  });

  it("over the size limit is 413", async () => {
    const res = await deposit(JSON.stringify({ amount: "50.00", reference: "x".repeat(1_100_000) }));
    expectProblem(res, 413, "PAYLOAD_TOO_LARGE");
    expectProblem(await supertest(t.app).post(`${API}/auth/token`).type("json").send(deepArray(600_000)), 413, "PAYLOAD_TOO_LARGE");
  });
});

describe("query parameters", () => {
  it("a parameter a list route does not take is 400 naming it, never ignored", async () => {
    const cases: [string, string, string][] = [
      ["admin", `${API}/loans?stauts=ACTIVE`, "stauts"],
      ["admin", `${API}/households?village=469030100201`, "village"],
      ["regulator", `${API}/alerts?state=OPEN&severty=HIGH`, "severty"],
      ["finance", `${API}/risk-funds?bank=${BANK}`, "bank"],
      ["admin", `${API}/circuit-breakers?status=TRIPPED&limit=5&sort=desc`, "sort"],
      ["regulator", `${API}/audit-log?entity=loan`, "entity"],
    ];
    for (const [who, url, name] of cases) {
      const res = await t.as(who as "admin").get(url);
      expectProblem(res, 400, "UNKNOWN_QUERY_PARAMETER", `query.${name}`);
      expect(res.body.detail).toContain(name);
    }
  });

  it("a route that takes no query refuses any", async () => {
    const h = await createHousehold(t);
    expect((await t.as("village").get(`${API}/households/${h.id}`)).status).toBe(200);
    expectProblem(await t.as("village").get(`${API}/households/${h.id}?fields=all`), 400, "UNKNOWN_QUERY_PARAMETER", "query.fields");
    expectProblem(await t.as("admin").get(`${API}/ledger/reconciliation?county=${COUNTY}`), 400, "UNKNOWN_QUERY_PARAMETER", "query.county");
  });

  it("array forms of a single-valued filter are 400, not one value picked silently", async () => {
    expectProblem(await t.as("admin").get(`${API}/loans?status=ACTIVE&status=OVERDUE`), 400, "VALIDATION_FAILED", "query.status");
    expectProblem(await t.as("admin").get(`${API}/loans?limit=5&limit=500`), 400, "VALIDATION_FAILED", "query.limit");
    expectProblem(await t.as("admin").get(`${API}/loans?status[]=ACTIVE`), 400, "UNKNOWN_QUERY_PARAMETER", "query.status[]");
    expectProblem(await t.as("admin").get(`${API}/households?status[0]=POOR&a[b][c]=1`), 400, "UNKNOWN_QUERY_PARAMETER", "query.a[b][c]");
  });

  it("known parameters, CSV export and one value each keep working", async () => {
    const list = await t.as("admin").get(`${API}/loans?status=DISBURSED&limit=5`);
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.items).toEqual([]);
    const csv = await t.as("admin").get(`${API}/reports/county-summary?county_code=${COUNTY}&month=2024-06&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expectProblem(await t.as("admin").get(`${API}/reports/county-summary?county_code=${COUNTY}&month=2024-06&format=pdf`), 400, "VALIDATION_FAILED", "query.format");
  });
});

describe("random input never gets a 500", () => {
  /** JSON of any shape, sometimes deeper than the limit. */
  const anyJson = fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 20, max: 60 }).map((n) => JSON.parse(deepArray(n)) as unknown) },
    { weight: 1, arbitrary: fc.record({ username: fc.jsonValue({ maxDepth: 3 }), password: fc.jsonValue({ maxDepth: 3 }), amount: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }) },
  );
  const expectClean = (res: Response) => {
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(typeof res.body.code).toBe("string");
    }
  };

  it("random JSON bodies on the token endpoint, a money POST and a register write", async () => {
    const before = await t.db("journal_entries").count<{ n: string }[]>("* as n");
    await fc.assert(
      fc.asyncProperty(anyJson, async (body) => {
        const text = JSON.stringify(body);
        expectClean(await supertest(t.app).post(`${API}/auth/token`).type("json").send(text));
        expectClean(await deposit(text));
        expectClean(await supertest(t.app).post(`${API}/households`).set("Authorization", `Bearer ${t.token("village")}`).type("json").send(text));
      }),
      { numRuns: RUNS },
    );
    expect(await t.db("journal_entries").count<{ n: string }[]>("* as n")).toEqual(before);
  });

  it("random query strings on list routes", async () => {
    const name = fc.oneof(
      fc.constantFrom("limit", "cursor", "status", "county_code", "village_code", "id_number", "status[]", "a[b][c]", "__proto__", "constructor", "%zz", "limit[]", "cursor%00"),
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
    );
    const value = fc.oneof(
      fc.constantFrom("", "ACTIVE", "POOR", "5", "-1", "1e9", "%", "%E0%A4%A", "\u0000", "[]", "{}", COUNTY),
      fc.string({ unit: "binary", maxLength: 20 }).map(encodeURIComponent),
    );
    const query = fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 5 }).map((ps) => ps.map(([k, v]) => `${k}=${v}`).join("&"));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/loans", "/households", "/alerts", "/risk-funds", "/divisions"), query, async (path, q) => {
        expectClean(await t.as("admin").get(`${API}${path}?${q}`));
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("personal data never reaches the log", () => {
  it("neither as a query parameter of any spelling, nor in the path, nor in a rejected request", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (s: string) => void lines.push(s) });
    const app = createApp({ ...t.deps, logger });
    const body = householdBody();
    const id = body.members[0].id_number;
    const auth = `Bearer ${t.token("village")}`;
    expect((await supertest(app).post(`${API}/households`).set("Authorization", auth).send(body)).status).toBe(201);
    expectProblem(await supertest(app).post(`${API}/households`).set("Authorization", auth).send(body), 409, "DUPLICATE_ID_NUMBER");
    for (const q of [`id_number=${id}`, `id_number[]=${id}`, `ID-NUMBER=${id}`, `idNumber=${id}`, `id_number=${id}&id_number=${id}`, `q=${id}`, `phone=${body.phone}`, `mobile=${body.phone}`, `pin=${PINS_SENT_IN_TESTS[0]}`]) {
      const res = await supertest(app).get(`${API}/households?${q}`).set("Authorization", auth);
      expect(res.status, q).toBeLessThan(500);
    }
    await supertest(app).get(`${API}/households/by-id-number/${id}`).set("Authorization", auth);
    await supertest(app).post(`${API}/auth/token`).send({ username: "t-admin", password: TEST_PASSWORD, extra: id });
    await supertest(app).post(`${API}/auth/token`).send({ username: id, password: "Huinong-2026" });
    const text = lines.join("");
    expect(lines.length).toBeGreaterThanOrEqual(14);
    for (const secret of [id, body.phone, body.bank_account, TEST_PASSWORD, "Huinong-2026", PINS_SENT_IN_TESTS[0], t.token("village")]) expect(text).not.toContain(secret);
    expect(scanLogText(text)).toEqual([]);
    expect(text).toContain("id_number%5B%5D=%5Bredacted%5D");
  });

  it("nor in the log of an unexpected error, while the client gets a generic 500", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (s: string) => void lines.push(s) });
    const id = householdBody().members[0].id_number;
    const app = express();
    app.get("/boom", () => {
      throw Object.assign(new Error(`duplicate key value violates unique constraint "m_uq"`), { code: "XX000", detail: `Key (id_number_hash, phone)=(${id}, 13812345678) already exists.`, where: `member ${id}` });
    });
    app.use(problemHandler(logger));
    const res = await supertest(app).get("/boom");
    expectProblem(res, 500, "INTERNAL");
    expect(JSON.stringify(res.body)).not.toContain(id);
    const text = lines.join("");
    expect(text).toContain("unexpected error");
    expect(text).toContain("Key (id_number_hash, phone)=([redacted]) already exists.");
    expect(text).not.toContain(id);
    expect(scanLogText(text)).toEqual([]);
  });
});
