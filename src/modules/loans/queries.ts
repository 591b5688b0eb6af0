import type { Knex } from "knex";
import { preparedQuery } from "../../lib/prepared.js";
import type { Actor } from "../../http/auth.js";
import { D } from "../../lib/money.js";
import type { Period, PeriodState, RepaymentMethod } from "./model.js";

type Db = Knex | Knex.Transaction;

export interface LoanRow {
  id: string;
  county_code: string;
  village_code: string;
  bank_id: string;
  household_id: string;
  borrower_member_id: string;
  product_id: string | null;
  /** The bank's contract number (合同号), unique per bank; given at disbursement. */
  contract_no: string | null;
  /** The business date the loan was migrated onto the platform (存量贷款迁移); null when disbursed here. */
  migrated_on: string | null;
  status: string;
  amount: string;
  outstanding_principal: string;
  annual_rate: string | null;
  rate_basis: string | null;
  lpr_date: string | null;
  term_months: number;
  repayment_method: RepaymentMethod;
  purpose: string;
  purpose_detail: string | null;
  penalty_markup: string;
  grace_days: number;
  rating_id: string | null;
  applied_on: string;
  decided_on: string | null;
  disbursed_on: string | null;
  maturity_date: string | null;
  original_maturity_date: string | null;
  extended_on: string | null;
  extension_months: number | null;
  closed_on: string | null;
  officer_id: string;
  approver_id: string | null;
  decision_note: string | null;
  renewed_from_loan_id: string | null;
  renewed_to_loan_id: string | null;
  written_off_principal: string;
  dpd: number;
  dpd_bucket: string;
  overdue_principal: string;
  overdue_interest: string;
  penalty_due: string;
  cur_period_start: string | null;
  cur_period_end: string | null;
  cur_period_interest: string | null;
  standing_date: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface PeriodRow {
  loan_id: string;
  seq: number;
  county_code: string;
  accrual_start: string;
  accrual_end: string;
  due_date: string;
  overdue_from: string;
  days: number;
  opening_principal: string;
  principal_due: string;
  /** The household's part of the period's interest (all of it unless TO_BANK). */
  interest_due: string;
  /** TO_BANK: the part the bank claims from the county instead; contract interest = interest_due + interest_subsidy. */
  interest_subsidy: string;
  /** Why a subsidy share moved back to the household (LATE_INTEREST, MISUSE, HOUSEHOLD_REMOVED). */
  subsidy_forfeited: string | null;
  principal_paid: string;
  interest_paid: string;
  penalty_accrued: string;
  penalty_paid: string;
  penalty_through: string | null;
  carried_interest: string | null;
  carried_through: string | null;
  /** Days of the period as scheduled, once it was cut short by a payoff or renewal. */
  frame_days: number | null;
  status: string;
  settled_on: string | null;
}

export interface ProductRow {
  id: string;
  bank_id: string;
  county_code: string;
  code: string;
  version: number;
  name: string;
  effective_from: string;
  max_amount: string;
  max_term_months: number;
  rate_rule: "LPR" | "FIXED";
  fixed_rate: string | null;
  rate_spread: string;
  repayment_methods: RepaymentMethod[];
  penalty_markup: string;
  grace_days: number;
  allowed_purposes: string[];
  subsidy_ratio: string;
  subsidy_rate_cap: string | null;
  subsidy_term_months: number;
  subsidy_principal_cap: string;
  subsidy_mode: string;
  created_at: Date;
}

/** Bounds a query on `loans` (aliased) by the actor's jurisdiction (docs/DOMAIN.md#jurisdiction). */
export function loanScope(q: Knex.QueryBuilder, actor: Actor, alias = "loans"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "loan_officer" || actor.role === "bank_manager") q.andWhere(`${alias}.bank_id`, actor.bankId ?? "00000000-0000-0000-0000-000000000000");
  else if (actor.role === "village_officer") q.andWhere(`${alias}.village_code`, actor.villageCode ?? "");
  else if (actor.role === "operator") q.whereRaw("false");
  return q;
}

