import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";

type Db = Knex | Knex.Transaction;

export interface FundRow {
  id: string;
  county_code: string;
  bank_id: string;
  name: string;
  balance: string;
  leverage_cap: string;
  fund_share: string;
  npl_threshold: string;
  compensation_dpd: number;
  version: number;
  created_at: Date;
}

export interface ClaimRow {
  id: string;
  county_code: string;
  bank_id: string;
  fund_id: string;
  loan_id: string;
  status: "SUBMITTED" | "APPROVED" | "REJECTED" | "PAID";
  dpd: number;
  collection_actions: number;
  unpaid_principal: string;
  unpaid_interest: string;
  loss: string;
  fund_share: string;
  fund_amount: string;
  bank_amount: string;
  recovered: string;
  fund_recovered: string;
  submitted_on: string;
  submitted_by: string;
  note: string | null;
  decided_on: string | null;
  decision_note: string | null;
  pay_by: string | null;
  paid_on: string | null;
}

export interface BreakerRow {
  id: string;
  county_code: string;
  bank_id: string;
  status: "TRIPPED" | "LIFTED";
  reason: "NPL_RATIO" | "FUND_SHORTFALL" | "BOTH";
  tripped_on: string;
  outstanding_principal: string;
  npl_principal: string;
  npl_ratio: string;
  threshold: string;
  fund_balance: string | null;
  fund_obligations: string | null;
  last_evaluated_on: string;
  last_npl_ratio: string;
  lifted_on: string | null;
  lifted_by: string | null;
  lift_npl_ratio: string | null;
  lift_note: string | null;
}

/** Bounds a query on a table with county_code and bank_id by the actor's jurisdiction. */
export function bankCountyScope(q: Knex.QueryBuilder, actor: Actor, alias: string): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "loan_officer" || actor.role === "bank_manager") q.andWhere(`${alias}.bank_id`, actor.bankId ?? "00000000-0000-0000-0000-000000000000");
  return q;
}

export async function findFund(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<FundRow | undefined> {
  const q = bankCountyScope(db("risk_funds").where("risk_funds.id", id), actor, "risk_funds");
  if (opts.forUpdate) q.forUpdate();
  return q.first<FundRow | undefined>();
}

/** The fund's shares of compensation claims submitted or approved and not yet paid. */
export async function obligationsOf(db: Db, fundId: string): Promise<string> {
  const r = await db("compensation_claims").where({ fund_id: fundId }).whereIn("status", ["SUBMITTED", "APPROVED"]).select(db.raw("coalesce(sum(fund_amount), 0)::text AS due")).first<{ due: string }>();
  return r.due;
}

