import { existsSync } from "node:fs";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** Every setting, parsed once from the environment. `.env.example` documents each one. */
const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  DATABASE_URL: z.string().url().optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().default("./.data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  JWT_SECRET: z.string().min(32).optional(),
  JWT_ISSUER: z.string().default("huinong"),
  JWT_AUDIENCE: z.string().default("huinong-api"),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(3600),
  PII_ENC_KEY: z.string().regex(/^[0-9a-f]{64}$/i, "64 hex characters (32 bytes)").optional(),
  PII_HASH_KEY: z.string().regex(/^[0-9a-f]{64}$/i, "64 hex characters (32 bytes)").optional(),
  AUDIT_HMAC_KEY: z.string().regex(/^[0-9a-f]{64}$/i, "64 hex characters (32 bytes)").optional(),
  AUDIT_SEAL_PRIVATE_KEY: z.string().min(40, "an Ed25519 private key, PKCS#8 as PEM or base64 DER").optional(),
  /** Unset: true in development and test, false in production (where true is refused). */
  SEED_DEMO: bool.optional(),
  BODY_LIMIT: z.string().default("1mb"),
  /** A register file (建档立卡) comes base64 in JSON: ~13 MB for 100,000 people in CSV, less in XLSX. */
  FILE_BODY_LIMIT: z.string().default("32mb"),
  BODY_MAX_DEPTH: z.coerce.number().int().min(2).max(1000).default(32),
  // Files (CSV, XLSX) a route takes instead of JSON, e.g. a bank's balance file.
  UPLOAD_LIMIT: z.string().default("32mb"),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  LOGIN_LOCK_SECONDS: z.coerce.number().int().min(1).default(900),
  TZ_BUSINESS: z.literal("Asia/Shanghai").default("Asia/Shanghai"),
  // The daily jobs run by themselves inside the server (src/jobs/scheduler.ts); "off" for a server that only serves.
  SCHEDULER: z.enum(["on", "off"]).default("on"),
});

export type Config = Omit<z.infer<typeof ConfigSchema>, "SEED_DEMO"> & { SEED_DEMO: boolean };

/** The names of every setting (tests check that `.env.example` documents each one). */
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as (keyof Config)[];

/**
 * Secrets a production start must take from the environment (or `.env`): without any of them, or
 * with a value copied from the documentation or the tests, `NODE_ENV=production` refuses to start.
 * A setting holding a secret is added here as well as to the schema above.
 */
export const PRODUCTION_SECRETS: (keyof Config)[] = ["JWT_SECRET", "PII_ENC_KEY", "PII_HASH_KEY", "AUDIT_HMAC_KEY", "AUDIT_SEAL_PRIVATE_KEY"];

/** Values that appear in the documentation or the tests: never accepted as production secrets. */
export const EXAMPLE_SECRET_VALUES: readonly string[] = [
  "change-me",
  "changeme",
  "test-secret-test-secret-test-secret-0123",
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
];

/** Configuration that cannot be used: each problem is one sentence naming the setting. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
    /** sysexits EX_CONFIG: systemd shows it as "status=78/CONFIG". */
    readonly exitCode = 78,
  ) {
    super(`${message}: ${problems.join("; ")}`);
  }
}

/** What keeps this configuration from running in production (empty outside production). */
export function productionProblems(config: Config, env: NodeJS.ProcessEnv): string[] {
  if (config.NODE_ENV !== "production") return [];
  const problems: string[] = [];
  for (const name of PRODUCTION_SECRETS) {
    const value = config[name];
    if (value === undefined || value === "") problems.push(`${name} is not set`);
    else if (typeof value === "string" && (EXAMPLE_SECRET_VALUES.includes(value.toLowerCase()) || /^(.)\1*$/.test(value)))
      problems.push(`${name} is an example value, not a secret`);
  }
  const pii = [config.PII_ENC_KEY, config.PII_HASH_KEY];
  if (pii[0] && pii[0] === pii[1]) problems.push("PII_ENC_KEY and PII_HASH_KEY are the same key");
  if (bool.safeParse(env.SEED_DEMO).data === true) problems.push("SEED_DEMO=true: the demo county is never seeded in production (unset it)");
  return problems;
}

/**
 * Reads `.env` from the working directory into `process.env` with Node's own loader, if the file
 * exists; a variable already set in the environment wins over the file.
 */
export function loadEnvFile(path = ".env"): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/**
 * Every setting, from the environment (and `.env` when reading `process.env`). Throws a
 * ConfigError naming each bad setting; in production also each missing or example secret.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env === process.env) loadEnvFile();
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      "invalid configuration",
      parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    );
  }
  const config: Config = { ...parsed.data, SEED_DEMO: parsed.data.SEED_DEMO ?? parsed.data.NODE_ENV !== "production" };
  const problems = productionProblems(config, env);
  if (problems.length > 0) throw new ConfigError("refusing to start in production", problems);
  return config;
}
