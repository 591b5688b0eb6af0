import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { createHousehold, householdBody } from "../helpers/factories.js";
import { OTHER_VILLAGE } from "../helpers/fixture.js";
import { onPostgres, useTestApp } from "../helpers/harness.js";
import { PIN_LOCK_SECONDS, PIN_MAX_FAILURES } from "../../src/modules/portal/service.js";

const t = useTestApp();

interface Partner {
  client_id: string;
  client_secret: string;
}

async function partner(clientId: string, counties = ["469030"], rate = 600): Promise<Partner> {
  const res = await t.as(counties[0] === "469025" ? "otherAdmin" : "admin").post("/api/v1/partners", { client_id: clientId, name: `伙伴 ${clientId}`, county_codes: counties, rate_limit_per_minute: rate });
  expect(res.status).toBe(201);
  return res.body;
}

async function householdWithPin(opts: Parameters<typeof createHousehold>[1] = {}) {
  const h = await createHousehold(t, opts);
  const full = await t.as(opts.village === OTHER_VILLAGE ? "otherVillage" : "village").get(`/api/v1/households/${h.id}`);
  const headId: string = full.body.members[0].id_number;
  const pin = await t.as(opts.village === OTHER_VILLAGE ? "otherVillage" : "village").post(`/api/v1/households/${h.id}/portal-pin`);
  expect(pin.status).toBe(201);
  expect(pin.body.pin).toMatch(/^\d{6}$/);
  return { id: h.id, headId, pin: pin.body.pin as string };
}

const token = (p: Partner, idNumber: string, pin: string) =>
  supertest(t.app).post("/api/v1/portal/token").send({ client_id: p.client_id, client_secret: p.client_secret, id_number: idNumber, pin });

describe("portal token", () => {
  let bank: Partner;
  beforeAll(async () => {
    bank = await partner("qz-bank-app");
  });

  it("issues a short-lived read-only household token for the right credentials", async () => {
    const h = await householdWithPin();
    const res = await token(bank, h.headId, h.pin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: 900, scope: "household:read", must_change_pin: true });
    expect(res.headers["cache-control"]).toBe("no-store");
    const me = await supertest(t.app).get("/api/v1/portal/me").set("Authorization", `Bearer ${res.body.access_token}`);
    expect(me.status).toBe(200);
    // Personal data: never kept by a cache on the way, and no ETag to revalidate it by.
    expect(me.headers["cache-control"]).toBe("no-store");
    expect(me.headers.etag).toBeUndefined();
    expect(me.body.household_id).toBe(h.id);
    expect(me.body.head_name).toBe("王*国");
    expect(me.body.head_id_number).toMatch(/^469030\*{8}[0-9X]{4}$/);
    expect(me.body.village_name).toBe("新市村");
    expect(me.body.bank_account).toBe("6217***********0123");
  });

  it("refuses a wrong secret, a wrong PIN and a PIN of another household alike", async () => {
    const a = await householdWithPin();
    const b = await householdWithPin();
    for (const res of [
      await supertest(t.app).post("/api/v1/portal/token").send({ client_id: bank.client_id, client_secret: "nope", id_number: a.headId, pin: a.pin }),
      await token(bank, a.headId, a.pin === "000000" ? "111111" : "000000"),
      await token(bank, a.headId, b.pin === a.pin ? "999999" : b.pin),
    ]) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("BAD_CREDENTIALS");
    }
  });

  it("locks a household after five wrong PINs, even for the right PIN, then lets it in after 15 minutes", async () => {
    const h = await householdWithPin();
    const wrong = h.pin === "123456" ? "654321" : "123456";
    for (let i = 0; i < 5; i++) expect((await token(bank, h.headId, wrong)).status).toBe(401);
    const locked = await token(bank, h.headId, h.pin);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe("TOO_MANY_REQUESTS");
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(0);
    t.clock.set(new Date(t.clock.now().getTime() + 901_000));
    expect((await token(bank, h.headId, h.pin)).status).toBe(200);
  });

  it("records the partner's lookup of a household by its head's ID number in the audit log, never the whole number", async () => {
    const h = await householdWithPin();
    const before = await t.db("audit_log").where({ action: "household.lookup_by_id_number" }).count<{ n: string }[]>("* as n");
    expect((await token(bank, h.headId, h.pin)).status).toBe(200);
    expect((await token(bank, h.headId, h.pin === "000000" ? "111111" : "000000")).status).toBe(401);
    const rows = await t.db("audit_log").where({ action: "household.lookup_by_id_number", entity_id: h.id }).orderBy("id");
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).toMatchObject({ actor_id: null, entity_type: "household", request_id: `portal:${bank.client_id}` });
      expect(r.after).toMatchObject({ id_number: `${h.headId.slice(0, 6)}********${h.headId.slice(-4)}`, found: 1, via: `partner:${bank.client_id}` });
      expect(JSON.stringify(r)).not.toContain(h.headId);
    }
    const after = await t.db("audit_log").where({ action: "household.lookup_by_id_number" }).count<{ n: string }[]>("* as n");
    expect(Number(after[0].n) - Number(before[0].n)).toBe(2);
  });

  it("limits a partner to its counties", async () => {
    const other = await partner("other-county-app", ["469025"]);
    const h = await householdWithPin();
    expect((await token(other, h.headId, h.pin)).status).toBe(401);
    // The other county's admin cannot register a partner for this county.
    const res = await t.as("otherAdmin").post("/api/v1/partners", { client_id: "sneaky", name: "x", county_codes: ["469030"] });
    expect(res.status).toBe(404);
  });

  it("lets the household change its PIN; the old one stops working", async () => {
    const h = await householdWithPin();
    const newPin = h.pin === "271828" ? "314159" : "271828";
    const res = await supertest(t.app)
      .post("/api/v1/portal/pin")
      .send({ client_id: bank.client_id, client_secret: bank.client_secret, id_number: h.headId, pin: h.pin, new_pin: newPin });
    expect(res.status).toBe(200);
    expect((await token(bank, h.headId, h.pin)).status).toBe(401);
    const ok = await token(bank, h.headId, newPin);
    expect(ok.status).toBe(200);
    expect(ok.body.must_change_pin).toBe(false);
    const easy = await supertest(t.app)
      .post("/api/v1/portal/pin")
      .send({ client_id: bank.client_id, client_secret: bank.client_secret, id_number: h.headId, pin: newPin, new_pin: "111111" });
    expect(easy.status).toBe(400);
  });

  it("stores PINs and partner secrets hashed", async () => {
    const h = await householdWithPin();
    const cred = await t.db("household_credentials").where({ household_id: h.id }).first();
    expect(cred.pin_hash).toMatch(/^scrypt\$/);
    expect(cred.pin_hash).not.toContain(h.pin);
    const p = await t.db("partners").where({ client_id: bank.client_id }).first();
    expect(p.secret_hash).not.toContain(bank.client_secret);
  });
});

