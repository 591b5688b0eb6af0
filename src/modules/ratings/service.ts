import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { z } from "zod";
import { transaction } from "../../db/transaction.js";
import { type Actor, type Role, requireRole } from "../../http/auth.js";
import { AppError, allErrorCodes, type Detail, invalidState, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit, type AuditRecord } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { type Bilingual, joinedMessages, type Lang, splitBilingual, textIn } from "../../lib/i18n.js";
import { statusLabel } from "../../lib/labels.js";
import { D, Money } from "../../lib/money.js";
import { householdScope, lockHousehold } from "../register/index.js";
import {
  type Assessment,
  availableCredit,
  checkAssessments,
  DEFAULT_SCORECARD,
  ELIGIBLE_STATUSES,
  FIVE_CHECKS,
  type Problem,
  type ScorecardDef,
  scoreHousehold,
  validateScorecard,
  validUntil,
  viewStatus,
} from "./model.js";
import {
  currentScorecard,
  findRating,
  findScorecard,
  type HouseholdForRating,
  householdsForRating,
  insertRatings,
  insertScorecard,
  latestApproved,
  listScorecards as listScorecardRows,
  outstandingOf,
  pendingOfBank,
  ratingScope,
  ratingValidOn,
  type RatingRow,
  registerFacts,
  type ScorecardRow,
} from "./queries.js";
import {
  BulkRow,
  type BulkRate,
  FiveChecks,
  type RatingApprove,
  type RatingCreate,
  type RatingQuery,
  type RatingReject,
  type ScorecardCreate,
  type ScorecardQuery,
  type SummaryQuery,
  VillageReview,
} from "./schemas.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  SCORECARD_INVALID: {
    status: 422,
    title: { zh: "评分卡无效", en: "Invalid scorecard" },
    description: { zh: "指标分值合计不为 100，或分档、等级、级别格式错误；`errors` 逐一列出。", en: "Indicator points do not add up to 100, or bands, levels or grades are malformed; `errors` names each problem." },
  },
  NO_SCORECARD: {
    status: 422,
    title: { zh: "无评分卡", en: "No scorecard" },
    description: { zh: "农户所在县尚无评分卡；须先由县管理员发布。", en: "The household's county has no scorecard yet; the county admin publishes one first." },
  },
  RATING_NOT_ELIGIBLE: {
    status: 422,
    title: { zh: "农户不符合评级条件", en: "Household not eligible for rating" },
    description: { zh: "只有贫困户、脱贫户或监测户可以评级和审批。", en: "Only POOR, EXITED or MONITORED households are rated and approved." },
  },
  INVALID_ASSESSMENT: {
    status: 422,
    title: { zh: "评估无效", en: "Invalid assessment" },
    description: { zh: "评分卡的某个指标缺失、未知或等级未知，或核查日期在未来。", en: "An assessed indicator of the scorecard is missing, unknown, or has an unknown level, or a check is dated in the future." },
  },
  RATING_PENDING_EXISTS: {
    status: 409,
    title: { zh: "已有待审批评级", en: "Rating already pending" },
    description: { zh: "该农户已有本行一笔待审批的评级。", en: "The household already has a rating of your bank waiting for approval." },
  },
  SELF_APPROVAL: {
    status: 403,
    title: { zh: "审评分离", en: "Maker-checker" },
    description: { zh: "评级须由评定人以外的另一名银行行长审批或拒绝。", en: "A rating is approved or rejected by a bank manager other than the one who made it." },
  },
});

/** An error with one of the codes above (AppError resolves the status of the core codes only). */
function fail(code: string, detail: Detail, errors?: Problem[]): AppError {
  return new AppError(code, detail, errors, allErrorCodes()[code]?.status ?? 422);
}

/** The problems' messages as one detail, in each language. */
const IN_THE_FUTURE: Bilingual = { zh: "日期晚于今天", en: "dated in the future" };

