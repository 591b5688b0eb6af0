import { loadConfig } from "../src/config.js";
import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { out } from "./cli.js";

/** Applies pending migrations (the server also does this at start). */
const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
const applied = await migrateLatest(db);
out(applied.length ? `applied: ${applied.join(", ")}` : "already up to date");
await db.destroy();
