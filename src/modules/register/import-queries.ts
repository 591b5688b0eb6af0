import type { Knex } from "knex";
import type { HouseholdRow } from "./queries.js";

/**
 * Set-based reads and writes of a register import: each statement takes whole columns as arrays
 * (`unnest`), a slice of CHUNK rows at a time, never one statement per person.
 */
type Db = Knex | Knex.Transaction;

/** Rows per statement: one array parameter per column, so the 65,535-parameter limit never applies. */
export const CHUNK = 10_000;

/** An array with NULL elements as a binding (pg sends a JS null element as NULL; knex's types allow none). */
const orNull = (xs: (string | null)[]): string[] => xs as string[];

function chunks<T>(xs: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export interface RegisteredMember {
  id: string;
  household_id: string;
  id_number_hash: string;
  id_number_masked: string;
  name: string;
  relation: string;
  health: string;
  labour_capacity: string;
  schooling: string;
  on_dibao: boolean;
  on_tekun: boolean;
}

/** A household as the import compares it: the register's columns it may change, and how it is matched. */
export type ImportHouseholdRow = Pick<
  HouseholdRow,
  "id" | "household_no" | "county_code" | "village_code" | "household_type" | "status" | "status_since" | "exit_date" | "main_cause" | "secondary_causes" | "phone_enc" | "phone_masked" | "version"
> & {
  household_no_source: "PLATFORM" | "NATIONAL";
  /** The keyed hash of its head's ID number. */
  head_hash: string | null;
};

export async function villagesAmong(db: Db, codes: string[]): Promise<Map<string, string>> {
  if (codes.length === 0) return new Map();
  const { rows } = await db.raw<{ rows: { code: string; county_code: string }[] }>(
    "SELECT code, county_code FROM divisions WHERE level = 'VILLAGE' AND code = ANY(?::text[])",
    [codes],
  );
  return new Map(rows.map((r) => [r.code, r.county_code]));
}

export async function membersByHash(db: Db, hashes: string[]): Promise<Map<string, RegisteredMember>> {
  const out = new Map<string, RegisteredMember>();
  for (const slice of chunks(hashes)) {
    const { rows } = await db.raw<{ rows: RegisteredMember[] }>(
      `SELECT id, household_id, id_number_hash, id_number_masked, name, relation, health, labour_capacity, schooling, on_dibao, on_tekun
         FROM household_members WHERE id_number_hash = ANY(?::text[])`,
      [slice],
    );
    for (const r of rows) out.set(r.id_number_hash, r);
  }
  return out;
}

/**
 * The households named by id or by household number, with their head's hash; locked until commit
 * when the import is applied, so the register cannot change under it.
 */
export async function householdsByIdOrNo(db: Db, ids: string[], nos: string[], lock: boolean): Promise<ImportHouseholdRow[]> {
  const out: ImportHouseholdRow[] = [];
  const n = Math.max(ids.length, nos.length);
  for (let i = 0; i < n; i += CHUNK) {
    const { rows } = await db.raw<{ rows: ImportHouseholdRow[] }>(
      `SELECT h.id, h.household_no, h.county_code, h.village_code, h.household_type, h.status, to_char(h.status_since, 'YYYY-MM-DD') AS status_since,
              to_char(h.exit_date, 'YYYY-MM-DD') AS exit_date, h.main_cause, h.secondary_causes, h.phone_enc, h.phone_masked, h.version, h.household_no_source,
              (SELECT m.id_number_hash FROM household_members m WHERE m.household_id = h.id AND m.relation = 'HEAD') AS head_hash
         FROM households h
        WHERE h.id = ANY(?::uuid[]) OR h.household_no = ANY(?::text[])
        ${lock ? "FOR UPDATE OF h" : ""}`,
      [ids.slice(i, i + CHUNK), nos.slice(i, i + CHUNK)],
    );
    out.push(...rows);
  }
  return out;
}

export interface NewHousehold {
  id: string;
  county_code: string;
  village_code: string;
  household_no: string;
  household_type: string;
  status: string;
  status_since: string;
  exit_date: string | null;
  main_cause: string;
  phone_enc: string | null;
  phone_masked: string | null;
}

export async function insertHouseholds(trx: Knex.Transaction, rows: NewHousehold[], now: Date): Promise<void> {
  for (const s of chunks(rows)) {
    await trx.raw(
      `INSERT INTO households (id, county_code, township_code, village_code, household_no, household_no_source, household_type, status, status_since, exit_date, main_cause,
                               phone_enc, phone_masked, created_at, updated_at)
       SELECT v.id, v.county_code, substr(v.village_code, 1, 9), v.village_code, v.household_no, 'NATIONAL', v.household_type, v.status, v.status_since, v.exit_date,
              v.main_cause, v.phone_enc, v.phone_masked, ?, ?
         FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::date[], ?::date[], ?::text[], ?::text[], ?::text[])
              AS v(id, county_code, village_code, household_no, household_type, status, status_since, exit_date, main_cause, phone_enc, phone_masked)`,
      [
        now,
        now,
        s.map((r) => r.id),
        s.map((r) => r.county_code),
        s.map((r) => r.village_code),
        s.map((r) => r.household_no),
        s.map((r) => r.household_type),
        s.map((r) => r.status),
        s.map((r) => r.status_since),
        orNull(s.map((r) => r.exit_date)),
        s.map((r) => r.main_cause),
        orNull(s.map((r) => r.phone_enc)),
        orNull(s.map((r) => r.phone_masked)),
      ],
    );
  }
}

export interface HouseholdUpdate {
  id: string;
  /** The national household number, taken by a household numbered by the platform. */
  household_no: string;
  household_type: string;
  main_cause: string;
  phone_enc: string | null;
  phone_masked: string | null;
  status: string;
  status_since: string;
  exit_date: string | null;
}

/** Writes the new values of changed households (every column given, changed or not) and bumps their version. */
export async function updateHouseholds(trx: Knex.Transaction, rows: HouseholdUpdate[], now: Date): Promise<void> {
  for (const s of chunks(rows)) {
    await trx.raw(
      `UPDATE households h
          SET household_no = v.household_no, household_no_source = 'NATIONAL', household_type = v.household_type, main_cause = v.main_cause, phone_enc = v.phone_enc, phone_masked = v.phone_masked,
              status = v.status, status_since = v.status_since, exit_date = v.exit_date, version = h.version + 1, updated_at = ?
         FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::date[], ?::date[])
              AS v(id, household_no, household_type, main_cause, phone_enc, phone_masked, status, status_since, exit_date)
        WHERE h.id = v.id`,
      [
        now,
        s.map((r) => r.id),
        s.map((r) => r.household_no),
        s.map((r) => r.household_type),
        s.map((r) => r.main_cause),
        orNull(s.map((r) => r.phone_enc)),
        orNull(s.map((r) => r.phone_masked)),
        s.map((r) => r.status),
        s.map((r) => r.status_since),
        orNull(s.map((r) => r.exit_date)),
      ],
    );
  }
}

export interface ImportedStatusChange {
  household_id: string;
  county_code: string;
  from_status: string;
  to_status: string;
  effective_date: string;
  reason: string;
}

export async function insertStatusChanges(trx: Knex.Transaction, rows: ImportedStatusChange[], importId: string, actorId: string, now: Date): Promise<void> {
  for (const s of chunks(rows)) {
    await trx.raw(
      `INSERT INTO household_status_changes (household_id, county_code, from_status, to_status, effective_date, reason, approvals, actor_id, created_at, source, import_id)
       SELECT v.household_id, v.county_code, v.from_status, v.to_status, v.effective_date, v.reason, '[]'::jsonb, ?, ?, 'IMPORT', ?
         FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::date[], ?::text[]) AS v(household_id, county_code, from_status, to_status, effective_date, reason)`,
      [
        actorId,
        now,
        importId,
        s.map((r) => r.household_id),
        s.map((r) => r.county_code),
        s.map((r) => r.from_status),
        s.map((r) => r.to_status),
        s.map((r) => r.effective_date),
        s.map((r) => r.reason),
      ],
    );
  }
}

export interface NewMember {
  household_id: string;
  county_code: string;
  name: string;
  id_number_hash: string;
  id_number_enc: string;
  id_number_masked: string;
  relation: string;
  sex: string;
  birth_date: string;
  health: string;
  labour_capacity: string;
  schooling: string;
  on_dibao: boolean;
  on_tekun: boolean;
}

export async function insertMembers(trx: Knex.Transaction, rows: NewMember[], now: Date): Promise<void> {
  for (const s of chunks(rows)) {
    await trx.raw(
      `INSERT INTO household_members (household_id, county_code, name, id_number_hash, id_number_enc, id_number_masked, relation, sex, birth_date,
                                      health, labour_capacity, schooling, on_dibao, on_tekun, created_at)
       SELECT v.*, ?::timestamptz
         FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::date[], ?::text[], ?::text[], ?::text[], ?::boolean[], ?::boolean[])
              AS v(household_id, county_code, name, id_number_hash, id_number_enc, id_number_masked, relation, sex, birth_date, health, labour_capacity, schooling, on_dibao, on_tekun)`,
      [
        now,
        s.map((r) => r.household_id),
        s.map((r) => r.county_code),
        s.map((r) => r.name),
        s.map((r) => r.id_number_hash),
        s.map((r) => r.id_number_enc),
        s.map((r) => r.id_number_masked),
        s.map((r) => r.relation),
        s.map((r) => r.sex),
        s.map((r) => r.birth_date),
        s.map((r) => r.health),
        s.map((r) => r.labour_capacity),
        s.map((r) => r.schooling),
        s.map((r) => r.on_dibao),
        s.map((r) => r.on_tekun),
      ],
    );
  }
}

export interface MemberUpdate {
  id: string;
  name: string;
  relation: string;
  health: string;
  labour_capacity: string;
  schooling: string;
  on_dibao: boolean;
  on_tekun: boolean;
}

/**
 * Writes changed members. Members who stop being head are written first: the one-head index is
 * checked row by row, so a new head can only be written once the old one has stepped down.
 */
export async function updateMembers(trx: Knex.Transaction, rows: MemberUpdate[], wasHead: (id: string) => boolean): Promise<void> {
  const steppingDown = rows.filter((r) => wasHead(r.id) && r.relation !== "HEAD");
  const rest = rows.filter((r) => !(wasHead(r.id) && r.relation !== "HEAD"));
  for (const part of [steppingDown, rest]) {
    for (const s of chunks(part)) {
      await trx.raw(
        `UPDATE household_members m
            SET name = v.name, relation = v.relation, health = v.health, labour_capacity = v.labour_capacity, schooling = v.schooling,
                on_dibao = v.on_dibao, on_tekun = v.on_tekun
           FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[], ?::boolean[])
                AS v(id, name, relation, health, labour_capacity, schooling, on_dibao, on_tekun)
          WHERE m.id = v.id`,
        [
          s.map((r) => r.id),
          s.map((r) => r.name),
          s.map((r) => r.relation),
          s.map((r) => r.health),
          s.map((r) => r.labour_capacity),
          s.map((r) => r.schooling),
          s.map((r) => r.on_dibao),
          s.map((r) => r.on_tekun),
        ],
      );
    }
  }
}

/** Households whose members changed but whose own fields did not: their version moves on all the same. */
export async function touchHouseholds(trx: Knex.Transaction, ids: string[], now: Date): Promise<void> {
  for (const s of chunks(ids)) {
    await trx.raw("UPDATE households SET version = version + 1, updated_at = ? WHERE id = ANY(?::uuid[])", [now, s]);
  }
}

export interface ImportRecord {
  id: string;
  county_code: string;
  village_code: string | null;
  actor_id: string;
  actor_role: string;
  file_name: string;
  file_format: string;
  file_sha256: string;
  dry_run: boolean;
  status: string;
  header: string[];
  rows: number;
  households: number;
  problem_rows: number;
  problems: number;
  outcome: Record<string, number> | null;
  created_at: Date;
}

export async function insertImport(trx: Knex.Transaction, r: Omit<ImportRecord, "created_at">, now: Date): Promise<void> {
  await trx("register_imports").insert({ ...r, header: JSON.stringify(r.header), outcome: r.outcome ? JSON.stringify(r.outcome) : null, created_at: now });
}

export async function insertProblemRows(
  trx: Knex.Transaction,
  importId: string,
  countyCode: string,
  rows: { row_no: number; cells_enc: string; problems: unknown }[],
): Promise<void> {
  for (const s of chunks(rows, 1000)) {
    await trx("register_import_problem_rows").insert(s.map((r) => ({ import_id: importId, county_code: countyCode, row_no: r.row_no, cells_enc: r.cells_enc, problems: JSON.stringify(r.problems) })));
  }
}
