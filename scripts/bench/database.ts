import type { Knex } from "knex";
import { createDb } from "../../src/db/knex.js";

/**
 * The database every benchmark runs on: with DATABASE_URL (an admin connection) a scratch database
 * `name` created fresh on that server and dropped by `drop()`; without it, PGlite in memory.
 */
export async function scratchDb(name: string, opts: { poolMax?: number; keep?: boolean } = {}): Promise<{ db: Knex; kind: string; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = createDb({});
    return { db, kind: "PGlite (in memory)", drop: () => db.destroy() };
  }
  const admin = createDb({ databaseUrl: url, poolMax: 1 });
  await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.raw(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = createDb({ databaseUrl: u.toString(), poolMax: opts.poolMax ?? 10 });
  const version = (await db.raw<{ rows: { v: string }[] }>("SELECT current_setting('server_version') AS v")).rows[0].v;
  return {
    db,
    kind: `PostgreSQL ${version}`,
    drop: async () => {
      await db.destroy();
      if (!opts.keep) await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    },
  };
}
