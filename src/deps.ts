import type { Knex } from "knex";
import type { Logger } from "pino";
import type { JwtSettings } from "./http/auth.js";
import type { Clock } from "./lib/clock.js";
import type { Pii } from "./lib/pii.js";

/** What the modules are built with. Tests build it with an in-memory database and a fixed clock. */
export interface Deps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  pii: Pii;
  jwt: JwtSettings;
  settings: {
    bodyLimit: string;
    /** The limit of a register file sent to POST /register-imports (base64 in JSON; `FILE_BODY_LIMIT`, 32mb when not given). */
    fileBodyLimit?: string;
    /** How deeply a JSON body may nest objects and arrays (`BODY_MAX_DEPTH`; 32 when not given). */
    bodyMaxDepth?: number;
    /** Largest CSV or XLSX file a route that takes files reads (`UPLOAD_LIMIT`; 32mb when not given). */
    uploadLimit?: string;
    loginMaxFailures: number;
    loginLockSeconds: number;
  };
}
