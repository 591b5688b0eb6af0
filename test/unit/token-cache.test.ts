import jwt from "jsonwebtoken";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type JwtSettings, verifyToken } from "../../src/http/auth.js";

const settings: JwtSettings = { secret: "unit-secret-unit-secret-unit-secret-01", issuer: "huinong", audience: "huinong-api", ttlSeconds: 60 };
const sign = (claims: object, s: JwtSettings = settings, expiresIn = 60) =>
  jwt.sign(claims, s.secret, { algorithm: "HS256", issuer: s.issuer, audience: s.audience, expiresIn });

afterEach(() => {
  vi.useRealTimers();
});

describe("verifyToken keeps verified tokens until they expire", () => {
  it("answers a token again without checking its signature, and the same claims", () => {
    const token = sign({ sub: "u-1", typ: "staff" });
    const spy = vi.spyOn(jwt, "verify");
    try {
      const first = verifyToken(settings, token);
      const second = verifyToken(settings, token);
      expect(second).toBe(first);
      expect(second).toMatchObject({ sub: "u-1", typ: "staff", iss: "huinong", aud: "huinong-api" });
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it("refuses a kept token once its exp has passed", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-06-01T00:00:00Z"));
    const token = sign({ sub: "u-2", typ: "staff" }, settings, 30);
    expect(verifyToken(settings, token).sub).toBe("u-2");
    vi.setSystemTime(new Date("2026-06-01T00:00:29Z"));
    expect(verifyToken(settings, token).sub).toBe("u-2");
    vi.setSystemTime(new Date("2026-06-01T00:00:30Z"));
    expect(() => verifyToken(settings, token)).toThrow(/expired/);
  });

  it("refuses a kept token under another secret, issuer or audience", () => {
    const token = sign({ sub: "u-3", typ: "staff" });
    expect(verifyToken(settings, token).sub).toBe("u-3");
    expect(() => verifyToken({ ...settings, secret: "another-secret-another-secret-another-01" }, token)).toThrow(/signature/);
    expect(() => verifyToken({ ...settings, issuer: "elsewhere" }, token)).toThrow(/issuer/);
    expect(() => verifyToken({ ...settings, audience: "elsewhere" }, token)).toThrow(/audience/);
    expect(verifyToken(settings, token).sub).toBe("u-3");
  });

  it("never keeps a token that failed", () => {
    const forged = sign({ sub: "u-4", typ: "staff" }, { ...settings, secret: "forger-secret-forger-secret-forger-0001" });
    expect(() => verifyToken(settings, forged)).toThrow(/signature/);
    expect(() => verifyToken(settings, forged)).toThrow(/signature/);
  });
});
