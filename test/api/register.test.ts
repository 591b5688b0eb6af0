import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeIdNumber } from "../../src/lib/id-number.js";
import { createHousehold, exitApprovals, householdBody, idNumber } from "../helpers/factories.js";
import { expectProblem, idNumberEndingInX, registerCounts } from "../helpers/expect.js";
import { COUNTY, OTHER_COUNTY, USERS, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { onPostgres, TEST_PII, useTestApp } from "../helpers/harness.js";
import { KEY_TTL_HOURS } from "../../src/http/command.js";

const t = useTestApp();
const API = "/api/v1";

interface AuditItem {
  action: string;
  entity_id: string;
  actor_id: string | null;
  actor_role: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

async function auditOf(entityId: string): Promise<AuditItem[]> {
  const res = await t.as("admin").get(`${API}/audit-log?entity_id=${entityId}`);
  expect(res.status).toBe(200);
  return res.body.items as AuditItem[];
}

/** A household registered since 2016, so exits dated in May 2025 come after its status began. */
async function oldHousehold(as: "admin" | "village" = "village", extra: Record<string, unknown> = {}) {
  const res = await t.as(as).post(`${API}/households`, { ...householdBody(), status_since: "2016-03-01", ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; members: { id: string; id_number: string }[] };
}

describe("GET /divisions", () => {
  it("lists the divisions of the caller's counties only, filtered by level", async () => {
    const res = await t.as("operator").get(`${API}/divisions?level=VILLAGE`);
    expect(res.status).toBe(200);
    const codes = (res.body.items as { code: string }[]).map((d) => d.code);
    expect(codes).toEqual([VILLAGE, VILLAGE_2]);
    const all = await t.as("admin").get(`${API}/divisions`);
    expect((all.body.items as { county_code: string }[]).every((d) => d.county_code === COUNTY)).toBe(true);
    const other = await t.as("otherAdmin").get(`${API}/divisions`);
    expect((other.body.items as { code: string }[]).map((d) => d.code)).toEqual([OTHER_COUNTY, "469025100", "469025100201"]);
  });

  it("pages with limit and cursor without repeating a row", async () => {
    const first = await t.as("admin").get(`${API}/divisions?limit=2`);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await t.as("admin").get(`${API}/divisions?limit=2&cursor=${first.body.next_cursor}`);
    const seen = [...first.body.items, ...second.body.items].map((d: { code: string }) => d.code);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([COUNTY, "469030100", VILLAGE, VILLAGE_2].slice(0, seen.length));
  });

  it("rejects bad query parameters and a missing token", async () => {
    expectProblem(await t.as("admin").get(`${API}/divisions?level=STREET`), 400, "VALIDATION_FAILED", "query.level");
    expectProblem(await t.as("admin").get(`${API}/divisions?limit=0`), 400, "VALIDATION_FAILED", "query.limit");
    expectProblem(await t.as("admin").get(`${API}/divisions?cursor=${Buffer.from("x".repeat(150)).toString("base64url")}`), 400, "VALIDATION_FAILED", "query.cursor");
    expectProblem(await t.http.get(`${API}/divisions`), 401, "UNAUTHENTICATED");
  });
});

describe("POST /divisions", () => {
  it("registers a township and then a village under it, with an audit row", async () => {
    const before = await registerCounts(t.db);
    const town = await t.as("admin").post(`${API}/divisions`, { code: "469030101", name: "湾岭镇" });
    expect(town.status).toBe(201);
    expect(town.body).toEqual({ code: "469030101", name: "湾岭镇", level: "TOWNSHIP", parent_code: COUNTY, county_code: COUNTY });
    const village = await t.as("admin").post(`${API}/divisions`, { code: "469030101201", name: "鸭坡村" });
    expect(village.body).toMatchObject({ level: "VILLAGE", parent_code: "469030101" });
    expect((await registerCounts(t.db)).divisions).toBe(before.divisions + 2);
    const audit = await auditOf("469030101201");
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "division.create", actor_id: USERS.admin.userId, after: { name: "鸭坡村", level: "VILLAGE" } });
    const listed = await t.as("admin").get(`${API}/divisions?parent_code=469030101`);
    expect(listed.body.items.map((d: { code: string }) => d.code)).toEqual(["469030101201"]);
  });

  it("validates the code and its parent, and refuses duplicates", async () => {
    expectProblem(await t.as("admin").post(`${API}/divisions`, { code: "46903", name: "短" }), 400, "VALIDATION_FAILED", "body.code");
    expectProblem(await t.as("admin").post(`${API}/divisions`, { code: "469030102", name: "" }), 400, "VALIDATION_FAILED", "body.name");
    expectProblem(await t.as("admin").post(`${API}/divisions`, { code: "469030102", name: "黎母山镇", level: "TOWNSHIP" }), 400, "VALIDATION_FAILED", "body.level");
    expectProblem(await t.as("admin").post(`${API}/divisions`, { code: "469030199201", name: "无镇之村" }), 422, "INVALID_DIVISION", "body.code");
    expectProblem(await t.as("admin").post(`${API}/divisions`, { code: VILLAGE, name: "新市村" }), 409, "CONFLICT");
  });

  it("is for admins of that county only", async () => {
    expectProblem(await t.as("village").post(`${API}/divisions`, { code: "469030103", name: "长征镇" }), 403, "FORBIDDEN");
    expectProblem(await t.as("regulator").post(`${API}/divisions`, { code: "469030103", name: "长征镇" }), 403, "FORBIDDEN");
    expectProblem(await t.as("otherAdmin").post(`${API}/divisions`, { code: "469030103", name: "长征镇" }), 404, "NOT_FOUND");
    expectProblem(await t.http.post(`${API}/divisions`).send({ code: "469030103", name: "长征镇" }), 401, "UNAUTHENTICATED");
    expect(await t.db("divisions").where({ code: "469030103" }).first()).toBeUndefined();
  });

  it("replays a retried POST with the same key and refuses the key with another body", async () => {
    const key = randomUUID();
    const first = await t.as("admin").post(`${API}/divisions`, { code: "469030104", name: "红毛镇" }, key);
    expect(first.status).toBe(201);
    const again = await t.as("admin").post(`${API}/divisions`, { code: "469030104", name: "红毛镇" }, key);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await auditOf("469030104")).toHaveLength(1);
    expectProblem(await t.as("admin").post(`${API}/divisions`, { code: "469030105", name: "中平镇" }, key), 422, "IDEMPOTENCY_KEY_REUSED");
    expect(await t.db("divisions").where({ code: "469030105" }).first()).toBeUndefined();
  });

  it("treats a key past its lifetime as new: the request runs and its answer replaces the old one", async () => {
    const key = randomUUID();
    expect((await t.as("admin").post(`${API}/divisions`, { code: "469030106", name: "湾岭镇" }, key)).status).toBe(201);
    await t.db("idempotency_keys").where({ key }).update({ created_at: t.db.raw(`now() - interval '${KEY_TTL_HOURS + 1} hours'`) });
    const later = await t.as("admin").post(`${API}/divisions`, { code: "469030107", name: "黎母山镇" }, key);
    expect(later.status, JSON.stringify(later.body)).toBe(201);
    expect(later.headers["idempotent-replayed"]).toBeUndefined();
    expect(await t.db("divisions").where({ code: "469030107" }).first()).toBeDefined();
    const replay = await t.as("admin").post(`${API}/divisions`, { code: "469030107", name: "黎母山镇" }, key);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toEqual(later.body);
    expect(await t.db("idempotency_keys").where({ key })).toHaveLength(1);
  });
});

