import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.js";

export interface Secrets {
  jwtSecret: string;
  piiEncKey: Buffer;
  piiHashKey: Buffer;
  /** HMAC-SHA256 key of the audit chains. */
  auditHmacKey: Buffer;
  /** Ed25519 private key that signs the audit seals: PKCS#8, PEM or base64 DER. */
  auditSealPrivateKey: string;
}

interface Stored {
  jwtSecret: string;
  piiEncKey: string;
  piiHashKey: string;
  auditHmacKey: string;
  auditSealPrivateKey: string;
}

const generators: { [K in keyof Stored]: () => string } = {
  jwtSecret: () => randomBytes(32).toString("base64url"),
  piiEncKey: () => randomBytes(32).toString("hex"),
  piiHashKey: () => randomBytes(32).toString("hex"),
  auditHmacKey: () => randomBytes(32).toString("hex"),
  auditSealPrivateKey: () => generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
};

/**
 * Secrets come from the environment. For the embedded default (and development), any that are
 * missing are generated once and kept in `$DATA_DIR/secrets.json` (mode 0600), so the database
 * in the same folder stays readable across restarts; a key added in a later version is added to
 * the file on the next start. Production must set them all.
 */
export function loadSecrets(config: Config): Secrets {
  const fromEnv: Partial<Stored> = {
    jwtSecret: config.JWT_SECRET,
    piiEncKey: config.PII_ENC_KEY,
    piiHashKey: config.PII_HASH_KEY,
    auditHmacKey: config.AUDIT_HMAC_KEY,
    auditSealPrivateKey: config.AUDIT_SEAL_PRIVATE_KEY,
  };
  const missing = (Object.keys(generators) as (keyof Stored)[]).filter((k) => !fromEnv[k]);
  let stored: Partial<Stored> = {};
  if (missing.length > 0) {
    if (config.NODE_ENV === "production") {
      throw new Error("JWT_SECRET, PII_ENC_KEY, PII_HASH_KEY, AUDIT_HMAC_KEY and AUDIT_SEAL_PRIVATE_KEY must be set in production");
    }
    const file = join(config.DATA_DIR, "secrets.json");
    if (existsSync(file)) stored = JSON.parse(readFileSync(file, "utf8")) as Partial<Stored>;
    const absent = missing.filter((k) => !stored[k]);
    if (absent.length > 0) {
      for (const k of absent) stored[k] = generators[k]();
      mkdirSync(config.DATA_DIR, { recursive: true });
      writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
    }
  }
  const value = (k: keyof Stored): string => (fromEnv[k] ?? stored[k]) as string;
  return {
    jwtSecret: value("jwtSecret"),
    piiEncKey: Buffer.from(value("piiEncKey"), "hex"),
    piiHashKey: Buffer.from(value("piiHashKey"), "hex"),
    auditHmacKey: Buffer.from(value("auditHmacKey"), "hex"),
    auditSealPrivateKey: value("auditSealPrivateKey"),
  };
}
