import type { Knex } from "knex";
import { preparedRows } from "../../lib/prepared.js";
import type { Clock } from "../../lib/clock.js";
import { loansOfHousehold, scheduleOfHousehold } from "../loans/index.js";
import { D, Money } from "../../lib/money.js";
import { dividendsOfHousehold } from "../distributions/index.js";
import { subsidiesOfHousehold } from "../subsidies/index.js";
import { installmentStatus } from "../trusteeship/index.js";
import type { HouseholdPrincipal } from "./auth.js";

type Db = Knex | Knex.Transaction;

/**
 * What a household reads about its own money through a partner portal. Every query is bounded by
 * the household of the token (and its county); another household's record is a 404.
 */

/** The household's poverty loans with what falls due next (the loans module's reading of them). */
export async function portalLoans(db: Db, h: HouseholdPrincipal, today: string) {
  return { as_of: today, items: await loansOfHousehold(db, h, today), next_cursor: null };
}

/** The schedule of one of the household's loans, exactly as the bank sees it; another household's loan is a 404. */
export async function portalLoanSchedule(db: Db, h: HouseholdPrincipal, loanId: string, clock: Clock) {
  return scheduleOfHousehold(db, h, loanId, clock.today());
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
