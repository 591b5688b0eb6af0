import type { Knex } from "knex";
import { AppError } from "../../http/errors.js";
import type { Bilingual } from "../../lib/i18n.js";

type Db = Knex | Knex.Transaction;

/**
 * Failure counting for the staff login (per username, `login_throttle`); the household PIN
 * (portal/pin-throttle.ts) follows the same scheme on its own table.
 *
 * Every attempt first reserves a slot with one atomic statement (the row lock of an UPDATE or an
 * `INSERT … ON CONFLICT DO UPDATE` serialises concurrent attempts, each one seeing the count the
 * previous one left): the count goes up by one, and when it passes the allowed number, or a lock is
 * on, the attempt is refused (429 with Retry-After) before any password is hashed. Only an attempt
 * that got a slot is checked. A wrong secret leaves its slot counted (and locks once the count has
 * reached the limit); a right one clears the count and the lock. So N attempts at the same moment
 * count N, and at most `max` of them are ever checked until the lock ends.
 */
export interface ThrottlePolicy {
  /** Attempts checked before the lock. */
  max: number;
  /** How long the lock lasts; for the staff login also the window the failures are counted in. */
  lockSeconds: number;
}

export interface Reservation {
  granted: boolean;
  lockedUntil: Date | null;
}

export function tooManyAttempts(now: Date, lockedUntil: Date | null, what: Bilingual): AppError {
  const retry = lockedUntil ? Math.max(1, Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000)) : 1;
  return new AppError("TOO_MANY_REQUESTS", { zh: `${what.zh}；请 ${retry} 秒后重试`, en: `${what.en}; try again in ${retry} s` }, undefined, 429, { "Retry-After": String(retry) });
}

const lockEnd = (now: Date, p: ThrottlePolicy) => new Date(now.getTime() + p.lockSeconds * 1000);

// ---------- staff login (login_throttle, one row per username) ----------

/**
 * Reserves an attempt slot for the username. The count restarts when the lock has ended or the
 * first counted failure is older than the window.
 */
export async function reserveLoginAttempt(db: Db, username: string, now: Date, p: ThrottlePolicy): Promise<Reservation> {
  const windowStart = new Date(now.getTime() - p.lockSeconds * 1000);
  const r = await db.raw<{ rows: { failures: number; locked_until: Date | null }[] }>(
    `INSERT INTO login_throttle AS t (username, failures, window_started_at, locked_until) VALUES (:username, 1, :now, NULL)
     ON CONFLICT (username) DO UPDATE SET
       failures = CASE WHEN t.locked_until > :now THEN t.failures + 1
                       WHEN t.locked_until IS NOT NULL OR t.window_started_at < :windowStart THEN 1
                       ELSE t.failures + 1 END,
       window_started_at = CASE WHEN t.locked_until <= :now OR (t.locked_until IS NULL AND t.window_started_at < :windowStart) THEN :now
                                ELSE t.window_started_at END,
       locked_until = CASE WHEN t.locked_until > :now THEN t.locked_until
                           WHEN t.locked_until IS NOT NULL OR t.window_started_at < :windowStart THEN NULL
                           WHEN t.failures >= :max THEN :lockEnd::timestamptz
                           ELSE NULL END
     RETURNING failures, locked_until`,
    { username, now, windowStart, max: p.max, lockEnd: lockEnd(now, p) },
  );
  const row = r.rows[0];
  return { granted: row.locked_until === null, lockedUntil: row.locked_until };
}

/** A checked attempt failed: its slot stays counted; once the count reaches the limit the lock starts. */
export async function recordLoginFailure(db: Db, username: string, now: Date, p: ThrottlePolicy): Promise<void> {
  await db("login_throttle").where({ username }).whereNull("locked_until").andWhere("failures", ">=", p.max).update({ locked_until: lockEnd(now, p) });
}

/** A right password clears the count and any lock. */
export async function clearLoginFailures(db: Db, username: string): Promise<void> {
  await db("login_throttle").where({ username }).delete();
}