/** Why a household may not be rated, its status named in Chinese. */
function notEligible(status: string | undefined): Bilingual {
  return {
    zh: `农户状态为${status === undefined ? "已不存在" : statusLabel("household", status, "zh")}；只有贫困户、脱贫户和监测户可以评级`,
    en: `The household is ${status ?? "gone"}; only POOR, EXITED or MONITORED households are rated`,
  };
}

const RATING_READERS: Role[] = ["loan_officer", "bank_manager", "admin", "regulator", "village_officer"];
const SCORECARD_READERS: Role[] = [...RATING_READERS, "finance_officer"];

// ---------- views ----------

export function scorecardView(s: ScorecardRow) {
  return {
    id: s.id,
    county_code: s.county_code,
    version: s.version,
    name: s.name,
    validity_months: s.validity_months,
    indicators: s.indicators,
    grades: s.grades.map((g) => ({ grade: g.grade, min_score: g.min_score, credit_line: Money.format(g.credit_line) })),
    created_by: s.created_by,
    created_at: new Date(s.created_at).toISOString(),
  };
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function ratingView(r: RatingRow, today: string) {
  return {
    id: r.id,
    household_id: r.household_id,
    county_code: r.county_code,
    village_code: r.village_code,
    bank_id: r.bank_id,
    scorecard_version_id: r.scorecard_version_id,
    scorecard_version: r.scorecard_version,
    status: viewStatus(r.status, r.valid_until, today),
    score: r.score,
    grade: r.grade,
    credit_line: Money.format(r.credit_line),
    explanation: r.explanation,
    evidence: r.evidence,
    rated_on: r.rated_on,
    created_by: r.created_by,
    created_at: iso(r.created_at)!,
    decided_by: r.decided_by,
    decided_at: iso(r.decided_at),
    decision_note: r.decision_note,
    valid_from: r.valid_from,
    valid_until: r.valid_until,
    superseded_by: r.superseded_by,
    superseded_on: r.superseded_on,
  };
}

/** The audit form of a rating (the explanation stays in the immutable rating row). */
function ratingAudit(r: Pick<RatingRow, "household_id" | "bank_id" | "scorecard_version_id" | "score" | "grade" | "credit_line" | "status"> & Partial<RatingRow>) {
  return {
    household_id: r.household_id,
    bank_id: r.bank_id,
    scorecard_version_id: r.scorecard_version_id,
    score: r.score,
    grade: r.grade,
    credit_line: Money.format(r.credit_line),
    status: r.status,
    ...(r.valid_from ? { valid_from: r.valid_from, valid_until: r.valid_until } : {}),
  };
}

// ---------- scorecards ----------

function scorecardDef(input: z.infer<typeof ScorecardCreate>): ScorecardDef {
  return { name: input.name, validity_months: input.validity_months, indicators: input.indicators, grades: input.grades };
}

export async function createScorecard(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof ScorecardCreate>) {
  requireRole(ctx.actor, "admin");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  const def = scorecardDef(input);
  const problems = validateScorecard(def);
  if (problems.length > 0) throw fail("SCORECARD_INVALID", joinedMessages(problems), problems);
  const county = await trx("divisions").where({ code: input.county_code, level: "COUNTY" }).first();
  if (!county) throw notFound("county");
  const row = await insertScorecard(trx, input.county_code, def, ctx.actor.userId, ctx.clock.now());
  await appendAudit(trx, ctx, {
    action: "scorecard.create",
    entityType: "scorecard",
    entityId: row.id,
    countyCode: row.county_code,
    after: { version: row.version, ...def },
  });
  return scorecardView(row);
}

export async function listScorecards(db: Db, ctx: Ctx, q: z.infer<typeof ScorecardQuery>) {
  requireRole(ctx.actor, ...SCORECARD_READERS);
  const counties = q.county_code ? ctx.actor.countyCodes.filter((c) => c === q.county_code) : ctx.actor.countyCodes;
  // Versions are few per county: read whole, newest first per county, and paged by the route (pageList).
  return { items: (await listScorecardRows(db, counties)).map(scorecardView), next_cursor: null };
}

export async function getScorecard(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...SCORECARD_READERS);
  const row = await findScorecard(db, ctx.actor.countyCodes, id);
  if (!row) throw notFound("scorecard");
  return scorecardView(row);
}

