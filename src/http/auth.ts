import { createSecretKey, type KeyObject } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import jwt from "jsonwebtoken";
import { AppError, forbidden } from "./errors.js";

export const ROLES = [
  "admin",
  "village_officer",
  "loan_officer",
  "bank_manager",
  "finance_officer",
  "operator",
  "regulator",
] as const;
export type Role = (typeof ROLES)[number];

/** Who is acting and where: every query a request triggers is bounded by this. */
export interface Actor {
  kind: "staff";
  userId: string;
  role: Role;
  countyCodes: string[];
  bankId: string | null;
  operatorId: string | null;
  villageCode: string | null;
}

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

export function signStaffToken(settings: JwtSettings, actor: Omit<Actor, "kind">): string {
  const claims: StaffClaims = {
    sub: actor.userId,
    typ: "staff",
    role: actor.role,
    counties: actor.countyCodes,
    ...(actor.bankId ? { bank: actor.bankId } : {}),
    ...(actor.operatorId ? { operator: actor.operatorId } : {}),
    ...(actor.villageCode ? { village: actor.villageCode } : {}),
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
const settingsKey = (s: JwtSettings) => `${s.secret}\n${s.issuer}\n${s.audience}`;

/** Verifies a bearer token: HS256 only (alg pinned), `exp`, `iss` and `aud` checked. */
export function verifyToken(settings: JwtSettings, token: string): jwt.JwtPayload {
  const hit = verified.get(token);
  if (hit && hit.settings === settingsKey(settings) && typeof hit.payload.exp === "number" && Math.floor(Date.now() / 1000) < hit.payload.exp) return hit.payload;
  const payload = jwt.verify(token, hmacKey(settings.secret), {
    algorithms: ["HS256"],
    issuer: settings.issuer,
    audience: settings.audience,
  });
  if (typeof payload === "string") throw new Error("unexpected token payload");
  if (typeof payload.exp === "number") {
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { settings: settingsKey(settings), payload: Object.freeze(payload) });
  }
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
    requestId: string;
  }
}

export function authenticate(settings: JwtSettings) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = bearer(req);
    if (!token) throw new AppError("UNAUTHENTICATED", "Send Authorization: Bearer <token>", undefined, 401, { "WWW-Authenticate": "Bearer" });
    let p: jwt.JwtPayload;
    try {
      p = verifyToken(settings, token);
    } catch {
      throw new AppError("UNAUTHENTICATED", "The token is invalid or expired", undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    if (p.typ !== "staff" || typeof p.sub !== "string" || !ROLES.includes(p.role) || !Array.isArray(p.counties)) {
      throw new AppError("UNAUTHENTICATED", "This token is not a staff token", undefined, 401);
    }
    req.actor = {
      kind: "staff",
      userId: p.sub,
      role: p.role as Role,
      countyCodes: [...(p.counties as string[])], // its own copy: the verified payload is shared by every request with this token
      bankId: (p.bank as string | undefined) ?? null,
      operatorId: (p.operator as string | undefined) ?? null,
      villageCode: (p.village as string | undefined) ?? null,
    };
    next();
  };
}

/** The authenticated actor of a request (the auth middleware ran). */
export function actorOf(req: Request): Actor {
  if (!req.actor) throw new AppError("UNAUTHENTICATED", "Not authenticated", undefined, 401);
  return req.actor;
}

/** Throws 403 unless the actor has one of the roles. */
export function requireRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.role)) throw forbidden(`Role ${actor.role} may not do this; needs ${roles.join(" or ")}`);
}

/** Whether a county (and village) lies inside the actor's jurisdiction. */
export function inJurisdiction(actor: Actor, countyCode: string, villageCode?: string | null): boolean {
  if (!actor.countyCodes.includes(countyCode)) return false;
  if (actor.role === "village_officer") return villageCode != null && villageCode === actor.villageCode;
  return true;
}
