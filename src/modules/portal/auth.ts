import type { NextFunction, Request, Response } from "express";
import jwt from "jsonwebtoken";
import type { JwtSettings } from "../../http/auth.js";
import { hmacKey, verifyToken } from "../../http/auth.js";
import { AppError } from "../../http/errors.js";
import type { SessionRegistry } from "../../http/sessions.js";

/** A household acting through a partner portal: read-only, one household. */
export interface HouseholdPrincipal {
  householdId: string;
  countyCode: string;
  partnerId: string;
  rateLimitPerMinute: number;
}

export const PORTAL_TOKEN_TTL_SECONDS = 900;

declare module "express-serve-static-core" {
  interface Request {
    household?: HouseholdPrincipal;
  }
}

/**
 * The token versions a portal token was issued under: the household's PIN (`hep`, raised when the
 * PIN is re-issued) and the partner's credentials (`pep`, raised when rotated or revoked).
 */
export interface PortalTokenEpochs {
  household: number;
  partner: number;
}

export function signHouseholdToken(settings: JwtSettings, p: HouseholdPrincipal, epochs: PortalTokenEpochs): string {
  const claims = { typ: "household", scope: "household:read", county: p.countyCode, partner: p.partnerId, rl: p.rateLimitPerMinute, hep: epochs.household, pep: epochs.partner };
  return jwt.sign(claims, hmacKey(settings.secret), {
    algorithm: "HS256",
    subject: p.householdId,
    expiresIn: PORTAL_TOKEN_TTL_SECONDS,
    issuer: settings.issuer,
    audience: settings.audience,
  });
}

const BEARER = /^Bearer\s+(\S+)$/i;
const ended = () => new AppError("UNAUTHENTICATED", { zh: "门户会话已结束，请重新登录", en: "The portal session has ended; sign in again" }, undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });

// One principal per verified token (the verified payload is kept and shared while the token lives),
// frozen since every request with the token reads it.
const principals = new WeakMap<jwt.JwtPayload, Readonly<HouseholdPrincipal>>();
function principalOf(p: jwt.JwtPayload): Readonly<HouseholdPrincipal> {
  let h = principals.get(p);
  if (!h) {
    h = Object.freeze({ householdId: p.sub as string, countyCode: p.county as string, partnerId: p.partner as string, rateLimitPerMinute: Number(p.rl) || 600 });
    principals.set(p, h);
  }
  return h;
}

/**
 * The claims of a household token in an Authorization header, or the error that refuses it
 * (missing, invalid or expired, not a household token). Whether its session has ended is asked
 * separately (`SessionRegistry.householdEnded`).
 */
export function householdClaims(settings: JwtSettings, authorization: string | undefined): jwt.JwtPayload | AppError {
  const m = BEARER.exec(authorization ?? "");
  if (!m) return new AppError("UNAUTHENTICATED", { zh: "请发送 Authorization: Bearer <门户令牌>", en: "Send Authorization: Bearer <portal token>" }, undefined, 401, { "WWW-Authenticate": "Bearer" });
  let p: jwt.JwtPayload;
  try {
    p = verifyToken(settings, m[1]);
  } catch {
    return new AppError("UNAUTHENTICATED", { zh: "令牌无效或已过期", en: "The token is invalid or expired" }, undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
  }
  if (p.typ !== "household" || typeof p.sub !== "string" || typeof p.partner !== "string" || typeof p.county !== "string" || typeof p.hep !== "number" || typeof p.pep !== "number") {
    return new AppError("UNAUTHENTICATED", { zh: "这不是农户门户令牌", en: "This is not a household portal token" }, undefined, 401);
  }
  return p;
}

/**
 * The household of an Authorization header when the answer needs no work: a valid household token
 * whose session is known, without reading the database, not to have ended. Undefined for anything
 * else (no token, a bad one, an ended one, or a session state due to be read again), which the
 * middleware below then answers.
 */
export function householdAtOnce(settings: JwtSettings, sessions: SessionRegistry, authorization: string | undefined): Readonly<HouseholdPrincipal> | undefined {
  const p = householdClaims(settings, authorization);
  if (p instanceof AppError || !sessions.isFresh()) return undefined;
  if (sessions.householdEnded(p.sub as string, p.hep as number, p.partner as string, p.pep as number)) return undefined;
  return principalOf(p);
}

/** Accepts household tokens only: a staff token is no household; an ended one (PIN re-issued, partner rotated or revoked) is 401. */
export function authenticateHousehold(settings: JwtSettings, sessions: SessionRegistry) {
  const check = (req: Request, p: jwt.JwtPayload, next: NextFunction) => {
    if (sessions.householdEnded(p.sub as string, p.hep as number, p.partner as string, p.pep as number)) throw ended();
    req.household = principalOf(p);
    next();
  };
  return (req: Request, _res: Response, next: NextFunction) => {
    const p = householdClaims(settings, req.header("authorization"));
    if (p instanceof AppError) throw p;
    if (sessions.isFresh()) return check(req, p, next);
    return sessions.refresh().then(
      () => check(req, p, next),
      () => {
        throw new AppError("SERVICE_UNAVAILABLE", { zh: "无法从数据库读取会话状态", en: "The session state could not be read from the database" });
      },
    );
  };
}

export function householdOf(req: Request): HouseholdPrincipal {
  if (!req.household) throw new AppError("UNAUTHENTICATED", { zh: "未登录", en: "Not authenticated" }, undefined, 401);
  return req.household;
}