export async function findLoan(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean; prepared?: boolean } = {}): Promise<LoanRow | undefined> {
  const q = db("loans").where("loans.id", id);
  loanScope(q, actor);
  if (opts.forUpdate) q.forUpdate();
  if (opts.prepared) return (await preparedQuery<LoanRow>(db, q.limit(1)))[0];
  return q.first<LoanRow | undefined>();
}

export async function lockLoan(trx: Knex.Transaction, id: string): Promise<LoanRow | undefined> {
  return trx("loans").where({ id }).forUpdate().first<LoanRow | undefined>();
}

/** A loan's schedule, in seq order; `prepared` on a hot path (a named prepared statement). */
export async function periodsOf(db: Db, loanId: string, opts: { prepared?: boolean } = {}): Promise<PeriodRow[]> {
  const q = db("loan_schedule_periods").where({ loan_id: loanId }).orderBy("seq");
  return opts.prepared ? preparedQuery<PeriodRow>(db, q) : q.select<PeriodRow[]>();
}

export function toState(p: PeriodRow): PeriodState {
  return {
    seq: p.seq,
    accrualStart: p.accrual_start,
    accrualEnd: p.accrual_end,
    dueDate: p.due_date,
    principalDue: new D(p.principal_due),
    interestDue: new D(p.interest_due),
    principalPaid: new D(p.principal_paid),
    interestPaid: new D(p.interest_paid),
    penaltyAccrued: new D(p.penalty_accrued),
    penaltyPaid: new D(p.penalty_paid),
    penaltyThrough: p.penalty_through,
  };
}

/** New schedule rows as stored: nothing paid, no penalty, PENDING (a first row may carry `extra`). */
export function periodRows(loan: { id: string; county_code: string; grace_days: number }, periods: Period[], overdueFrom: (due: string) => string, extra: Partial<PeriodRow> = {}): PeriodRow[] {
  return periods.map((p, k) => ({
    loan_id: loan.id,
    seq: p.seq,
    county_code: loan.county_code,
    accrual_start: p.accrualStart,
    accrual_end: p.accrualEnd,
    due_date: p.dueDate,
    overdue_from: overdueFrom(p.dueDate),
    days: p.days,
    opening_principal: p.openingPrincipal.toFixed(2),
    principal_due: p.principal.toFixed(2),
    interest_due: p.interest.toFixed(2),
    interest_subsidy: "0.00",
    subsidy_forfeited: null,
    principal_paid: "0.00",
    interest_paid: "0.00",
    penalty_accrued: "0.0000000000",
    penalty_paid: "0.00",
    penalty_through: null,
    carried_interest: null,
    carried_through: null,
    frame_days: null,
    status: "PENDING",
    settled_on: null,
    ...(k === 0 ? extra : {}),
  }));
}

/** Inserts schedule rows; returns them as stored (defaults filled in), in seq order. */
export async function insertPeriods(trx: Knex.Transaction, rows: object[]): Promise<PeriodRow[]> {
  const stored: PeriodRow[] = [];
  for (let i = 0; i < rows.length; i += 500) stored.push(...(await trx("loan_schedule_periods").insert(rows.slice(i, i + 500)).returning<PeriodRow[]>("*")));
  return stored.sort((a, b) => a.seq - b.seq);
}

const PERIOD_COLUMNS = [
  "loan_id", "seq", "county_code", "accrual_start", "accrual_end", "due_date", "overdue_from", "days", "opening_principal", "principal_due",
  "interest_due", "interest_subsidy", "subsidy_forfeited", "principal_paid", "interest_paid", "penalty_accrued", "penalty_paid", "penalty_through",
  "carried_interest", "carried_through", "frame_days", "status", "settled_on",
] as const satisfies readonly (keyof PeriodRow)[];

const PERIOD_LIST = PERIOD_COLUMNS.join(", ");
const PERIOD_UPDATES = PERIOD_COLUMNS.filter((c) => c !== "loan_id" && c !== "seq" && c !== "county_code")
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(", ");

