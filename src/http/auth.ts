import { createSecretKey, type KeyObject, randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import jwt from "jsonwebtoken";
import { AppError, forbidden, registerErrorCodes } from "./errors.js";
import { type Actor, ROLES, type Role } from "../lib/actor.js";
import type { SessionRegistry } from "./sessions.js";

registerErrorCodes({
  PASSWORD_CHANGE_REQUIRED: {
    status: 403,
    title: { zh: "须修改密码", en: "Password change required" },
    description: { zh: "密码为临时密码（由管理员设置）：请先通过 POST /auth/password 修改密码。", en: "The password is temporary (set by an administrator): change it with POST /auth/password before anything else." },
  },
});

export { type Actor, ROLES, type Role } from "../lib/actor.js";

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

interface StaffClaims {
  sub: string;
  typ: "staff";
  role: Role;
  counties: string[];
  bank?: string;
  operator?: string;
  village?: string;
  /** Session id (a row of `sessions` when the token came from a login); logout ends it. */
  sid: string;
  /** The user's token version when it was issued; a higher current version refuses the token. */
  ep: number;
  /** The password is temporary: only POST /auth/password and /auth/logout are allowed. */
  pwc?: true;
}

/** The session a staff token belongs to. */
export interface StaffSession {
  id: string;
  epoch: number;
  mustChangePassword?: boolean;
}

// One KeyObject per secret: jsonwebtoken would otherwise build a new one for every token it checks.
const keys = new Map<string, KeyObject>();
export function hmacKey(secret: string): KeyObject {
  let k = keys.get(secret);
  if (!k) {
    k = createSecretKey(Buffer.from(secret, "utf8"));
    keys.set(secret, k);
  }
  return k;
}

/**
 * Signs a staff token. A login passes the session it opened (src/modules/auth/sessions.ts); a token
 * minted without one (tests, tools) gets a fresh session id and version 0, so it still ends when the
 * user's version is raised.
 */
export function signStaffToken(settings: JwtSettings, actor: Omit<Actor, "kind">, session: StaffSession = { id: randomUUID(), epoch: 0 }): string {
  const claims: StaffClaims = {
    sub: actor.userId,
    typ: "staff",
    role: actor.role,
    counties: actor.countyCodes,
    ...(actor.bankId ? { bank: actor.bankId } : {}),
    ...(actor.operatorId ? { operator: actor.operatorId } : {}),
    ...(actor.villageCode ? { village: actor.villageCode } : {}),
    sid: session.id,
    ep: session.epoch,
    ...(session.mustChangePassword ? { pwc: true as const } : {}),
  };
  return jwt.sign(claims, hmacKey(settings.secret), {
    algorithm: "HS256",
    expiresIn: settings.ttlSeconds,
    issuer: settings.issuer,
    audience: settings.audience,
  });
}

/**
 * Tokens already verified, kept until they expire (bounded; the oldest go first): a client sends
 * the same token on every request, and checking its signature again each time is the largest
 * single cost of a cheap read. A cached token is only ever one that passed `jwt.verify` under the
 * same settings, and is refused once its `exp` has passed, as `jwt.verify` would.
 */
const VERIFIED_MAX = 10_000;
const verified = new Map<string, { settings: string; payload: jwt.JwtPayload }>();
// The key of a settings object, built once per object (and again if its fields change) rather
// than on every request.
const settingsKeys = new WeakMap<JwtSettings, { secret: string; issuer: string; audience: string; key: string }>();
function settingsKey(s: JwtSettings): string {
  const k = settingsKeys.get(s);
  if (k && k.secret === s.secret && k.issuer === s.issuer && k.audience === s.audience) return k.key;
  const key = `${s.secret}\n${s.issuer}\n${s.audience}`;
  settingsKeys.set(s, { secret: s.secret, issuer: s.issuer, audience: s.audience, key });
  return key;
}

/** Verifies a bearer token: HS256 only (alg pinned), `exp` required and checked, `iss` and `aud` checked. */
export function verifyToken(settings: JwtSettings, token: string): jwt.JwtPayload {
  const hit = verified.get(token);
  if (hit && hit.settings === settingsKey(settings) && typeof hit.payload.exp === "number" && Math.floor(Date.now() / 1000) < hit.payload.exp) return hit.payload;
  const payload = jwt.verify(token, hmacKey(settings.secret), {
    algorithms: ["HS256"],
    issuer: settings.issuer,
    audience: settings.audience,
  });
  if (typeof payload === "string") throw new Error("unexpected token payload");
  // jwt.verify accepts a token without `exp`; such a token would never end, so it is refused.
  if (typeof payload.exp !== "number") throw new Error("token without exp");
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, { settings: settingsKey(settings), payload: Object.freeze(payload) });
  return payload;
}

