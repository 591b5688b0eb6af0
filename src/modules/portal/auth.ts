import type { NextFunction, Request, Response } from "express";
import jwt from "jsonwebtoken";
import type { JwtSettings } from "../../http/auth.js";
import { hmacKey, verifyToken } from "../../http/auth.js";
import { AppError } from "../../http/errors.js";

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

export function signHouseholdToken(settings: JwtSettings, p: HouseholdPrincipal): string {
  return jwt.sign({ typ: "household", scope: "household:read", county: p.countyCode, partner: p.partnerId, rl: p.rateLimitPerMinute }, hmacKey(settings.secret), {
    algorithm: "HS256",
    subject: p.householdId,
    expiresIn: PORTAL_TOKEN_TTL_SECONDS,
    issuer: settings.issuer,
    audience: settings.audience,
  });
}

/** Accepts household tokens only: a staff token is no household. */
export function authenticateHousehold(settings: JwtSettings) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.header("authorization") ?? "");
    if (!m) throw new AppError("UNAUTHENTICATED", "Send Authorization: Bearer <portal token>", undefined, 401, { "WWW-Authenticate": "Bearer" });
    let p: jwt.JwtPayload;
    try {
      p = verifyToken(settings, m[1]);
    } catch {
      throw new AppError("UNAUTHENTICATED", "The token is invalid or expired", undefined, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    if (p.typ !== "household" || typeof p.sub !== "string" || typeof p.partner !== "string" || typeof p.county !== "string") {
      throw new AppError("UNAUTHENTICATED", "This is not a household portal token", undefined, 401);
    }
    req.household = { householdId: p.sub, countyCode: p.county, partnerId: p.partner, rateLimitPerMinute: Number(p.rl) || 600 };
    next();
  };
}

export function householdOf(req: Request): HouseholdPrincipal {
  if (!req.household) throw new AppError("UNAUTHENTICATED", "Not authenticated", undefined, 401);
  return req.household;
}
