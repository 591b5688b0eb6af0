import { Router } from "express";
import type { Deps } from "../../deps.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { TokenRequest, TokenResponse } from "./schemas.js";
import { issueStaffToken } from "./service.js";

doc({
  method: "post",
  path: "/auth/token",
  operationId: "login",
  tag: "Auth",
  summary: "Staff login: username and password for a bearer token (JWT, HS256)",
  description:
    "The token carries the role and the jurisdiction (county codes, bank, operator, village). Every attempt is counted per username before the password is checked, however many arrive at once: at most LOGIN_MAX_FAILURES are checked in the window, then the username is locked for LOGIN_LOCK_SECONDS (429 with Retry-After), the right password included.",
  body: TokenRequest,
  response: TokenResponse,
  public: true,
  errors: [400, 401, 429],
});

export function authRoutes(deps: Deps): Router {
  const r = Router();
  r.post("/auth/token", async (req, res) => {
    const { username, password } = parse(TokenRequest, req.body);
    res.json(await issueStaffToken(deps, username, password));
  });
  return r;
}
