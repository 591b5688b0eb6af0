import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import knexFactory, { type Knex } from "knex";
import ClientPgLite from "knex-pglite";
import pg from "pg";
import { migrationSource } from "../../db/migrations/index.js";

export type Db = Knex | Knex.Transaction;
export type { Knex };

/** Rows a write touched, from whatever the driver answered (pg: a number or `rowCount`; PGlite: `affectedRows`). */
export function affectedRows(r: unknown): number {
  if (typeof r === "number") return r;
  const x = r as { rowCount?: number | null; affectedRows?: number };
  return Number(x.rowCount ?? x.affectedRows ?? 0);
}

// Types read the same way on both drivers: dates stay `YYYY-MM-DD` strings (business dates, no
// time zone), numeric stays a string (money goes through Decimal), bigint counts become numbers.
const OID = { INT8: 20, NUMERIC: 1700, DATE: 1082 } as const;
pg.types.setTypeParser(OID.DATE, (v: string) => v);
pg.types.setTypeParser(OID.INT8, (v: string) => Number(v));
const pgliteParsers = {
  [OID.DATE]: (v: string) => v,
  [OID.INT8]: (v: string) => Number(v),
  [OID.NUMERIC]: (v: string) => v,
};

export interface DbOptions {
  /** PostgreSQL server URL; without it, the embedded PGlite database is used. */
  databaseUrl?: string;
  /** Folder of the embedded database (PGlite). Undefined with no URL: in memory. */
  pgliteDir?: string;
  /** A dumped PGlite data directory to start from (tests: a migrated template). */
  pgliteLoad?: Blob | File;
  poolMax?: number;
}

export function createDb(opts: DbOptions): Knex {
  if (opts.databaseUrl) {
    return knexFactory({
      client: "pg",
      connection: opts.databaseUrl,
      pool: { min: 0, max: opts.poolMax ?? 10 },
    });
  }
  if (opts.pgliteDir) mkdirSync(opts.pgliteDir, { recursive: true });
  const pglite = new PGlite({
    dataDir: opts.pgliteDir,
    loadDataDir: opts.pgliteLoad,
    parsers: pgliteParsers,
  });
  return knexFactory({
    client: ClientPgLite,
    dialect: "postgres",
    connection: () => ({ pglite }) as object,
  } as Knex.Config);
}

export function pgliteDirFor(dataDir: string): string {
  return join(dataDir, "pg");
}

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

/** Whether every migration the code knows has been applied (readiness). */
export async function isMigrated(db: Knex): Promise<boolean> {
  const [done, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
  return done.length > 0 && pending.length === 0;
}

/** Whether the database takes one connection at a time (the embedded PGlite): work split over connections would only take turns. */
export function oneConnection(db: Db): boolean {
  return (db.client as { config?: { client?: unknown } }).config?.client !== "pg";
}

/** The PGlite instance behind a knex built by createDb (for dumps in tests). */
export async function pgliteOf(db: Knex): Promise<PGlite | undefined> {
  const client = db.client as { pglite?: PGlite; _driver?: () => void };
  if (!client.pglite && client._driver) client._driver();
  return client.pglite;
}
