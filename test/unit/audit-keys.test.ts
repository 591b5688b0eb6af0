import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { auditKeysOf } from "../../src/lib/audit-keys.js";
import { loadSecrets } from "../../src/lib/secrets.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "huinong-keys-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("audit keys", () => {
  it("are generated once into secrets.json for the embedded default, and added to a file from before", () => {
    const dir = tempDir();
    const first = loadSecrets(loadConfig({ DATA_DIR: dir }));
    expect(first.auditHmacKey).toHaveLength(32);
    const keys = auditKeysOf(first.auditHmacKey, first.auditSealPrivateKey);
    expect(keys.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(dir, "secrets.json")).mode & 0o777).toBe(0o600);
    // The next start reads the same keys.
    const again = loadSecrets(loadConfig({ DATA_DIR: dir }));
    expect(auditKeysOf(again.auditHmacKey, again.auditSealPrivateKey).fingerprint).toBe(keys.fingerprint);
    expect(again.auditHmacKey.equals(first.auditHmacKey)).toBe(true);

    // A secrets.json written before the audit keys existed keeps its keys and gains the new ones.
    const old = tempDir();
    const before = { jwtSecret: "j".repeat(43), piiEncKey: "a".repeat(64), piiHashKey: "b".repeat(64) };
    writeFileSync(join(old, "secrets.json"), JSON.stringify(before));
    const upgraded = loadSecrets(loadConfig({ DATA_DIR: old }));
    expect(upgraded.jwtSecret).toBe(before.jwtSecret);
    expect(upgraded.piiEncKey.toString("hex")).toBe(before.piiEncKey);
    expect(JSON.parse(readFileSync(join(old, "secrets.json"), "utf8"))).toMatchObject({ ...before, auditHmacKey: upgraded.auditHmacKey.toString("hex") });
  });

  it("come from the environment (PEM, one-line PEM or base64 DER), and production needs them", () => {
    const pair = generateKeyPairSync("ed25519");
    const pem = pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const der = pair.privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
    const env = { DATA_DIR: tempDir(), JWT_SECRET: "s".repeat(40), PII_ENC_KEY: "1".repeat(64), PII_HASH_KEY: "2".repeat(64), AUDIT_HMAC_KEY: "3".repeat(64) };
    const fromPem = loadSecrets(loadConfig({ ...env, AUDIT_SEAL_PRIVATE_KEY: pem }));
    const fingerprint = auditKeysOf(fromPem.auditHmacKey, fromPem.auditSealPrivateKey).fingerprint;
    expect(fromPem.auditHmacKey.toString("hex")).toBe("3".repeat(64));
    expect(auditKeysOf(fromPem.auditHmacKey, pem.replace(/\n/g, "\\n")).fingerprint).toBe(fingerprint);
    expect(auditKeysOf(fromPem.auditHmacKey, der).fingerprint).toBe(fingerprint);
    expect(() => auditKeysOf(fromPem.auditHmacKey, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString())).toThrow(/Ed25519/);
    expect(() => loadConfig({ ...env, AUDIT_HMAC_KEY: "xyz" })).toThrow(/AUDIT_HMAC_KEY/);
    // Production: real-looking secrets (repeated characters are refused as examples), and the seal key required.
    const prod = { ...env, NODE_ENV: "production", JWT_SECRET: randomBytes(32).toString("base64url"), PII_ENC_KEY: randomBytes(32).toString("hex"), PII_HASH_KEY: randomBytes(32).toString("hex"), AUDIT_HMAC_KEY: randomBytes(32).toString("hex") };
    expect(() => loadSecrets(loadConfig(prod))).toThrow(/AUDIT_SEAL_PRIVATE_KEY is not set/);
    expect(loadSecrets(loadConfig({ ...prod, AUDIT_SEAL_PRIVATE_KEY: der })).auditSealPrivateKey).toBe(der);
  });
});
