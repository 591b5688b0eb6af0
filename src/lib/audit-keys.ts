import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { loadConfig } from "../config.js";
import { loadSecrets } from "./secrets.js";

/**
 * The two audit keys, neither kept in the database: the HMAC key every chain hash is computed with,
 * and the Ed25519 key pair the daily seals are signed with (the public half is published).
 */
export interface AuditKeys {
  hmacKey: Buffer;
  sealPrivateKey: KeyObject;
  sealPublicKey: KeyObject;
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER), hex: names the key in every seal. */
  fingerprint: string;
}

/** Reads an Ed25519 PKCS#8 private key given as PEM or as base64 DER. */
export function ed25519PrivateKey(text: string): KeyObject {
  // A PEM put on one line of an env file often carries its line breaks as the two characters \n.
  const trimmed = text.trim().replace(/\\n/g, "\n");
  const key = trimmed.startsWith("-----BEGIN")
    ? createPrivateKey({ key: trimmed, format: "pem" })
    : createPrivateKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "pkcs8" });
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`AUDIT_SEAL_PRIVATE_KEY is a ${key.asymmetricKeyType} key; an Ed25519 key is needed`);
  return key;
}

export function publicKeyFingerprint(key: KeyObject): string {
  return createHash("sha256").update(key.export({ format: "der", type: "spki" })).digest("hex");
}

export function auditKeysOf(hmacKey: Buffer, sealPrivateKey: string | KeyObject): AuditKeys {
  if (hmacKey.length !== 32) throw new Error("AUDIT_HMAC_KEY must be 32 bytes (64 hex characters)");
  const priv = typeof sealPrivateKey === "string" ? ed25519PrivateKey(sealPrivateKey) : sealPrivateKey;
  const pub = createPublicKey(priv);
  return { hmacKey, sealPrivateKey: priv, sealPublicKey: pub, fingerprint: publicKeyFingerprint(pub) };
}

let current: AuditKeys | undefined;

/** Sets the keys this process writes and verifies the audit log with (`buildDeps` does, from the secrets). */
export function useAuditKeys(keys: AuditKeys): void {
  current = keys;
}

/**
 * The keys of this process. The append path (`appendAudit`, called by every write) reads them here
 * rather than from each caller; a process that never called `useAuditKeys` (a command-line script that
 * opens the database itself) loads them from the environment and `$DATA_DIR/secrets.json` like `buildDeps`.
 */
export function auditKeys(): AuditKeys {
  if (!current) {
    const secrets = loadSecrets(loadConfig());
    current = auditKeysOf(secrets.auditHmacKey, secrets.auditSealPrivateKey);
  }
  return current;
}
