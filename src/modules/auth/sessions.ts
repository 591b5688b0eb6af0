import type { Knex } from "knex";
import { transaction } from "../../db/transaction.js";
import type { Deps } from "../../deps.js";
import { type Role, signStaffToken } from "../../http/auth.js";
import { AppError, registerErrorCodes } from "../../http/errors.js";
import { announce } from "../../http/sessions.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { hashPassword, verifyPassword } from "../../lib/password.js";
import { passwordProblems, weakPassword } from "./password-policy.js";

registerErrorCodes({
  WRONG_PASSWORD: {
    status: 422,
    title: { zh: "当前密码错误", en: "Wrong current password" },
    description: { zh: "修改密码时提供的当前密码不正确。", en: "The current password given to change it does not match." },
  },
});

/** What a session is opened from: the user row as read when the password was checked. */
export interface SessionUser {
  id: string;
  role: Role;
  county_codes: string[];
  bank_id: string | null;
  operator_id: string | null;
  village_code: string | null;
  session_epoch: number;
  must_change_password: boolean;
}

/** Why a user's sessions were ended (sessions.end_reason). */
export type EndReason = "logout" | "disabled" | "role_changed" | "jurisdiction_changed" | "password_reset" | "password_changed";

/**
 * Opens a session (a `sessions` row) and signs its token. Session times are wall-clock, like the
 * token's `exp`, not the business clock.
 */
export async function openSession(deps: Pick<Deps, "db" | "jwt">, user: SessionUser) {
  const issued = new Date(Math.floor(Date.now() / 1000) * 1000);
  const expires = new Date(issued.getTime() + deps.jwt.ttlSeconds * 1000);
  const [row] = await deps.db("sessions").insert({ user_id: user.id, epoch: user.session_epoch, issued_at: issued, expires_at: expires }).returning<{ id: string }[]>("id");
  const token = signStaffToken(
    deps.jwt,
    { userId: user.id, role: user.role, countyCodes: user.county_codes, bankId: user.bank_id, operatorId: user.operator_id, villageCode: user.village_code },
    { id: row.id, epoch: user.session_epoch, mustChangePassword: user.must_change_password },
  );
  return {
    access_token: token,
    token_type: "Bearer" as const,
    expires_in: deps.jwt.ttlSeconds,
    role: user.role,
    must_change_password: user.must_change_password,
  };
}

/**
 * Ends every session of a user: raises the user's token version (every token issued before is
 * refused from the next request, in every server process) and closes the open `sessions` rows.
 * Call inside the transaction that makes the change.
 */
export async function endUserSessions(trx: Knex.Transaction, userId: string, reason: EndReason): Promise<number> {
  const [u] = await trx("users")
    .where({ id: userId })
    .update({ session_epoch: trx.raw("session_epoch + 1") })
    .returning<{ session_epoch: number }[]>("session_epoch");
  await trx("sessions").where({ user_id: userId }).whereNull("ended_at").update({ ended_at: trx.fn.now(), end_reason: reason });
  await announce(trx, [{ kind: "user", id: userId, epoch: u.session_epoch }]);
  return u.session_epoch;
}

/** Logout: ends the calling token's session only. */
export async function endSession(trx: Knex.Transaction, ctx: Ctx, session: { id: string; userId: string; expiresAt: number }): Promise<void> {
  // A token minted outside a login has no row yet: the row is made, already ended.
  await trx.raw(
    `INSERT INTO sessions (id, user_id, epoch, issued_at, expires_at, ended_at, end_reason) VALUES (?, ?, 0, now(), to_timestamp(?), now(), 'logout')
     ON CONFLICT (id) DO UPDATE SET ended_at = EXCLUDED.ended_at, end_reason = 'logout' WHERE sessions.ended_at IS NULL`,
    [session.id, session.userId, session.expiresAt],
  );
  await announce(trx, [{ kind: "session", id: session.id, expiresAt: session.expiresAt }]);
  await appendAudit(trx, ctx, { action: "session.logout", entityType: "user", entityId: session.userId, countyCode: ctx.actor.countyCodes[0], after: { session_id: session.id } });
}

/**
 * A user changes their own password (the current one is checked). Every session of the user ends,
 * this one too, and a new session is opened: the answer is a fresh token, like a login.
 */
export async function changeOwnPassword(deps: Deps, ctx: Ctx, input: { current_password: string; new_password: string }) {
  const user = await transaction(deps.db, async (trx) => {
    const row = await trx("users").where({ id: ctx.actor.userId, active: true }).forUpdate().first<(SessionUser & { username: string; password_hash: string }) | undefined>();
    if (!row) throw new AppError("UNAUTHENTICATED", { zh: "该用户已停用", en: "The user is not active" }, undefined, 401);
    if (!(await verifyPassword(input.current_password, row.password_hash))) {
      throw new AppError("WRONG_PASSWORD", { zh: "当前密码不正确", en: "The current password does not match" }, [{ path: "body.current_password", message: { zh: "不正确", en: "does not match" } }]);
    }
    if (input.new_password === input.current_password) {
      throw weakPassword("body.new_password", ["须与当前密码不同 / must differ from the current password"]);
    }
    const problems = passwordProblems(input.new_password, row.username);
    if (problems.length > 0) throw weakPassword("body.new_password", problems);
    await trx("users")
      .where({ id: row.id })
      .update({ password_hash: await hashPassword(input.new_password), must_change_password: false, password_changed_at: trx.fn.now(), updated_at: trx.fn.now() });
    const epoch = await endUserSessions(trx, row.id, "password_changed");
    await appendAudit(trx, ctx, { action: "user.password.change", entityType: "user", entityId: row.id, countyCode: row.county_codes[0], after: { sessions_ended: true } });
    return { ...row, session_epoch: epoch, must_change_password: false };
  });
  return openSession(deps, user);
}
