import type { Knex } from "knex";

interface PgLikeConnection {
  query(q: { name: string; text: string; values: unknown[] } | string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}
interface PoolClient {
  acquireConnection(): Promise<PgLikeConnection>;
  releaseConnection(c: PgLikeConnection): Promise<void>;
  config: { client?: unknown };
}

/**
 * Runs a hot read as a named prepared statement on a PostgreSQL server, so the server plans it once
 * per connection instead of on every request (the household portal's reads). `text` uses $1, $2…
 * placeholders. On PGlite (one connection, no planning cost worth saving) it runs as a plain query.
 * On a transaction it runs on the transaction's connection; otherwise on a pooled one.
 */
export async function preparedRows<T>(db: Knex | Knex.Transaction, name: string, text: string, values: unknown[]): Promise<T[]> {
  const client = db.client as unknown as PoolClient;
  const conn = await client.acquireConnection();
  try {
    const r = client.config.client === "pg" ? await conn.query({ name, text, values }) : await conn.query(text, values);
    return r.rows as T[];
  } finally {
    await client.releaseConnection(conn);
  }
}

// Statement names by SQL text, the same in every connection of the process; bounded, so that texts
// that vary (lists of every length) do not grow it for ever — past the bound they run unnamed, as
// do statements with many parameters (a batch's rows: each is sent once).
const names = new Map<string, string>();
const MAX_NAMES = 256;
const MAX_PARAMETERS = 500;

function nameOf(sql: string, parameters: number): string | undefined {
  let name = names.get(sql);
  if (name === undefined && names.size < MAX_NAMES && parameters <= MAX_PARAMETERS) names.set(sql, (name = `q${names.size + 1}`));
  return name;
}

/**
 * Runs a knex query as a named prepared statement (see `preparedRows`), named after its SQL text:
 * the server parses it once per connection and plans it as it sees fit. For the statements every
 * request of a hot path sends (a repayment's loan and schedule, the idempotency key).
 */
export async function preparedQuery<T>(db: Knex | Knex.Transaction, q: Knex.QueryBuilder): Promise<T[]> {
  const { sql, bindings } = q.toSQL().toNative();
  const name = nameOf(sql, bindings.length);
  if (name === undefined) return (await q) as T[];
  return preparedRows<T>(db, name, sql, [...bindings]);
}

/** `db.raw(sql, bindings)` (positional `?`) as a named prepared statement, its rows; see `preparedQuery`. */
export async function preparedRaw<T>(db: Knex | Knex.Transaction, sql: string, bindings: readonly Knex.RawBinding[]): Promise<T[]> {
  const raw = db.raw(sql, [...bindings]);
  const native = raw.toSQL().toNative();
  const name = nameOf(native.sql, native.bindings.length);
  if (name === undefined) return ((await raw) as { rows: T[] }).rows;
  return preparedRows<T>(db, name, native.sql, [...native.bindings]);
}
