/** What readers see of loans: the loan with its standing, its schedule, its repayments; every read bounded by the reader's jurisdiction. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import type { Ctx } from "../../lib/context.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import {
  ACTIVE_STATUSES,
  dpdBucket,
  isNonPerforming,
  isOverdueOn,
  type LoanStatus,
  unpaidInterest,
  unpaidPenalty,
  unpaidPrincipal,
} from "./model.js";
import { daysBetween } from "../../lib/dates.js";
import { findLoan, type LoanRow, loanScope, toState } from "./queries.js";
import type { LoanQuery } from "./schemas.js";
import { LOAN_READERS, fmt, iso, rateFmt } from "./common.js";
import { currentPeriod, isActive, payoffWith, periodsAsOf, standingColumns, statesAsOf, statusOf, termsFor } from "./standing.js";

type Db = Knex | Knex.Transaction;

/** Interest earned in the current period through the day before `on` (pro rata by days; a reporting figure). */
export function accruedOn(l: Pick<LoanRow, "status" | "cur_period_start" | "cur_period_end" | "cur_period_interest">, on: string): Dec {
  if (!(ACTIVE_STATUSES as readonly string[]).includes(l.status) || !l.cur_period_start || !l.cur_period_end || l.cur_period_interest === null) return new D(0);
  const days = daysBetween(l.cur_period_start, l.cur_period_end);
  const elapsed = Math.min(Math.max(daysBetween(l.cur_period_start, on), 0), days);
  return days <= 0 ? new D(0) : Money.toFen(new D(l.cur_period_interest).mul(elapsed).div(days));
}

export function loanView(l: LoanRow, extra: { payoff?: Dec | null; on?: string } = {}) {
  return {
    id: l.id,
    county_code: l.county_code,
    village_code: l.village_code,
    bank_id: l.bank_id,
    household_id: l.household_id,
    borrower_member_id: l.borrower_member_id,
    product_id: l.product_id,
    contract_no: l.contract_no,
    migrated_on: l.migrated_on,
    status: l.status as LoanStatus,
    amount: fmt(l.amount),
    outstanding_principal: fmt(l.outstanding_principal),
    annual_rate: rateFmt(l.annual_rate),
    rate_basis: l.rate_basis,
    lpr_date: l.lpr_date,
    term_months: l.term_months,
    repayment_method: l.repayment_method,
    purpose: l.purpose,
    purpose_detail: l.purpose_detail,
    penalty_markup: Rate.format(l.penalty_markup),
    grace_days: l.grace_days,
    rating_id: l.rating_id,
    applied_on: l.applied_on,
    decided_on: l.decided_on,
    disbursed_on: l.disbursed_on,
    maturity_date: l.maturity_date,
    original_maturity_date: l.original_maturity_date,
    extended_on: l.extended_on,
    extension_months: l.extension_months,
    closed_on: l.closed_on,
    officer_id: l.officer_id,
    approver_id: l.approver_id,
    decision_note: l.decision_note,
    renewed_from_loan_id: l.renewed_from_loan_id,
    renewed_to_loan_id: l.renewed_to_loan_id,
    written_off_principal: fmt(l.written_off_principal),
    overdue: l.dpd > 0,
    dpd: l.dpd,
    dpd_bucket: l.dpd_bucket as ReturnType<typeof dpdBucket>,
    non_performing: isNonPerforming(l.dpd),
    overdue_principal: fmt(l.overdue_principal),
    overdue_interest: fmt(l.overdue_interest),
    penalty_due: fmt(l.penalty_due),
    accrued_interest: fmt(accruedOn(l, extra.on ?? l.standing_date ?? l.applied_on)),
    standing_date: l.standing_date,
    payoff_amount: extra.payoff ? fmt(extra.payoff) : null,
    created_at: iso(l.created_at),
    updated_at: iso(l.updated_at),
  };
}

export async function getLoan(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...LOAN_READERS);
  const loan = await findLoan(db, ctx.actor, id);
  if (!loan) throw notFound("loan");
  const on = ctx.clock.today();
  if (!isActive(loan)) return loanView(loan, { on });
  const { rows } = await periodsAsOf(db, id, on);
  const states = statesAsOf(loan, rows, on);
  const live = { ...loan, ...standingColumns(loan, states, rows, on) } as LoanRow;
  return loanView(live, { payoff: payoffWith(loan, rows, states, on, await termsFor(db, loan, currentPeriod(rows, on))), on });
}

/** The loans a reader may see, with the list's filters (the list pages it, the loan book takes it whole). */
export function filteredLoans(db: Db, actor: Ctx["actor"], q: Partial<Pick<z.infer<typeof LoanQuery>, "status" | "household_id" | "bank_id" | "county_code" | "village_code" | "dpd_bucket" | "contract_no">>): Knex.QueryBuilder {
  requireRole(actor, ...LOAN_READERS);
  const query = loanScope(db("loans").select("loans.*"), actor);
  for (const k of ["status", "household_id", "bank_id", "county_code", "village_code", "dpd_bucket", "contract_no"] as const) {
    if (q[k]) query.andWhere(`loans.${k}`, q[k]);
  }
  return query;
}

