import type { Knex } from "knex";
import type { Config } from "./config.js";
import { createDb, pgliteDirFor } from "./db/knex.js";
import type { Deps } from "./deps.js";
import { type Clock, systemClock } from "./lib/clock.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { Pii } from "./lib/pii.js";
import { loadSecrets } from "./lib/secrets.js";
import { auditKeysOf, useAuditKeys } from "./lib/audit-keys.js";

/** Builds the dependencies from the configuration (server and command-line scripts). */
export function buildDeps(config: Config, opts: { db?: Knex; clock?: Clock; logger?: Logger } = {}): Deps {
  const secrets = loadSecrets(config);
  useAuditKeys(auditKeysOf(secrets.auditHmacKey, secrets.auditSealPrivateKey));
  const db =
    opts.db ??
    createDb({
      databaseUrl: config.DATABASE_URL,
      pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR),
      poolMax: config.DB_POOL_MAX,
    });
  return {
    db,
    clock: opts.clock ?? systemClock,
    logger: opts.logger ?? createLogger(config.LOG_LEVEL),
    pii: new Pii({ encKey: secrets.piiEncKey, hashKey: secrets.piiHashKey }),
    jwt: { secret: secrets.jwtSecret, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.JWT_TTL_SECONDS },
    settings: { bodyLimit: config.BODY_LIMIT, fileBodyLimit: config.FILE_BODY_LIMIT, bodyMaxDepth: config.BODY_MAX_DEPTH, uploadLimit: config.UPLOAD_LIMIT, loginMaxFailures: config.LOGIN_MAX_FAILURES, loginLockSeconds: config.LOGIN_LOCK_SECONDS },
  };
}
