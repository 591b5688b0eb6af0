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
 * Never inside a transaction: it takes its own pooled connection.
 */
export async function preparedRows<T>(db: Knex, name: string, text: string, values: unknown[]): Promise<T[]> {
  const client = db.client as unknown as PoolClient;
  const conn = await client.acquireConnection();
  try {
    const r = client.config.client === "pg" ? await conn.query({ name, text, values }) : await conn.query(text, values);
    return r.rows as T[];
  } finally {
    await client.releaseConnection(conn);
  }
}