export async function listLoans(db: Db, ctx: Pick<Ctx, "actor" | "clock">, q: z.infer<typeof LoanQuery>) {
  const query = filteredLoans(db, ctx.actor, q);
  const { rows, next_cursor } = await page<LoanRow & Record<string, unknown>>(query, "loans.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map((r) => loanView(r, { on: ctx.clock.today() })), next_cursor };
}

export async function getSchedule(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...LOAN_READERS);
  const loan = await findLoan(db, ctx.actor, id);
  if (!loan) throw notFound("loan");
  return scheduleView(db, loan, ctx.clock.today());
}

/** A loan's schedule as of a date, period by period with its standing and the totals: what the bank and the household both see. */
export async function scheduleView(db: Db, loan: LoanRow, on: string) {
  const id = loan.id;
  const { rows } = await periodsAsOf(db, id, on); // closed loans have nothing left to forfeit
  const states = isActive(loan) ? statesAsOf(loan, rows, on) : rows.map(toState);
  let tp = new D(0);
  let ti = new D(0);
  let ts = new D(0);
  let paid = new D(0);
  let out = new D(0);
  let pen = new D(0);
  const periods = rows.map((r, k) => {
    const s = states[k];
    const penalty = Money.toFen(s.penaltyAccrued);
    const outstanding = r.status === "CLOSED" ? new D(0) : unpaidPrincipal(s).plus(unpaidInterest(s)).plus(unpaidPenalty(s));
    tp = tp.plus(s.principalDue);
    ti = ti.plus(s.interestDue);
    ts = ts.plus(r.interest_subsidy);
    paid = paid.plus(s.principalPaid).plus(s.interestPaid).plus(s.penaltyPaid);
    out = out.plus(outstanding);
    pen = pen.plus(penalty);
    return {
      seq: r.seq,
      accrual_start: r.accrual_start,
      accrual_end: r.accrual_end,
      due_date: r.due_date,
      days: r.days,
      opening_principal: fmt(r.opening_principal),
      principal: fmt(s.principalDue),
      interest: fmt(s.interestDue),
      interest_subsidy: fmt(r.interest_subsidy),
      subsidy_forfeited: r.subsidy_forfeited,
      principal_paid: fmt(s.principalPaid),
      interest_paid: fmt(s.interestPaid),
      penalty: fmt(penalty),
      penalty_paid: fmt(s.penaltyPaid),
      outstanding: fmt(outstanding),
      overdue: isActive(loan) && outstanding.gt(0) && isOverdueOn(s, loan.grace_days, on),
      status: isActive(loan) ? statusOf(s, loan.grace_days, on) : r.status,
      settled_on: r.settled_on,
    };
  });
  return {
    loan_id: id,
    as_of: on,
    repayment_method: loan.repayment_method,
    annual_rate: rateFmt(loan.annual_rate),
    periods,
    totals: { principal: fmt(tp), interest: fmt(ti), interest_subsidy: fmt(ts), paid: fmt(paid), outstanding: fmt(out), penalty: fmt(pen), days: rows.reduce((a, r) => a + r.days, 0) },
  };
}

export interface RepaymentRow {
  id: string;
  loan_id: string;
  paid_on: string;
  amount: string;
  penalty: string;
  interest: string;
  principal: string;
  prepayment: string;
  kind: string;
  source: string;
  reference: string | null;
  allocation: { seq: number; penalty: string; interest: string; principal: string }[] | string;
  journal_entry_id: string | null;
  entered_on?: string;
  reversed_at?: Date | null;
  reversal_reason?: string | null;
  reversal_entry_id?: string | null;
  schedule_before?: unknown;
  created_at: Date;
}

export function repaymentView(r: RepaymentRow) {
  return {
    id: r.id,
    loan_id: r.loan_id,
    paid_on: r.paid_on,
    amount: fmt(r.amount),
    penalty: fmt(r.penalty),
    interest: fmt(r.interest),
    principal: fmt(r.principal),
    prepayment: fmt(r.prepayment),
    kind: r.kind,
    source: r.source,
    reference: r.reference,
    allocation: typeof r.allocation === "string" ? JSON.parse(r.allocation) : r.allocation,
    journal_entry_id: r.journal_entry_id,
    entered_on: r.entered_on ?? r.paid_on,
    reversed_at: r.reversed_at ? iso(r.reversed_at) : null,
    reversal_reason: r.reversal_reason ?? null,
    reversal_entry_id: r.reversal_entry_id ?? null,
    created_at: iso(r.created_at),
  };
}

export async function listRepayments(db: Db, ctx: Ctx, id: string, q: { limit: number; cursor?: string }) {
  requireRole(ctx.actor, ...LOAN_READERS);
  const loan = await findLoan(db, ctx.actor, id);
  if (!loan) throw notFound("loan");
  const query = db("loan_repayments").where({ loan_id: id }).select("*");
  const { rows, next_cursor } = await page<RepaymentRow & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  rows.sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
  return { items: rows.map(repaymentView), next_cursor };
}