/** Publishes the default scorecard (src/modules/ratings/CONTEXT.md#default-scorecard) for a county that has none yet (reference seed; idempotent). */
export async function seedDefaultScorecard(db: Db, countyCode: string, at: Date = new Date()): Promise<void> {
  await transaction(db, async (trx) => {
    if (await trx("scorecards").where({ county_code: countyCode }).first()) return;
    await insertScorecard(trx, countyCode, DEFAULT_SCORECARD, null, at);
  });
}

// ---------- rating (single and bulk share one set-based path) ----------

interface Candidate {
  row: number;
  household_id: string;
  assessments: Record<string, Assessment>;
  checks: z.infer<typeof FiveChecks>;
  village_review: z.infer<typeof VillageReview>;
}

type Outcome =
  | { row: number; household_id: string; ok: true; insert: Record<string, unknown>; score: number; grade: string; credit_line: string }
  | { row: number; household_id: string | null; ok: false; code: string; errors: Problem[] };

function reject(row: number, household_id: string | null, code: string, errors: Problem[]): Outcome {
  return { row, household_id, ok: false, code, errors };
}

/**
 * Evaluates candidates with set-based reads: the households (inside the actor's jurisdiction),
 * the pending ratings of the actor's bank, the current scorecard of each county and the register
 * facts, then scores each one. Nothing is written here.
 */
async function evaluate(trx: Knex.Transaction, ctx: Ctx, candidates: Candidate[], opts: { pathPrefix: (row: number) => string; villageCode?: string }): Promise<Outcome[]> {
  const actor = ctx.actor;
  const bankId = actor.bankId!;
  const today = ctx.clock.today();
  const ids = [...new Set(candidates.map((c) => c.household_id))];
  const households = await householdsForRating(trx, actor, ids);
  const pending = await pendingOfBank(trx, bankId, [...households.keys()]);
  const facts = await registerFacts(trx, [...households.keys()]);
  const cards = new Map<string, ScorecardRow | undefined>();
  for (const county of new Set([...households.values()].map((h) => h.county_code))) cards.set(county, await currentScorecard(trx, county));

  const seen = new Set<string>();
  const now = ctx.clock.now();
  return candidates.map((c): Outcome => {
    const p = opts.pathPrefix(c.row);
    const h: HouseholdForRating | undefined = households.get(c.household_id);
    if (!h || (opts.villageCode && h.village_code !== opts.villageCode)) {
      const message = opts.villageCode && h ? { zh: `不是村 ${opts.villageCode} 的农户`, en: `not a household of village ${opts.villageCode}` } : { zh: "您的管辖范围内没有该农户", en: "no such household in your jurisdiction" };
      return reject(c.row, c.household_id, "NOT_FOUND", [{ path: `${p}household_id`, message }]);
    }
    if (seen.has(h.id)) return reject(c.row, h.id, "RATING_PENDING_EXISTS", [{ path: `${p}household_id`, message: { zh: "该农户在本次请求中出现了两次", en: "the household appears twice in this request" } }]);
    seen.add(h.id);
    if (!(ELIGIBLE_STATUSES as readonly string[]).includes(h.status)) {
      const why = notEligible(h.status);
      return reject(c.row, h.id, "RATING_NOT_ELIGIBLE", [{ path: `${p}household_id`, message: { zh: why.zh, en: `the household is ${h.status}; only POOR, EXITED or MONITORED households are rated` } }]);
    }
    if (pending.has(h.id)) {
      return reject(c.row, h.id, "RATING_PENDING_EXISTS", [{ path: `${p}household_id`, message: { zh: "本行对该农户已有一笔待审批的评级", en: "a rating of your bank is already pending for this household" } }]);
    }
    const card = cards.get(h.county_code);
    if (!card) return reject(c.row, h.id, "NO_SCORECARD", [{ path: `${p}household_id`, message: { zh: `县 ${h.county_code} 尚无评分卡`, en: `county ${h.county_code} has no scorecard` } }]);
    const def: ScorecardDef = { name: card.name, validity_months: card.validity_months, indicators: card.indicators, grades: card.grades };
    const problems = checkAssessments(def, c.assessments, `${p}assessments`);
    for (const check of FIVE_CHECKS) {
      if (c.checks[check].date > today) problems.push({ path: `${p}checks.${check}.date`, message: IN_THE_FUTURE });
    }
    if (c.village_review.date > today) problems.push({ path: `${p}village_review.date`, message: IN_THE_FUTURE });
    if (problems.length > 0) return reject(c.row, h.id, "INVALID_ASSESSMENT", problems);
    const result = scoreHousehold(def, facts.get(h.id)!, c.assessments);
    return {
      row: c.row,
      household_id: h.id,
      ok: true,
      score: result.score,
      grade: result.grade,
      credit_line: result.credit_line,
      insert: {
        id: randomUUID(),
        county_code: h.county_code,
        village_code: h.village_code,
        household_id: h.id,
        bank_id: bankId,
        scorecard_version_id: card.id,
        scorecard_version: card.version,
        status: "PENDING",
        score: result.score,
        grade: result.grade,
        credit_line: result.credit_line,
        explanation: result.explanation,
        evidence: { checks: c.checks, village_review: c.village_review },
        rated_on: today,
        created_by: actor.userId,
        created_at: now.toISOString(),
      },
    };
  });
}

