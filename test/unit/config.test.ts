import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, loadConfig, loadEnvFile, PRODUCTION_SECRETS } from "../../src/config.js";

const SECRETS = {
  JWT_SECRET: "x".repeat(20) + "y".repeat(20),
  PII_ENC_KEY: "ab".repeat(32),
  PII_HASH_KEY: "cd".repeat(32),
  AUDIT_HMAC_KEY: "ef".repeat(32),
  AUDIT_SEAL_PRIVATE_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
};

describe("configuration", () => {
  it(".env.example documents every setting", () => {
    const example = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");
    for (const key of CONFIG_KEYS) expect(example, key).toMatch(new RegExp(`^#? ?${key}=`, "m"));
  });

  it("development starts with nothing set; the demo is seeded by default", () => {
    const c = loadConfig({});
    expect(c.NODE_ENV).toBe("development");
    expect(c.SEED_DEMO).toBe(true);
    expect(c.TZ_BUSINESS).toBe("Asia/Shanghai");
  });

  it("production names every missing secret and never seeds the demo by default", () => {
    let err: unknown;
    try {
      loadConfig({ NODE_ENV: "production" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(PRODUCTION_SECRETS.map((k) => `${k} is not set`));
    expect((err as ConfigError).exitCode).toBe(78);
    const c = loadConfig({ NODE_ENV: "production", ...SECRETS });
    expect(c.SEED_DEMO).toBe(false);
    expect(() => loadConfig({ NODE_ENV: "production", ...SECRETS, PII_HASH_KEY: SECRETS.PII_ENC_KEY })).toThrow("PII_ENC_KEY and PII_HASH_KEY are the same key");
    expect(() => loadConfig({ NODE_ENV: "production", ...SECRETS, SEED_DEMO: "yes" })).toThrow("SEED_DEMO=true");
  });

  it("reads .env with the environment winning over the file", () => {
    const file = join(mkdtempSync(join(tmpdir(), "huinong-env-")), ".env");
    writeFileSync(file, "HUINONG_TEST_FROM_FILE=file\nHUINONG_TEST_BOTH=file\n");
    process.env.HUINONG_TEST_BOTH = "environment";
    loadEnvFile(file);
    expect(process.env.HUINONG_TEST_FROM_FILE).toBe("file");
    expect(process.env.HUINONG_TEST_BOTH).toBe("environment");
    delete process.env.HUINONG_TEST_FROM_FILE;
    delete process.env.HUINONG_TEST_BOTH;
  });
});
