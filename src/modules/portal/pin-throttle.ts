import type { Knex } from "knex";
import { type Reservation, type ThrottlePolicy } from "../auth/index.js";

type Db = Knex | Knex.Transaction;

const lockEnd = (now: Date, p: ThrottlePolicy) => new Date(now.getTime() + p.lockSeconds * 1000);

/**
 * Wrong-PIN counting on `household_credentials`, the scheme of auth/throttle.ts: each attempt
 * reserves a slot in one atomic UPDATE before the PIN is hashed, a wrong PIN leaves it counted, a
 * right one clears the count and the lock.
 */
export interface PinCredential {
  pin_hash: string;
  must_change: boolean;
  failures: number;
  locked_until: Date | null;
  /** The version of the household's portal tokens, read with the PIN hash it goes with. */
  token_epoch: number;
}

/**
 * Reserves a PIN attempt for the household and returns its credential (undefined when it has no PIN).
 * The count restarts when a lock has ended; it is not reset by time otherwise (wrong PINs in a row).
 */
export async function reservePinAttempt(db: Db, householdId: string, now: Date, p: ThrottlePolicy): Promise<(PinCredential & Reservation) | undefined> {
  const r = await db.raw<{ rows: PinCredential[] }>(
    `UPDATE household_credentials AS c SET
       failures = CASE WHEN c.locked_until <= :now THEN 1 ELSE c.failures + 1 END,
       locked_until = CASE WHEN c.locked_until > :now THEN c.locked_until
                           WHEN c.locked_until IS NOT NULL THEN NULL
                           WHEN c.failures >= :max THEN :lockEnd::timestamptz
                           ELSE NULL END
     WHERE c.household_id = :householdId
     RETURNING c.pin_hash, c.must_change, c.failures, c.locked_until, c.token_epoch`,
    { householdId, now, max: p.max, lockEnd: lockEnd(now, p) },
  );
  const row = r.rows[0];
  return row ? { ...row, granted: row.locked_until === null, lockedUntil: row.locked_until } : undefined;
}

export async function recordPinFailure(db: Db, householdId: string, now: Date, p: ThrottlePolicy): Promise<void> {
  await db("household_credentials").where({ household_id: householdId }).whereNull("locked_until").andWhere("failures", ">=", p.max).update({ locked_until: lockEnd(now, p) });
}

export async function clearPinFailures(db: Db, householdId: string): Promise<void> {
  await db("household_credentials").where({ household_id: householdId }).update({ failures: 0, locked_until: null });
}
