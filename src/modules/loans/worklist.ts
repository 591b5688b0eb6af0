/**
 * A bank's work on its loans, for the worklist module: instalments falling due, loans overdue by
 * bucket, approved loans not yet disbursed, applications waiting for a manager. Every read is
 * bounded by the actor's jurisdiction (`loanScope`: a bank's staff see their bank in their counties).
 * Flat rows with the ids of the household and the borrower; the worklist adds names and phones.
 */
import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import { addDays } from "../../lib/dates.js";
import { D, Money } from "../../lib/money.js";
import { DPD_BUCKETS, type DpdBucket } from "./model.js";
import { loanScope } from "./queries.js";

type Db = Knex | Knex.Transaction;
const OPEN = ["DISBURSED", "EXTENDED"];

export interface InstalmentDue {
  loan_id: string;
  contract_no: string | null;
  household_id: string;
  borrower_member_id: string;
  village_code: string;
  seq: number;
  due_date: string;
  principal: string;
  interest: string;
  penalty: string;
  total: string;
}

export interface OverdueLoan {
  loan_id: string;
  contract_no: string | null;
  household_id: string;
  borrower_member_id: string;
  village_code: string;
  dpd: number;
  dpd_bucket: Exclude<DpdBucket, "CURRENT">;
  outstanding_principal: string;
  overdue_principal: string;
  overdue_interest: string;
  penalty_due: string;
  overdue_total: string;
  standing_date: string | null;
}

export interface LoanAwaiting {
  loan_id: string;
  household_id: string;
  borrower_member_id: string;
  village_code: string;
  amount: string;
  term_months: number;
  repayment_method: string;
  applied_on: string;
  decided_on: string | null;
  officer_id: string;
  approver_id: string | null;
}

export interface LoansWorklist {
  due: InstalmentDue[];
  overdue: OverdueLoan[];
  approved_not_disbursed: LoanAwaiting[];
  pending_approval: LoanAwaiting[];
}

const AWAITING_COLUMNS = ["l.id as loan_id", "l.household_id", "l.borrower_member_id", "l.village_code", "l.amount", "l.term_months", "l.repayment_method", "l.applied_on", "l.decided_on", "l.officer_id", "l.approver_id"];

function awaiting(r: Record<string, unknown>): LoanAwaiting {
  return {
    loan_id: String(r.loan_id),
    household_id: String(r.household_id),
    borrower_member_id: String(r.borrower_member_id),
    village_code: String(r.village_code),
    amount: Money.format(String(r.amount)),
    term_months: Number(r.term_months),
    repayment_method: String(r.repayment_method),
    applied_on: String(r.applied_on),
    decided_on: r.decided_on === null ? null : String(r.decided_on),
    officer_id: String(r.officer_id),
    approver_id: r.approver_id === null ? null : String(r.approver_id),
  };
}

/**
 * The loans part of a bank's worklist on `today` (four statements, whatever the portfolio's size):
 * - `due`: every instalment of an open loan falling due from today through today + `days` that is
 *   not paid and not yet overdue (a period past its due date but inside its grace days is here, an
 *   overdue one is under `overdue`); principal and the household's interest still unpaid, and the
 *   loan's penalty owed (its stored standing) on the loan's first instalment listed, so the amounts
 *   of a loan's lines add up to what the household pays to clear them;
 * - `overdue`: open loans with days past due, from the standing the close of business (or the last
 *   repayment) stored — `dpd`, `dpd_bucket`, overdue principal and interest, penalty — oldest first;
 * - `approved_not_disbursed`: approved loans waiting for disbursement, longest waiting first;
 * - `pending_approval`: applications waiting for a bank manager (only when `withPending`).
 */