function createdAudit(id: string, insert: Record<string, unknown>): AuditRecord {
  return {
    action: "rating.create",
    entityType: "rating",
    entityId: id,
    countyCode: insert.county_code as string,
    after: ratingAudit(insert as unknown as RatingRow),
  };
}

/** A loan officer rates a household: the score comes from the scorecard, the register and the assessed levels. */
export async function createRating(trx: Knex.Transaction, ctx: Ctx, householdId: string, input: z.infer<typeof RatingCreate>) {
  requireRole(ctx.actor, "loan_officer");
  const [outcome] = await evaluate(trx, ctx, [{ row: 1, household_id: householdId, ...input }], { pathPrefix: () => "body." });
  if (!outcome.ok) {
    if (outcome.code === "NOT_FOUND") throw notFound("household");
    throw fail(outcome.code, joinedMessages(outcome.errors), outcome.errors);
  }
  const id = outcome.insert.id as string;
  await insertRatings(trx, [outcome.insert]);
  await appendAudit(trx, ctx, createdAudit(id, outcome.insert));
  const row = await findRating(trx, ctx.actor, id);
  return ratingView(row!, ctx.clock.today());
}

/** Parses CSV text (RFC 4180: commas, double quotes, CRLF or LF) into records. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const endRecord = () => {
    record.push(field);
    field = "";
    if (!(record.length === 1 && record[0].trim() === "")) records.push(record);
    record = [];
  };
  while (i < src.length) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n") endRecord();
    else if (ch !== "\r") field += ch;
    i++;
  }
  if (field !== "" || record.length > 0) endRecord();
  return records;
}

function csvRows(csv: string): unknown[] {
  const [header, ...lines] = parseCsv(csv);
  if (!header) throw new AppError("VALIDATION_FAILED", { zh: "CSV 为空", en: "The CSV is empty" }, [{ path: "body.csv", message: { zh: "须有一行表头和若干数据行", en: "a header line and data lines" } }]);
  const cols = header.map((h) => h.trim());
  if (cols[0] !== "household_id") {
    throw new AppError("VALIDATION_FAILED", { zh: "CSV 的第一列须为 household_id", en: "The CSV's first column is household_id" }, [
      { path: "body.csv", message: { zh: "表头须以 household_id 开头", en: "header starts with household_id" } },
    ]);
  }
  return lines.map((cells) => {
    const assessments: Record<string, string> = {};
    cols.slice(1).forEach((code, j) => {
      const v = (cells[j + 1] ?? "").trim();
      if (v !== "") assessments[code] = v;
    });
    return { household_id: (cells[0] ?? "").trim(), assessments };
  });
}

const zhCN = z.locales.zhCN();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Rates many households in one request (整村授信): each row is validated and scored on its own; a
 * bad row is reported with its reasons and not written, every valid row is created (PENDING).
 * Reads and inserts are set-based and the audit records go in one call, so a whole county's
 * households rate in seconds.
 */
