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

/** Accepts household tokens only: a staff token is no household; an ended one (PIN re-issued, partner rotated or revoked) is 401. */
export function authenticateHousehold(settings: JwtSettings, sessions: SessionRegistry) {
  const check = (req: Request, p: jwt.JwtPayload, next: NextFunction) => {
    if (sessions.householdEnded(p.sub as string, p.hep as number, p.partner as string, p.pep as number)) {
      throw new AppError("UNAUTHENTICATED", { zh: "门户会话已结束，请重新登录", en: "The portal session has ended; sign in again" }, undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    req.household = { householdId: p.sub as string, countyCode: p.county as string, partnerId: p.partner as string, rateLimitPerMinute: Number(p.rl) || 600 };
    next();
  };
  return (req: Request, _res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.header("authorization") ?? "");
    if (!m) throw new AppError("UNAUTHENTICATED", { zh: "请发送 Authorization: Bearer <门户令牌>", en: "Send Authorization: Bearer <portal token>" }, undefined, 401, { "WWW-Authenticate": "Bearer" });
    let p: jwt.JwtPayload;
    try {
      p = verifyToken(settings, m[1]);
    } catch {
      throw new AppError("UNAUTHENTICATED", { zh: "令牌无效或已过期", en: "The token is invalid or expired" }, undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    if (p.typ !== "household" || typeof p.sub !== "string" || typeof p.partner !== "string" || typeof p.county !== "string" || typeof p.hep !== "number" || typeof p.pep !== "number") {
      throw new AppError("UNAUTHENTICATED", { zh: "这不是农户门户令牌", en: "This is not a household portal token" }, undefined, 401);
    }
    if (sessions.isFresh()) return check(req, p, next);
    return sessions.refresh().then(
      () => check(req, p, next),
      () => {
        throw new AppError("SERVICE_UNAVAILABLE", "The session state could not be read from the database");
      },
    );
  };
}

export function householdOf(req: Request): HouseholdPrincipal {
  if (!req.household) throw new AppError("UNAUTHENTICATED", { zh: "未登录", en: "Not authenticated" }, undefined, 401);
  return req.household;
}
