import type { IncomingMessage } from "node:http";
import type { Express } from "express";
import jwt from "jsonwebtoken";
import { pino } from "pino";
import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { portalHotReads } from "../../src/modules/portal/index.js";
import { type PortalPartner, portalSignIn, registerPartner } from "../helpers/factories.js";
import { TEST_JWT, useTestApp } from "../helpers/harness.js";

/**
 * The portal's hot reads (`/portal/me/dividends` and `/portal/me/summary`, answered before the
 * Express stack) answer exactly what the routes answer: the same body and headers for a good
 * request, and every refusal — no token, a bad one, a staff token, an ended one, a query the route
 * refuses, the partner's rate limit — the same status, problem+json and headers. Each request is
 * sent to the app and to the same app built without its hot routes (`hotRoutes: false`).
 */
const t = useTestApp();
const API = "/api/v1";
let full: Express;

// Headers whose values belong to the moment or the request, not to the answer.
const VARYING = new Set(["date", "x-request-id", "ratelimit", "connection", "keep-alive"]);
function answerOf(res: supertest.Response) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([k]) => !VARYING.has(k)));
  return { status: res.status, text: res.text, headers, headerNames: Object.keys(res.headers).sort() };
}
const get = (app: Express, path: string, auth?: string, requestId?: string) => {
  const r = supertest(app).get(path);
  if (auth !== undefined) r.set("Authorization", auth);
  if (requestId) r.set("X-Request-Id", requestId);
  return r;
};

let bank: PortalPartner;
let a: { id: string; token: string };
beforeAll(async () => {
  full = createApp(t.deps, { hotRoutes: false });
  bank = await registerPartner(t, "hot-bank-app");
  a = await portalSignIn(t, bank);
}, 60_000);