export async function rateBulk(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof BulkRate>) {
  requireRole(ctx.actor, "loan_officer");
  const raw = input.csv !== undefined ? csvRows(input.csv) : (input.rows ?? []);
  if (raw.length > 20000) {
    throw new AppError("VALIDATION_FAILED", { zh: "每次请求最多 20,000 行", en: "At most 20,000 rows per request" }, [{ path: "body.rows", message: { zh: "最多 20,000 行", en: "at most 20,000 rows" } }]);
  }
  const rejected: Outcome[] = [];
  const candidates: Candidate[] = [];
  raw.forEach((data, i) => {
    const row = i + 1;
    const prefix = `rows.${row}.`;
    const parsed = BulkRow.safeParse(data);
    if (!parsed.success) {
      const hid = typeof data === "object" && data !== null && "household_id" in data ? String((data as { household_id: unknown }).household_id) : null;
      // zod's messages in both languages: the same parse again with its Chinese messages.
      const zh = BulkRow.safeParse(data, { error: zhCN.localeError }).error?.issues ?? [];
      const issues = parsed.error.issues.map((e, n) => ({ path: prefix + e.path.map(String).join("."), message: splitBilingual(e.message) ?? { zh: zh[n]?.message ?? e.message, en: e.message } }));
      return void rejected.push(reject(row, hid, "VALIDATION_FAILED", issues));
    }
    const r = parsed.data;
    const errors: Problem[] = [];
    if (!UUID_RE.test(r.household_id)) errors.push({ path: `${prefix}household_id`, message: { zh: "须为 ID（UUID）", en: "an id (UUID)" } });
    const checks = r.checks ?? input.checks;
    const review = r.village_review ?? input.village_review;
    if (!checks) errors.push({ path: `${prefix}checks`, message: { zh: "须有五验结果：在本行中给出，或为整个请求给出", en: "the five checks (五验) are required: in the row or for the whole request" } });
    if (!review) errors.push({ path: `${prefix}village_review`, message: { zh: "须有村级评议：在本行中给出，或为整个请求给出", en: "the village review is required: in the row or for the whole request" } });
    const assessments: Record<string, Assessment> = {};
    for (const [code, v] of Object.entries(r.assessments)) assessments[code] = typeof v === "string" ? { level: v } : v;
    if (errors.length > 0 || !checks || !review) return void rejected.push(reject(row, r.household_id, "VALIDATION_FAILED", errors));
    candidates.push({ row, household_id: r.household_id.toLowerCase(), assessments, checks, village_review: review });
  });
  const outcomes = candidates.length > 0 ? await evaluate(trx, ctx, candidates, { pathPrefix: (row) => `rows.${row}.`, villageCode: input.village_code }) : [];
  const good = outcomes.filter((o): o is Extract<Outcome, { ok: true }> => o.ok);
  await insertRatings(
    trx,
    good.map((o) => o.insert),
  );
  await appendAudit(
    trx,
    ctx,
    good.map((o) => createdAudit(o.insert.id as string, o.insert)),
  );
  const all = [...rejected, ...outcomes.filter((o) => !o.ok)].concat(good).sort((a, b) => a.row - b.row);
  return {
    created: good.length,
    rejected: all.length - good.length,
    results: all.map((o) => {
      if (o.ok) {
        return { row: o.row, household_id: o.household_id, outcome: "CREATED" as const, rating_id: o.insert.id as string, score: o.score, grade: o.grade, credit_line: o.credit_line };
      }
      return { row: o.row, household_id: o.household_id, outcome: "REJECTED" as const, errors: o.errors };
    }),
  };
}

/**
 * A bulk answer with each rejected row's messages in one language (the answer is made, and an
 * idempotent replay stored, with both; the route puts it in the request's language).
 */
