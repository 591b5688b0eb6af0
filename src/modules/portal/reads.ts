import type { Knex } from "knex";
import { preparedRows } from "../../db/prepared.js";
import type { Actor } from "../../http/auth.js";
import { notFound } from "../../http/errors.js";
import type { Clock } from "../../lib/clock.js";
import { getSchedule } from "../loans/service.js";
import { D, Money } from "../../lib/money.js";
import { dividendsOfHousehold } from "../distributions/service.js";
import { subsidiesOfHousehold } from "../subsidies/service.js";
import { installmentStatus } from "../trusteeship/model.js";
import type { HouseholdPrincipal } from "./auth.js";

type Db = Knex | Knex.Transaction;

/**
 * What a household reads about its own money through a partner portal. Every query is bounded by
 * the household of the token (and its county); another household's record is a 404.
 */

/** The household's poverty loans with what falls due next. */
export async function portalLoans(db: Db, h: HouseholdPrincipal, today: string) {
  const loans = await db("loans as l")
    .join("banks as b", "b.id", "l.bank_id")
    .where({ "l.household_id": h.householdId, "l.county_code": h.countyCode })
    .whereNotIn("l.status", ["REJECTED", "CANCELLED"])
    .orderBy([{ column: "l.applied_on", order: "desc" }, { column: "l.id" }])
    .select("l.id", "l.status", "l.amount", "l.outstanding_principal", "l.annual_rate", "l.term_months", "l.repayment_method", "l.purpose", "l.applied_on", "l.disbursed_on", "l.maturity_date", "l.closed_on", "l.dpd", "b.short_name as bank_name");
  const ids = loans.map((l) => l.id as string);
  const next = ids.length
    ? await db("loan_schedule_periods as p")
        .whereIn("p.loan_id", ids)
        .whereRaw("(p.principal_due + p.interest_due) > (p.principal_paid + p.interest_paid)")
        .whereNot("p.status", "CLOSED")
        .distinctOn("p.loan_id")
        .orderBy([{ column: "p.loan_id" }, { column: "p.due_date" }])
        .select("p.loan_id", "p.due_date", db.raw("(p.principal_due + p.interest_due - p.principal_paid - p.interest_paid)::text AS amount"))
    : [];
  const nextBy = new Map(next.map((n) => [n.loan_id as string, n]));
  // Days past due as of today, as the loans module answers it (the stored figure is the last close of business's).
  const late = ids.length
    ? await db("loan_schedule_periods")
        .whereIn("loan_id", ids)
        .whereRaw("(principal_due > principal_paid OR interest_due > interest_paid)")
        .where("overdue_from", "<=", today)
        .groupBy("loan_id")
        .select("loan_id", db.raw("(?::date - min(due_date))::int AS dpd", [today]))
    : [];
  const dpdBy = new Map(late.map((x) => [x.loan_id as string, Number(x.dpd)]));
  return {
    as_of: today,
    items: loans.map((l) => {
      const active = ["DISBURSED", "EXTENDED"].includes(l.status);
      const n = active ? nextBy.get(l.id) : undefined;
      return {
        id: l.id,
        bank_name: l.bank_name,
        status: l.status,
        amount: Money.format(l.amount),
        outstanding_principal: Money.format(l.outstanding_principal),
        annual_rate: l.annual_rate === null ? null : new D(l.annual_rate).toString(),
        term_months: l.term_months,
        repayment_method: l.repayment_method,
        purpose: l.purpose,
        applied_on: l.applied_on,
        disbursed_on: l.disbursed_on,
        maturity_date: l.maturity_date,
        closed_on: l.closed_on,
        days_past_due: active ? (dpdBy.get(l.id) ?? 0) : l.dpd,
        next_due: n ? { due_date: n.due_date, amount: Money.format(n.amount) } : null,
      };
    }),
    next_cursor: null,
  };
}

/**
 * The schedule of one of the household's loans, exactly as the bank sees it; another household's
 * loan is a 404. Once the loan is known to be the household's, the loans module reads it with a
 * read-only county view bounded to the household's county (no staff user is involved).
 */