describe("the hot reads answer as the routes do", () => {
  it("a good request: the same body, status and headers (security headers, no-store, rate-limit policy, content type and length)", async () => {
    for (const path of ["/portal/me/dividends", "/portal/me/summary", "/portal/me/summary?year=2025", "/portal/me/summary?year=2024"]) {
      const hot = await get(t.app, `${API}${path}`, `Bearer ${a.token}`);
      const old = await get(full, `${API}${path}`, `Bearer ${a.token}`);
      expect(hot.status, path).toBe(200);
      expect(answerOf(hot), path).toEqual(answerOf(old));
      expect(hot.headers["cache-control"]).toBe("no-store");
      expect(hot.headers["content-security-policy"]).toContain("default-src 'self'");
      expect(hot.headers.ratelimit).toMatch(/^limit=600, remaining=\d+, reset=\d+$/);
      expect(hot.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect((await get(t.app, `${API}/portal/me/summary`, `Bearer ${a.token}`)).body).toMatchObject({ year: 2025, total: "0.00" });
  });

  it("echoes a sane X-Request-Id and replaces one that is not", async () => {
    for (const app of [t.app, full]) {
      expect((await get(app, `${API}/portal/me/dividends`, `Bearer ${a.token}`, "req-42.a:b")).headers["x-request-id"]).toBe("req-42.a:b");
      expect((await get(app, `${API}/portal/me/dividends`, `Bearer ${a.token}`, "no spaces allowed")).headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("refuses what the routes refuse, with the same problem+json: no token, bad tokens, a staff token, bad queries", async () => {
    const forged = jwt.sign({ typ: "household", county: "469030", partner: "x", rl: 600, hep: 0, pep: 0 }, "another-secret", { algorithm: "HS256", subject: a.id, expiresIn: 900, issuer: TEST_JWT.issuer, audience: TEST_JWT.audience });
    const cases: [string, string | undefined, number][] = [
      ["/portal/me/dividends", undefined, 401],
      ["/portal/me/dividends", "Bearer", 401],
      ["/portal/me/dividends", "Bearer not.a.token", 401],
      ["/portal/me/summary", `Bearer ${forged}`, 401],
      ["/portal/me/dividends", `Bearer ${t.token("admin")}`, 401],
      ["/portal/me/dividends?year=2025", `Bearer ${a.token}`, 400],
      ["/portal/me/summary?year=1999", `Bearer ${a.token}`, 400],
      ["/portal/me/summary?year=abcd", `Bearer ${a.token}`, 400],
      ["/portal/me/summary?year=2025&year=2024", `Bearer ${a.token}`, 400],
      ["/portal/me/summary?yr=2025", `Bearer ${a.token}`, 400],
    ];
    for (const [path, auth, status] of cases) {
      const hot = await get(t.app, `${API}${path}`, auth);
      const old = await get(full, `${API}${path}`, auth);
      expect(hot.status, `${path} ${auth}`).toBe(status);
      expect(hot.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
      expect(answerOf(hot), `${path} ${auth}`).toEqual(answerOf(old));
    }
  });

  it("an ended token (PIN issued again) is refused alike", async () => {
    const h = await portalSignIn(t, bank);
    expect((await get(t.app, `${API}/portal/me/dividends`, `Bearer ${h.token}`)).status).toBe(200);
    expect((await t.as("village").post(`${API}/households/${h.id}/portal-pin`)).status).toBe(201);
    const hot = await get(t.app, `${API}/portal/me/dividends`, `Bearer ${h.token}`);
    const old = await get(full, `${API}/portal/me/dividends`, `Bearer ${h.token}`);
    expect(hot.status).toBe(401);
    expect(answerOf(hot)).toEqual(answerOf(old));
  });

  it("counts the partner's requests together with the routes' and answers the same 429 past the limit", async () => {
    const tiny = await registerPartner(t, "hot-tiny-app", 4);
    const h = await portalSignIn(t, tiny);
    const answers = [];
    for (const app of [t.app, full, t.app, full, t.app, full]) answers.push(await get(app, `${API}/portal/me/dividends`, `Bearer ${h.token}`));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(answers.map((r) => r.headers.ratelimit?.replace(/, reset=\d+$/, ""))).toEqual([3, 2, 1, 0, 0, 0].map((n) => `limit=4, remaining=${n}`));
    expect(answers[4].body.code).toBe("TOO_MANY_REQUESTS");
    expect(answers[4].headers["retry-after"]).toBe("60");
    expect(answerOf(answers[4])).toEqual(answerOf(answers[5]));
  });
});

describe("what the hot reads take", () => {
  const request = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers }) as unknown as IncomingMessage;

  it("takes only plain GETs of the two reads with a good household token; leaves everything else to the routes", () => {
    const hot = portalHotReads(t.deps, API);
    const auth = { authorization: `Bearer ${a.token}` };
    for (const url of [`${API}/portal/me/dividends`, `${API}/portal/me/summary`, `${API}/portal/me/summary?year=2000`, `${API}/portal/me/summary?year=2100`]) {
      expect(hot(request("GET", url, auth)), url).toBeTypeOf("function");
    }
    const left: [string, string, Record<string, string>][] = [
      ["GET", `${API}/portal/me`, auth],
      ["GET", `${API}/portal/me/loans`, auth],
      ["GET", `${API}/portal/me/dividends/`, auth],
      ["GET", `${API}/portal/me/Dividends`, auth],
      ["GET", `${API}/portal/me/dividends?`, auth],
      ["GET", `${API}/portal/me/dividends?x=1`, auth],
      ["GET", `${API}/portal/me/summary?year=1999`, auth],
      ["GET", `${API}/portal/me/summary?year=2101`, auth],
      ["GET", `${API}/portal/me/summary?year=02025`, auth],
      ["GET", `${API}/portal/me/summary?year=2025&x=1`, auth],
      ["HEAD", `${API}/portal/me/dividends`, auth],
      ["POST", `${API}/portal/me/dividends`, auth],
      ["GET", `${API}/portal/me/dividends`, { ...auth, "content-length": "2" }],
      ["GET", `${API}/portal/me/dividends`, { ...auth, "transfer-encoding": "chunked" }],
      ["GET", `${API}/portal/me/dividends`, {}],
      ["GET", `${API}/portal/me/dividends`, { authorization: "Bearer nope" }],
      ["GET", `${API}/portal/me/dividends`, { authorization: `Bearer ${t.token("admin")}` }],
    ];
    for (const [method, url, headers] of left) expect(hot(request(method, url, headers)), `${method} ${url} ${JSON.stringify(Object.keys(headers))}`).toBeUndefined();
  });

  it("writes the request's log line as the routes do", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const app = createApp({ ...t.deps, logger });
    const res = await get(app, `${API}/portal/me/summary?year=2025`, `Bearer ${a.token}`, "log-me-1");
    expect(res.status).toBe(200);
    const line = lines.find((l) => (l.req as { id?: string } | undefined)?.id === "log-me-1");
    expect(line).toMatchObject({ level: 30, msg: "request completed", req: { id: "log-me-1", method: "GET", url: `${API}/portal/me/summary?year=2025` }, res: { statusCode: 200 } });
    expect(line?.responseTime).toBeTypeOf("number");
    expect(JSON.stringify(line)).not.toContain(a.token);
  });
});
