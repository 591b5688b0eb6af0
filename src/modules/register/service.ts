import type { Knex } from "knex";
import { joinedMessages } from "../../lib/i18n.js";
import type { z } from "zod";
import { type Actor, inJurisdiction, requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { type AuditActor, type AuditRecord, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ID_NUMBER_PROBLEM_TEXT, ID_NUMBER_PROBLEM_TEXT_ZH, parseIdNumber } from "../../lib/id-number.js";
import { Money } from "../../lib/money.js";
import { maskBankAccount, maskIdNumber, maskPhone, type Pii } from "../../lib/pii.js";
import { type Approval, checkStatusChange, type HouseholdStatus, perCapita } from "./model.js";
import {
  findHousehold,
  householdsQuery,
  type HouseholdRow,
  incomesOf,
  membersOf,
  type MemberRow,
  nextHouseholdNo,
} from "./queries.js";
import type {
  DivisionCreate,
  DivisionQuery,
  HouseholdCreate,
  HouseholdPatch,
  HouseholdQuery,
  MemberCreate,
  StatusChangeCreate,
} from "./schemas.js";

type Db = Knex | Knex.Transaction;
const REGISTER_WRITERS = ["village_officer", "admin"] as const;
const REGISTER_READERS = ["admin", "village_officer", "loan_officer", "bank_manager", "finance_officer", "regulator"] as const;

// ---------- divisions ----------

function levelOf(code: string): "COUNTY" | "TOWNSHIP" | "VILLAGE" {
  return code.length === 6 ? "COUNTY" : code.length === 9 ? "TOWNSHIP" : "VILLAGE";
}

export async function createDivision(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof DivisionCreate>) {
  requireRole(ctx.actor, "admin");
  const county = input.code.slice(0, 6);
  if (!ctx.actor.countyCodes.includes(county)) throw notFound("county");
  const level = levelOf(input.code);
  const parent = level === "COUNTY" ? null : input.code.slice(0, level === "TOWNSHIP" ? 6 : 9);
  if (parent) {
    const p = await trx("divisions").where({ code: parent }).first();
    if (!p) throw new AppError("INVALID_DIVISION", { zh: `上级区划 ${parent} 未登记`, en: `The parent division ${parent} is not registered` }, [
      { path: "body.code", message: { zh: `未找到上级区划 ${parent}`, en: `parent ${parent} not found` } },
    ]);
  }
  if (await trx("divisions").where({ code: input.code }).first()) throw new AppError("CONFLICT", { zh: `区划 ${input.code} 已存在`, en: `Division ${input.code} already exists` });
  const row = { code: input.code, name: input.name, level, parent_code: parent, county_code: county };
  await trx("divisions").insert(row);
  await appendAudit(trx, ctx, { action: "division.create", entityType: "division", entityId: input.code, countyCode: county, after: row });
  return row;
}

export async function listDivisions(db: Db, actor: Actor, q: z.infer<typeof DivisionQuery>) {
  const query = db("divisions").whereIn("county_code", actor.countyCodes).select("code", "name", "level", "parent_code", "county_code");
  if (q.level) query.andWhere("level", q.level);
  if (q.parent_code) query.andWhere("parent_code", q.parent_code);
  if (q.county_code) query.andWhere("county_code", q.county_code);
  const { rows, next_cursor } = await page<{ code: string }>(query, "code", (r) => r.code, q.limit, q.cursor);
  return { items: rows, next_cursor };
}

// ---------- views ----------

/** Whether the actor may see this household's personal data whole (docs/DOMAIN.md#personal-data). */
export function seesPiiWhole(actor: Actor, household: Pick<HouseholdRow, "village_code">): boolean {
  return actor.role === "village_officer" && actor.villageCode === household.village_code;
}

export function memberView(m: MemberRow, whole: boolean, pii: Pii) {
  return {
    id: m.id,
    household_id: m.household_id,
    name: m.name,
    id_number: whole ? pii.decrypt(m.id_number_enc) : m.id_number_masked,
    id_number_masked: !whole,
    relation: m.relation,
    sex: m.sex,
    birth_date: m.birth_date,
    health: m.health,
    labour_capacity: m.labour_capacity,
    schooling: m.schooling,
    on_dibao: m.on_dibao,
    on_tekun: m.on_tekun,
  };
}

export function householdView(h: HouseholdRow, actor: Actor, pii: Pii, extra: { members?: MemberRow[]; incomes?: { year: number; net_income: string; per_capita_net_income: string }[] } = {}) {
  const whole = seesPiiWhole(actor, h);
  return {
    id: h.id,
    household_no: h.household_no,
    county_code: h.county_code,
    township_code: h.township_code,
    village_code: h.village_code,
    household_type: h.household_type,
    status: h.status,
    status_since: h.status_since,
    exit_date: h.exit_date,
    main_cause: h.main_cause,
    secondary_causes: h.secondary_causes,
    housing_safety: h.housing_safety,
    head_name: h.head_name ?? null,
    member_count: h.member_count ?? 0,
    phone: whole && h.phone_enc ? pii.decrypt(h.phone_enc) : h.phone_masked,
    bank_account: whole && h.bank_account_enc ? pii.decrypt(h.bank_account_enc) : h.bank_account_masked,
    bank_name: h.bank_name,
    pii_masked: !whole,
    version: h.version,
    created_at: new Date(h.created_at).toISOString(),
    updated_at: new Date(h.updated_at).toISOString(),
    ...(extra.members ? { members: extra.members.map((m) => memberView(m, whole, pii)) } : {}),
    ...(extra.incomes
      ? { incomes: extra.incomes.map((i) => ({ year: i.year, net_income: Money.format(i.net_income), per_capita_net_income: Money.format(i.per_capita_net_income) })) }
      : {}),
  };
}

/** The audit form of a household: personal data only masked. */
function auditShape(h: Partial<HouseholdRow>) {
  const { phone_enc: _p, bank_account_enc: _b, ...rest } = h;
  return rest;
}

// ---------- members ----------

/**
 * Validates an ID number and builds the protected member row (also used by the demo seed). `at` is
 * where the member sits in the request body, so an error names its field (`body.members.1.id_number`
 * when registering a household, `body.id_number` when adding one member).
 */
export function buildMemberRow(pii: Pii, householdId: string, countyCode: string, m: z.infer<typeof MemberCreate>, at = "body") {
  const parsed = parseIdNumber(m.id_number);
  if (!parsed.ok) {
    const problem = { zh: ID_NUMBER_PROBLEM_TEXT_ZH[parsed.problem], en: ID_NUMBER_PROBLEM_TEXT[parsed.problem] };
    throw new AppError("INVALID_ID_NUMBER", { zh: `${m.name}的身份证号：${problem.zh}`, en: `ID number of ${m.name}: ${problem.en}` }, [
      { path: `${at}.id_number`, message: problem },
    ]);
  }
  const id = parsed.info.value;
  return {
    household_id: householdId,
    county_code: countyCode,
    name: m.name,
    id_number_hash: pii.lookupHash(id),
    id_number_enc: pii.encrypt(id),
    id_number_masked: maskIdNumber(id),
    relation: m.relation,
    sex: parsed.info.sex,
    birth_date: parsed.info.birthDate,
    health: m.health,
    labour_capacity: m.labour_capacity,
    schooling: m.schooling,
    on_dibao: m.on_dibao,
    on_tekun: m.on_tekun,
  };
}

/** Inserts members after checking their ID numbers are new; `pathOf(i)` locates member i in the request body. */
async function insertMembers(trx: Knex.Transaction, rows: ReturnType<typeof buildMemberRow>[], pathOf: (i: number) => string): Promise<MemberRow[]> {
  const hashes = rows.map((r) => r.id_number_hash);
  const repeated = hashes.findIndex((h, i) => hashes.indexOf(h) !== i);
  if (repeated >= 0) {
    throw new AppError("DUPLICATE_ID_NUMBER", { zh: "同一身份证号出现了两次", en: "The same ID number appears twice" }, [
      { path: `${pathOf(repeated)}.id_number`, message: { zh: "身份证号重复", en: "duplicate ID number" } },
    ]);
  }
  const taken = await trx("household_members").whereIn("id_number_hash", hashes).select("id_number_hash");
  if (taken.length > 0) {
    const i = hashes.indexOf(taken[0].id_number_hash);
    throw new AppError("DUPLICATE_ID_NUMBER", { zh: "已有成员使用此身份证号登记", en: "A member with this ID number is already registered" }, [
      { path: `${pathOf(i)}.id_number`, message: { zh: "已登记", en: "already registered" } },
    ]);
  }
  return trx("household_members").insert(rows).returning<MemberRow[]>("*");
}

// ---------- households ----------

export async function createHousehold(trx: Knex.Transaction, ctx: Ctx, pii: Pii, input: z.infer<typeof HouseholdCreate>) {
  requireRole(ctx.actor, ...REGISTER_WRITERS);
  const county = input.village_code.slice(0, 6);
  if (!inJurisdiction(ctx.actor, county, input.village_code)) throw notFound("village");
  const village = await trx("divisions").where({ code: input.village_code, level: "VILLAGE" }).first();
  if (!village) throw new AppError("INVALID_DIVISION", { zh: `村 ${input.village_code} 未登记`, en: `Village ${input.village_code} is not registered` }, [
      { path: "body.village_code", message: { zh: "未知的村", en: "unknown village" } },
    ]);
  const heads = input.members.filter((m) => m.relation === "HEAD").length;
  if (heads !== 1) throw new AppError("VALIDATION_FAILED", { zh: "一户有且只有一名户主", en: "A household has exactly one head" }, [
      { path: "body.members", message: { zh: `须恰有一名关系为户主（HEAD）的成员（实际 ${heads} 名）`, en: `exactly one member with relation HEAD (found ${heads})` } },
    ]);
  if (input.secondary_causes.includes(input.main_cause)) {
    throw new AppError("VALIDATION_FAILED", { zh: "次要致贫原因与主要原因重复", en: "A secondary cause repeats the main cause" }, [
      { path: "body.secondary_causes", message: { zh: "须与主要致贫原因不同", en: "must differ from main_cause" } },
    ]);
  }
  const today = ctx.clock.today();
  // A status that has not begun yet could never change: every change must fall between it and today.
  if (input.status_since && input.status_since > today) {
    throw new AppError("VALIDATION_FAILED", { zh: "状态开始日期不能晚于今天", en: "The status cannot begin after today" }, [
      { path: "body.status_since", message: { zh: `不能晚于今天（${today}）`, en: `must not be after today (${today})` } },
    ]);
  }
  const [h] = await trx("households")
    .insert({
      county_code: county,
      township_code: input.village_code.slice(0, 9),
      village_code: input.village_code,
      household_no: await nextHouseholdNo(trx, input.village_code),
      household_type: input.household_type,
      status: input.status,
      status_since: input.status_since ?? today,
      main_cause: input.main_cause,
      secondary_causes: input.secondary_causes,
      housing_safety: input.housing_safety,
      phone_enc: input.phone ? pii.encrypt(input.phone) : null,
      phone_masked: input.phone ? maskPhone(input.phone) : null,
      bank_account_enc: input.bank_account ? pii.encrypt(input.bank_account) : null,
      bank_account_masked: input.bank_account ? maskBankAccount(input.bank_account) : null,
      bank_name: input.bank_name ?? null,
      created_at: ctx.clock.now(),
      updated_at: ctx.clock.now(),
    })
    .returning<HouseholdRow[]>("*");
  const memberRows = input.members.map((m, i) => buildMemberRow(pii, h.id, county, m, `body.members.${i}`));
  const members = await insertMembers(trx, memberRows, (i) => `body.members.${i}`);
  if (input.incomes.length > 0) {
    await trx("household_incomes").insert(
      input.incomes.map((i) => ({ household_id: h.id, county_code: county, year: i.year, net_income: i.net_income, per_capita_net_income: perCapita(i.net_income, members.length) })),
    );
  }
  await appendAudit(trx, ctx, {
    action: "household.create",
    entityType: "household",
    entityId: h.id,
    countyCode: county,
    after: { ...auditShape(h), members: members.map((m) => ({ id: m.id, name: m.name, id_number: m.id_number_masked, relation: m.relation })) },
  });
  return getHousehold(trx, ctx, pii, h.id);
}

export async function getHousehold(db: Db, ctx: Ctx, pii: Pii, id: string) {
  requireRole(ctx.actor, ...REGISTER_READERS);
  const h = await findHousehold(db, ctx.actor, id);
  if (!h) throw notFound("household");
  const [members, incomes] = [await membersOf(db, [id]), await incomesOf(db, id)];
  return householdView(h, ctx.actor, pii, { members, incomes });
}

export async function listHouseholds(db: Db, ctx: Ctx, pii: Pii, q: z.infer<typeof HouseholdQuery>) {
  requireRole(ctx.actor, ...REGISTER_READERS);
  const query = householdsQuery(db, ctx.actor);
  if (q.county_code) query.andWhere("h.county_code", q.county_code);
  if (q.township_code) query.andWhere("h.township_code", q.township_code);
  if (q.village_code) query.andWhere("h.village_code", q.village_code);
  if (q.status) query.andWhere("h.status", q.status);
  if (q.household_type) query.andWhere("h.household_type", q.household_type);
  if (q.main_cause) query.andWhere("h.main_cause", q.main_cause);
  if (q.cause) query.andWhere((w) => w.where("h.main_cause", q.cause!).orWhereRaw("? = ANY(h.secondary_causes)", [q.cause!]));
  if (q.id_number) {
    const parsed = parseIdNumber(q.id_number);
    const hash = parsed.ok ? pii.lookupHash(parsed.info.value) : "-";
    query.whereExists(db("household_members as f").whereRaw("f.household_id = h.id").andWhere("f.id_number_hash", hash));
  }
  const { rows, next_cursor } = await page<HouseholdRow & Record<string, unknown>>(query, "h.id", (r) => r.id, q.limit, q.cursor);
  if (q.id_number) await recordIdNumberLookup(db, ctx, pii, q.id_number, rows, { countyCode: q.county_code ?? ctx.actor.countyCodes[0] });
  return { items: rows.map((h) => householdView(h, ctx.actor, pii)), next_cursor };
}

/**
 * Records a lookup by a whole ID number in the audit log — who looked for whom — whatever it found:
 * one record per household found (`household.lookup_by_id_number`, entity the household), or one
 * with the masked number as its entity when nothing was found. The number itself is never written:
 * only its masked form and its keyed hash (the register's lookup hash, so an investigator holding
 * the key can answer "who looked for this person"). A read has no transaction of its own: the
 * records are written in a short one (or inside the caller's, when it passes one).
 */
export async function recordIdNumberLookup(
  db: Db,
  ctx: AuditActor,
  pii: Pii,
  idNumber: string,
  found: { id: string; county_code: string }[],
  opts: { countyCode?: string | null; via?: string } = {},
): Promise<void> {
  const parsed = parseIdNumber(idNumber);
  const whole = parsed.ok ? parsed.info.value : idNumber.trim().toUpperCase();
  const after = { id_number: maskIdNumber(whole), id_number_hash: pii.lookupHash(whole), found: found.length, ...(opts.via ? { via: opts.via } : {}) };
  const records: AuditRecord[] =
    found.length > 0
      ? found.map((h) => ({ action: "household.lookup_by_id_number", entityType: "household", entityId: h.id, countyCode: h.county_code, after }))
      : [{ action: "household.lookup_by_id_number", entityType: "id_number", entityId: after.id_number, countyCode: opts.countyCode ?? null, after }];
  await db.transaction((trx) => appendAudit(trx, ctx, records));
}

export async function patchHousehold(trx: Knex.Transaction, ctx: Ctx, pii: Pii, id: string, input: z.infer<typeof HouseholdPatch>) {
  requireRole(ctx.actor, ...REGISTER_WRITERS);
  const before = await findHousehold(trx, ctx.actor, id, { forUpdate: true });
  if (!before) throw notFound("household");
  if (input.version !== undefined && input.version !== before.version) {
    throw new AppError("CONFLICT", {
      zh: `农户信息已被修改（当前版本 ${before.version}，您提交的是 ${input.version}）；请刷新后重试`,
      en: `The household changed (version ${before.version}, you sent ${input.version}); reload and retry`,
    });
  }
  if (before.status === "REMOVED") throw new AppError("INVALID_STATE", { zh: "已清退的农户不能修改", en: "A removed household cannot be edited" });
  const mainCause = input.main_cause ?? before.main_cause;
  const secondary = input.secondary_causes ?? before.secondary_causes;
  if (secondary.includes(mainCause)) {
    throw new AppError("VALIDATION_FAILED", { zh: "次要致贫原因与主要原因重复", en: "A secondary cause repeats the main cause" }, [
      { path: "body.secondary_causes", message: { zh: "须与主要致贫原因不同", en: "must differ from main_cause" } },
    ]);
  }
  const changes: Record<string, unknown> = {};
  if (input.household_type) changes.household_type = input.household_type;
  if (input.main_cause) changes.main_cause = input.main_cause;
  if (input.secondary_causes) changes.secondary_causes = input.secondary_causes;
  if (input.housing_safety) changes.housing_safety = input.housing_safety;
  if (input.phone !== undefined) Object.assign(changes, { phone_enc: input.phone ? pii.encrypt(input.phone) : null, phone_masked: input.phone ? maskPhone(input.phone) : null });
  if (input.bank_account !== undefined) {
    Object.assign(changes, {
      bank_account_enc: input.bank_account ? pii.encrypt(input.bank_account) : null,
      bank_account_masked: input.bank_account ? maskBankAccount(input.bank_account) : null,
    });
  }
  if (input.bank_name !== undefined) changes.bank_name = input.bank_name;
  await trx("households")
    .where({ id })
    .update({ ...changes, version: before.version + 1, updated_at: ctx.clock.now() });
  if (input.incomes) {
    for (const inc of input.incomes) {
      await trx("household_incomes")
        .insert({ household_id: id, county_code: before.county_code, year: inc.year, net_income: inc.net_income, per_capita_net_income: perCapita(inc.net_income, before.member_count ?? 1) })
        .onConflict(["household_id", "year"])
        .merge();
    }
  }
  const after = await findHousehold(trx, ctx.actor, id);
  await appendAudit(trx, ctx, {
    action: "household.update",
    entityType: "household",
    entityId: id,
    countyCode: before.county_code,
    before: auditShape(before),
    after: { ...auditShape(after!), ...(input.incomes ? { incomes: input.incomes } : {}) },
  });
  return getHousehold(trx, ctx, pii, id);
}

export async function addMember(trx: Knex.Transaction, ctx: Ctx, pii: Pii, householdId: string, input: z.infer<typeof MemberCreate>) {
  requireRole(ctx.actor, ...REGISTER_WRITERS);
  const h = await findHousehold(trx, ctx.actor, householdId, { forUpdate: true });
  if (!h) throw notFound("household");
  if (h.status === "REMOVED") throw new AppError("INVALID_STATE", { zh: "已清退的农户不能修改", en: "A removed household cannot be edited" });
  if (input.relation === "HEAD") throw new AppError("RULE_VIOLATION", { zh: "该户已有户主", en: "The household already has a head" }, [{ path: "body.relation", message: { zh: "已有户主", en: "HEAD is taken" } }]);
  const row = buildMemberRow(pii, householdId, h.county_code, input);
  const [m] = await insertMembers(trx, [row], () => "body");
  await trx("households").where({ id: householdId }).update({ version: h.version + 1, updated_at: ctx.clock.now() });
  await appendAudit(trx, ctx, {
    action: "member.create",
    entityType: "household_member",
    entityId: m.id,
    countyCode: h.county_code,
    after: { household_id: householdId, name: m.name, id_number: m.id_number_masked, relation: m.relation, health: m.health, labour_capacity: m.labour_capacity },
  });
  return memberView(m, seesPiiWhole(ctx.actor, h), pii);
}

export async function listMembers(db: Db, ctx: Ctx, pii: Pii, householdId: string) {
  requireRole(ctx.actor, ...REGISTER_READERS);
  const h = await findHousehold(db, ctx.actor, householdId);
  if (!h) throw notFound("household");
  const whole = seesPiiWhole(ctx.actor, h);
  return { items: (await membersOf(db, [householdId])).map((m) => memberView(m, whole, pii)), next_cursor: null };
}

// ---------- status changes ----------

export async function recordStatusChange(trx: Knex.Transaction, ctx: Ctx, householdId: string, input: z.infer<typeof StatusChangeCreate>) {
  requireRole(ctx.actor, ...REGISTER_WRITERS);
  const h = await findHousehold(trx, ctx.actor, householdId, { forUpdate: true });
  if (!h) throw notFound("household");
  const problems = checkStatusChange({
    from: h.status as HouseholdStatus,
    to: input.to_status,
    effectiveDate: input.effective_date,
    approvals: input.approvals as Approval[],
    noticeStart: input.notice_start,
    noticeEnd: input.notice_end,
    today: ctx.clock.today(),
  });
  if (input.effective_date < h.status_since) {
    problems.push({ path: "body.effective_date", message: { zh: `早于当前状态的开始日期（${h.status_since}）`, en: `before the current status began (${h.status_since})` } });
  }
  if (problems.length > 0) {
    const detail = joinedMessages(problems);
    throw new AppError("INVALID_STATUS_CHANGE", detail, problems);
  }
  const [change] = await trx("household_status_changes")
    .insert({
      household_id: householdId,
      county_code: h.county_code,
      from_status: h.status,
      to_status: input.to_status,
      effective_date: input.effective_date,
      reason: input.reason,
      approvals: JSON.stringify(input.approvals),
      notice_start: input.notice_start ?? null,
      notice_end: input.notice_end ?? null,
      actor_id: ctx.actor.userId,
      created_at: ctx.clock.now(),
    })
    .returning("*");
  const update: Record<string, unknown> = { status: input.to_status, status_since: input.effective_date, version: h.version + 1, updated_at: ctx.clock.now() };
  if (input.to_status === "EXITED") update.exit_date = input.effective_date;
  if (input.to_status === "POOR") update.exit_date = null;
  await trx("households").where({ id: householdId }).update(update);
  await appendAudit(trx, ctx, {
    action: `household.status.${input.to_status.toLowerCase()}`,
    entityType: "household",
    entityId: householdId,
    countyCode: h.county_code,
    before: { status: h.status, status_since: h.status_since, exit_date: h.exit_date },
    after: { status: input.to_status, status_since: input.effective_date, exit_date: update.exit_date ?? h.exit_date, change_id: change.id },
  });
  return statusChangeView(change);
}

export function statusChangeView(c: Record<string, unknown>) {
  return {
    id: c.id,
    household_id: c.household_id,
    from_status: c.from_status,
    to_status: c.to_status,
    effective_date: c.effective_date,
    reason: c.reason,
    approvals: c.approvals,
    notice_start: c.notice_start ?? null,
    notice_end: c.notice_end ?? null,
    actor_id: c.actor_id,
    source: c.source ?? "API",
    import_id: c.import_id ?? null,
    created_at: new Date(c.created_at as string).toISOString(),
  };
}

export async function listStatusChanges(db: Db, ctx: Ctx, householdId: string) {
  requireRole(ctx.actor, ...REGISTER_READERS);
  const h = await findHousehold(db, ctx.actor, householdId);
  if (!h) throw notFound("household");
  const rows = await db("household_status_changes").where({ household_id: householdId }).orderBy([{ column: "effective_date" }, { column: "created_at" }]);
  return { items: rows.map(statusChangeView), next_cursor: null };
}

