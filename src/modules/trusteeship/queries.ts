import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import { DEFAULT_ANNUAL_RATE, DEFAULT_EXPOSURE_MULTIPLE } from "./model.js";

type Db = Knex | Knex.Transaction;

export interface OperatorRow {
  id: string;
  county_code: string;
  name: string;
  credit_code: string;
  operator_type: string;
  legal_representative: string;
  registered_capital: string;
  bank_account_enc: string | null;
  bank_account_masked: string | null;
  bank_name: string | null;
  rating: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface TrusteeshipRow {
  id: string;
  county_code: string;
  village_code: string;
  household_id: string;
  operator_id: string;
  operator_name?: string;
  source: string;
  principal: string;
  principal_returned: string;
  start_date: string;
  end_date: string;
  first_due_date: string;
  annual_rate: string;
  frequency: "ANNUAL" | "SEMIANNUAL" | "QUARTERLY";
  grace_days: number;
  linked_loan_id: string | null;
  loan_disbursed_on: string | null;
  status: "ACTIVE" | "CLOSED";
  principal_returned_on: string | null;
  note: string | null;
  created_by: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface InstallmentRow {
  trusteeship_id: string;
  seq: number;
  county_code: string;
  period_start: string;
  due_date: string;
  days: number;
  pro_rated: boolean;
  amount_due: string;
  amount_paid: string;
  arrears_from: string;
  in_arrears: boolean;
  arrears_since: string | null;
  paid_off_on: string | null;
  accrued_on: string | null;
  accrued_amount: string | null;
  accrual_entry_id: string | null;
}

export interface PaymentRow {
  id: string;
  trusteeship_id: string;
  county_code: string;
  kind: "RETURN" | "PRINCIPAL";
  amount: string;
  paid_on: string;
  reference: string | null;
  allocation: { seq: number; amount: string }[];
  journal_entry_id: string;
  actor_id: string;
  created_at: Date;
}

export interface PolicyValues {
  default_annual_rate: string;
  grace_days: number;
  exposure_multiple: string;
  exposure_cap: string | null;
}

/** County policy defaults when a county has recorded none. */
export const DEFAULT_POLICY: PolicyValues = { default_annual_rate: DEFAULT_ANNUAL_RATE, grace_days: 0, exposure_multiple: DEFAULT_EXPOSURE_MULTIPLE, exposure_cap: null };

// ---------- operators ----------

/** Bounds a query on `operators` (aliased `o`): own counties; an operator user sees only itself. */
export function operatorScope(q: Knex.QueryBuilder, actor: Actor, alias = "o"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "operator") q.andWhere(`${alias}.id`, actor.operatorId ?? "00000000-0000-0000-0000-000000000000");
  return q;
}

export async function findOperator(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<OperatorRow | undefined> {
  const q = operatorScope(db("operators as o").where("o.id", id).select("o.*"), actor);
  if (opts.forUpdate) q.forUpdate();
  return q.first<OperatorRow | undefined>();
}

/** Open entrusted principal and number of active contracts of operators. */
export async function exposureOf(db: Db, operatorIds: string[]): Promise<Map<string, { open: string; active: number }>> {
  const out = new Map<string, { open: string; active: number }>();
  if (operatorIds.length === 0) return out;
  const rows = await db("trusteeships")
    .whereIn("operator_id", operatorIds)
    .andWhere("status", "ACTIVE")
    .groupBy("operator_id")
    .select<{ operator_id: string; open: string; active: number }[]>("operator_id", db.raw("sum(principal - principal_returned) as open"), db.raw("count(*)::int as active"));
  for (const r of rows) out.set(r.operator_id, { open: r.open, active: Number(r.active) });
  return out;
}

/** An operator's record of paying returns up to a date. */
export async function paymentRecordOf(db: Db, operatorId: string, asOf: string) {
  const row = await db("trusteeship_installments as i")
    .join("trusteeships as t", "t.id", "i.trusteeship_id")
    .where("t.operator_id", operatorId)
    .andWhere("i.due_date", "<=", asOf)
    .select<{ due: number; on_time: number; late: number; in_arrears: number; amount_due: string; amount_paid: string; amount_in_arrears: string }>(
      db.raw("count(*)::int as due"),
      db.raw("count(*) FILTER (WHERE i.paid_off_on IS NOT NULL AND i.paid_off_on < i.arrears_from)::int as on_time"),
      db.raw("count(*) FILTER (WHERE i.paid_off_on IS NOT NULL AND i.paid_off_on >= i.arrears_from)::int as late"),
      db.raw("count(*) FILTER (WHERE i.amount_paid < i.amount_due AND i.arrears_from <= ?)::int as in_arrears", [asOf]),
      db.raw("coalesce(sum(i.amount_due), 0) as amount_due"),
      db.raw("coalesce(sum(i.amount_paid), 0) as amount_paid"),
      db.raw("coalesce(sum(i.amount_due - i.amount_paid) FILTER (WHERE i.arrears_from <= ?), 0) as amount_in_arrears", [asOf]),
    )
    .first();
  return row!;
}

// ---------- policy ----------

/** The county policy in force on a date (the latest version effective on or before it), or the defaults. */
export async function policyOn(db: Db, countyCode: string, date: string): Promise<PolicyValues & { id: string | null }> {
  const row = await db("trusteeship_policies")
    .where({ county_code: countyCode })
    .andWhere("effective_from", "<=", date)
    .orderBy("effective_from", "desc")
    .first<(PolicyValues & { id: string }) | undefined>();
  return row ? { id: row.id, default_annual_rate: row.default_annual_rate, grace_days: row.grace_days, exposure_multiple: row.exposure_multiple, exposure_cap: row.exposure_cap } : { id: null, ...DEFAULT_POLICY };
}

// ---------- contracts ----------

/**
 * Bounds a query on `trusteeships` (aliased `t`) by jurisdiction: own counties; an operator only
 * its own contracts; a village officer only its village's households' contracts.
 */
export function trusteeshipScope(q: Knex.QueryBuilder, actor: Actor, alias = "t"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "operator") q.andWhere(`${alias}.operator_id`, actor.operatorId ?? "00000000-0000-0000-0000-000000000000");
  if (actor.role === "village_officer") q.andWhere(`${alias}.village_code`, actor.villageCode ?? "");
  return q;
}

export function trusteeshipsQuery(db: Db, actor: Actor): Knex.QueryBuilder {
  return trusteeshipScope(db("trusteeships as t").join("operators as o", "o.id", "t.operator_id").select("t.*", "o.name as operator_name"), actor);
}

export async function findTrusteeship(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<TrusteeshipRow | undefined> {
  if (opts.forUpdate) {
    const locked = await trusteeshipScope(db("trusteeships as t").where("t.id", id).forUpdate().select("t.id"), actor).first();
    if (!locked) return undefined;
  }
  return trusteeshipsQuery(db, actor).where("t.id", id).first<TrusteeshipRow | undefined>();
}

export async function installmentsOf(db: Db, ids: string[], opts: { forUpdate?: boolean } = {}): Promise<InstallmentRow[]> {
  if (ids.length === 0) return [];
  const q = db("trusteeship_installments").whereIn("trusteeship_id", ids).orderBy(["trusteeship_id", "seq"]).select<InstallmentRow[]>();
  if (opts.forUpdate) q.forUpdate();
  return q;
}

export async function paymentsOf(db: Db, id: string): Promise<PaymentRow[]> {
  return db("trusteeship_payments").where({ trusteeship_id: id }).orderBy(["created_at", "id"]).select<PaymentRow[]>();
}
