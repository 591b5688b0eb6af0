import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { transaction } from "../../db/transaction.js";
import { PasswordReset, PasswordResetDone, User, UserCreate, UserIdParam, UserList, UserListQuery, UserPatch } from "./users-schemas.js";
import * as svc from "./users.js";

const TAG = "Users 用户管理";
const WHO = "admin (users of the admin's counties, every role); bank_manager (loan officers of the own bank)";

doc({ method: "get", path: "/users", tag: TAG, summary: "Staff users the caller manages, by username (filters: role, active)", query: UserListQuery, response: UserList, roles: WHO });
doc({
  method: "post",
  path: "/users",
  tag: TAG,
  summary: "Create a staff user with a role, a jurisdiction and an initial password (to be changed at the first login)",
  description:
    "The role decides the binding: `village_code` for village_officer, `bank_id` for loan_officer and bank_manager, `operator_id` for operator; none for the others. " +
    "Counties outside the caller's answer 404. The password policy (422 `WEAK_PASSWORD`, each broken rule named): at least 10 characters, letters and digits, not containing the username, not a common password.",
  body: UserCreate,
  response: User,
  status: 201,
  roles: WHO,
  errors: [400, 401, 403, 404, 409, 422],
});
doc({ method: "get", path: "/users/:id", tag: TAG, summary: "One staff user", params: UserIdParam, response: User, roles: WHO });
doc({
  method: "patch",
  path: "/users/:id",
  tag: TAG,
  summary: "Change a user's name, role or jurisdiction, or disable (`active: false`) / enable them",
  description:
    "Disabling is how a user is deleted: users are never removed, because the audit log and maker-checker records name them. " +
    "Disabling, a new role or a new jurisdiction ends every session of the user at once (their tokens answer 401 from the next request). " +
    "Nobody may disable themselves or change their own role or jurisdiction (403); a bank manager may only disable, enable or rename the bank's loan officers.",
  params: UserIdParam,
  body: UserPatch,
  response: User,
  roles: WHO,
});
doc({
  method: "post",
  path: "/users/:id/password-reset",
  operationId: "resetUserPassword",
  tag: TAG,
  summary: "Set a temporary password; every session of the user ends and the user must change it at the next login",
  description:
    "The next login answers `must_change_password: true`, and its token may only call POST /auth/password and POST /auth/logout (anything else is 403 `PASSWORD_CHANGE_REQUIRED`).",
  params: UserIdParam,
  body: PasswordReset,
  response: PasswordResetDone,
  roles: WHO,
});

export function usersRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  r.get("/users", async (req, res) => {
    res.json(await svc.listUsers(db, actorOf(req), parse(UserListQuery, req.query, "query")));
  });
  r.post("/users", command(db, async (req, trx) => ({ status: 201, body: await svc.createUser(trx, ctxOf(req, clock), parse(UserCreate, req.body)) })));
  r.get("/users/:id", async (req, res) => {
    res.json(await svc.getUser(db, actorOf(req), parse(UserIdParam, req.params, "params").id));
  });
  r.patch("/users/:id", async (req, res) => {
    const { id } = parse(UserIdParam, req.params, "params");
    const patch = parse(UserPatch, req.body);
    res.json(await transaction(db, (trx) => svc.updateUser(trx, ctxOf(req, clock), id, patch)));
  });
  r.post(
    "/users/:id/password-reset",
    command(db, async (req, trx) => {
      const { id } = parse(UserIdParam, req.params, "params");
      return { status: 200, body: await svc.resetPassword(trx, ctxOf(req, clock), id, parse(PasswordReset, req.body).password) };
    }),
  );
  return r;
}