/** The rows of `after` that differ from `before` (same seq) or are new. */
export function changedPeriods(before: readonly PeriodRow[], after: readonly PeriodRow[]): PeriodRow[] {
  const old = new Map(before.map((r) => [r.seq, r]));
  return after.filter((r) => {
    const o = old.get(r.seq);
    return !o || PERIOD_COLUMNS.some((c) => String(o[c] ?? "") !== String(r[c] ?? ""));
  });
}

/**
 * The SQL that writes a loan's schedule as computed — `after` is the whole schedule, `before` what
 * is stored: changed and new periods in one upsert, periods beyond the new last one in one delete —
 * as data-modifying CTEs (`period_ends`, `period_writes`) for the caller's statement (to follow a
 * `WITH` or a comma); none when nothing changes. The two touch different rows, so they may run in
 * one statement.
 */
export function periodWritesCtes(trx: Knex.Transaction, loanId: string, before: readonly PeriodRow[], after: readonly PeriodRow[]): { sql: string; bindings: readonly Knex.RawBinding[] }[] {
  const last = after.length > 0 ? after[after.length - 1].seq : 0;
  const ctes: { sql: string; bindings: readonly Knex.RawBinding[] }[] = [];
  if (before.some((r) => r.seq > last)) {
    const del = trx("loan_schedule_periods").where({ loan_id: loanId }).andWhere("seq", ">", last).delete().toSQL();
    ctes.push({ sql: `period_ends AS (${del.sql})`, bindings: del.bindings });
  }
  const writes = changedPeriods(before, after);
  if (writes.length > 0) {
    // The rows as one JSON value: one parameter however many periods change.
    ctes.push({
      sql: `period_writes AS (
              INSERT INTO loan_schedule_periods (${PERIOD_LIST})
              SELECT ${PERIOD_LIST} FROM json_populate_recordset(NULL::loan_schedule_periods, ?::json)
              ON CONFLICT (loan_id, seq) DO UPDATE SET ${PERIOD_UPDATES})`,
      bindings: [JSON.stringify(writes.map((r) => Object.fromEntries(PERIOD_COLUMNS.map((c) => [c, r[c]]))))],
    });
  }
  return ctes;
}

/** Writes a loan's schedule as computed (see `periodWritesCtes`). */
export async function savePeriods(trx: Knex.Transaction, loanId: string, before: readonly PeriodRow[], after: readonly PeriodRow[]): Promise<void> {
  const ctes = periodWritesCtes(trx, loanId, before, after);
  if (ctes.length === 0) return;
  await trx.raw(`WITH ${ctes.map((c) => c.sql).join(", ")} SELECT 1`, ctes.flatMap((c) => c.bindings));
}

export async function productById(db: Db, id: string): Promise<ProductRow | undefined> {
  return db("loan_products").where({ id }).first<ProductRow | undefined>();
}

/**
 * The versions of a product code effective on a date, the one in force first: the latest effective
 * date on or before it, the highest version among equal dates (a version may be back-dated, so the
 * highest number is not always the one in force).
 */
export function versionsInForce(db: Db, key: { bankId: string; countyCode: string; code: string }, on: string): Knex.QueryBuilder {
  return db("loan_products")
    .where({ bank_id: key.bankId, county_code: key.countyCode, code: key.code })
    .andWhere("effective_from", "<=", on)
    .orderBy([{ column: "effective_from", order: "desc" }, { column: "version", order: "desc" }]);
}

/** The LPR table in force on a date: the latest published on or before it. */
export async function lprOn(db: Db, date: string): Promise<{ publication_date: string; lpr_1y: string; lpr_5y: string } | undefined> {
  return db("rate_tables").where("publication_date", "<=", date).orderBy("publication_date", "desc").first();
}

/** Principal the household has asked for or owes: active loans plus applications not yet decided or disbursed. */
export async function householdExposure(db: Db, householdId: string, excludeLoanId?: string): Promise<{ active: string; pending: string }> {
  const row = await db("loans")
    .where({ household_id: householdId })
    .modify((q) => {
      if (excludeLoanId) q.whereNot("id", excludeLoanId);
    })
    .select(
      db.raw(`coalesce(sum(outstanding_principal) FILTER (WHERE status IN ('DISBURSED', 'EXTENDED')), 0)::text AS active`),
      db.raw(`coalesce(sum(amount) FILTER (WHERE status IN ('APPLIED', 'APPROVED')), 0)::text AS pending`),
    )
    .first<{ active: string; pending: string }>();
  return row;
}

