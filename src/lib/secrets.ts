import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.js";

export interface Secrets {
  jwtSecret: string;
  piiEncKey: Buffer;
  piiHashKey: Buffer;
}

/**
 * Secrets come from the environment. For the embedded default (and development), any that are
 * missing are generated once and kept in `$DATA_DIR/secrets.json` (mode 0600), so the database
 * in the same folder stays readable across restarts. Production must set them all.
 */
export function loadSecrets(config: Config): Secrets {
  const fromEnv = { jwtSecret: config.JWT_SECRET, piiEncKey: config.PII_ENC_KEY, piiHashKey: config.PII_HASH_KEY };
  if (fromEnv.jwtSecret && fromEnv.piiEncKey && fromEnv.piiHashKey) {
    return {
      jwtSecret: fromEnv.jwtSecret,
      piiEncKey: Buffer.from(fromEnv.piiEncKey, "hex"),
      piiHashKey: Buffer.from(fromEnv.piiHashKey, "hex"),
    };
  }
  if (config.NODE_ENV === "production") {
    throw new Error("JWT_SECRET, PII_ENC_KEY and PII_HASH_KEY must be set in production");
  }
  const file = join(config.DATA_DIR, "secrets.json");
  let stored: { jwtSecret: string; piiEncKey: string; piiHashKey: string };
  if (existsSync(file)) {
    stored = JSON.parse(readFileSync(file, "utf8"));
  } else {
    mkdirSync(config.DATA_DIR, { recursive: true });
    stored = {
      jwtSecret: randomBytes(32).toString("base64url"),
      piiEncKey: randomBytes(32).toString("hex"),
      piiHashKey: randomBytes(32).toString("hex"),
    };
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return {
    jwtSecret: fromEnv.jwtSecret ?? stored.jwtSecret,
    piiEncKey: Buffer.from(fromEnv.piiEncKey ?? stored.piiEncKey, "hex"),
    piiHashKey: Buffer.from(fromEnv.piiHashKey ?? stored.piiHashKey, "hex"),
  };
}
