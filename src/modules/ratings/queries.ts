import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import { LABOUR_CAPACITIES, type LabourCapacity, type RegisterFacts, type ScorecardDef, type StoredRatingStatus } from "./model.js";
import { lockCounty } from "../register/index.js";

type Db = Knex | Knex.Transaction;

/** Rows per statement for set-based reads and inserts (well under PostgreSQL's 65,535 parameters). */
export const CHUNK = 2000;

export interface ScorecardRow {
  id: string;
  county_code: string;
  version: number;
  name: string;
  validity_months: number;
  indicators: ScorecardDef["indicators"];
  created_by: string | null;
  created_at: Date;
  grades: ScorecardDef["grades"];
}

export interface RatingRow {
  id: string;
  county_code: string;
  village_code: string;
  household_id: string;
  bank_id: string;
  scorecard_version_id: string;
  scorecard_version: number;
  status: StoredRatingStatus;
  score: number;
  grade: string;
  credit_line: string;
  explanation: unknown;
  evidence: unknown;
  rated_on: string;
  created_by: string;
  created_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  valid_from: string | null;
  valid_until: string | null;
  superseded_by: string | null;
  superseded_on: string | null;
}

export interface HouseholdForRating {
  id: string;
  county_code: string;
  village_code: string;
  status: string;
}

// ---------- scorecards ----------

async function withGrades(db: Db, rows: Omit<ScorecardRow, "grades">[]): Promise<ScorecardRow[]> {
  if (rows.length === 0) return [];
  const grades = await db("scorecard_grades")
    .whereIn(
      "scorecard_id",
      rows.map((r) => r.id),
    )
    .orderBy([{ column: "scorecard_id" }, { column: "rank" }])
    .select<{ scorecard_id: string; grade: string; min_score: number; credit_line: string }[]>("scorecard_id", "grade", "min_score", "credit_line");
  return rows.map((r) => ({
    ...r,
    grades: grades.filter((g) => g.scorecard_id === r.id).map((g) => ({ grade: g.grade, min_score: g.min_score, credit_line: g.credit_line })),
  }));
}

export async function listScorecards(db: Db, countyCodes: string[]): Promise<ScorecardRow[]> {
  const rows = await db("scorecards")
    .whereIn("county_code", countyCodes)
    .orderBy([{ column: "county_code" }, { column: "version", order: "desc" }])
    .select<Omit<ScorecardRow, "grades">[]>("*");
  return withGrades(db, rows);
}

export async function findScorecard(db: Db, countyCodes: string[], id: string): Promise<ScorecardRow | undefined> {
  const row = await db("scorecards").where({ id }).whereIn("county_code", countyCodes).first<Omit<ScorecardRow, "grades"> | undefined>();
  return row ? (await withGrades(db, [row]))[0] : undefined;
}

/** The county's newest scorecard version: the one new ratings are made under. */
export async function currentScorecard(db: Db, countyCode: string): Promise<ScorecardRow | undefined> {
  const row = await db("scorecards").where({ county_code: countyCode }).orderBy("version", "desc").first<Omit<ScorecardRow, "grades"> | undefined>();
  return row ? (await withGrades(db, [row]))[0] : undefined;
}

export async function insertScorecard(trx: Knex.Transaction, countyCode: string, def: ScorecardDef, createdBy: string | null, at: Date): Promise<ScorecardRow> {
  // Versions of a county are numbered in order: the county's division row serialises publishers.
  await lockCounty(trx, countyCode);
  const { max } = (await trx("scorecards").where({ county_code: countyCode }).max("version as max").first<{ max: number | null }>()) ?? { max: null };
  const [row] = await trx("scorecards")
    .insert({
      county_code: countyCode,
      version: (max ?? 0) + 1,
      name: def.name,
      validity_months: def.validity_months,
      indicators: JSON.stringify(def.indicators),
      created_by: createdBy,
      created_at: at,
    })
    .returning<Omit<ScorecardRow, "grades">[]>("*");
  const ordered = [...def.grades].sort((a, b) => b.min_score - a.min_score);
  await trx("scorecard_grades").insert(
    ordered.map((g, i) => ({ scorecard_id: row.id, county_code: countyCode, grade: g.grade, rank: i + 1, min_score: g.min_score, credit_line: g.credit_line })),
  );
  return (await withGrades(trx, [row]))[0];
}

// ---------- households and the register ----------

/** Households by id inside the actor's jurisdiction (counties; a village officer's village). */
export async function householdsForRating(db: Db, actor: Actor, ids: string[]): Promise<Map<string, HouseholdForRating>> {
  const out = new Map<string, HouseholdForRating>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const q = db("households")
      .whereRaw("id = ANY(?::uuid[])", [ids.slice(i, i + CHUNK)])
      .whereIn("county_code", actor.countyCodes)
      .select<HouseholdForRating[]>("id", "county_code", "village_code", "status");
    if (actor.role === "village_officer") q.andWhere("village_code", actor.villageCode ?? "");
    for (const h of await q) out.set(h.id, h);
  }
  return out;
}

/**
 * Register facts of many households in two set-based reads: the latest year's per-capita net
 * income, and the members counted by labour capacity.
 */
