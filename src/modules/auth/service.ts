import type { Knex } from "knex";
import type { Deps } from "../../deps.js";
import type { Role } from "../../http/auth.js";
import { AppError } from "../../http/errors.js";
import { DUMMY_HASH, verifyPassword } from "../../lib/password.js";
import { openSession } from "./sessions.js";

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  county_codes: string[];
  bank_id: string | null;
  operator_id: string | null;
  village_code: string | null;
  active: boolean;
  session_epoch: number;
  must_change_password: boolean;
}

/**
 * Staff login. Failed attempts are counted per username; after `loginMaxFailures` within the lock
 * window the username is locked for `loginLockSeconds` (429 with Retry-After), whatever password
 * is tried. A correct login clears the count.
 */
export async function issueStaffToken(deps: Deps, username: string, password: string) {
  const { db, clock, settings } = deps;
  const now = clock.now();
  const throttle = await db("login_throttle").where({ username }).first<{ failures: number; window_started_at: Date; locked_until: Date | null }>();
  if (throttle?.locked_until && throttle.locked_until > now) {
    const retry = Math.ceil((throttle.locked_until.getTime() - now.getTime()) / 1000);
    throw new AppError("TOO_MANY_REQUESTS", `Too many failed logins for this user; try again in ${retry} s`, undefined, 429, { "Retry-After": String(retry) });
  }
  const user = await db("users").where({ username }).first<UserRow | undefined>();
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  if (!user || !ok || !user.active) {
    await recordFailure(db, username, now, settings.loginMaxFailures, settings.loginLockSeconds);
    throw new AppError("BAD_CREDENTIALS", "Wrong username or password");
  }
  if (throttle) await db("login_throttle").where({ username }).delete();
  // The token carries the version read with the password it was checked against: a reset or a
  // change committed since then has raised it, so this token is refused (never the other way round).
  return openSession(deps, user);
}

async function recordFailure(db: Knex, username: string, now: Date, max: number, lockSeconds: number): Promise<void> {
  const windowStart = new Date(now.getTime() - lockSeconds * 1000);
  await db.raw(
    `INSERT INTO login_throttle (username, failures, window_started_at) VALUES (?, 1, ?)
     ON CONFLICT (username) DO UPDATE SET
       failures = CASE WHEN login_throttle.window_started_at < ? THEN 1 ELSE login_throttle.failures + 1 END,
       window_started_at = CASE WHEN login_throttle.window_started_at < ? THEN EXCLUDED.window_started_at ELSE login_throttle.window_started_at END`,
    [username, now, windowStart, windowStart],
  );
  await db("login_throttle")
    .where({ username })
    .andWhere("failures", ">=", max)
    .update({ locked_until: new Date(now.getTime() + lockSeconds * 1000), failures: 0, window_started_at: now });
}