export async function portalLoanSchedule(db: Db, h: HouseholdPrincipal, loanId: string, clock: Clock) {
  const l = await db("loans").where({ id: loanId, household_id: h.householdId, county_code: h.countyCode }).first("id");
  if (!l) throw notFound("loan");
  const reader: Actor = { kind: "staff", userId: h.householdId, role: "regulator", countyCodes: [h.countyCode], bankId: null, operatorId: null, villageCode: null };
  return getSchedule(db, { actor: reader, requestId: `portal:${h.partnerId}`, clock }, l.id);
}

/** Guaranteed returns of the household's entrusted funds (委托经营收益), installment by installment. */
export async function portalReturns(db: Db, h: HouseholdPrincipal, today: string) {
  const rows = await db("trusteeship_installments as i")
    .join("trusteeships as c", "c.id", "i.trusteeship_id")
    .join("operators as o", "o.id", "c.operator_id")
    .where({ "c.household_id": h.householdId, "c.county_code": h.countyCode })
    .orderBy([{ column: "i.due_date" }, { column: "c.id" }])
    .select("c.id as trusteeship_id", "o.name as operator_name", "c.source", "c.principal", "c.annual_rate", "i.seq", "i.due_date", "i.amount_due", "i.amount_paid", "i.arrears_from", "i.paid_off_on");
  return {
    as_of: today,
    items: rows.map((r) => ({
      trusteeship_id: r.trusteeship_id,
      operator_name: r.operator_name,
      source: r.source,
      principal: Money.format(r.principal),
      annual_rate: new D(r.annual_rate).toString(),
      seq: r.seq,
      due_date: r.due_date,
      amount: Money.format(r.amount_due),
      paid: Money.format(r.amount_paid),
      paid_off_on: r.paid_off_on,
      status: installmentStatus({ seq: r.seq, dueDate: r.due_date, arrearsFrom: r.arrears_from, amountDue: r.amount_due, amountPaid: r.amount_paid }, today),
    })),
    next_cursor: null,
  };
}

/** The household's dividends (收益分红): asset, period, weight and why, amount, status, paid date. */
export async function portalDividends(db: Db, h: HouseholdPrincipal) {
  const items = await dividendsOfHousehold(db, h.householdId);
  return { items, next_cursor: null };
}

/** Interest subsidies reimbursed to the household (先缴后补, TO_HOUSEHOLD mode). */
export async function portalSubsidies(db: Db, h: HouseholdPrincipal) {
  return { items: await subsidiesOfHousehold(db, h.householdId), next_cursor: null };
}

/** The platform's income kinds that reach a household, and what each counts. */
export const INCOME_KINDS = [
  { kind: "DIVIDENDS", label_zh: "资产收益分红" }, // dividend shares paid (distribution not reversed)
  { kind: "SUBSIDIES", label_zh: "财政贴息（先缴后补）" }, // interest subsidies reimbursed to the household
  { kind: "TRUSTEE_RETURNS", label_zh: "委托经营收益" }, // guaranteed returns paid on entrusted funds
] as const;

// One prepared statement for the three kinds, by payment date inside [$2, $3].
const SUMMARY_SQL = `SELECT
   (SELECT coalesce(sum(s.amount), 0) FROM distribution_shares s JOIN distributions d ON d.id = s.distribution_id
     WHERE s.household_id = $1 AND s.payment_status = 'PAID' AND d.status <> 'REVERSED' AND s.paid_on BETWEEN $2 AND $3)::text AS "DIVIDENDS",
   (SELECT coalesce(sum(p.amount), 0) FROM household_subsidy_payments p
     WHERE p.household_id = $1 AND p.paid_on BETWEEN $2 AND $3)::text AS "SUBSIDIES",
   (SELECT coalesce(sum(p.amount), 0) FROM trusteeship_payments p JOIN trusteeships c ON c.id = p.trusteeship_id
     WHERE c.household_id = $1 AND p.kind = 'RETURN' AND p.paid_on BETWEEN $2 AND $3)::text AS "TRUSTEE_RETURNS"`;

/** This year's income from the platform by kind (`year` defaults to the current one). */
export async function portalSummary(db: Knex, h: HouseholdPrincipal, year: number) {
  const [row] = await preparedRows<Record<string, string>>(db, "portal_summary", SUMMARY_SQL, [h.householdId, `${year}-01-01`, `${year}-12-31`]);
  const items = INCOME_KINDS.map((k) => ({ kind: k.kind, label_zh: k.label_zh, amount: Money.format(row[k.kind]) }));
  return { year, items, total: Money.format(Money.sum(items.map((i) => i.amount))) };
}