export function bulkResultIn(body: unknown, lang: Lang): unknown {
  if (typeof body !== "object" || body === null) return body;
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results)) return body;
  const inLang = (r: { errors?: { path: string; message: string | Bilingual }[] }) =>
    r.errors ? { ...r, errors: r.errors.map((e) => ({ path: e.path, message: textIn(e.message, lang) ?? "" })) } : r;
  return { ...body, results: results.map(inLang) };
}

// ---------- decisions (maker-checker) ----------

async function decidable(trx: Knex.Transaction, ctx: Ctx, id: string): Promise<RatingRow> {
  requireRole(ctx.actor, "bank_manager");
  const r = await findRating(trx, ctx.actor, id, { forUpdate: true });
  if (!r) throw notFound("rating");
  if (r.created_by === ctx.actor.userId) throw fail("SELF_APPROVAL", { zh: "这笔评级由您评定；须由另一名银行行长审批或拒绝", en: "You made this rating; another bank manager decides it" });
  if (r.status !== "PENDING") {
    throw invalidState({
      zh: `评级状态为${statusLabel("rating", r.status, "zh")}；只有${statusLabel("rating", "PENDING", "zh")}的评级才能审批或拒绝`,
      en: `The rating is ${r.status}; only a PENDING rating is approved or rejected`,
    });
  }
  return r;
}

/** A bank manager of the rating's bank approves it: effective for the scorecard's validity from today; it supersedes the household's effective rating. */
export async function approveRating(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RatingApprove>) {
  const r = await decidable(trx, ctx, id);
  // One approval per household at a time: the household row serialises them.
  const h = await lockHousehold(trx, r.household_id);
  if (!h || !(ELIGIBLE_STATUSES as readonly string[]).includes(h.status)) {
    throw fail("RATING_NOT_ELIGIBLE", notEligible(h?.status));
  }
  const card = await trx("scorecards").where({ id: r.scorecard_version_id }).first<{ validity_months: number }>();
  const today = ctx.clock.today();
  const now = ctx.clock.now();
  const previous = await trx("ratings").where({ household_id: r.household_id, status: "EFFECTIVE" }).forUpdate().select<RatingRow[]>("*");
  if (previous.length > 0) {
    await trx("ratings")
      .whereIn(
        "id",
        previous.map((p) => p.id),
      )
      .update({ status: "SUPERSEDED", superseded_by: r.id, superseded_on: today });
  }
  const validFrom = today;
  const until = validUntil(validFrom, card!.validity_months);
  await trx("ratings")
    .where({ id: r.id })
    .update({ status: "EFFECTIVE", decided_by: ctx.actor.userId, decided_at: now, decision_note: input.note ?? null, valid_from: validFrom, valid_until: until });
  const after = (await findRating(trx, ctx.actor, r.id))!;
  await appendAudit(trx, ctx, [
    ...previous.map((p) => ({
      action: "rating.supersede",
      entityType: "rating",
      entityId: p.id,
      countyCode: p.county_code,
      before: { status: p.status },
      after: { status: "SUPERSEDED", superseded_by: r.id, superseded_on: today },
    })),
    { action: "rating.approve", entityType: "rating", entityId: r.id, countyCode: r.county_code, before: { status: r.status }, after: ratingAudit(after) },
  ]);
  return ratingView(after, today);
}

export async function rejectRating(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RatingReject>) {
  const r = await decidable(trx, ctx, id);
  await trx("ratings").where({ id: r.id }).update({ status: "REJECTED", decided_by: ctx.actor.userId, decided_at: ctx.clock.now(), decision_note: input.reason });
  const after = (await findRating(trx, ctx.actor, r.id))!;
  await appendAudit(trx, ctx, { action: "rating.reject", entityType: "rating", entityId: r.id, countyCode: r.county_code, before: { status: r.status }, after: { status: "REJECTED", reason: input.reason } });
  return ratingView(after, ctx.clock.today());
}

// ---------- reads ----------

async function householdInScope(db: Db, actor: Actor, householdId: string): Promise<{ id: string; county_code: string }> {
  const h = await householdScope(db("households as h").where("h.id", householdId).select("h.id", "h.county_code"), actor).first<{ id: string; county_code: string } | undefined>();
  if (!h) throw notFound("household");
  return h;
}

