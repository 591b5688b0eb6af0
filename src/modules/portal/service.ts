import { randomBytes, randomInt } from "node:crypto";
import type { Knex } from "knex";
import type { z } from "zod";
import type { Deps } from "../../deps.js";
import { inJurisdiction, requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { announce } from "../../http/sessions.js";
import { appendAudit } from "../../lib/audit.js";
import type { Actor } from "../../lib/actor.js";
import type { Ctx } from "../../lib/context.js";
import { parseIdNumber } from "../../lib/id-number.js";
import { DUMMY_HASH, hashPassword, verifyPassword } from "../../lib/password.js";
import { maskName } from "../../lib/pii.js";
import { recordIdNumberLookup } from "../register/index.js";
import { tooManyAttempts } from "../auth/index.js";
import { clearPinFailures, recordPinFailure, reservePinAttempt } from "./pin-throttle.js";
import { type HouseholdPrincipal, PORTAL_TOKEN_TTL_SECONDS, signHouseholdToken } from "./auth.js";
import type { PartnerCreate } from "./schemas.js";
import { lockHousehold } from "../register/index.js";

type Db = Knex | Knex.Transaction;

/** Failed PIN attempts before a household's portal login is locked, and for how long. */
export const PIN_MAX_FAILURES = 5;
export const PIN_LOCK_SECONDS = 900;

const BAD_CREDENTIALS = () => new AppError("BAD_CREDENTIALS", { zh: "合作方凭据、身份证号或查询密码不匹配", en: "The partner credentials, ID number or PIN do not match" });

/** The partners serving the admin's counties, a page at a time by client id (secrets are never shown again). */
export async function listPartners(db: Db, actor: Actor, q: { limit: number; cursor?: string }) {
  requireRole(actor, "admin");
  const query = db("partners")
    .whereRaw("county_codes && ?::varchar[]", [actor.countyCodes])
    .select("client_id", "name", "county_codes", "rate_limit_per_minute", "active", "secret_rotated_at", "revoked_at");
  const { rows, next_cursor } = await page<PartnerSummaryRow>(query, "client_id", (p) => p.client_id, q.limit, q.cursor);
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return { items: rows.map((p) => ({ ...p, secret_rotated_at: iso(p.secret_rotated_at), revoked_at: iso(p.revoked_at) })), next_cursor };
}

interface PartnerSummaryRow extends Record<string, unknown> {
  client_id: string;
  name: string;
  county_codes: string[];
  rate_limit_per_minute: number;
  active: boolean;
  secret_rotated_at: Date | null;
  revoked_at: Date | null;
}

export async function createPartner(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof PartnerCreate>) {
  requireRole(ctx.actor, "admin");
  const outside = input.county_codes.filter((c) => !ctx.actor.countyCodes.includes(c));
  if (outside.length > 0) throw notFound(`county ${outside[0]}`);
  if (await trx("partners").where({ client_id: input.client_id }).first()) throw new AppError("CONFLICT", { zh: `合作方 ${input.client_id} 已存在`, en: `Partner ${input.client_id} already exists` });
  const secret = randomBytes(24).toString("base64url");
  await trx("partners").insert({
    client_id: input.client_id,
    name: input.name,
    secret_hash: await hashPassword(secret),
    county_codes: input.county_codes,
    rate_limit_per_minute: input.rate_limit_per_minute,
  });
  await appendAudit(trx, ctx, {
    action: "partner.create",
    entityType: "partner",
    entityId: input.client_id,
    countyCode: input.county_codes[0],
    after: { ...input },
  });
  return { ...input, client_secret: secret };
}

/** A partner the admin manages: all of its counties are the admin's (else 404, like a partner that does not exist). */
async function managedPartner(trx: Knex.Transaction, ctx: Ctx, clientId: string) {
  requireRole(ctx.actor, "admin");
  const p = await trx("partners")
    .where({ client_id: clientId })
    .whereRaw("county_codes <@ ?::varchar[]", [ctx.actor.countyCodes])
    .forUpdate()
    .first<{ client_id: string; name: string; county_codes: string[]; active: boolean; token_epoch: number } | undefined>();
  if (!p) throw notFound("partner");
  if (!p.active) throw new AppError("INVALID_STATE", { zh: `合作方 ${clientId} 已被撤销；请另行登记新的合作方`, en: `Partner ${clientId} is revoked; register a new one` });
  return p;
}

/** A new client secret, answered once; the old one stops at once, and so do the tokens issued through it. */
export async function rotatePartnerSecret(trx: Knex.Transaction, ctx: Ctx, clientId: string) {
  const p = await managedPartner(trx, ctx, clientId);
  const secret = randomBytes(24).toString("base64url");
  const [row] = await trx("partners")
    .where({ client_id: clientId })
    .update({ secret_hash: await hashPassword(secret), secret_rotated_at: trx.fn.now(), token_epoch: trx.raw("token_epoch + 1") })
    .returning<{ token_epoch: number; secret_rotated_at: Date }[]>(["token_epoch", "secret_rotated_at"]);
  await announce(trx, [{ kind: "partner", id: clientId, epoch: row.token_epoch }]);
  await appendAudit(trx, ctx, { action: "partner.rotate_secret", entityType: "partner", entityId: clientId, countyCode: p.county_codes[0], after: { tokens_ended: true } });
  return { client_id: clientId, client_secret: secret, rotated_at: row.secret_rotated_at.toISOString() };
}

/** Revokes a partner for good: its credentials and every household token issued through it stop at once. */
export async function revokePartner(trx: Knex.Transaction, ctx: Ctx, clientId: string) {
  const p = await managedPartner(trx, ctx, clientId);
  const [row] = await trx("partners")
    .where({ client_id: clientId })
    .update({ active: false, revoked_at: trx.fn.now(), token_epoch: trx.raw("token_epoch + 1") })
    .returning<{ token_epoch: number; revoked_at: Date }[]>(["token_epoch", "revoked_at"]);
  await announce(trx, [{ kind: "partner", id: clientId, epoch: row.token_epoch }]);
  await appendAudit(trx, ctx, {
    action: "partner.revoke",
    entityType: "partner",
    entityId: clientId,
    countyCode: p.county_codes[0],
    before: { active: true },
    after: { active: false, tokens_ended: true },
  });
  return { client_id: clientId, name: p.name, county_codes: p.county_codes, active: false, revoked_at: row.revoked_at.toISOString() };
}

/** The village officer (or admin) issues a household's portal PIN; the household must change it at first use. */
export async function issuePin(trx: Knex.Transaction, ctx: Ctx, householdId: string) {
  requireRole(ctx.actor, "village_officer", "admin");
  const h = await lockHousehold(trx, householdId);
  if (!h || !inJurisdiction(ctx.actor, h.county_code, h.village_code)) throw notFound("household");
  if (h.status === "REMOVED") throw new AppError("INVALID_STATE", { zh: "已清退的农户不能使用门户", en: "A removed household has no portal access" });
  const pin = String(randomInt(0, 1_000_000)).padStart(6, "0");
  const now = ctx.clock.now();
  const row = { household_id: h.id, county_code: h.county_code, pin_hash: await hashPassword(pin), must_change: true, failures: 0, locked_until: null, issued_by: ctx.actor.userId, issued_at: now, changed_at: null };
  // A re-issued PIN raises the credential's token version: the household's portal tokens end.
  const [cred] = await trx("household_credentials")
    .insert(row)
    .onConflict("household_id")
    .merge({ ...row, token_epoch: trx.raw("household_credentials.token_epoch + 1") })
    .returning<{ token_epoch: number }[]>("token_epoch");
  if (cred.token_epoch > 0) await announce(trx, [{ kind: "household", id: h.id, epoch: cred.token_epoch }]);
  await appendAudit(trx, ctx, { action: "household.portal_pin.issue", entityType: "household", entityId: h.id, countyCode: h.county_code, after: { must_change: true, reissued: cred.token_epoch > 0 } });
  return { household_id: h.id, pin, issued_at: now.toISOString() };
}

interface PartnerRow {
  client_id: string;
  secret_hash: string;
  county_codes: string[];
  rate_limit_per_minute: number;
  active: boolean;
  token_epoch: number;
}

async function checkPartner(db: Db, clientId: string, secret: string): Promise<PartnerRow> {
  const partner = await db("partners").where({ client_id: clientId }).first<PartnerRow | undefined>();
  const ok = await verifyPassword(secret, partner?.secret_hash ?? DUMMY_HASH);
  if (!partner || !ok || !partner.active) throw BAD_CREDENTIALS();
  return partner;
}

/**
 * Checks the household's credentials through a partner: the partner's own credentials, the head's
 * ID number inside one of the partner's counties, and the PIN. Each PIN attempt is counted before
 * the PIN is checked (one atomic statement, see pin-throttle.ts): at most PIN_MAX_FAILURES are
 * checked, however many arrive at once; then the household is locked for PIN_LOCK_SECONDS (429),
 * whatever PIN is tried. A right PIN clears the count.
 */
async function checkHousehold(deps: Deps, input: { client_id: string; client_secret: string; id_number: string; pin: string }) {
  const { db, clock, pii } = deps;
  const partner = await checkPartner(db, input.client_id, input.client_secret);
  const parsed = parseIdNumber(input.id_number);
  if (!parsed.ok) throw BAD_CREDENTIALS();
  const head = await db("household_members as m")
    .join("households as h", "h.id", "m.household_id")
    .where({ "m.id_number_hash": pii.lookupHash(parsed.info.value), "m.relation": "HEAD" })
    .whereIn("h.county_code", partner.county_codes)
    .whereNot("h.status", "REMOVED")
    .first<{ household_id: string; county_code: string } | undefined>("m.household_id", "h.county_code");
  // The partner looked a household up by its head's whole ID number: recorded, whatever follows.
  await recordIdNumberLookup(db, { actor: null, requestId: `portal:${partner.client_id}`, clock }, pii, parsed.info.value, head ? [{ id: head.household_id, county_code: head.county_code }] : [], {
    countyCode: partner.county_codes[0],
    via: `partner:${partner.client_id}`,
  });
  const now = clock.now();
  const policy = { max: PIN_MAX_FAILURES, lockSeconds: PIN_LOCK_SECONDS };
  // The attempt is counted (and refused when the household is locked) before the PIN is hashed.
  const cred = head ? await reservePinAttempt(db, head.household_id, now, policy) : undefined;
  if (cred && !cred.granted) throw tooManyAttempts(now, cred.lockedUntil, { zh: "查询密码错误次数过多", en: "Too many wrong PINs" });
  const ok = await verifyPassword(input.pin, cred?.pin_hash ?? DUMMY_HASH);
  if (!head || !cred || !ok) {
    if (head && cred) await recordPinFailure(db, head.household_id, now, policy);
    throw BAD_CREDENTIALS();
  }
  await clearPinFailures(db, head.household_id);
  return { partner, householdId: head.household_id, countyCode: head.county_code, mustChange: cred.must_change, pinEpoch: cred.token_epoch };
}

export async function portalToken(deps: Deps, input: { client_id: string; client_secret: string; id_number: string; pin: string }) {
  const { partner, householdId, countyCode, mustChange, pinEpoch } = await checkHousehold(deps, input);
  const principal: HouseholdPrincipal = { householdId, countyCode, partnerId: partner.client_id, rateLimitPerMinute: partner.rate_limit_per_minute };
  // The versions read with the PIN hash and the secret that were checked: a re-issue, rotation or
  // revocation committed since then makes this token one that is refused, never the other way round.
  return {
    access_token: signHouseholdToken(deps.jwt, principal, { household: pinEpoch, partner: partner.token_epoch }),
    token_type: "Bearer" as const,
    expires_in: PORTAL_TOKEN_TTL_SECONDS,
    scope: "household:read" as const,
    must_change_pin: mustChange,
  };
}

export async function changePin(deps: Deps, input: { client_id: string; client_secret: string; id_number: string; pin: string; new_pin: string }) {
  if (input.new_pin === input.pin) throw new AppError("VALIDATION_FAILED", { zh: "新密码须与原密码不同", en: "The new PIN must differ" }, [{ path: "body.new_pin", message: { zh: "须与原密码不同", en: "must differ from pin" } }]);
  if (/^(\d)\1{5}$/.test(input.new_pin) || "0123456789".includes(input.new_pin) || "9876543210".includes(input.new_pin)) {
    throw new AppError("VALIDATION_FAILED", { zh: "新密码太容易被猜到", en: "The new PIN is too easy to guess" }, [{ path: "body.new_pin", message: { zh: "不能是重复或连续的数字", en: "no repeated or sequential digits" } }]);
  }
  const { householdId, countyCode, partner } = await checkHousehold(deps, input);
  await deps.db.transaction(async (trx) => {
    await trx("household_credentials")
      .where({ household_id: householdId })
      .update({ pin_hash: await hashPassword(input.new_pin), must_change: false, changed_at: deps.clock.now() });
    await appendAudit(trx, { actor: null, requestId: `portal:${partner.client_id}`, clock: deps.clock }, {
      action: "household.portal_pin.change",
      entityType: "household",
      entityId: householdId,
      countyCode,
      after: { partner: partner.client_id },
    });
  });
  return { changed: true };
}

/**
 * The demo's sample credentials for the portal demo page (/portal-demo): the demo partner, the demo
 * household's head's ID number and PIN, as the demo seed left them in `app_meta` (the ID number
 * decrypted from the register). A database without the demo (every production one) answers 404.
 */
export async function portalDemoSample(deps: Pick<Deps, "db" | "pii">) {
  const meta = await deps.db("app_meta").where({ key: "portal_demo" }).first<{ value: { client_id: string; client_secret: string; household_id: string; pin: string } } | undefined>();
  if (!meta) throw notFound("portal demo");
  const { client_id, client_secret, household_id, pin } = meta.value;
  const head = await deps.db("household_members").where({ household_id, relation: "HEAD" }).first<{ id_number_enc: string } | undefined>("id_number_enc");
  if (!head) throw notFound("portal demo");
  return { client_id, client_secret, id_number: deps.pii.decrypt(head.id_number_enc), pin };
}

/** The household's own masked profile. */
export async function portalMe(db: Db, h: HouseholdPrincipal) {
  const row = await db("households as h")
    .join("divisions as v", "v.code", "h.village_code")
    .join("divisions as t", "t.code", "h.township_code")
    .join("household_members as head", function () {
      this.on("head.household_id", "h.id").andOnVal("head.relation", "HEAD");
    })
    .where("h.id", h.householdId)
    .andWhere("h.county_code", h.countyCode)
    .first(
      "h.*",
      "v.name as village_name",
      "t.name as township_name",
      "head.name as head_name",
      "head.id_number_masked",
      db.raw("(SELECT count(*)::int FROM household_members m WHERE m.household_id = h.id) AS member_count"),
    );
  if (!row) throw notFound("household");
  return {
    household_id: row.id,
    household_no: row.household_no,
    head_name: maskName(row.head_name),
    head_id_number: row.id_number_masked,
    status: row.status,
    status_since: row.status_since,
    exit_date: row.exit_date,
    county_code: row.county_code,
    village_code: row.village_code,
    village_name: row.village_name,
    township_name: row.township_name,
    member_count: row.member_count,
    bank_account: row.bank_account_masked,
  };
}
