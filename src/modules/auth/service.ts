import type { Deps } from "../../deps.js";
import type { Role } from "../../http/auth.js";
import { AppError } from "../../http/errors.js";
import { DUMMY_HASH, verifyPassword } from "../../lib/password.js";
import { clearLoginFailures, recordLoginFailure, reserveLoginAttempt, tooManyAttempts } from "./throttle.js";
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
 * Staff login. Attempts are counted per username before the password is checked (see throttle.ts):
 * at most `loginMaxFailures` are checked within the window, however many arrive at once; then the
 * username is locked for `loginLockSeconds` (429 with Retry-After), whatever password is tried. A
 * correct login clears the count.
 */
export async function issueStaffToken(deps: Deps, username: string, password: string) {
  const { db, clock, settings } = deps;
  const now = clock.now();
  const policy = { max: settings.loginMaxFailures, lockSeconds: settings.loginLockSeconds };
  const slot = await reserveLoginAttempt(db, username, now, policy);
  if (!slot.granted) throw tooManyAttempts(now, slot.lockedUntil, { zh: "该用户登录失败次数过多", en: "Too many failed logins for this user" });
  const user = await db("users").where({ username }).first<UserRow | undefined>();
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  if (!user || !ok || !user.active) {
    await recordLoginFailure(db, username, now, policy);
    throw new AppError("BAD_CREDENTIALS", { zh: "用户名或密码错误", en: "Wrong username or password" });
  }
  await clearLoginFailures(db, username);
  // The token carries the version read with the password it was checked against: a reset or a
  // change committed since then has raised it, so this token is refused (never the other way round).
  return openSession(deps, user);
}
