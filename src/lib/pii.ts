import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/**
 * Personal data (PIPL): ID numbers, phones and bank accounts are stored encrypted (AES-256-GCM),
 * with a keyed hash (HMAC-SHA256) where a lookup is needed and a masked copy for responses, so a
 * database dump alone reveals none of them.
 */
export interface PiiKeys {
  encKey: Buffer;
  hashKey: Buffer;
}

export class Pii {
  constructor(private readonly keys: PiiKeys) {
    if (keys.encKey.length !== 32 || keys.hashKey.length !== 32) throw new Error("PII keys must be 32 bytes");
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keys.encKey, iv);
    const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return `v1.${iv.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}.${ct.toString("base64url")}`;
  }

  decrypt(stored: string): string {
    const [v, iv, tag, ct] = stored.split(".");
    if (v !== "v1" || !iv || !tag || ct === undefined) throw new Error("unknown PII envelope");
    const decipher = createDecipheriv("aes-256-gcm", this.keys.encKey, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
  }

  /** Deterministic keyed hash for equality lookup (e.g. find a member by ID number). */
  lookupHash(value: string): string {
    return createHmac("sha256", this.keys.hashKey).update(value).digest("hex");
  }
}

/** `469030********123X`: division code and the last four, birth date and sequence hidden. */
export function maskIdNumber(id: string): string {
  if (id.length < 10) return "*".repeat(id.length);
  return id.slice(0, 6) + "*".repeat(id.length - 10) + id.slice(-4);
}

/** `138****5678`. */
export function maskPhone(phone: string): string {
  const p = phone.replace(/\s+/g, "");
  if (p.length <= 4) return "*".repeat(p.length);
  if (p.length < 8) return "*".repeat(p.length - 4) + p.slice(-4);
  return p.slice(0, 3) + "*".repeat(p.length - 7) + p.slice(-4);
}

/** `6217************1234`: bank (BIN) prefix and the last four. */
export function maskBankAccount(account: string): string {
  const a = account.replace(/\s+/g, "");
  if (a.length <= 8) return "*".repeat(Math.max(0, a.length - 4)) + a.slice(-4);
  return a.slice(0, 4) + "*".repeat(a.length - 8) + a.slice(-4);
}

/** Names in public notices: `张*明`, `李*`: the family name and, for three or more, the last. */
export function maskName(name: string): string {
  const chars = [...name];
  if (chars.length <= 1) return name;
  if (chars.length === 2) return `${chars[0]}*`;
  return chars[0] + "*".repeat(chars.length - 2) + chars[chars.length - 1];
}
