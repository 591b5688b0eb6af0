/**
 * What other modules may do with a loan, as named operations: the loans module alone decides which
 * periods close, how a payment is allocated and how standing is read. Other modules reach these
 * through index.ts and never touch the loans tables themselves.
 */
import type { Knex } from "knex";
import { notFound } from "../../http/errors.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { D, type Dec, Money } from "../../lib/money.js";
import { type LoanRow, lockLoan, periodsOf } from "./queries.js";
import { applyRepayment } from "./repayment.js";
import { payoffAmount } from "./standing.js";
import { scheduleView } from "./views.js";

type Db = Knex | Knex.Transaction;

/** The household a portal token speaks for. */
export interface HouseholdRef {
  householdId: string;
  countyCode: string;
}

/** The statuses of a loan that still owes (disbursed and not closed). */
const OPEN = ["DISBURSED", "EXTENDED"];

/**
 * A loan's arrears on a date, from its schedule: days past due (from the oldest period unpaid past
 * its due date + grace days), the normal interest due and unpaid, and how many collection actions
 * were recorded — what a compensation claim is built on.
 */
export async function arrearsOf(db: Db, loanId: string, on: string): Promise<{ dpd: number; unpaid_interest: string; actions: number }> {
  const { rows } = await db.raw<{ rows: { dpd: number; unpaid_interest: string; actions: number }[] }>(
    `SELECT coalesce(?::date - min(due_date) FILTER (WHERE overdue_from <= ?::date AND (principal_paid < principal_due OR interest_paid < interest_due)), 0)::int AS dpd,
            coalesce(sum(interest_due - interest_paid) FILTER (WHERE due_date <= ?::date), 0)::text AS unpaid_interest,
            (SELECT count(*)::int FROM loan_collection_actions a WHERE a.loan_id = ?) AS actions
       FROM loan_schedule_periods WHERE loan_id = ? AND status <> 'CLOSED'`,
    [on, on, on, loanId, loanId],
  );
  return rows[0];
}

/** Outstanding principal of a bank's open poverty loans in a county, and its non-performing part (DPD > 90). */
export async function portfolioOf(db: Db, countyCode: string, bankId: string): Promise<{ outstanding: string; npl: string }> {
  return db("loans")
    .where({ county_code: countyCode, bank_id: bankId })
    .whereIn("status", OPEN)
    .select(db.raw("coalesce(sum(outstanding_principal), 0)::text AS outstanding"), db.raw("coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 90), 0)::text AS npl"))
    .first<{ outstanding: string; npl: string }>();
}

/**
 * Every bank × county portfolio (`county_code`, `bank_id`, `outstanding`, `npl`: principal of loans
 * with DPD > 90), as a SELECT a set-based statement of another module can use as a subquery.
 */
export const PORTFOLIO_BY_BANK_AND_COUNTY_SQL = `
  SELECT county_code, bank_id, sum(outstanding_principal) AS outstanding,
         coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 90), 0) AS npl
    FROM loans WHERE status IN ('DISBURSED', 'EXTENDED') GROUP BY county_code, bank_id`;

/**
 * The risk fund has compensated the loan (风险补偿): every period not paid closes, the loan is
 * COMPENSATED with nothing outstanding. The fund's journal entry (which takes the principal off
 * the books) is the caller's; this is the loan's side, in the same transaction.
 */
export async function closeByCompensation(trx: Knex.Transaction, ctx: Ctx | AuditActor, loan: Pick<LoanRow, "id" | "county_code" | "status" | "outstanding_principal">, on: string): Promise<void> {
  await trx("loan_schedule_periods").where({ loan_id: loan.id }).whereNotIn("status", ["PAID", "CLOSED"]).update({ status: "CLOSED" });
  await trx("loans")
    .where({ id: loan.id })
    .update({ status: "COMPENSATED", outstanding_principal: "0.00", closed_on: on, standing_date: on, updated_at: ctx.clock.now(), version: trx.raw("version + 1") });
  await appendAudit(trx, ctx, {
    action: "loan.compensated",
    entityType: "loan",
    entityId: loan.id,
    countyCode: loan.county_code,
    before: { status: loan.status, outstanding_principal: Money.format(loan.outstanding_principal) },
    after: { status: "COMPENSATED" },
  });
}

/**
 * A trusteeship returns its principal and repays the household's linked loan with it: at most what
 * closes the loan today (the rest is the household's). A loan no longer open takes nothing. The
 * caller has checked that the loan is the household's; the repayment is valued today.
 */
export async function repayFromTrustee(trx: Knex.Transaction, ctx: Ctx, loanId: string, amount: Dec | string, reference: string): Promise<{ toLoan: string; repayment: Awaited<ReturnType<typeof applyRepayment>> | undefined }> {
  const loan = await lockLoan(trx, loanId);
  if (!loan || !OPEN.includes(loan.status)) return { toLoan: "0.00", repayment: undefined };
  const payoff = await payoffAmount(trx, loan, await periodsOf(trx, loan.id), ctx.clock.today());
  const toLoan = Money.format(D.min(Money.of(amount), payoff));
  if (Money.of(toLoan).isZero()) return { toLoan, repayment: undefined };
  const repayment = await applyRepayment(trx, ctx, loan.id, { amount: toLoan, source: "TRUSTEE", reference }, { skipScope: true });
  return { toLoan, repayment };
}

/** The household's poverty loans (not rejected or cancelled) with what falls due next and the days past due as of today. */
export async function loansOfHousehold(db: Db, h: HouseholdRef, today: string) {
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
  // Days past due as of today (the stored figure is the last close of business's): from the oldest
  // period unpaid past its due date + grace days, as the close of business counts it.
  const late = ids.length
    ? await db("loan_schedule_periods")
        .whereIn("loan_id", ids)
        .whereRaw("(principal_due > principal_paid OR interest_due > interest_paid)")
        .where("overdue_from", "<=", today)
        .groupBy("loan_id")
        .select("loan_id", db.raw("(?::date - min(due_date))::int AS dpd", [today]))
    : [];
  const dpdBy = new Map(late.map((x) => [x.loan_id as string, Number(x.dpd)]));
  return loans.map((l) => {
    const active = OPEN.includes(l.status);
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
  });
}

/** The schedule of one of the household's loans, exactly as the bank sees it; another household's loan is a 404. */
export async function scheduleOfHousehold(db: Db, h: HouseholdRef, loanId: string, today: string) {
  const loan = await db("loans").where({ id: loanId, household_id: h.householdId, county_code: h.countyCode }).first<LoanRow | undefined>();
  if (!loan) throw notFound("loan");
  return scheduleView(db, loan, today);
}

/**
 * Checks a disbursement must pass besides the loan's own rules — the circuit breaker and the risk
 * fund's lending cap, which the risk fund module registers. Lending without them would be unsafe,
 * so a disbursement with none registered is refused as a wiring error (see src/modules.ts).
 */
export type DisbursementCheck = (trx: Knex.Transaction, loan: { county_code: string; bank_id: string; amount: string }) => Promise<void>;
const disbursementChecks = new Map<string, DisbursementCheck>();

export function registerDisbursementCheck(name: string, check: DisbursementCheck): void {
  disbursementChecks.set(name, check);
}

export async function runDisbursementChecks(trx: Knex.Transaction, loan: { county_code: string; bank_id: string; amount: string }): Promise<void> {
  if (disbursementChecks.size === 0) throw new Error("No disbursement check is registered: load every module (src/modules.ts) before lending");
  for (const check of disbursementChecks.values()) await check(trx, loan);
}