export async function worklistOf(db: Db, actor: Actor, opts: { today: string; days: number; withPending: boolean }): Promise<LoansWorklist> {
  const until = addDays(opts.today, opts.days);
  const dueRows = await loanScope(
    db("loan_schedule_periods as p")
      .join("loans as l", "l.id", "p.loan_id")
      .whereIn("l.status", OPEN)
      .whereIn("p.status", ["PENDING", "DUE", "OVERDUE"]) // the open periods' partial index (loan_schedule_periods_open)
      .where("p.due_date", "<=", until)
      .where("p.overdue_from", ">", opts.today)
      .whereRaw("p.principal_due + p.interest_due > p.principal_paid + p.interest_paid")
      .orderBy([{ column: "p.due_date" }, { column: "l.id" }, { column: "p.seq" }])
      .select(
        "l.id as loan_id",
        "l.contract_no",
        "l.household_id",
        "l.borrower_member_id",
        "l.village_code",
        "l.penalty_due",
        "p.seq",
        "p.due_date",
        db.raw("(p.principal_due - p.principal_paid)::text AS principal"),
        db.raw("(p.interest_due - p.interest_paid)::text AS interest"),
      ),
    actor,
    "l",
  );
  const penaltyShown = new Set<string>();
  const due = dueRows.map((r: Record<string, string | number | null>): InstalmentDue => {
    const loanId = String(r.loan_id);
    const penalty = penaltyShown.has(loanId) ? new D(0) : new D(String(r.penalty_due));
    penaltyShown.add(loanId);
    const principal = new D(String(r.principal));
    const interest = new D(String(r.interest));
    return {
      loan_id: loanId,
      contract_no: r.contract_no === null ? null : String(r.contract_no),
      household_id: String(r.household_id),
      borrower_member_id: String(r.borrower_member_id),
      village_code: String(r.village_code),
      seq: Number(r.seq),
      due_date: String(r.due_date),
      principal: Money.format(principal),
      interest: Money.format(interest),
      penalty: Money.format(penalty),
      total: Money.format(principal.plus(interest).plus(penalty)),
    };
  });

  const overdueRows = await loanScope(
    db("loans as l")
      .whereIn("l.status", OPEN)
      .where("l.dpd", ">", 0)
      .orderBy([{ column: "l.dpd", order: "desc" }, { column: "l.id" }])
      .select("l.id as loan_id", "l.contract_no", "l.household_id", "l.borrower_member_id", "l.village_code", "l.dpd", "l.dpd_bucket", "l.outstanding_principal", "l.overdue_principal", "l.overdue_interest", "l.penalty_due", "l.standing_date"),
    actor,
    "l",
  );
  const overdue = overdueRows.map((r: Record<string, string | number | null>): OverdueLoan => {
    const total = new D(String(r.overdue_principal)).plus(String(r.overdue_interest)).plus(String(r.penalty_due));
    return {
      loan_id: String(r.loan_id),
      contract_no: r.contract_no === null ? null : String(r.contract_no),
      household_id: String(r.household_id),
      borrower_member_id: String(r.borrower_member_id),
      village_code: String(r.village_code),
      dpd: Number(r.dpd),
      dpd_bucket: String(r.dpd_bucket) as OverdueLoan["dpd_bucket"],
      outstanding_principal: Money.format(String(r.outstanding_principal)),
      overdue_principal: Money.format(String(r.overdue_principal)),
      overdue_interest: Money.format(String(r.overdue_interest)),
      penalty_due: Money.format(String(r.penalty_due)),
      overdue_total: Money.format(total),
      standing_date: r.standing_date === null ? null : String(r.standing_date),
    };
  });

  const approved = await loanScope(
    db("loans as l")
      .where("l.status", "APPROVED")
      .orderBy([{ column: "l.decided_on" }, { column: "l.id" }])
      .select(AWAITING_COLUMNS),
    actor,
    "l",
  );
  const pending = opts.withPending
    ? await loanScope(
        db("loans as l")
          .where("l.status", "APPLIED")
          .orderBy([{ column: "l.applied_on" }, { column: "l.id" }])
          .select(AWAITING_COLUMNS),
        actor,
        "l",
      )
    : [];
  return { due, overdue, approved_not_disbursed: approved.map(awaiting), pending_approval: pending.map(awaiting) };
}

/** The buckets of days past due a worklist groups overdue loans by, in order. */
export const OVERDUE_BUCKETS = DPD_BUCKETS.filter((b): b is Exclude<DpdBucket, "CURRENT"> => b !== "CURRENT");
