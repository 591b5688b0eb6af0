import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, type Role, requireRole } from "../../http/auth.js";
import { AppError, type FieldError, forbidden, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { hashPassword } from "../../lib/password.js";
import { ROLE_FIELDS } from "./roles.js";
import { passwordProblems, weakPassword } from "./password-policy.js";
import { type EndReason, endUserSessions } from "./sessions.js";
import type { UserCreate, UserListQuery, UserPatch } from "./users-schemas.js";

type Db = Knex | Knex.Transaction;

const COLUMNS = [
  "id",
  "username",
  "display_name",
  "role",
  "county_codes",
  "bank_id",
  "operator_id",
  "village_code",
  "active",
  "must_change_password",
  "password_changed_at",
  "created_at",
  "updated_at",
] as const;

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  county_codes: string[];
  bank_id: string | null;
  operator_id: string | null;
  village_code: string | null;
  active: boolean;
  must_change_password: boolean;
  password_changed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const out = (u: UserRow) => ({
  ...u,
  password_changed_at: u.password_changed_at ? u.password_changed_at.toISOString() : null,
  created_at: u.created_at.toISOString(),
  updated_at: u.updated_at.toISOString(),
});

/** What an audit record keeps of a user: everything but the password. */
const audited = (u: Omit<UserRow, "created_at" | "updated_at" | "password_changed_at" | "must_change_password" | "id">) => ({
  username: u.username,
  display_name: u.display_name,
  role: u.role,
  county_codes: u.county_codes,
  bank_id: u.bank_id,
  operator_id: u.operator_id,
  village_code: u.village_code,
  active: u.active,
});

/**
 * The users an actor manages, in SQL: a county admin every user all of whose counties are the
 * admin's; a bank manager the loan officers of the own bank inside the manager's counties.
 * Any other role may not manage users at all (403).
 */
function managedBy<Q extends Knex.QueryBuilder>(q: Q, actor: Actor): Q {
  requireRole(actor, "admin", "bank_manager");
  q.whereRaw("users.county_codes <@ ?::varchar[]", [actor.countyCodes]);
  if (actor.role === "bank_manager") q.where({ "users.role": "loan_officer", "users.bank_id": actor.bankId });
  return q;
}

export async function listUsers(db: Db, actor: Actor, query: z.infer<typeof UserListQuery>) {
  const q = managedBy(db("users").select(COLUMNS.map((c) => `users.${c}`)), actor);
  if (query.role) q.where("users.role", query.role);
  if (query.active !== undefined) q.where("users.active", query.active);
  const { rows, next_cursor } = await page<UserRow & Record<string, unknown>>(q, "users.username", (r) => r.username, query.limit, query.cursor);
  return { items: rows.map(out), next_cursor };
}

async function findManaged(db: Db, actor: Actor, id: string, lock = false): Promise<UserRow> {
  const q = managedBy(db("users").where("users.id", id), actor);
  if (lock) q.forUpdate();
  const row = await q.first<UserRow | undefined>(COLUMNS.map((c) => `users.${c}`));
  if (!row) throw notFound("user");
  return row;
}

export async function getUser(db: Db, actor: Actor, id: string) {
  return out(await findManaged(db, actor, id));
}

interface Jurisdiction {
  role: Role;
  county_codes: string[];
  bank_id: string | null;
  operator_id: string | null;
  village_code: string | null;
}

/**
 * Checks a role with its jurisdiction: the counties are the actor's (else 404), the role's binding
 * is given and exists inside those counties, and no binding of another role is given (422).
 */
async function checkJurisdiction(db: Db, actor: Actor, j: Jurisdiction): Promise<void> {
  const outside = j.county_codes.filter((c) => !actor.countyCodes.includes(c));
  if (outside.length > 0) throw notFound(`county ${outside[0]}`);
  const need = ROLE_FIELDS[j.role];
  const wrong: FieldError[] = [];
  const field = (name: "village_code" | "bank_id" | "operator_id", needed: boolean) => {
    if (needed && j[name] == null) wrong.push({ path: `body.${name}`, message: { zh: `角色 ${j.role} 必须填写此项`, en: `required for role ${j.role}` } });
    if (!needed && j[name] != null) wrong.push({ path: `body.${name}`, message: { zh: `角色 ${j.role} 不使用此项`, en: `not used by role ${j.role}` } });
  };
  field("village_code", need.village);
  field("bank_id", need.bank);
  field("operator_id", need.operator);
  if (wrong.length > 0) throw new AppError("RULE_VIOLATION", { zh: "管辖范围与角色不符", en: "The jurisdiction does not fit the role" }, wrong);
  if (j.village_code) {
    const v = await db("divisions").where({ code: j.village_code, level: "VILLAGE" }).whereIn("county_code", j.county_codes).first("code");
    if (!v) throw notFound(`village ${j.village_code}`);
  }
  if (j.bank_id && !(await db("banks").where({ id: j.bank_id }).first("id"))) throw notFound("bank");
  if (j.operator_id && !(await db("operators").where({ id: j.operator_id }).whereIn("county_code", j.county_codes).first("id"))) throw notFound("operator");
}

export async function createUser(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof UserCreate>) {
  const actor = ctx.actor;
  requireRole(actor, "admin", "bank_manager");
  const j: Jurisdiction = {
    role: input.role,
    county_codes: [...new Set(input.county_codes)],
    bank_id: input.bank_id ?? null,
    operator_id: input.operator_id ?? null,
    village_code: input.village_code ?? null,
  };
  if (actor.role === "bank_manager") {
    if (input.role !== "loan_officer") throw forbidden({ zh: "银行行长只能创建信贷员（loan_officer）用户", en: "A bank manager creates loan officers only" });
    j.bank_id ??= actor.bankId;
    if (j.bank_id !== actor.bankId) throw notFound("bank");
  }
  await checkJurisdiction(trx, actor, j);
  const problems = passwordProblems(input.password, input.username);
  if (problems.length > 0) throw weakPassword("body.password", problems);
  if (await trx("users").where({ username: input.username }).first("id")) throw new AppError("CONFLICT", { zh: `用户名 ${input.username} 已被使用`, en: `The username ${input.username} is taken` });
  const [row] = await trx("users")
    .insert({ username: input.username, display_name: input.display_name, ...j, password_hash: await hashPassword(input.password), must_change_password: true })
    .returning<UserRow[]>(COLUMNS as unknown as string[]);
  await appendAudit(trx, ctx, { action: "user.create", entityType: "user", entityId: row.id, countyCode: row.county_codes[0], after: audited(row) });
  return out(row);
}

export async function updateUser(trx: Knex.Transaction, ctx: Ctx, id: string, patch: z.infer<typeof UserPatch>) {
  const actor = ctx.actor;
  const before = await findManaged(trx, actor, id, true);
  const self = before.id === actor.userId;
  const changesJurisdiction =
    patch.role !== undefined || patch.county_codes !== undefined || patch.bank_id !== undefined || patch.operator_id !== undefined || patch.village_code !== undefined;
  if (actor.role === "bank_manager" && changesJurisdiction) {
    throw forbidden({ zh: "银行行长只能停用、启用本行的信贷员或修改其名称", en: "A bank manager may only disable, enable or rename the bank's loan officers" });
  }
  if (self && changesJurisdiction) throw forbidden({ zh: "不能修改自己的角色或管辖范围", en: "You may not change your own role or jurisdiction" });
  if (self && patch.active === false) throw forbidden({ zh: "不能停用自己的账号", en: "You may not disable yourself" });

  const role = patch.role ?? before.role;
  const need = ROLE_FIELDS[role];
  // A binding the new role does not use is dropped unless given; one it uses is kept unless given.
  const keep = <K extends "bank_id" | "operator_id" | "village_code">(k: K, used: boolean) => (patch[k] !== undefined ? patch[k] : used ? before[k] : null);
  const j: Jurisdiction = {
    role,
    county_codes: patch.county_codes ? [...new Set(patch.county_codes)] : before.county_codes,
    bank_id: keep("bank_id", need.bank),
    operator_id: keep("operator_id", need.operator),
    village_code: keep("village_code", need.village),
  };
  if (changesJurisdiction) await checkJurisdiction(trx, actor, j);

  const roleChanged = j.role !== before.role;
  const jurisdictionChanged =
    j.county_codes.join() !== before.county_codes.join() || j.bank_id !== before.bank_id || j.operator_id !== before.operator_id || j.village_code !== before.village_code;
  const active = patch.active ?? before.active;
  const [after] = await trx("users")
    .where({ id })
    .update({ display_name: patch.display_name ?? before.display_name, ...j, active, updated_at: trx.fn.now() })
    .returning<UserRow[]>(COLUMNS as unknown as string[]);

  // Whatever the token says that is no longer true ends its sessions: disabled, role, jurisdiction.
  const reason: EndReason | undefined = before.active && !active ? "disabled" : roleChanged ? "role_changed" : jurisdictionChanged ? "jurisdiction_changed" : undefined;
  if (reason) await endUserSessions(trx, id, reason);
  const action = before.active && !active ? "user.disable" : !before.active && active ? "user.enable" : "user.update";
  await appendAudit(trx, ctx, {
    action,
    entityType: "user",
    entityId: id,
    countyCode: after.county_codes[0],
    before: audited(before),
    after: { ...audited(after), ...(reason ? { sessions_ended: reason } : {}) },
  });
  return out(after);
}

/** An administrator (or the bank manager, for the bank's loan officers) sets a temporary password. */
export async function resetPassword(trx: Knex.Transaction, ctx: Ctx, id: string, password: string) {
  const user = await findManaged(trx, ctx.actor, id, true);
  if (user.id === ctx.actor.userId) throw forbidden({ zh: "请通过 POST /auth/password 修改自己的密码", en: "Change your own password with POST /auth/password" });
  const problems = passwordProblems(password, user.username);
  if (problems.length > 0) throw weakPassword("body.password", problems);
  await trx("users").where({ id }).update({ password_hash: await hashPassword(password), must_change_password: true, password_changed_at: trx.fn.now(), updated_at: trx.fn.now() });
  await endUserSessions(trx, id, "password_reset");
  await appendAudit(trx, ctx, { action: "user.password.reset", entityType: "user", entityId: id, countyCode: user.county_codes[0], after: { must_change_password: true, sessions_ended: "password_reset" } });
  return { user_id: id, must_change_password: true as const, sessions_ended: true as const };
}
