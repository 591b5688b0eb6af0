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
  SEED_DEMO: bool.default(true),
  BODY_LIMIT: z.string().default("1mb"),
  BODY_MAX_DEPTH: z.coerce.number().int().min(2).max(1000).default(32),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  LOGIN_LOCK_SECONDS: z.coerce.number().int().min(1).default(900),
  TZ_BUSINESS: z.literal("Asia/Shanghai").default("Asia/Shanghai"),
});

export type Config = z.infer<typeof ConfigSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