export async function registerFacts(db: Db, ids: string[]): Promise<Map<string, RegisterFacts>> {
  const out = new Map<string, RegisterFacts>();
  for (const id of ids) out.set(id, { income: null, labour: { ORDINARY: 0, SKILLED: 0, WEAK: 0, NONE: 0 } });
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const incomes = await db.raw<{ rows: { household_id: string; year: number; per_capita_net_income: string }[] }>(
      `SELECT DISTINCT ON (household_id) household_id, year, per_capita_net_income::text AS per_capita_net_income
         FROM household_incomes WHERE household_id = ANY(?::uuid[]) ORDER BY household_id, year DESC`,
      [chunk],
    );
    for (const r of incomes.rows) out.get(r.household_id)!.income = { year: Number(r.year), per_capita_net_income: r.per_capita_net_income };
    const labour = await db.raw<{ rows: { household_id: string; labour_capacity: LabourCapacity; n: number | string }[] }>(
      `SELECT household_id, labour_capacity::text AS labour_capacity, count(*) AS n
         FROM household_members WHERE household_id = ANY(?::uuid[]) GROUP BY household_id, labour_capacity`,
      [chunk],
    );
    for (const r of labour.rows) {
      if ((LABOUR_CAPACITIES as readonly string[]).includes(r.labour_capacity)) out.get(r.household_id)!.labour[r.labour_capacity] = Number(r.n);
    }
  }
  return out;
}

/** Households (of the ids) that already have a pending rating of this bank. */
export async function pendingOfBank(db: Db, bankId: string, ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db("ratings")
      .whereRaw("household_id = ANY(?::uuid[])", [ids.slice(i, i + CHUNK)])
      .andWhere({ bank_id: bankId, status: "PENDING" })
      .select<{ household_id: string }[]>("household_id");
    for (const r of rows) out.add(r.household_id);
  }
  return out;
}

// ---------- ratings ----------

/** Bounds a query on `ratings` (aliased `r`) by the actor: counties; bank staff their bank; a village officer their village. */
export function ratingScope(q: Knex.QueryBuilder, actor: Actor, alias = "r"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "loan_officer" || actor.role === "bank_manager") q.andWhere(`${alias}.bank_id`, actor.bankId ?? "00000000-0000-0000-0000-000000000000");
  if (actor.role === "village_officer") q.andWhere(`${alias}.village_code`, actor.villageCode ?? "");
  return q;
}

export async function findRating(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<RatingRow | undefined> {
  const q = ratingScope(db("ratings as r").where("r.id", id).select<RatingRow[]>("r.*"), actor);
  if (opts.forUpdate) q.forUpdate();
  return q.first<RatingRow | undefined>();
}

const RATING_INSERT_COLUMNS =
  "id uuid, county_code varchar(6), village_code varchar(12), household_id uuid, bank_id uuid, scorecard_version_id uuid, scorecard_version int, status text, score int, grade varchar(8), credit_line numeric(18,2), explanation jsonb, evidence jsonb, rated_on date, created_by uuid, created_at timestamptz";
const RATING_INSERT_NAMES = RATING_INSERT_COLUMNS.split(", ").map((c) => c.split(" ")[0]).join(", ");

/**
 * Inserts ratings (each with its id) set-based: one statement per chunk with the rows as one JSON
 * parameter, expanded by json_to_recordset on the server (far fewer bind parameters to parse).
 */
export async function insertRatings(trx: Knex.Transaction, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx.raw(`INSERT INTO ratings (${RATING_INSERT_NAMES}) SELECT ${RATING_INSERT_NAMES} FROM json_to_recordset(?::json) AS x(${RATING_INSERT_COLUMNS})`, [
      JSON.stringify(rows.slice(i, i + CHUNK)),
    ]);
  }
}

/**
 * The rating of a household valid on a date: approved, inside its window, and not yet superseded
 * on that date (so an earlier date reads the rating that was in force then).
 */
export async function ratingValidOn(db: Db, householdId: string, on: string): Promise<RatingRow | undefined> {
  return db("ratings")
    .where({ household_id: householdId })
    .whereIn("status", ["EFFECTIVE", "SUPERSEDED"])
    .andWhere("valid_from", "<=", on)
    .andWhere("valid_until", ">=", on)
    .andWhere((w) => w.whereNull("superseded_on").orWhere("superseded_on", ">", on))
    .orderBy([{ column: "valid_from", order: "desc" }, { column: "decided_at", order: "desc" }])
    .first<RatingRow | undefined>();
}

/** The latest approved rating of a household (to report an expired one). */
export async function latestApproved(db: Db, householdId: string, on: string): Promise<RatingRow | undefined> {
  return db("ratings")
    .where({ household_id: householdId })
    .whereIn("status", ["EFFECTIVE", "SUPERSEDED"])
    .andWhere("valid_from", "<=", on)
    .orderBy([{ column: "valid_from", order: "desc" }, { column: "decided_at", order: "desc" }])
    .first<RatingRow | undefined>();
}

/** Outstanding principal of the household's poverty loans in force (all members, all banks). */
export async function outstandingOf(db: Db, householdId: string): Promise<string> {
  const row = await db("loans")
    .where({ household_id: householdId })
    .whereIn("status", ["DISBURSED", "EXTENDED"])
    .select(db.raw("coalesce(sum(outstanding_principal), 0)::text AS used"))
    .first<{ used: string }>();
  return row?.used ?? "0";
}