/**
 * A schedule kept on a repayment (`schedule_before`), packed: the column names once, then each
 * period's values in that order. Small enough to stay inside the repayment's row (no TOAST), which
 * matters when a bank file writes a thousand repayments a statement.
 */
export interface PackedPeriods {
  c: string[];
  r: unknown[][];
}

export function packPeriods(rows: readonly PeriodRow[]): PackedPeriods {
  return { c: [...PERIOD_COLUMNS], r: rows.map((p) => PERIOD_COLUMNS.map((c) => p[c])) };
}

/** The numeric columns of a period: strings in a packed schedule, as the driver reads them. */
const NUMERIC_PERIOD_COLUMNS: ReadonlySet<string> = new Set([
  "opening_principal", "principal_due", "interest_due", "interest_subsidy", "principal_paid", "interest_paid", "penalty_accrued", "penalty_paid", "carried_interest",
]);

/**
 * The stored periods of the loan `loanIdSql` names, kept as they stand: an array of the periods'
 * own rows, in order (`loan_repayments.schedule_kept`). Copied in the database with no conversion —
 * for a set-based write that keeps thousands of schedules a statement; packed only when read back
 * (`keptScheduleSql`).
 */
export function keptRowsSql(loanIdSql: string): string {
  return `(SELECT array_agg(k ORDER BY k.seq) FROM loan_schedule_periods k WHERE k.loan_id = ${loanIdSql})`;
}

/**
 * A repayment's kept schedule as `packPeriods` packs it, whichever way it was kept: the packed JSON
 * of `schedule_before`, or the rows of `schedule_kept` packed here — the same document `packPeriods`
 * makes of the rows as the driver reads them. `alias` names the repayment's row.
 */
export function keptScheduleSql(alias: string): string {
  const values = PERIOD_COLUMNS.map((c) => (NUMERIC_PERIOD_COLUMNS.has(c) ? `k.${c}::text` : `k.${c}`)).join(", ");
  return `coalesce(${alias}.schedule_before, (SELECT json_build_object('c', '${JSON.stringify(PERIOD_COLUMNS)}'::json, 'r', json_agg(json_build_array(${values}) ORDER BY k.seq))::jsonb
            FROM unnest(${alias}.schedule_kept) k))`;
}

/** The schedule a repayment was allocated over, as periods (null when none was kept). */
export async function keptSchedule(db: Db, repaymentId: string): Promise<PeriodRow[] | null> {
  const { rows } = await db.raw<{ rows: { kept: PackedPeriods | PeriodRow[] | null }[] }>(`SELECT ${keptScheduleSql("r")} AS kept FROM loan_repayments r WHERE r.id = ?`, [repaymentId]);
  return unpackPeriods(rows[0]?.kept);
}

/** A kept schedule as periods: packed, or (kept before packing) the rows themselves. */
export function unpackPeriods(kept: PackedPeriods | PeriodRow[] | null | undefined): PeriodRow[] | null {
  if (!kept) return null;
  if (Array.isArray(kept)) return kept;
  return kept.r.map((values) => Object.fromEntries(kept.c.map((c, i) => [c, values[i]])) as unknown as PeriodRow);
}

/** The ids of a bank's loans by their contract numbers (合同号); a number the bank has no loan under is left out. */
export async function loanIdsByContract(db: Db, bankId: string, contractNos: readonly string[]): Promise<Map<string, string>> {
  if (contractNos.length === 0) return new Map();
  const { rows } = await db.raw<{ rows: { id: string; contract_no: string }[] }>(
    `SELECT id, contract_no FROM loans WHERE bank_id = ? AND contract_no = ANY(?::text[])`,
    [bankId, [...new Set(contractNos)]],
  );
  return new Map(rows.map((r) => [r.contract_no, r.id]));
}