describe("POST /households", () => {
  it("registers a household with members; the village officer of its village sees its personal data whole", async () => {
    const body = householdBody({ incomes: [{ year: 2024, net_income: "25000.00" }] });
    const res = await t.as("village").post(`${API}/households`, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      village_code: VILLAGE,
      township_code: "469030100",
      county_code: COUNTY,
      status: "POOR",
      status_since: "2025-06-02",
      exit_date: null,
      head_name: "王建国",
      member_count: 2,
      phone: "13812345678",
      bank_account: "6217001234567890123",
      pii_masked: false,
      version: 1,
      incomes: [{ year: 2024, net_income: "25000.00", per_capita_net_income: "12500.00" }],
    });
    expect(res.body.household_no).toMatch(new RegExp(`^${VILLAGE}\\d{6}$`));
    const head = res.body.members.find((m: { relation: string }) => m.relation === "HEAD");
    expect(head).toMatchObject({ id_number: body.members[0].id_number, id_number_masked: false, birth_date: "1980-05-17" });
    // Sex comes from the parity of the 17th character.
    expect(head.sex).toBe(Number(body.members[0].id_number[16]) % 2 === 1 ? "M" : "F");
    const audit = await auditOf(res.body.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "household.create", actor_id: USERS.village.userId, actor_role: "village_officer" });
  });

  it("never stores the plain ID number, phone or bank account in any table", async () => {
    const id = idNumber("1969-11-30");
    const res = await t.as("village").post(`${API}/households`, { ...householdBody({ members: [{ relation: "HEAD", id_number: id }] }), phone: "13987654321", bank_account: "6228480012345678901" }, randomUUID());
    expect(res.status).toBe(201);
    const member = await t.db("household_members").where({ household_id: res.body.id }).first();
    expect(member.id_number_enc).not.toContain(id);
    expect(member.id_number_hash).toBe(TEST_PII.lookupHash(id));
    expect(member.id_number_masked).toBe(`${id.slice(0, 6)}********${id.slice(14)}`);
    expect(TEST_PII.decrypt(member.id_number_enc)).toBe(id);
    const household = await t.db("households").where({ id: res.body.id }).first();
    expect(household.phone_masked).toBe("139****4321");
    expect(household.bank_account_masked).toBe("6228***********8901");
    expect(TEST_PII.decrypt(household.phone_enc)).toBe("13987654321");
    // A dump of the database reveals none of them: search every row of every table that holds data.
    for (const table of ["households", "household_members", "audit_log", "idempotency_keys", "household_status_changes"]) {
      const { rows } = await t.db.raw<{ rows: { n: number }[] }>(
        `SELECT count(*)::int AS n FROM ${table} x WHERE x::text LIKE ? OR x::text LIKE ? OR x::text LIKE ?`,
        [`%${id}%`, "%13987654321%", "%6228480012345678901%"],
      );
      expect({ table, n: rows[0].n }).toEqual({ table, n: 0 });
    }
  });

  it("masks personal data for everyone except the village officer of the household's village", async () => {
    const body = householdBody();
    const created = await t.as("admin").post(`${API}/households`, body);
    expect(created.status).toBe(201);
    expect(created.body.pii_masked).toBe(true);
    const id = created.body.id;
    const plain = body.members[0].id_number;
    const masked = `${plain.slice(0, 6)}********${plain.slice(14)}`;
    for (const who of ["admin", "regulator", "officer", "manager", "finance"] as const) {
      const res = await t.as(who).get(`${API}/households/${id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ pii_masked: true, phone: "138****5678", bank_account: "6217***********0123" });
      expect(res.body.members[0]).toMatchObject({ id_number: masked, id_number_masked: true });
      expect(JSON.stringify(res.body)).not.toContain(plain);
    }
    const village = await t.as("village").get(`${API}/households/${id}`);
    expect(village.body).toMatchObject({ pii_masked: false, phone: "13812345678", bank_account: "6217001234567890123" });
    expect(village.body.members[0].id_number).toBe(plain);
  });

  it("accepts a lower-case x, stores it as X and finds the household by ID number either way", async () => {
    const withX = idNumberEndingInX();
    const res = await t.as("village").post(`${API}/households`, householdBody({ members: [{ relation: "HEAD", id_number: withX.toLowerCase() }] }));
    expect(res.status).toBe(201);
    expect(res.body.members[0].id_number).toBe(withX);
    for (const q of [withX, withX.toLowerCase()]) {
      const found = await t.as("regulator").get(`${API}/households?id_number=${q}`);
      expect(found.status).toBe(200);
      expect(found.body.items.map((h: { id: string }) => h.id)).toEqual([res.body.id]);
      expect(found.body.items[0].pii_masked).toBe(true);
    }
    const none = await t.as("regulator").get(`${API}/households?id_number=${idNumber("1990-01-01")}`);
    expect(none.body.items).toEqual([]);
  });

  it("records every lookup by whole ID number in the audit log: who looked for whom, found or not, never the whole number", async () => {
    const res = await t.as("village").post(`${API}/households`, householdBody());
    expect(res.status).toBe(201);
    const plain: string = res.body.members[0].id_number; // the village officer sees it whole
    const lookups = () => t.db("audit_log").where({ action: "household.lookup_by_id_number" }).orderBy("id");
    const before = (await lookups()).length;
    expect((await t.as("regulator").get(`${API}/households?id_number=${plain}`)).body.items.map((h: { id: string }) => h.id)).toEqual([res.body.id]);
    const missing = idNumber("1991-02-03");
    expect((await t.as("officer").get(`${API}/households?id_number=${missing}`)).body.items).toEqual([]);
    // A plain list is no lookup by ID number.
    expect((await t.as("regulator").get(`${API}/households?limit=1`)).status).toBe(200);
    const rows = (await lookups()).slice(before);
    expect(rows.map((r) => [r.actor_id, r.actor_role, r.entity_type, r.entity_id, r.county_code, r.after.found])).toEqual([
      [USERS.regulator.userId, "regulator", "household", res.body.id, COUNTY, 1],
      [USERS.officer.userId, "loan_officer", "id_number", `${missing.slice(0, 6)}********${missing.slice(-4)}`, COUNTY, 0],
    ]);
    expect(rows[0].after).toMatchObject({ id_number: `${plain.slice(0, 6)}********${plain.slice(-4)}`, id_number_hash: TEST_PII.lookupHash(plain) });
    expect(rows[1].after).toMatchObject({ id_number_hash: TEST_PII.lookupHash(missing) });
    // Neither whole number is anywhere in the audit log.
    for (const whole of [plain, missing]) {
      const n = await t.db.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM audit_log a WHERE row_to_json(a)::text LIKE ?", [`%${whole}%`]);
      expect(n.rows[0].n).toBe(0);
    }
    // The county's auditors read them through the API.
    const api = await t.as("admin").get(`${API}/audit-log?action=household.lookup_by_id_number&entity_id=${res.body.id}`);
    expect(api.body.items).toHaveLength(1);
  });

  it("rejects invalid input with the field named, and writes nothing", async () => {
    const before = await registerCounts(t.db);
    const good = householdBody();
    const wrongCheck = good.members[0].id_number.slice(0, 17) + (good.members[0].id_number[17] === "0" ? "1" : "0");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, members: [] }), 400, "VALIDATION_FAILED", "body.members");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, village_code: "4690301002" }), 400, "VALIDATION_FAILED", "body.village_code");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, main_cause: "LAZINESS" }), 400, "VALIDATION_FAILED", "body.main_cause");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, phone: "12345" }), 400, "VALIDATION_FAILED", "body.phone");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, incomes: [{ year: 2024, net_income: "12.345" }] }), 400, "VALIDATION_FAILED", "body.incomes.0.net_income");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, surprise: 1 }), 400, "VALIDATION_FAILED", "body.surprise");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, status_since: "2025-02-30" }), 400, "VALIDATION_FAILED", "body.status_since");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, status_since: "0000-01-01" }), 400, "VALIDATION_FAILED", "body.status_since");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, status_since: "2025-06-03" }), 400, "VALIDATION_FAILED", "body.status_since");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, secondary_causes: ["LACK_OF_CAPITAL"] }), 400, "VALIDATION_FAILED", "body.secondary_causes");
    const twoHeads = { ...good, members: good.members.map((m) => ({ ...m, relation: "HEAD" })) };
    expectProblem(await t.as("village").post(`${API}/households`, twoHeads), 400, "VALIDATION_FAILED", "body.members");
    const badId = { ...good, members: [good.members[0], { ...good.members[1], id_number: wrongCheck }] };
    expectProblem(await t.as("village").post(`${API}/households`, badId), 422, "INVALID_ID_NUMBER", "body.members.1.id_number");
    const badDate = { ...good, members: [{ ...good.members[0], id_number: makeIdNumber("469030", "1980-02-30", 11) }] };
    expectProblem(await t.as("village").post(`${API}/households`, badDate), 422, "INVALID_ID_NUMBER", "body.members.0.id_number");
    expectProblem(await t.as("village").post(`${API}/households`, { ...good, members: [good.members[0], { ...good.members[1], id_number: good.members[0].id_number }] }), 409, "DUPLICATE_ID_NUMBER", "body.members.1.id_number");
    const unregistered = await t.as("admin").post(`${API}/households`, { ...good, village_code: "469030100299" });
    expectProblem(unregistered, 422, "INVALID_DIVISION", "body.village_code");
    // Malformed JSON and a body that is not JSON.
    const raw = await t.http.post(`${API}/households`).set("Authorization", `Bearer ${t.token("village")}`).set("Content-Type", "application/json").send('{"village_code": ');
    expectProblem(raw, 400, "BAD_JSON");
    const text = await t.http.post(`${API}/households`).set("Authorization", `Bearer ${t.token("village")}`).set("Content-Type", "text/plain").send("village_code=1");
    expectProblem(text, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await registerCounts(t.db)).toEqual(before);
  });

  it("refuses an ID number that is already registered, naming the member", async () => {
    const h = await createHousehold(t, { as: "village" });
    const taken = await t.db("household_members").where({ household_id: h.id, relation: "HEAD" }).first();
    const plain = TEST_PII.decrypt(taken.id_number_enc);
    const again = householdBody({ members: [{ relation: "HEAD" }, { relation: "CHILD", id_number: plain }] });
    expectProblem(await t.as("village").post(`${API}/households`, again), 409, "DUPLICATE_ID_NUMBER", "body.members.1.id_number");
  });

  it("is for village officers of that village and admins of that county", async () => {
    const before = await registerCounts(t.db);
    expectProblem(await t.as("officer").post(`${API}/households`, householdBody()), 403, "FORBIDDEN");
    expectProblem(await t.as("regulator").post(`${API}/households`, householdBody()), 403, "FORBIDDEN");
    expectProblem(await t.as("operator").post(`${API}/households`, householdBody()), 403, "FORBIDDEN");
    expectProblem(await t.as("village2").post(`${API}/households`, householdBody()), 404, "NOT_FOUND");
    expectProblem(await t.as("otherAdmin").post(`${API}/households`, householdBody()), 404, "NOT_FOUND");
    expectProblem(await t.http.post(`${API}/households`).send(householdBody()), 401, "UNAUTHENTICATED");
    expectProblem(await t.http.post(`${API}/households`).set("Authorization", "Bearer not-a-jwt").send(householdBody()), 401, "UNAUTHENTICATED");
    expect(await registerCounts(t.db)).toEqual(before);
    const v2 = await t.as("village2").post(`${API}/households`, householdBody({ village: VILLAGE_2 }));
    expect(v2.status).toBe(201);
  });

  it("replays a retried registration and refuses its key with another body", async () => {
    const key = randomUUID();
    const body = householdBody();
    const first = await t.as("village").post(`${API}/households`, body, key);
    expect(first.status).toBe(201);
    const count = (await registerCounts(t.db)).households;
    const again = await t.as("village").post(`${API}/households`, body, key);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(again.body.members[0].id_number).toBe(body.members[0].id_number);
    expect((await registerCounts(t.db)).households).toBe(count);
    const other = await t.as("village").post(`${API}/households`, householdBody(), key);
    expectProblem(other, 422, "IDEMPOTENCY_KEY_REUSED");
    expect((await registerCounts(t.db)).households).toBe(count);
    expect(await auditOf(first.body.id)).toHaveLength(1);
    // The key belongs to its user: another user with the same key registers anew.
    const admin = await t.as("admin").post(`${API}/households`, householdBody(), key);
    expect(admin.status).toBe(201);
    expect(admin.headers["idempotent-replayed"]).toBeUndefined();
  });
});

describe("concurrent retries", () => {
  // PGlite has a single connection, so requests never overlap there: this runs on PostgreSQL only.
  it.skipIf(!onPostgres)("answer racing retries of one registration with one household", async () => {
    const key = randomUUID();
    const body = householdBody();
    const before = (await registerCounts(t.db)).households;
    const answers = await Promise.all([1, 2, 3, 4].map(() => t.as("village").post(`${API}/households`, body, key)));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
    expect(answers.filter((r) => r.headers["idempotent-replayed"] !== "true")).toHaveLength(1);
    expect((await registerCounts(t.db)).households).toBe(before + 1);
  });

  it.skipIf(!onPostgres)("answer racing retries of one exit with one status change", async () => {
    const h = await oldHousehold();
    const key = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => t.as("village").post(`${API}/households/${h.id}/status-changes`, exitApprovals(), key)));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
    expect(await t.db("household_status_changes").where({ household_id: h.id })).toHaveLength(1);
  });
});

describe("GET /households and /households/{id}", () => {
  it("lists only households in the caller's jurisdiction and filters by field", async () => {
    const mine = await createHousehold(t, { as: "village" });
    const theirs = await createHousehold(t, { as: "village2", village: VILLAGE_2 });
    const village = await t.as("village").get(`${API}/households?limit=500`);
    expect(village.status).toBe(200);
    const ids = village.body.items.map((h: { id: string }) => h.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    expect(village.body.items.every((h: { village_code: string }) => h.village_code === VILLAGE)).toBe(true);
    const regulator = await t.as("regulator").get(`${API}/households?village_code=${VILLAGE_2}&status=POOR`);
    expect(regulator.body.items.map((h: { id: string }) => h.id)).toContain(theirs.id);
    expect(regulator.body.items.every((h: { village_code: string; status: string }) => h.village_code === VILLAGE_2 && h.status === "POOR")).toBe(true);
    const other = await t.as("otherAdmin").get(`${API}/households`);
    expect(other.body.items).toEqual([]);
    const byCause = await t.as("admin").get(`${API}/households?cause=LACK_OF_SKILLS&limit=1`);
    expect(byCause.body.items).toHaveLength(1);
    expect(byCause.body.next_cursor).toEqual(expect.any(String));
    const page2 = await t.as("admin").get(`${API}/households?cause=LACK_OF_SKILLS&limit=1&cursor=${byCause.body.next_cursor}`);
    expect(page2.body.items[0].id > byCause.body.items[0].id).toBe(true);
  });

  it("answers 400, 401, 403 and 404 as the conventions say", async () => {
    const h = await createHousehold(t, { as: "village" });
    expectProblem(await t.as("admin").get(`${API}/households?status=GONE`), 400, "VALIDATION_FAILED", "query.status");
    expectProblem(await t.as("admin").get(`${API}/households?limit=501`), 400, "VALIDATION_FAILED", "query.limit");
    expectProblem(await t.as("admin").get(`${API}/households?cursor=YWJj`), 400, "VALIDATION_FAILED", "query.cursor");
    expectProblem(await t.as("admin").get(`${API}/households/not-a-uuid`), 400, "VALIDATION_FAILED", "params.id");
    expectProblem(await t.as("admin").get(`${API}/households/${randomUUID()}`), 404, "NOT_FOUND");
    expectProblem(await t.as("village2").get(`${API}/households/${h.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("otherAdmin").get(`${API}/households/${h.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("otherRegulator").get(`${API}/households/${h.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("operator").get(`${API}/households/${h.id}`), 403, "FORBIDDEN");
    expectProblem(await t.as("operator").get(`${API}/households`), 403, "FORBIDDEN");
    expectProblem(await t.http.get(`${API}/households/${h.id}`), 401, "UNAUTHENTICATED");
    expectProblem(await t.http.get(`${API}/households`), 401, "UNAUTHENTICATED");
  });
});

describe("PATCH /households/{id}", () => {
  it("updates register fields, recomputes per-capita income and bumps the version, with an audit row", async () => {
    const h = await createHousehold(t, { as: "village" });
    const res = await t.as("village").patch(`${API}/households/${h.id}`, {
      version: 1,
      housing_safety: "RENOVATED",
      phone: "13700001111",
      bank_account: null,
      incomes: [{ year: 2025, net_income: "10000.00" }],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, housing_safety: "RENOVATED", phone: "13700001111", bank_account: null });
    expect(res.body.incomes).toEqual([
      { year: 2024, net_income: "24000.00", per_capita_net_income: "12000.00" },
      { year: 2025, net_income: "10000.00", per_capita_net_income: "5000.00" },
    ]);
    const masked = await t.as("admin").get(`${API}/households/${h.id}`);
    expect(masked.body.phone).toBe("137****1111");
    const audit = (await auditOf(h.id)).filter((a) => a.action === "household.update");
    expect(audit).toHaveLength(1);
    expect(audit[0].before).toMatchObject({ housing_safety: "SAFE", version: 1, phone_masked: "138****5678" });
    expect(audit[0].after).toMatchObject({ housing_safety: "RENOVATED", version: 2, phone_masked: "137****1111" });
    expect(JSON.stringify(audit[0])).not.toContain("13700001111");
  });

  it("refuses a stale version, invalid fields, other roles and other villages", async () => {
    const h = await createHousehold(t, { as: "village" });
    expectProblem(await t.as("village").patch(`${API}/households/${h.id}`, { version: 7, housing_safety: "UNSAFE" }), 409, "CONFLICT");
    expectProblem(await t.as("village").patch(`${API}/households/${h.id}`, { phone: "phone" }), 400, "VALIDATION_FAILED", "body.phone");
    expectProblem(await t.as("village").patch(`${API}/households/${h.id}`, { status: "EXITED" }), 400, "VALIDATION_FAILED", "body.status");
    expectProblem(await t.as("village").patch(`${API}/households/${h.id}`, { main_cause: "LACK_OF_SKILLS" }), 400, "VALIDATION_FAILED", "body.secondary_causes");
    expectProblem(await t.as("officer").patch(`${API}/households/${h.id}`, { housing_safety: "UNSAFE" }), 403, "FORBIDDEN");
    expectProblem(await t.as("village2").patch(`${API}/households/${h.id}`, { housing_safety: "UNSAFE" }), 404, "NOT_FOUND");
    expectProblem(await t.as("otherAdmin").patch(`${API}/households/${h.id}`, { housing_safety: "UNSAFE" }), 404, "NOT_FOUND");
    expectProblem(await t.http.patch(`${API}/households/${h.id}`).send({ housing_safety: "UNSAFE" }), 401, "UNAUTHENTICATED");
    const row = await t.db("households").where({ id: h.id }).first();
    expect({ version: row.version, housing_safety: row.housing_safety }).toEqual({ version: 1, housing_safety: "SAFE" });
  });

  it("replays a retried PATCH with the same Idempotency-Key", async () => {
    const h = await createHousehold(t, { as: "village" });
    const key = randomUUID();
    const patch = () => t.http.patch(`${API}/households/${h.id}`).set("Authorization", `Bearer ${t.token("village")}`).set("Idempotency-Key", key);
    const first = await patch().send({ housing_safety: "UNSAFE" });
    const again = await patch().send({ housing_safety: "UNSAFE" });
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body.version).toBe(first.body.version);
    expect((await t.db("households").where({ id: h.id }).first()).version).toBe(2);
    expectProblem(await patch().send({ housing_safety: "SAFE" }), 422, "IDEMPOTENCY_KEY_REUSED");
  });
});

describe("GET|POST /households/{id}/members", () => {
  it("adds a member; the household's count and version follow, with an audit row", async () => {
    const h = await createHousehold(t, { as: "village" });
    const id = idNumber("2012-09-01");
    const res = await t.as("village").post(`${API}/households/${h.id}/members`, { name: "王小明", id_number: id, relation: "CHILD", schooling: "PRIMARY" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ household_id: h.id, name: "王小明", id_number: id, id_number_masked: false, relation: "CHILD", birth_date: "2012-09-01", schooling: "PRIMARY", health: "HEALTHY" });
    const list = await t.as("village").get(`${API}/households/${h.id}/members`);
    expect(list.body.items).toHaveLength(3);
    expect(list.body.items[0].relation).toBe("HEAD");
    const household = await t.as("admin").get(`${API}/households/${h.id}`);
    expect(household.body).toMatchObject({ member_count: 3, version: 2 });
    const audit = await auditOf(res.body.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "member.create", after: { household_id: h.id, name: "王小明", id_number: `${id.slice(0, 6)}********${id.slice(14)}` } });
  });

  it("shows members masked to everyone but the village officer of the village", async () => {
    const h = await createHousehold(t, { as: "village" });
    const whole = await t.as("village").get(`${API}/households/${h.id}/members`);
    expect(whole.body.items.every((m: { id_number: string; id_number_masked: boolean }) => /^\d{17}[\dX]$/.test(m.id_number) && !m.id_number_masked)).toBe(true);
    for (const who of ["admin", "officer", "regulator"] as const) {
      const res = await t.as(who).get(`${API}/households/${h.id}/members`);
      expect(res.status).toBe(200);
      expect(res.body.items.every((m: { id_number: string; id_number_masked: boolean }) => /^\d{6}\*{8}\d{3}[\dX]$/.test(m.id_number) && m.id_number_masked)).toBe(true);
    }
    expectProblem(await t.as("village2").get(`${API}/households/${h.id}/members`), 404, "NOT_FOUND");
    expectProblem(await t.as("otherAdmin").get(`${API}/households/${h.id}/members`), 404, "NOT_FOUND");
    expectProblem(await t.as("operator").get(`${API}/households/${h.id}/members`), 403, "FORBIDDEN");
    expectProblem(await t.http.get(`${API}/households/${h.id}/members`), 401, "UNAUTHENTICATED");
    expectProblem(await t.as("admin").get(`${API}/households/123/members`), 400, "VALIDATION_FAILED", "params.id");
  });

  it("rejects invalid members, naming the field, and writes nothing", async () => {
    const h = await createHousehold(t, { as: "village" });
    const before = await registerCounts(t.db);
    const url = `${API}/households/${h.id}/members`;
    const id = idNumber("2015-01-01");
    const wrongCheck = id.slice(0, 17) + (id[17] === "1" ? "2" : "1");
    expectProblem(await t.as("village").post(url, { name: "王小红", id_number: wrongCheck, relation: "CHILD" }), 422, "INVALID_ID_NUMBER", "body.id_number");
    expectProblem(await t.as("village").post(url, { name: "王小红", id_number: "46903020150101", relation: "CHILD" }), 422, "INVALID_ID_NUMBER", "body.id_number");
    expectProblem(await t.as("village").post(url, { name: "王小红", id_number: id, relation: "NIECE" }), 400, "VALIDATION_FAILED", "body.relation");
    expectProblem(await t.as("village").post(url, { name: "", id_number: id, relation: "CHILD" }), 400, "VALIDATION_FAILED", "body.name");
    expectProblem(await t.as("village").post(url, { name: "王小红", relation: "CHILD" }), 400, "VALIDATION_FAILED", "body.id_number");
    expectProblem(await t.as("village").post(url, { name: "王小红", id_number: id, relation: "HEAD" }), 422, "RULE_VIOLATION", "body.relation");
    const head = await t.db("household_members").where({ household_id: h.id, relation: "HEAD" }).first();
    expectProblem(await t.as("village").post(url, { name: "王小红", id_number: TEST_PII.decrypt(head.id_number_enc), relation: "CHILD" }), 409, "DUPLICATE_ID_NUMBER", "body.id_number");
    expect(await registerCounts(t.db)).toEqual(before);
  });

  it("is refused to other roles and other villages", async () => {
    const h = await createHousehold(t, { as: "village" });
    const body = { name: "王小红", id_number: idNumber("2016-02-02"), relation: "CHILD" };
    expectProblem(await t.as("officer").post(`${API}/households/${h.id}/members`, body), 403, "FORBIDDEN");
    expectProblem(await t.as("village2").post(`${API}/households/${h.id}/members`, body), 404, "NOT_FOUND");
    expectProblem(await t.as("otherAdmin").post(`${API}/households/${h.id}/members`, body), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").post(`${API}/households/${randomUUID()}/members`, body), 404, "NOT_FOUND");
    expectProblem(await t.http.post(`${API}/households/${h.id}/members`).send(body), 401, "UNAUTHENTICATED");
    expect(Number((await t.db("household_members").where({ household_id: h.id }).count<{ n: string }[]>("* as n"))[0].n)).toBe(2);
  });

  it("replays a retried member POST and refuses its key with another body", async () => {
    const h = await createHousehold(t, { as: "village" });
    const key = randomUUID();
    const body = { name: "王小刚", id_number: idNumber("2010-10-10"), relation: "CHILD" };
    const first = await t.as("village").post(`${API}/households/${h.id}/members`, body, key);
    const again = await t.as("village").post(`${API}/households/${h.id}/members`, body, key);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect((await t.as("village").get(`${API}/households/${h.id}/members`)).body.items).toHaveLength(3);
    expectProblem(await t.as("village").post(`${API}/households/${h.id}/members`, { ...body, name: "王小强" }, key), 422, "IDEMPOTENCY_KEY_REUSED");
  });
});

describe("GET|POST /households/{id}/status-changes", () => {
  it("records a complete exit: status EXITED with its exit date, listed in the history and audited", async () => {
    const h = await oldHousehold();
    const res = await t.as("village").post(`${API}/households/${h.id}/status-changes`, exitApprovals("2025-05-30"));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ household_id: h.id, from_status: "POOR", to_status: "EXITED", effective_date: "2025-05-30", notice_start: "2025-05-10", notice_end: "2025-05-17", actor_id: USERS.village.userId });
    expect(res.body.approvals).toHaveLength(6);
    const household = await t.as("admin").get(`${API}/households/${h.id}`);
    expect(household.body).toMatchObject({ status: "EXITED", exit_date: "2025-05-30", status_since: "2025-05-30", version: 2 });
    const history = await t.as("regulator").get(`${API}/households/${h.id}/status-changes`);
    expect(history.status).toBe(200);
    expect(history.body.items.map((c: { id: string; to_status: string }) => [c.id, c.to_status])).toEqual([[res.body.id, "EXITED"]]);
    const audit = (await auditOf(h.id)).filter((a) => a.action === "household.status.exited");
    expect(audit).toHaveLength(1);
    expect(audit[0].before).toMatchObject({ status: "POOR", exit_date: null });
    expect(audit[0].after).toMatchObject({ status: "EXITED", exit_date: "2025-05-30", change_id: res.body.id });
  });

  it("refuses an exit with a missing step, a short notice or steps out of order", async () => {
    const h = await oldHousehold();
    const url = `${API}/households/${h.id}/status-changes`;
    const before = await registerCounts(t.db);
    const full = exitApprovals("2025-05-30");
    const missing = { ...full, approvals: full.approvals.filter((a) => a.step !== "DEMOCRATIC_REVIEW") };
    const r1 = await t.as("village").post(url, missing);
    expectProblem(r1, 422, "INVALID_STATUS_CHANGE", "body.approvals");
    expect(r1.body.errors.map((e: { message: string }) => e.message)).toContain("缺少审批环节：民主评议（DEMOCRATIC_REVIEW）");
    const r1en = await t.as("village").post(url, missing).set("Accept-Language", "en");
    expect(r1en.body.errors.map((e: { message: string }) => e.message)).toContain("missing approval step DEMOCRATIC_REVIEW");
    const short = { ...full, notice_end: "2025-05-16" };
    expectProblem(await t.as("village").post(url, short), 422, "INVALID_STATUS_CHANGE", "body.notice_end");
    const noNotice = { ...full, notice_start: undefined, notice_end: undefined };
    expectProblem(await t.as("village").post(url, noNotice), 422, "INVALID_STATUS_CHANGE", "body.notice_start");
    const swapped = { ...full, approvals: full.approvals.map((a) => (a.step === "VILLAGE_PROPOSAL" ? { ...a, date: "2025-05-06" } : a)) };
    const r4 = await t.as("village").post(url, swapped);
    expectProblem(r4, 422, "INVALID_STATUS_CHANGE", "body.approvals");
    expect(r4.body.detail).toContain("民主评议（DEMOCRATIC_REVIEW）的日期 2025-05-05 早于村级提名评议（VILLAGE_PROPOSAL）的日期 2025-05-06");
    expect(r4.body.detail_en).toBeUndefined();
    const r4en = await t.as("village").post(url, swapped).set("Accept-Language", "en");
    expect(r4en.body.detail).toContain("DEMOCRATIC_REVIEW (2025-05-05) is dated before VILLAGE_PROPOSAL (2025-05-06)");
    const earlyTownship = { ...full, approvals: full.approvals.map((a) => (a.step === "TOWNSHIP_REVIEW" ? { ...a, date: "2025-05-15" } : a)) };
    expectProblem(await t.as("village").post(url, earlyTownship), 422, "INVALID_STATUS_CHANGE", "body.approvals");
    expectProblem(await t.as("village").post(url, exitApprovals("2025-06-05")), 422, "INVALID_STATUS_CHANGE", "body.approvals");
    expectProblem(await t.as("village").post(url, { ...full, effective_date: "2025-05-29" }), 422, "INVALID_STATUS_CHANGE", "body.effective_date");
    expectProblem(await t.as("village").post(url, { ...full, to_status: "POOR" }), 422, "INVALID_STATUS_CHANGE", "body.to_status");
    const dup = { ...full, approvals: [...full.approvals, full.approvals[0]] };
    expectProblem(await t.as("village").post(url, dup), 422, "INVALID_STATUS_CHANGE", "body.approvals");
    expect(await registerCounts(t.db)).toEqual(before);
    expect((await t.db("households").where({ id: h.id }).first()).status).toBe("POOR");
  });

  it("refuses a change dated before the current status began", async () => {
    const h = await createHousehold(t, { as: "village" }); // status since today, 2025-06-02
    expectProblem(await t.as("village").post(`${API}/households/${h.id}/status-changes`, exitApprovals("2025-05-30")), 422, "INVALID_STATUS_CHANGE", "body.effective_date");
  });

  it("validates the body and the caller", async () => {
    const h = await oldHousehold();
    const url = `${API}/households/${h.id}/status-changes`;
    expectProblem(await t.as("village").post(url, { ...exitApprovals(), to_status: "RICH" }), 400, "VALIDATION_FAILED", "body.to_status");
    expectProblem(await t.as("village").post(url, { ...exitApprovals(), effective_date: "30/05/2025" }), 400, "VALIDATION_FAILED", "body.effective_date");
    expectProblem(await t.as("village").post(url, { ...exitApprovals(), approvals: [] }), 400, "VALIDATION_FAILED", "body.approvals");
    expectProblem(await t.as("village").post(url, { ...exitApprovals(), approvals: [{ step: "PRAYER", date: "2025-05-01", by: "x" }] }), 400, "VALIDATION_FAILED", "body.approvals.0.step");
    expectProblem(await t.as("village").post(url, { ...exitApprovals(), reason: "" }), 400, "VALIDATION_FAILED", "body.reason");
    expectProblem(await t.as("officer").post(url, exitApprovals()), 403, "FORBIDDEN");
    expectProblem(await t.as("regulator").post(url, exitApprovals()), 403, "FORBIDDEN");
    expectProblem(await t.as("village2").post(url, exitApprovals()), 404, "NOT_FOUND");
    expectProblem(await t.as("otherAdmin").post(url, exitApprovals()), 404, "NOT_FOUND");
    expectProblem(await t.http.post(url).send(exitApprovals()), 401, "UNAUTHENTICATED");
    expectProblem(await t.as("village2").get(url), 404, "NOT_FOUND");
    expectProblem(await t.as("operator").get(url), 403, "FORBIDDEN");
    expectProblem(await t.http.get(url), 401, "UNAUTHENTICATED");
    expect((await t.as("village").get(url)).body.items).toEqual([]);
  });

  it("moves a household to monitoring and back, and keeps REMOVED final", async () => {
    const h = await oldHousehold("admin");
    const url = `${API}/households/${h.id}/status-changes`;
    const steps = (d: string) => [
      { step: "VILLAGE_PROPOSAL", date: d, by: "村两委" },
      { step: "TOWNSHIP_REVIEW", date: d, by: "营根镇" },
      { step: "COUNTY_APPROVAL", date: d, by: "县乡村振兴局" },
    ];
    const monitor = await t.as("admin").post(url, { to_status: "MONITORED", effective_date: "2025-04-01", reason: "因病返贫风险", approvals: steps("2025-04-01") });
    expect(monitor.status).toBe(201);
    expect(monitor.body).toMatchObject({ from_status: "POOR", to_status: "MONITORED" });
    const remove = await t.as("admin").post(url, { to_status: "REMOVED", effective_date: "2025-05-02", reason: "识别错误，清退", approvals: steps("2025-05-02") });
    expect(remove.status).toBe(201);
    const back = await t.as("admin").post(url, { to_status: "POOR", effective_date: "2025-06-01", reason: "重新纳入", approvals: [...steps("2025-06-01"), { step: "DEMOCRATIC_REVIEW", date: "2025-06-01", by: "村民代表大会" }] });
    expectProblem(back, 422, "INVALID_STATUS_CHANGE", "body.to_status");
    expectProblem(await t.as("admin").patch(`${API}/households/${h.id}`, { housing_safety: "UNSAFE" }), 409, "INVALID_STATE");
    expectProblem(await t.as("admin").post(`${API}/households/${h.id}/members`, { name: "王小红", id_number: idNumber("2016-06-06"), relation: "CHILD" }), 409, "INVALID_STATE");
    const history = await t.as("admin").get(url);
    expect(history.body.items.map((c: { from_status: string; to_status: string; effective_date: string }) => [c.from_status, c.to_status, c.effective_date])).toEqual([
      ["POOR", "MONITORED", "2025-04-01"],
      ["MONITORED", "REMOVED", "2025-05-02"],
    ]);
    const household = await t.as("admin").get(`${API}/households/${h.id}`);
    expect(household.body).toMatchObject({ status: "REMOVED", status_since: "2025-05-02", exit_date: null });
  });

  it("replays a retried status change and refuses its key with another body", async () => {
    const h = await oldHousehold();
    const url = `${API}/households/${h.id}/status-changes`;
    const key = randomUUID();
    const first = await t.as("village").post(url, exitApprovals(), key);
    expect(first.status).toBe(201);
    const again = await t.as("village").post(url, exitApprovals(), key);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect((await t.as("village").get(url)).body.items).toHaveLength(1);
    expectProblem(await t.as("village").post(url, { ...exitApprovals(), reason: "另一个理由，另一个请求" }, key), 422, "IDEMPOTENCY_KEY_REUSED");
    expect((await t.db("household_status_changes").where({ household_id: h.id })).length).toBe(1);
  });
});
