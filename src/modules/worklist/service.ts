/**
 * The bank's worklist (客户经理工作台): composed from the loans, ratings and register faces — this
 * module owns no table and reads none; each part is a named read of its owner, bounded there by the
 * actor's jurisdiction.
 */
import type { Knex } from "knex";
import { requireRole } from "../../http/auth.js";
import type { Actor } from "../../lib/actor.js";
import { daysBetween } from "../../lib/dates.js";
import { D, Money } from "../../lib/money.js";
import type { Pii } from "../../lib/pii.js";
import { type LoanAwaiting, OVERDUE_BUCKETS, worklistOf as loansWorklistOf } from "../loans/index.js";
import { type RatingDue, worklistOf as ratingsWorklistOf } from "../ratings/index.js";
import { contactsOf, type HouseholdContact } from "../register/index.js";

type Db = Knex | Knex.Transaction;

/** Ratings expiring within this many days are listed (a rating is valid 12 months). */
export const RATING_EXPIRY_WINDOW_DAYS = 30;

export const BUCKET_LABELS: Record<(typeof OVERDUE_BUCKETS)[number], string> = {
  DPD_1_30: "逾期1-30天",
  DPD_31_90: "逾期31-90天",
  DPD_91_180: "逾期91-180天",
  DPD_181_PLUS: "逾期181天以上",
};

function who(contacts: Map<string, HouseholdContact>, householdId: string, villageCode: string) {
  const c = contacts.get(householdId);
  return {
    household_id: householdId,
    household_no: c?.household_no ?? null,
    village_code: villageCode,
    village_name: c?.village_name ?? null,
    head_name: c?.head_name ?? null,
    phone: c?.phone ?? null,
    phone_masked: c?.phone_masked ?? true,
  };
}

const sum = (values: string[]) => Money.format(values.reduce((a, v) => a.plus(v), new D(0)));

/**
 * The worklist of a bank's loan officer or manager on `today`: instalments due in the next `days`
 * days, overdue loans by bucket, ratings expiring within 30 days, approved loans not disbursed;
 * for a bank manager also the approvals waiting. Other roles: 403 (a regulator or the county reads
 * overdue loans through alerts and reports; the worklist is a bank's queue of work).
 */
export async function worklist(db: Db, actor: Actor, pii: Pii, opts: { today: string; days: number }) {
  requireRole(actor, "loan_officer", "bank_manager");
  const manager = actor.role === "bank_manager";
  const loans = await loansWorklistOf(db, actor, { today: opts.today, days: opts.days, withPending: manager });
  const ratings = await ratingsWorklistOf(db, actor, { today: opts.today, within: RATING_EXPIRY_WINDOW_DAYS, withPending: manager });
  const everyLoan = [...loans.due, ...loans.overdue, ...loans.approved_not_disbursed, ...loans.pending_approval];
  const { households, memberNames } = await contactsOf(db, actor, pii, {
    householdIds: [...everyLoan.map((l) => l.household_id), ...ratings.expiring.map((r) => r.household_id), ...ratings.pending_approval.map((r) => r.household_id)],
    memberIds: everyLoan.map((l) => l.borrower_member_id),
  });
  const borrower = (id: string) => ({ borrower_member_id: id, borrower_name: memberNames.get(id) ?? null });
  const loanItem = (l: LoanAwaiting, since: string) => ({
    loan_id: l.loan_id,
    ...who(households, l.household_id, l.village_code),
    ...borrower(l.borrower_member_id),
    amount: l.amount,
    term_months: l.term_months,
    repayment_method: l.repayment_method,
    applied_on: l.applied_on,
    decided_on: l.decided_on,
    days_waiting: Math.max(0, daysBetween(since, opts.today)),
    officer_id: l.officer_id,
    approver_id: l.approver_id,
  });
  const ratingItem = (r: RatingDue) => {
    const { household_id, village_code, rating_id, ...rest } = r;
    return { rating_id, ...who(households, household_id, village_code), ...rest };
  };

  const due = loans.due.map((d) => ({
    due_date: d.due_date,
    loan_id: d.loan_id,
    contract_no: d.contract_no,
    seq: d.seq,
    ...who(households, d.household_id, d.village_code),
    ...borrower(d.borrower_member_id),
    principal: d.principal,
    interest: d.interest,
    penalty: d.penalty,
    total: d.total,
  }));
  const overdue = loans.overdue.map((o) => {
    const { loan_id, contract_no, household_id, borrower_member_id, village_code, ...standing } = o;
    return { loan_id, contract_no, ...who(households, household_id, village_code), ...borrower(borrower_member_id), ...standing };
  });
  const buckets = OVERDUE_BUCKETS.map((bucket) => {
    const items = overdue.filter((o) => o.dpd_bucket === bucket);
    return {
      bucket,
      label: BUCKET_LABELS[bucket],
      count: items.length,
      outstanding_principal: sum(items.map((i) => i.outstanding_principal)),
      overdue_total: sum(items.map((i) => i.overdue_total)),
      items,
    };
  });
  const approved = loans.approved_not_disbursed.map((l) => loanItem(l, l.decided_on ?? l.applied_on));
  return {
    as_of: opts.today,
    days: opts.days,
    role: actor.role as "loan_officer" | "bank_manager",
    due: { count: due.length, total: sum(due.map((d) => d.total)), items: due },
    overdue: { count: overdue.length, overdue_total: sum(overdue.map((o) => o.overdue_total)), buckets },
    expiring_ratings: { within_days: RATING_EXPIRY_WINDOW_DAYS, count: ratings.expiring.length, items: ratings.expiring.map(ratingItem) },
    approved_not_disbursed: { count: approved.length, amount: sum(approved.map((a) => a.amount)), items: approved },
    pending_approval: manager ? { ratings: ratings.pending_approval.map(ratingItem), loans: loans.pending_approval.map((l) => loanItem(l, l.applied_on)) } : null,
  };
}

export type WorklistView = Awaited<ReturnType<typeof worklist>>;
