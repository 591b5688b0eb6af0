import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import { parseIdNumber } from "../../lib/id-number.js";
import type { Pii } from "../../lib/pii.js";

type Db = Knex | Knex.Transaction;

export interface HouseholdRow {
  id: string;
  household_no: string;
  county_code: string;
  township_code: string;
  village_code: string;
  household_type: string;
  status: string;
  status_since: string;
  exit_date: string | null;
  main_cause: string;
  secondary_causes: string[];
  housing_safety: string;
  phone_enc: string | null;
  phone_masked: string | null;
  bank_account_enc: string | null;
  bank_account_masked: string | null;
  bank_name: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  head_name?: string | null;
  member_count?: number;
}

export interface MemberRow {
  id: string;
  household_id: string;
  county_code: string;
  name: string;
  id_number_hash: string;
  id_number_enc: string;
  id_number_masked: string;
  relation: string;
  sex: "M" | "F";
  birth_date: string;
  health: string;
  labour_capacity: string;
  schooling: string;
  on_dibao: boolean;
  on_tekun: boolean;
}

/** Bounds a query on `households` (aliased `h`) by the actor's jurisdiction. */
export function householdScope(q: Knex.QueryBuilder, actor: Actor, alias = "h"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "village_officer") q.andWhere(`${alias}.village_code`, actor.villageCode ?? "");
  return q;
}

const HOUSEHOLD_COLUMNS = [
  "h.*",
  "head.name as head_name",
  "mc.member_count",
] as const;

/** Households with their head's name and member count, bounded by jurisdiction. */
export function householdsQuery(db: Db, actor: Actor): Knex.QueryBuilder {
  return householdScope(
    db("households as h")
      .leftJoin("household_members as head", function () {
        this.on("head.household_id", "h.id").andOnVal("head.relation", "HEAD");
      })
      .joinRaw("CROSS JOIN LATERAL (SELECT count(*)::int AS member_count FROM household_members m WHERE m.household_id = h.id) mc")
      .select(...HOUSEHOLD_COLUMNS),
    actor,
  );
}

export async function findHousehold(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<HouseholdRow | undefined> {
  if (opts.forUpdate) {
    // Lock the household row itself, then read the view.
    const locked = await householdScope(db("households as h").where("h.id", id).forUpdate().select("h.id"), actor).first();
    if (!locked) return undefined;
  }
  return householdsQuery(db, actor).where("h.id", id).first<HouseholdRow | undefined>();
}

export async function membersOf(db: Db, householdIds: string[]): Promise<MemberRow[]> {
  if (householdIds.length === 0) return [];
  return db("household_members")
    .whereIn("household_id", householdIds)
    .orderByRaw("household_id, (relation = 'HEAD') DESC, birth_date, id")
    .select<MemberRow[]>();
}

export async function incomesOf(db: Db, householdId: string) {
  return db("household_incomes").where({ household_id: householdId }).orderBy("year").select("year", "net_income", "per_capita_net_income");
}

export async function nextHouseholdNo(db: Db, villageCode: string): Promise<string> {
  const { rows } = await db.raw<{ rows: { n: number | string }[] }>("SELECT nextval('household_no_seq') AS n");
  return `${villageCode}${String(rows[0].n).padStart(6, "0")}`;
}

/**
 * Locks a household row until commit, so that other modules' decisions about one household (a loan
 * application against its cap, a rating's approval, a portal PIN) happen one after the other.
 */
export async function lockHousehold(trx: Knex.Transaction, id: string): Promise<Pick<HouseholdRow, "id" | "county_code" | "village_code" | "status"> | undefined> {
  return trx("households").where({ id }).forUpdate().first("id", "county_code", "village_code", "status");
}

/** Locks a county's division row until commit: serialises county-wide numbering (e.g. scorecard versions). */
export async function lockCounty(trx: Knex.Transaction, countyCode: string): Promise<void> {
  await trx("divisions").where({ code: countyCode }).forUpdate().first("code");
}

/**
 * What a printed document shows of a borrower and its lender (a loan's schedule): the member's
 * name and masked ID number, the household number and the bank's name. The caller masks the name.
 */
export async function borrowerAndBank(db: Db, memberId: string, bankId: string): Promise<{ name: string | null; id_number_masked: string | null; household_no: string | null; bank_name: string | null }> {
  const [m, b] = await Promise.all([
    db("household_members as m").join("households as h", "h.id", "m.household_id").where("m.id", memberId).first<{ name: string; id_number_masked: string; household_no: string } | undefined>("m.name", "m.id_number_masked", "h.household_no"),
    db("banks").where({ id: bankId }).first<{ name: string } | undefined>("name"),
  ]);
  return { name: m?.name ?? null, id_number_masked: m?.id_number_masked ?? null, household_no: m?.household_no ?? null, bank_name: b?.name ?? null };
}

/** A member as another module finds it by ID number or household number: who, in which household, of which county and village. */
export interface MemberRef {
  member_id: string;
  household_id: string;
  household_no: string;
  household_status: string;
  county_code: string;
  village_code: string;
  relation: string;
  birth_date: string;
}

const MEMBER_REF = [
  "m.id as member_id",
  "h.id as household_id",
  "h.household_no",
  "h.status as household_status",
  "h.county_code",
  "h.village_code",
  "m.relation",
] as const;

/**
 * Members found by whole ID numbers in the given counties, through the keyed lookup hash the
 * register stores (numbers are never compared in the clear): a map from each number given (as
 * written, trimmed) to its member; a number that is malformed or not registered there is absent.
 */
export async function membersByIdNumber(db: Db, pii: Pii, idNumbers: string[], countyCodes: string[]): Promise<Map<string, MemberRef>> {
  const byHash = new Map<string, string[]>();
  for (const raw of idNumbers) {
    const parsed = parseIdNumber(raw);
    if (!parsed.ok) continue;
    const h = pii.lookupHash(parsed.info.value);
    byHash.set(h, [...(byHash.get(h) ?? []), raw]);
  }
  const hashes = [...byHash.keys()];
  const out = new Map<string, MemberRef>();
  for (let i = 0; i < hashes.length; i += 1000) {
    const rows = await db("household_members as m")
      .join("households as h", "h.id", "m.household_id")
      .whereIn("m.id_number_hash", hashes.slice(i, i + 1000))
      .whereIn("h.county_code", countyCodes)
      .select<(MemberRef & { id_number_hash: string })[]>(...MEMBER_REF, "m.id_number_hash", db.raw("m.birth_date::text AS birth_date"));
    for (const { id_number_hash, ...r } of rows) for (const raw of byHash.get(id_number_hash) ?? []) out.set(raw, r);
  }
  return out;
}

/** Households found by household number in the given counties, each with its head as the member: a map by household number. */
export async function headsByHouseholdNo(db: Db, householdNos: string[], countyCodes: string[]): Promise<Map<string, MemberRef>> {
  const out = new Map<string, MemberRef>();
  for (let i = 0; i < householdNos.length; i += 1000) {
    const rows = await db("households as h")
      .leftJoin("household_members as m", function () {
        this.on("m.household_id", "h.id").andOnVal("m.relation", "HEAD");
      })
      .whereIn("h.household_no", householdNos.slice(i, i + 1000))
      .whereIn("h.county_code", countyCodes)
      .select<MemberRef[]>(...MEMBER_REF, db.raw("m.birth_date::text AS birth_date"));
    for (const r of rows) out.set(r.household_no, r);
  }
  return out;
}
