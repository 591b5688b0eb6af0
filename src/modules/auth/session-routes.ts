import { Router } from "express";
import type { Deps } from "../../deps.js";
import { transaction } from "../../db/transaction.js";
import { ctxOf } from "../../http/ctx.js";
import { AppError } from "../../http/errors.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { PasswordChange } from "./schemas.js";
import { TokenResponse } from "./schemas.js";
import { changeOwnPassword, endSession } from "./sessions.js";

doc({
  method: "post",
  path: "/auth/logout",
  operationId: "logout",
  tag: "Auth",
  summary: "End the calling token's session (its token answers 401 from the next request); 204",
  status: 204,
  idempotent: "none",
  errors: [401],
});
doc({
  method: "post",
  path: "/auth/password",
  operationId: "changePassword",
  tag: "Auth",
  summary: "Change your own password (current and new); every session of yours ends and a new token is answered",
  description:
    "Also the way out of a temporary password (`must_change_password`). A wrong current password is 422 `WRONG_PASSWORD`; the policy is that of POST /users (422 `WEAK_PASSWORD`), and the new password must differ from the current one.",
  body: PasswordChange,
  response: TokenResponse,
  idempotent: "none",
  errors: [400, 401, 422],
});

/** Routes a token of a temporary password may call (mounted after authentication, before the guard). */
export function sessionRoutes(deps: Deps): Router {
  const r = Router();
  r.post("/auth/logout", async (req, res) => {
    const session = req.staffSession;
    if (!session) throw new AppError("UNAUTHENTICATED", { zh: "未登录", en: "Not authenticated" }, undefined, 401);
    const ctx = ctxOf(req, deps.clock);
    await transaction(deps.db, (trx) => endSession(trx, ctx, session));
    res.status(204).end();
  });
  r.post("/auth/password", async (req, res) => {
    const input = parse(PasswordChange, req.body);
    res.json(await changeOwnPassword(deps, ctxOf(req, deps.clock), input));
  });
  return r;
}
