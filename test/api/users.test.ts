import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../helpers/expect.js";
import { BANK, COUNTY, OTHER_BANK, OTHER_COUNTY, TEST_PASSWORD, USERS, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp();
const API = "/api/v1";
const GOOD = "Lvcheng-2031x";

const login = (username: string, password: string) => supertest(t.app).post(`${API}/auth/token`).send({ username, password });
const bearer = (token: string) => ({
  get: (path: string) => supertest(t.app).get(`${API}${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body?: object) => supertest(t.app).post(`${API}${path}`).set("Authorization", `Bearer ${token}`).send(body ?? {}),
});

let n = 0;
async function createUser(body: Record<string, unknown>, as: "admin" | "manager" = "admin") {
  const res = await t.as(as).post(`${API}/users`, { username: `u-${++n}-${Date.now() % 100000}`, display_name: "新用户", password: GOOD, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; username: string; role: string };
}

describe("staff administration", () => {
  it("the admin creates a user of every role with the binding the role needs, never showing the password", async () => {
    const audit0 = Number((await t.db("audit_log").count<{ n: string }[]>("* as n"))[0].n);
    const v = await createUser({ role: "village_officer", county_codes: [COUNTY], village_code: VILLAGE });
    expect(v).toMatchObject({ role: "village_officer", county_codes: [COUNTY], village_code: VILLAGE, bank_id: null, active: true, must_change_password: true });
    expect(JSON.stringify(v)).not.toMatch(/password_hash|Lvcheng/);
    await createUser({ role: "loan_officer", county_codes: [COUNTY], bank_id: BANK });
    await createUser({ role: "finance_officer", county_codes: [COUNTY] });
    const audit = await t.db("audit_log").where({ action: "user.create", entity_id: v.id }).first();
    expect(audit.after).toMatchObject({ username: v.username, role: "village_officer", village_code: VILLAGE });
    expect(JSON.stringify(audit)).not.toMatch(/Lvcheng|scrypt/);
    expect(Number((await t.db("audit_log").count<{ n: string }[]>("* as n"))[0].n)).toBe(audit0 + 3);
    // The stored password is a scrypt hash.
    expect((await t.db("users").where({ id: v.id }).first()).password_hash).toMatch(/^scrypt\$/);
  });

  it("a new user logs in with the initial password and must change it before anything else", async () => {
    const u = await createUser({ role: "regulator", county_codes: [COUNTY] });
    const first = await login(u.username, GOOD);
    expect(first.status).toBe(200);
    expect(first.body.must_change_password).toBe(true);
    const tmp = bearer(first.body.access_token);
    expectProblem(await tmp.get("/divisions"), 403, "PASSWORD_CHANGE_REQUIRED");
    expectProblem(await tmp.post("/auth/password", { current_password: "wrong-password-9", new_password: "Another-pass-42" }), 422, "WRONG_PASSWORD", "body.current_password");
    expectProblem(await tmp.post("/auth/password", { current_password: GOOD, new_password: GOOD }), 422, "WEAK_PASSWORD", "body.new_password");
    const changed = await tmp.post("/auth/password", { current_password: GOOD, new_password: "Another-pass-42" });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ token_type: "Bearer", role: "regulator", must_change_password: false });
    // The temporary session ended; the answered token works.
    expectProblem(await tmp.post("/auth/password", { current_password: "Another-pass-42", new_password: "Third-pass-77" }), 401, "UNAUTHENTICATED");
    expect((await bearer(changed.body.access_token).get("/divisions")).status).toBe(200);
    expectProblem(await login(u.username, GOOD), 401, "BAD_CREDENTIALS");
    const again = await login(u.username, "Another-pass-42");
    expect(again.body.must_change_password).toBe(false);
    expect(await t.db("audit_log").where({ action: "user.password.change", entity_id: u.id }).first()).toBeTruthy();
  });

  it("refuses weak passwords with 422 naming each broken rule", async () => {
    const base = { username: "policy-user", display_name: "密码", role: "regulator", county_codes: [COUNTY] };
    const cases: [string, string][] = [
      ["Short-1", "at least 10 characters"],
      ["onlyletterslong", "at least one letter and one digit"],
      ["12345678901234", "at least one letter and one digit"],
      ["policy-user-2031", "must not contain the username"],
      ["Password123", "is a commonly used password"],
      ["Huinong-2026", "is a commonly used password"],
    ];
    for (const [password, rule] of cases) {
      const res = await t.as("admin").post(`${API}/users`, { ...base, password }).set("Accept-Language", "en");
      expectProblem(res, 422, "WEAK_PASSWORD", "body.password");
      expect(res.body.errors.map((e: { message: string }) => e.message), password).toContain(rule);
    }
    expect(await t.db("users").where({ username: "policy-user" }).first()).toBeUndefined();
  });

  it("checks the role's binding, the username and the input", async () => {
    const base = { display_name: "x", password: GOOD, county_codes: [COUNTY] };
    const noVillage = await t.as("admin").post(`${API}/users`, { ...base, username: "no-village", role: "village_officer" });
    expectProblem(noVillage, 422, "RULE_VIOLATION", "body.village_code");
    expect(noVillage.body).toMatchObject({ detail: "管辖范围与角色不符", errors: [{ path: "body.village_code", message: "角色 village_officer 必须填写此项" }] });
    const noVillageEn = await t.as("admin").post(`${API}/users`, { ...base, username: "no-village", role: "village_officer" }).set("Accept-Language", "en");
    expect(noVillageEn.body).toMatchObject({ detail: "The jurisdiction does not fit the role", errors: [{ path: "body.village_code", message: "required for role village_officer" }] });
    expectProblem(await t.as("admin").post(`${API}/users`, { ...base, username: "stray-bank", role: "regulator", bank_id: BANK }), 422, "RULE_VIOLATION", "body.bank_id");
    expectProblem(await t.as("admin").post(`${API}/users`, { ...base, username: "t-admin", role: "regulator" }), 409, "CONFLICT");
    expectProblem(await t.as("admin").post(`${API}/users`, { ...base, username: "Bad Name", role: "regulator" }), 400, "VALIDATION_FAILED", "body.username");
    expectProblem(await t.as("admin").post(`${API}/users`, { ...base, username: "abc-role", role: "root" }), 400, "VALIDATION_FAILED", "body.role");
    // A county, or a village of a county, outside the admin's: 404.
    expectProblem(await t.as("admin").post(`${API}/users`, { ...base, username: "far-away", role: "regulator", county_codes: [OTHER_COUNTY] }), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").post(`${API}/users`, { ...base, username: "far-village", role: "village_officer", village_code: "469025100201" }), 404, "NOT_FOUND");
  });

  it("lists by username with filters and pages, bounded by the admin's counties", async () => {
    const page1 = await t.as("admin").get(`${API}/users?limit=3`);
    expect(page1.status).toBe(200);
    expect(page1.body.items).toHaveLength(3);
    const names = page1.body.items.map((u: { username: string }) => u.username);
    expect([...names].sort()).toEqual(names);
    const page2 = await t.as("admin").get(`${API}/users?limit=3&cursor=${page1.body.next_cursor}`);
    expect(page2.body.items[0].username > names[2]).toBe(true);
    const all = await t.as("admin").get(`${API}/users?limit=500`);
    const usernames = all.body.items.map((u: { username: string }) => u.username);
    expect(usernames).toContain("t-village");
    expect(usernames).not.toContain("t-admin-b"); // another county's admin
    expect(usernames).not.toContain("t-regulator-b");
    const officers = await t.as("admin").get(`${API}/users?role=loan_officer&active=true`);
    expect(officers.body.items.length).toBeGreaterThan(0);
    expect(officers.body.items.every((u: { role: string; active: boolean }) => u.role === "loan_officer" && u.active)).toBe(true);
    expect((await t.as("admin").get(`${API}/users/${USERS.village.userId}`)).body).toMatchObject({ username: "t-village", role: "village_officer" });
    expectProblem(await t.as("admin").get(`${API}/users/${USERS.otherAdmin.userId}`), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").get(`${API}/users?role=root`), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("admin").get(`${API}/users/not-a-uuid`), 400, "VALIDATION_FAILED");
  });

  it("roles other than admin and bank manager may not manage users (403); no token is 401", async () => {
    for (const who of ["village", "officer", "finance", "operator", "regulator"] as const) {
      expectProblem(await t.as(who).get(`${API}/users`), 403, "FORBIDDEN");
      expectProblem(await t.as(who).post(`${API}/users`, { username: "nope-user", display_name: "x", role: "regulator", county_codes: [COUNTY], password: GOOD }), 403, "FORBIDDEN");
      expectProblem(await t.as(who).patch(`${API}/users/${USERS.officer2.userId}`, { active: false }), 403, "FORBIDDEN");
    }
    expectProblem(await supertest(t.app).get(`${API}/users`), 401, "UNAUTHENTICATED");
    expectProblem(await supertest(t.app).post(`${API}/auth/logout`), 401, "UNAUTHENTICATED");
    expectProblem(await supertest(t.app).post(`${API}/auth/password`).send({ current_password: "a", new_password: "b" }), 401, "UNAUTHENTICATED");
  });

  it("the admin changes a role and a jurisdiction, disables and enables; every change is audited", async () => {
    const u = await createUser({ role: "loan_officer", county_codes: [COUNTY], bank_id: BANK });
    const promoted = await t.as("admin").patch(`${API}/users/${u.id}`, { role: "bank_manager" });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ role: "bank_manager", bank_id: BANK });
    // Another binding: the bank is dropped with the role that used it.
    const moved = await t.as("admin").patch(`${API}/users/${u.id}`, { role: "village_officer", village_code: VILLAGE });
    expect(moved.body).toMatchObject({ role: "village_officer", bank_id: null, village_code: VILLAGE });
    expect((await t.as("admin").patch(`${API}/users/${u.id}`, { active: false })).body.active).toBe(false);
    expect((await t.as("admin").patch(`${API}/users/${u.id}`, { active: true })).body.active).toBe(true);
    const actions = (await t.db("audit_log").where({ entity_id: u.id }).orderBy("occurred_at").select("action")).map((r) => r.action);
    expect(actions).toEqual(["user.create", "user.update", "user.update", "user.disable", "user.enable"]);
    expectProblem(await t.as("admin").patch(`${API}/users/${u.id}`, { county_codes: [OTHER_COUNTY] }), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").patch(`${API}/users/${u.id}`, {}), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("admin").patch(`${API}/users/${USERS.otherRegulator.userId}`, { active: false }), 404, "NOT_FOUND");
  });

  it("nobody disables themselves or changes their own role or jurisdiction", async () => {
    const self = USERS.admin.userId;
    expectProblem(await t.as("admin").patch(`${API}/users/${self}`, { active: false }), 403, "FORBIDDEN");
    expectProblem(await t.as("admin").patch(`${API}/users/${self}`, { role: "regulator" }), 403, "FORBIDDEN");
    expectProblem(await t.as("admin").patch(`${API}/users/${self}`, { county_codes: [COUNTY] }), 403, "FORBIDDEN");
    expectProblem(await t.as("admin").post(`${API}/users/${self}/password-reset`, { password: GOOD }), 403, "FORBIDDEN");
    expect((await t.as("admin").patch(`${API}/users/${self}`, { display_name: "县管理员" })).body.display_name).toBe("县管理员");
  });

  it("a bank manager manages only the bank's loan officers: create, disable, reset", async () => {
    const o = await createUser({ role: "loan_officer", county_codes: [COUNTY] }, "manager");
    expect(o).toMatchObject({ role: "loan_officer", bank_id: BANK });
    expectProblem(await t.as("manager").post(`${API}/users`, { username: "mgr-made-reg", display_name: "x", role: "regulator", county_codes: [COUNTY], password: GOOD }), 403, "FORBIDDEN");
    expectProblem(await t.as("manager").post(`${API}/users`, { username: "mgr-other-bank", display_name: "x", role: "loan_officer", county_codes: [COUNTY], bank_id: OTHER_BANK, password: GOOD }), 404, "NOT_FOUND");
    const listed = await t.as("manager").get(`${API}/users?limit=500`);
    expect(listed.body.items.every((u: { role: string; bank_id: string }) => u.role === "loan_officer" && u.bank_id === BANK)).toBe(true);
    expect(listed.body.items.map((u: { username: string }) => u.username)).toContain("t-officer");
    // Outside the manager's reach: another bank's manager sees nothing of this bank; no other role.
    expectProblem(await t.as("otherBankManager").get(`${API}/users/${o.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("manager").get(`${API}/users/${USERS.village.userId}`), 404, "NOT_FOUND");
    expectProblem(await t.as("manager").patch(`${API}/users/${USERS.manager.userId}`, { active: false }), 404, "NOT_FOUND");
    expectProblem(await t.as("manager").patch(`${API}/users/${o.id}`, { role: "bank_manager" }), 403, "FORBIDDEN");
    expect((await t.as("manager").patch(`${API}/users/${o.id}`, { active: false })).body.active).toBe(false);
    const reset = await t.as("manager").post(`${API}/users/${o.id}/password-reset`, { password: "Temporary-77x" });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ user_id: o.id, must_change_password: true, sessions_ended: true });
    expectProblem(await t.as("manager").post(`${API}/users/${o.id}/password-reset`, { password: "short1" }), 422, "WEAK_PASSWORD", "body.password");
    const audit = await t.db("audit_log").where({ action: "user.password.reset", entity_id: o.id }).first();
    expect(audit.actor_id).toBe(USERS.manager.userId);
    expect(JSON.stringify(audit)).not.toMatch(/Temporary-77x/);
  });

  it("a disabled user cannot log in; there is no delete", async () => {
    const u = await createUser({ role: "finance_officer", county_codes: [COUNTY] });
    await t.as("admin").patch(`${API}/users/${u.id}`, { active: false });
    expectProblem(await login(u.username, GOOD), 401, "BAD_CREDENTIALS");
    const del = await supertest(t.app).delete(`${API}/users/${u.id}`).set("Authorization", `Bearer ${t.token("admin")}`);
    expect(del.status).toBe(405); // the path is served, DELETE is not
    expect(del.headers.allow).toBe("GET, HEAD, PATCH");
    expect(await t.db("users").where({ id: u.id }).first()).toBeTruthy();
    // The fixture's users still log in with their password.
    expect((await login("t-finance", TEST_PASSWORD)).status).toBe(200);
  });
});