export async function listHouseholdRatings(db: Db, ctx: Ctx, householdId: string) {
  requireRole(ctx.actor, ...RATING_READERS);
  await householdInScope(db, ctx.actor, householdId);
  const rows = await ratingScope(db("ratings as r").where("r.household_id", householdId).select<RatingRow[]>("r.*"), ctx.actor).orderBy([
    { column: "r.created_at", order: "desc" },
    { column: "r.id", order: "desc" },
  ]);
  const today = ctx.clock.today();
  return { items: rows.map((r: RatingRow) => ratingView(r, today)), next_cursor: null };
}

export async function getRating(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...RATING_READERS);
  const r = await findRating(db, ctx.actor, id);
  if (!r) throw notFound("rating");
  return ratingView(r, ctx.clock.today());
}

export async function listRatings(db: Db, ctx: Ctx, q: z.infer<typeof RatingQuery>) {
  requireRole(ctx.actor, ...RATING_READERS);
  const today = ctx.clock.today();
  const query = ratingScope(db("ratings as r").select("r.*"), ctx.actor);
  if (q.county_code) query.andWhere("r.county_code", q.county_code);
  if (q.village_code) query.andWhere("r.village_code", q.village_code);
  if (q.household_id) query.andWhere("r.household_id", q.household_id);
  if (q.grade) query.andWhere("r.grade", q.grade);
  if (q.status === "EXPIRED") query.andWhere("r.status", "EFFECTIVE").andWhere("r.valid_until", "<", today);
  else if (q.status === "EFFECTIVE") query.andWhere("r.status", "EFFECTIVE").andWhere("r.valid_until", ">=", today);
  else if (q.status) query.andWhere("r.status", q.status);
  const { rows, next_cursor } = await page<RatingRow & Record<string, unknown>>(query, "r.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map((r) => ratingView(r, today)), next_cursor };
}

// ---------- credit line ----------

export interface CreditLine {
  household_id: string;
  as_of: string;
  /** EFFECTIVE: a rating valid on as_of; EXPIRED: the latest approved one lapsed; NONE: never approved. */
  status: "EFFECTIVE" | "EXPIRED" | "NONE";
  grade: string | null;
  /** Credit line of the valid rating, "0.00" without one. */
  line: string;
  /** Outstanding principal of the household's DISBURSED and EXTENDED loans (all members, all banks). */
  used: string;
  /** min(line, 50,000) − used, never below "0.00". */
  available: string;
  valid_until: string | null;
  rating_id: string | null;
  /** The bank whose manager approved the rating. */
  bank_id: string | null;
}

/**
 * The credit line of a household on a business date (YYYY-MM-DD), for loan eligibility: the
 * grade and line of the rating valid that day, what its poverty loans use, and what is left.
 * Amounts are decimal strings with two places. No jurisdiction check: the caller has found the
 * household inside its jurisdiction. Pass the loan's transaction to read inside it.
 */
export async function creditLineOf(db: Db, householdId: string, asOfDate: string): Promise<CreditLine> {
  const used = Money.format(await outstandingOf(db, householdId));
  const valid = await ratingValidOn(db, householdId, asOfDate);
  if (valid) {
    return {
      household_id: householdId,
      as_of: asOfDate,
      status: "EFFECTIVE",
      grade: valid.grade,
      line: Money.format(valid.credit_line),
      used,
      available: Money.format(availableCredit(valid.credit_line, used)),
      valid_until: valid.valid_until,
      rating_id: valid.id,
      bank_id: valid.bank_id,
    };
  }
  const last = await latestApproved(db, householdId, asOfDate);
  return {
    household_id: householdId,
    as_of: asOfDate,
    status: last ? "EXPIRED" : "NONE",
    grade: null,
    line: "0.00",
    used,
    available: "0.00",
    valid_until: last?.valid_until ?? null,
    rating_id: last?.id ?? null,
    bank_id: last?.bank_id ?? null,
  };
}

export async function getCreditLine(db: Db, ctx: Ctx, householdId: string, asOf: string | undefined) {
  requireRole(ctx.actor, ...RATING_READERS);
  await householdInScope(db, ctx.actor, householdId);
  return creditLineOf(db, householdId, asOf ?? ctx.clock.today());
}

// ---------- county figures ----------

export async function ratingSummary(db: Db, ctx: Ctx, q: z.infer<typeof SummaryQuery>) {
  requireRole(ctx.actor, ...RATING_READERS);
  const actor = ctx.actor;
  if (!actor.countyCodes.includes(q.county_code)) throw notFound("county");
  const asOf = q.as_of ?? ctx.clock.today();
  const bank = actor.role === "loan_officer" || actor.role === "bank_manager" ? actor.bankId : null;
  const village = actor.role === "village_officer" ? actor.villageCode : null;
  const scope = (qb: Knex.QueryBuilder, alias: string) => {
    qb.where(`${alias}.county_code`, q.county_code);
    if (bank) qb.andWhere(`${alias}.bank_id`, bank);
    if (village) qb.andWhere(`${alias}.village_code`, village);
    return qb;
  };
  const eligibleQ = db("households as h").where("h.county_code", q.county_code).whereIn("h.status", ELIGIBLE_STATUSES).count<{ n: number | string }[]>("* as n");
  if (village) eligibleQ.andWhere("h.village_code", village);
  const [{ n: eligible }] = await eligibleQ;

  const validOn = (qb: Knex.QueryBuilder) =>
    qb
      .whereIn("r.status", ["EFFECTIVE", "SUPERSEDED"])
      .andWhere("r.valid_from", "<=", asOf)
      .andWhere("r.valid_until", ">=", asOf)
      .andWhere((w) => w.whereNull("r.superseded_on").orWhere("r.superseded_on", ">", asOf));
  const byGrade = await validOn(scope(db("ratings as r").join("households as h", "h.id", "r.household_id").whereIn("h.status", ELIGIBLE_STATUSES), "r"))
    .groupBy("r.grade")
    .select<{ grade: string; households: number | string; with_line: number | string; lines: string }[]>(
      "r.grade",
      db.raw("count(DISTINCT r.household_id) AS households"),
      db.raw("count(DISTINCT r.household_id) FILTER (WHERE r.credit_line > 0) AS with_line"),
      db.raw("sum(r.credit_line)::text AS lines"),
    )
    .orderByRaw("sum(r.credit_line) DESC, r.grade");
  const [{ n: pending }] = await scope(db("ratings as r").where("r.status", "PENDING"), "r").count<{ n: number | string }[]>("* as n");
  const latest = scope(db("ratings as r"), "r")
    .whereIn("r.status", ["EFFECTIVE", "SUPERSEDED"])
    .andWhere("r.valid_from", "<=", asOf)
    .distinctOn("r.household_id")
    .select("r.household_id", "r.valid_until")
    .orderBy([{ column: "r.household_id" }, { column: "r.valid_from", order: "desc" }, { column: "r.decided_at", order: "desc" }]);
  const [{ n: expired }] = await db.from(latest.as("x")).where("x.valid_until", "<", asOf).count<{ n: number | string }[]>("* as n");

  const rated = byGrade.reduce((s, g) => s + Number(g.households), 0);
  const lines = Money.sum(byGrade.map((g) => g.lines));
  const withLine = byGrade.reduce((s, g) => s + Number(g.with_line), 0);
  return {
    county_code: q.county_code,
    as_of: asOf,
    scope: bank ? ("BANK" as const) : village ? ("VILLAGE" as const) : ("COUNTY" as const),
    eligible_households: Number(eligible),
    households_rated: rated,
    rated_share: Number(eligible) === 0 ? "0.0000" : new D(rated).div(Number(eligible)).toFixed(4, D.ROUND_HALF_UP),
    lines_granted: Money.format(lines),
    households_with_line: withLine,
    pending: Number(pending),
    expired: Number(expired),
    by_grade: byGrade.map((g) => ({ grade: g.grade, households: Number(g.households), lines: Money.format(g.lines) })),
  };
}