function bearer(req: Request): string | undefined {
  const h = req.header("authorization");
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

declare module "express-serve-static-core" {
  interface Request {
    actor?: Actor;
    /** The session of the staff token (id, expiry in epoch seconds, temporary password). */
    staffSession?: { id: string; userId: string; expiresAt: number; mustChangePassword: boolean };
    requestId: string;
  }
}

/** Answers 401 for a token that is invalid, expired, not a staff token, or whose session has ended. */
export function authenticate(settings: JwtSettings, sessions: SessionRegistry) {
  const check = (req: Request, p: jwt.JwtPayload, next: NextFunction) => {
    if (sessions.staffEnded(p.sub as string, p.ep as number, p.sid as string)) {
      throw new AppError("UNAUTHENTICATED", { zh: "会话已结束，请重新登录", en: "The session has ended; log in again" }, undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    req.actor = {
      kind: "staff",
      userId: p.sub as string,
      role: p.role as Role,
      countyCodes: [...(p.counties as string[])], // its own copy: the verified payload is shared by every request with this token
      bankId: (p.bank as string | undefined) ?? null,
      operatorId: (p.operator as string | undefined) ?? null,
      villageCode: (p.village as string | undefined) ?? null,
    };
    req.staffSession = { id: p.sid as string, userId: p.sub as string, expiresAt: p.exp as number, mustChangePassword: p.pwc === true };
    next();
  };
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = bearer(req);
    if (!token) throw new AppError("UNAUTHENTICATED", { zh: "请发送 Authorization: Bearer <令牌>", en: "Send Authorization: Bearer <token>" }, undefined, 401, { "WWW-Authenticate": "Bearer" });
    let p: jwt.JwtPayload;
    try {
      p = verifyToken(settings, token);
    } catch {
      throw new AppError("UNAUTHENTICATED", { zh: "令牌无效或已过期", en: "The token is invalid or expired" }, undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    if (p.typ !== "staff" || typeof p.sub !== "string" || !ROLES.includes(p.role) || !Array.isArray(p.counties) || typeof p.sid !== "string" || typeof p.ep !== "number") {
      throw new AppError("UNAUTHENTICATED", { zh: "此令牌不是工作人员令牌", en: "This token is not a staff token" }, undefined, 401);
    }
    if (sessions.isFresh()) return check(req, p, next);
    return sessions.refresh().then(
      () => check(req, p, next),
      (err: unknown) => {
        if (err instanceof AppError) throw err;
        throw new AppError("SERVICE_UNAVAILABLE", { zh: "无法从数据库读取会话状态", en: "The session state could not be read from the database" });
      },
    );
  };
}

/** After the password routes: a token of a temporary password may do nothing else (403). */
export function requirePasswordChanged(req: Request, _res: Response, next: NextFunction): void {
  if (req.staffSession?.mustChangePassword) {
    throw new AppError(
      "PASSWORD_CHANGE_REQUIRED",
      { zh: "当前密码为临时密码：请先通过 POST /api/v1/auth/password 修改密码，然后重新登录", en: "This password is temporary: change it with POST /api/v1/auth/password, then log in again" },
      undefined,
      403,
    );
  }
  next();
}

/** The authenticated actor of a request (the auth middleware ran). */
export function actorOf(req: Request): Actor {
  if (!req.actor) throw new AppError("UNAUTHENTICATED", { zh: "未登录", en: "Not authenticated" }, undefined, 401);
  return req.actor;
}

/** Throws 403 unless the actor has one of the roles. */
export function requireRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.role)) throw forbidden({ zh: `角色 ${actor.role} 不能执行此操作；需要 ${roles.join(" 或 ")}`, en: `Role ${actor.role} may not do this; needs ${roles.join(" or ")}` });
}

/** Whether a county (and village) lies inside the actor's jurisdiction. */
export function inJurisdiction(actor: Actor, countyCode: string, villageCode?: string | null): boolean {
  if (!actor.countyCodes.includes(countyCode)) return false;
  if (actor.role === "village_officer") return villageCode != null && villageCode === actor.villageCode;
  return true;
}
