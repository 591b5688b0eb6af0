import type { Knex } from "knex";

const RETRYABLE = new Set(["40001", "40P01"]); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 5;

function sqlState(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Runs `fn` in a database transaction. Inside an open transaction it simply reuses it (the outer
 * one owns commit and retry). At the outermost level it retries on serialization failure and
 * deadlock with a short jittered back-off, so `fn` must not have effects outside the database.
 */
export async function transaction<T>(db: Knex | Knex.Transaction, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Knex.Transaction);
  for (let attempt = 1; ; attempt++) {
    try {
      return await (db as Knex).transaction(fn);
    } catch (err) {
      const code = sqlState(err);
      if (!code || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}
