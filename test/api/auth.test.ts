import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../helpers/expect.js";
import { COUNTY, TEST_PASSWORD, USERS, VILLAGE } from "../helpers/fixture.js";
import { hashPassword } from "../../src/lib/password.js";
import { onPostgres, TEST_JWT, useTestApp } from "../helpers/harness.js";

const t = useTestApp();
const TOKEN = "/api/v1/auth/token";

const login = (username: string, password: string) => t.http.post(TOKEN).send({ username, password });

describe("POST /auth/token", () => {
  it("issues a bearer token carrying the role and jurisdiction, which then opens the API", async () => {
    const res = await login("t-village", TEST_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: 3600, role: "village_officer" });
    const header = JSON.parse(Buffer.from(res.body.access_token.split(".")[0], "base64url").toString());
    expect(header.alg).toBe("HS256");
    const claims = jwt.verify(res.body.access_token, TEST_JWT.secret, { audience: TEST_JWT.audience, issuer: TEST_JWT.issuer }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: USERS.village.userId, role: "village_officer", counties: [COUNTY], village: VILLAGE });
    expect(claims.exp! - claims.iat!).toBe(3600);
    const households = await t.http.get("/api/v1/households").set("Authorization", `Bearer ${res.body.access_token}`);
    expect(households.status).toBe(200);
  });

  it("answers 401 for a wrong password or an unknown user, the same way", async () => {
    const wrong = await login("t-admin", "not-the-password");
    expectProblem(wrong, 401, "BAD_CREDENTIALS");
    const unknown = await login("nobody", TEST_PASSWORD);
    expectProblem(unknown, 401, "BAD_CREDENTIALS");
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expect(wrong.body.access_token).toBeUndefined();
  });

  it("refuses a deactivated user even with the right password", async () => {
    await t.db("users").where({ username: "t-officer2" }).update({ active: false });
    expectProblem(await login("t-officer2", TEST_PASSWORD), 401, "BAD_CREDENTIALS");
  });

  it("validates the body", async () => {
    expectProblem(await t.http.post(TOKEN).send({ username: "t-admin" }), 400, "VALIDATION_FAILED", "body.password");
    expectProblem(await t.http.post(TOKEN).send({ username: "", password: "x" }), 400, "VALIDATION_FAILED", "body.username");
    expectProblem(await t.http.post(TOKEN).send({ username: "t-admin", password: TEST_PASSWORD, role: "admin" }), 400, "VALIDATION_FAILED", "body.role");
    expectProblem(await t.http.post(TOKEN).send({ username: "t-admin\u0000", password: TEST_PASSWORD }), 400, "VALIDATION_FAILED", "body.username");
    expectProblem(await t.http.post(TOKEN).send([1, 2]), 400, "VALIDATION_FAILED");
    expectProblem(await t.http.post(TOKEN).set("Content-Type", "application/json").send('{"username":'), 400, "BAD_JSON");
    expectProblem(await t.http.post(TOKEN).set("Content-Type", "application/x-www-form-urlencoded").send("username=t-admin&password=x"), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("locks a username after 5 failures: 429 with Retry-After even with the right password, until the lock ends", async () => {
    for (let i = 0; i < 5; i++) expectProblem(await login("t-finance", `wrong-${i}`), 401, "BAD_CREDENTIALS");
    const locked = await login("t-finance", TEST_PASSWORD);
    expectProblem(locked, 429, "TOO_MANY_REQUESTS");
    expect(locked.headers["retry-after"]).toBe("900");
    expect(locked.body.access_token).toBeUndefined();
    // Other users are not affected.
    expect((await login("t-manager", TEST_PASSWORD)).status).toBe(200);
    t.clock.set(new Date(t.clock.now().getTime() + 899_000));
    const still = await login("t-finance", TEST_PASSWORD);
    expectProblem(still, 429, "TOO_MANY_REQUESTS");
    expect(still.headers["retry-after"]).toBe("1");
    t.clock.set(new Date(t.clock.now().getTime() + 2_000));
    expect((await login("t-finance", TEST_PASSWORD)).status).toBe(200);
    // The lock is over and the count starts again: one failure is a plain 401.
    expectProblem(await login("t-finance", "wrong-again"), 401, "BAD_CREDENTIALS");
    expect((await login("t-finance", TEST_PASSWORD)).status).toBe(200);
    t.clock.set("2025-06-02");
  });

  it("a successful login clears the failure count", async () => {
    for (let i = 0; i < 4; i++) expectProblem(await login("t-regulator", `wrong-${i}`), 401, "BAD_CREDENTIALS");
    expect((await login("t-regulator", TEST_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 4; i++) expectProblem(await login("t-regulator", `wrong-${i}`), 401, "BAD_CREDENTIALS");
    // Eight failures in all, but never five in a row: not locked.
    expect((await login("t-regulator", TEST_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 5; i++) expectProblem(await login("t-regulator", `wrong-${i}`), 401, "BAD_CREDENTIALS");
    expectProblem(await login("t-regulator", TEST_PASSWORD), 429, "TOO_MANY_REQUESTS");
  });
});

describe("lockouts that hold under bursts", () => {
  const MAX = 5; // LOGIN_MAX_FAILURES in the test settings
  /** A user of its own per test, so no other test's failures count against it. */
  async function freshUser(username: string) {
    await t.db("users").insert({ username, password_hash: await hashPassword(TEST_PASSWORD), display_name: username, role: "regulator", county_codes: [COUNTY] });
  }
  const failures = async (username: string) => (await t.db("login_throttle").where({ username }).first<{ failures: number } | undefined>())?.failures ?? 0;

  it("counts wrong passwords one after another and refuses the right one during the lock; after it, the right one works and clears the count", async () => {
    await freshUser("t-burst-seq");
    for (let i = 0; i < MAX; i++) expectProblem(await login("t-burst-seq", `wrong-${i}`), 401, "BAD_CREDENTIALS");
    expect(await failures("t-burst-seq")).toBe(MAX);
    for (let i = 0; i < 3; i++) expectProblem(await login("t-burst-seq", `wrong-more-${i}`), 429, "TOO_MANY_REQUESTS");
    const locked = await login("t-burst-seq", TEST_PASSWORD);
    expectProblem(locked, 429, "TOO_MANY_REQUESTS");
    expect(locked.headers["retry-after"]).toBe("900");
    // Every attempt is counted, the refused ones too.
    expect(await failures("t-burst-seq")).toBe(MAX + 4);
    t.clock.set(new Date(t.clock.now().getTime() + 900_000));
    expect((await login("t-burst-seq", TEST_PASSWORD)).status).toBe(200);
    expect(await t.db("login_throttle").where({ username: "t-burst-seq" }).first()).toBeUndefined();
    t.clock.set("2025-06-02");
  });

  it.skipIf(!onPostgres)("checks at most 5 of 30 wrong passwords sent at once, refuses the rest and then the right one with 429 (PostgreSQL only; PGlite has one connection)", async () => {
    await freshUser("t-burst-par");
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login("t-burst-par", `wrong-${i}`)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(MAX);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    for (const r of answers.filter((a) => a.status === 429)) expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
    expect(await failures("t-burst-par")).toBe(30);
    expectProblem(await login("t-burst-par", TEST_PASSWORD), 429, "TOO_MANY_REQUESTS");
    t.clock.set(new Date(t.clock.now().getTime() + 901_000));
    expect((await login("t-burst-par", TEST_PASSWORD)).status).toBe(200);
    expect(await failures("t-burst-par")).toBe(0);
    t.clock.set("2025-06-02");
  }, 180_000);
});

describe("bearer tokens", () => {
  const sign = (claims: object, opts: jwt.SignOptions, secret = TEST_JWT.secret) => jwt.sign(claims, secret, opts);
  const staff = { sub: USERS.admin.userId, typ: "staff", role: "admin", counties: [COUNTY], sid: "5e000000-0000-4000-8000-000000000001", ep: 0 };
  const good: jwt.SignOptions = { algorithm: "HS256", issuer: TEST_JWT.issuer, audience: TEST_JWT.audience, expiresIn: 600 };
  const get = (token: string) => t.http.get("/api/v1/divisions").set("Authorization", `Bearer ${token}`);

  it("accepts a well-formed staff token", async () => {
    expect((await get(sign(staff, good))).status).toBe(200);
  });

  it("refuses expired, foreign, mis-addressed, unsigned and non-staff tokens with 401", async () => {
    const expired = sign({ ...staff, exp: Math.floor(Date.now() / 1000) - 10 }, { algorithm: "HS256", issuer: TEST_JWT.issuer, audience: TEST_JWT.audience });
    const cases = {
      expired,
      otherSecret: sign(staff, good, "another-secret-another-secret-another-1"),
      otherAudience: sign(staff, { ...good, audience: "someone-else" }),
      otherIssuer: sign(staff, { ...good, issuer: "someone-else" }),
      unsigned: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify({ ...staff, iss: TEST_JWT.issuer, aud: TEST_JWT.audience, exp: Math.floor(Date.now() / 1000) + 600 })).toString("base64url")}.`,
      unknownRole: sign({ ...staff, role: "superuser" }, good),
      notStaff: sign({ ...staff, typ: "portal" }, good),
      // Correctly signed, but a token that never expires would never end.
      noExpiry: sign(staff, { algorithm: "HS256", issuer: TEST_JWT.issuer, audience: TEST_JWT.audience }),
      noSession: sign({ ...staff, sid: undefined }, good),
      noVersion: sign({ ...staff, ep: undefined }, good),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await get(token);
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expectProblem(res, 401, "UNAUTHENTICATED");
    }
    const none = await t.http.get("/api/v1/divisions");
    expectProblem(none, 401, "UNAUTHENTICATED");
    expect(none.headers["www-authenticate"]).toBe("Bearer");
    expectProblem(await t.http.get("/api/v1/divisions").set("Authorization", "Basic dDp0"), 401, "UNAUTHENTICATED");
  });
});