describe("PIN lockouts that hold under bursts", () => {
  let bank: Partner;
  beforeAll(async () => {
    bank = await partner("qz-burst-app");
  });
  const failures = async (householdId: string) => (await t.db("household_credentials").where({ household_id: householdId }).first<{ failures: number }>()).failures;

  it("counts wrong PINs one after another, refuses the right PIN during the lock, lets it in after the lock and clears the count", async () => {
    const h = await householdWithPin();
    const wrong = h.pin === "123456" ? "654321" : "123456";
    for (let i = 0; i < PIN_MAX_FAILURES; i++) expect((await token(bank, h.headId, wrong)).status).toBe(401);
    const locked = await token(bank, h.headId, h.pin);
    expect(locked.status).toBe(429);
    expect(locked.headers["retry-after"]).toBe(String(PIN_LOCK_SECONDS));
    expect(await failures(h.id)).toBe(PIN_MAX_FAILURES + 1);
    t.clock.set(new Date(t.clock.now().getTime() + PIN_LOCK_SECONDS * 1000));
    expect((await token(bank, h.headId, h.pin)).status).toBe(200);
    expect(await failures(h.id)).toBe(0);
    t.clock.set("2025-06-02");
  });

  it.skipIf(!onPostgres)("checks at most PIN_MAX_FAILURES of 20 wrong PINs sent at once; the rest and then the right PIN answer 429 (PostgreSQL only; PGlite has one connection)", async () => {
    const h = await householdWithPin();
    const wrongs = Array.from({ length: 20 }, (_, i) => String((Number(h.pin) + 1 + i) % 1_000_000).padStart(6, "0"));
    const answers = await Promise.all(wrongs.map((w) => token(bank, h.headId, w)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(PIN_MAX_FAILURES);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(await failures(h.id)).toBe(20);
    const cred = await t.db("household_credentials").where({ household_id: h.id }).first<{ locked_until: Date | null }>();
    expect(cred.locked_until!.getTime()).toBeGreaterThan(t.clock.now().getTime());
    const right = await token(bank, h.headId, h.pin);
    expect(right.status).toBe(429);
    expect(right.body.code).toBe("TOO_MANY_REQUESTS");
    t.clock.set(new Date(t.clock.now().getTime() + PIN_LOCK_SECONDS * 1000 + 1000));
    expect((await token(bank, h.headId, h.pin)).status).toBe(200);
    t.clock.set("2025-06-02");
  }, 180_000);
});

describe("portal scope", () => {
  it("a household token reads nothing outside /portal and cannot write", async () => {
    const p = await partner("scope-app");
    const h = await householdWithPin();
    const tok = (await token(p, h.headId, h.pin)).body.access_token as string;
    const other = await createHousehold(t);
    expect((await supertest(t.app).get(`/api/v1/households/${other.id}`).set("Authorization", `Bearer ${tok}`)).status).toBe(401);
    expect((await supertest(t.app).get(`/api/v1/households/${h.id}`).set("Authorization", `Bearer ${tok}`)).status).toBe(401);
    expect((await supertest(t.app).post("/api/v1/portal/me").set("Authorization", `Bearer ${tok}`).send({})).status).toBe(403);
    // A staff token is not a household token.
    expect((await supertest(t.app).get("/api/v1/portal/me").set("Authorization", `Bearer ${t.token("admin")}`)).status).toBe(401);
    expect((await supertest(t.app).get("/api/v1/portal/me")).status).toBe(401);
  });

  it("rate-limits a partner as registered (429 past the limit)", async () => {
    const p = await partner("tiny-app", ["469030"], 3);
    const h = await householdWithPin();
    const tok = (await token(p, h.headId, h.pin)).body.access_token as string;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await supertest(t.app).get("/api/v1/portal/me").set("Authorization", `Bearer ${tok}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it("only the village officer of the village or the admin issues PINs", async () => {
    const h = await createHousehold(t);
    expect((await t.as("village2").post(`/api/v1/households/${h.id}/portal-pin`)).status).toBe(404);
    expect((await t.as("officer").post(`/api/v1/households/${h.id}/portal-pin`)).status).toBe(403);
    expect((await t.as("admin").post(`/api/v1/households/${h.id}/portal-pin`)).status).toBe(201);
    const far = await t.as("otherVillage").post("/api/v1/households", householdBody({ village: OTHER_VILLAGE }));
    expect(far.status).toBe(201);
    expect((await t.as("village").post(`/api/v1/households/${far.body.id}/portal-pin`)).status).toBe(404);
  });
});
