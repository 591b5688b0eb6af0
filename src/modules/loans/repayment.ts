/** Repayments: the allocation of a payment over the schedule, prepayment and payoff. */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { notFound, invalidState } from "../../http/errors.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry, reverseJournalEntry } from "../../lib/ledger.js";
import { type Dec, D, Money } from "../../lib/money.js";
import { addDays } from "../../lib/dates.js";
import { AppError, registerConstraintCodes } from "../../lib/errors.js";
import { withLateForfeits } from "./household-interest.js";
import { findLoan, type LoanRow, lockLoan, periodsOf, type PeriodRow, savePeriods, toState } from "./queries.js";
import { planNeedsTerms, planRepayment, rescheduledRows } from "./repayment-plan.js";
import type { RepaymentCreate, RepaymentReversal } from "./schemas.js";
import { BANK_STAFF, fmt, iso, loadForChange, saveLoan } from "./common.js";
import { currentPeriod, isActive, standingColumns, termsFor } from "./standing.js";
import { checkValueDate, closeDates, closedThrough, daysBackOf, type ForfeitAllOn, forfeitAllOf, latestRepayment, type LatestRepayment, latestValueDate, scheduleBase } from "./value-dates.js";
import { repaymentView, type RepaymentRow } from "./views.js";

export interface RepaymentInput {
  amount: string;
  source?: "BORROWER" | "TRUSTEE" | "OTHER";
  reference?: string;
  /** 起息日: default today. */
  value_date?: string;
}

registerConstraintCodes({
  loan_repayments_bank_reference: { code: "DUPLICATE_BANK_REFERENCE", detail: "该银行流水号已入账 / this bank reference is already recorded", status: 409 },
});

/** Replaces the schedule after `on` with one on a new balance or maturity (extension), and writes it. */
export async function rescheduleFuture(trx: Knex.Transaction, loan: LoanRow, rows: PeriodRow[], on: string, opts: { balance: Dec; maturity: string }): Promise<PeriodRow[]> {
  const after = rescheduledRows(loan, rows, on, await termsFor(trx, loan, currentPeriod(rows, on)), opts);
  await savePeriods(trx, loan.id, rows, after);
  return after;
}

/**
 * Records a payment on a loan inside the caller's transaction (the trusteeship module repays a
 * linked loan this way): locks the loan, accrues penalty to the day before, allocates (penalty →
 * overdue interest → overdue principal → due now → prepayment), updates the schedule, posts the
 * journal entry (Dr cash / Cr principal, interest income, penalty income) and appends the audit
 * record. The loan must be in the actor's jurisdiction unless `skipScope` (system callers).
 */
export async function applyRepayment(
  trx: Knex.Transaction,
  ctx: AuditActor & { actor: Actor | null; clock: Ctx["clock"] },
  loanId: string,
  input: RepaymentInput,
  opts: { skipScope?: boolean } = {},
) {
  const loan = opts.skipScope || !ctx.actor ? await lockLoan(trx, loanId) : await findLoan(trx, ctx.actor, loanId, { forUpdate: true });
  if (!loan) throw notFound("loan");
  if (!isActive(loan)) throw invalidState(`The loan is ${loan.status}; only a disbursed or extended loan takes repayments`);
  const today = ctx.clock.today();
  const on = input.value_date ?? today;
  const amount = Money.of(input.amount);
  if (input.reference && input.source !== "TRUSTEE") await refuseRecordedReference(trx, loan.bank_id, input.reference);
  const stored = await periodsOf(trx, loanId);
  // Entered after the close of business ran past its value date: the loan as it stood that day, brought forward after (value-dates.ts).
  if (on > today) checkValueDate(on, { today, latest: null, daysBack: 0 });
  const late = on < today ? await lateEntry(trx, loan, on, today) : null;
  const rows = late ? late.rows : withLateForfeits(stored, on).rows;
  const terms = planNeedsTerms(loan, rows, on, amount) ? await termsFor(trx, loan, currentPeriod(rows, on)) : null;
  const plan = planRepayment(loan, rows, on, amount, terms);
  const after = late && !plan.closed ? closeDates(loan, plan.periods, plan.standing, on, late.closedThrough, late.forfeitAll) : { rows: plan.periods, standing: plan.standing };
  await savePeriods(trx, loanId, stored, after.rows);
  const updated = await saveLoan(
    trx,
    loanId,
    { outstanding_principal: fmt(plan.outstanding), ...after.standing, ...(plan.closed ? { status: "REPAID", closed_on: on } : {}) },
    ctx.clock.now(),
  );
  const { principal, interest } = plan;
  const alloc = plan.allocation;
  const entryId = await postJournalEntry(trx, {
    countyCode: loan.county_code,
    entryDate: on,
    kind: "loan.repayment",
    refType: "loan",
    refId: loanId,
    memo: input.reference ? `repayment ${input.reference}` : "repayment",
    actorId: ctx.actor?.userId ?? null,
    lines: [
      { account: ACCOUNTS.CASH, debit: fmt(amount), partyType: "bank", partyId: loan.bank_id },
      { account: ACCOUNTS.LOAN_PRINCIPAL, credit: fmt(principal), partyType: "loan", partyId: loanId },
      { account: ACCOUNTS.INTEREST_INCOME, credit: fmt(interest), partyType: "loan", partyId: loanId },
      { account: ACCOUNTS.PENALTY_INCOME, credit: fmt(alloc.penalty), partyType: "loan", partyId: loanId },
    ],
  });
  const allocation = alloc.perPeriod.map((a) => ({ seq: a.seq, penalty: fmt(a.penalty), interest: fmt(a.interest), principal: fmt(a.principal) }));
  const [rep] = await trx("loan_repayments")
    .insert({
      loan_id: loanId,
      county_code: loan.county_code,
      bank_id: loan.bank_id,
      paid_on: on,
      entered_on: today,
      schedule_before: JSON.stringify(rows),
      amount: fmt(amount),
      penalty: fmt(alloc.penalty),
      interest: fmt(interest),
      principal: fmt(principal),
      prepayment: fmt(plan.prepayment),
      kind: "REPAYMENT",
      source: input.source ?? "BORROWER",
      reference: input.reference ?? null,
      allocation: JSON.stringify(allocation),
      journal_entry_id: entryId,
      actor_id: ctx.actor?.userId ?? null,
    })
    .returning<RepaymentRow[]>("*");
  const view = { ...repaymentView(rep), loan: { status: updated.status, outstanding_principal: fmt(updated.outstanding_principal), dpd: updated.dpd } };
  await appendAudit(trx, ctx, {
    action: "loan.repayment",
    entityType: "loan",
    entityId: loanId,
    countyCode: loan.county_code,
    before: { status: loan.status, outstanding_principal: fmt(loan.outstanding_principal) },
    after: view,
  });
  return view;
}

async function refuseRecordedReference(trx: Knex.Transaction, bankId: string, reference: string): Promise<void> {
  const seen = await trx("loan_repayments").where({ bank_id: bankId, reference }).whereNot("source", "TRUSTEE").first<{ loan_id: string; paid_on: string } | undefined>("loan_id", trx.raw("paid_on::text AS paid_on"));
  if (seen) throw new AppError("DUPLICATE_BANK_REFERENCE", `银行流水号 ${reference} 已于 ${seen.paid_on} 入账 / bank reference ${reference} was already recorded (value date ${seen.paid_on})`, undefined, 409);
}

/**
 * A payment with a value date before today: checked against the loan's latest value date and the
 * county's days back; when the close of business has already run on or after the value date, the
 * loan's periods as they stood at the start of that date (before its close), and what bringing it
 * forward afterwards needs.
 */
async function lateEntry(trx: Knex.Transaction, loan: LoanRow, on: string, today: string): Promise<{ rows: PeriodRow[]; closedThrough: string; forfeitAll: ForfeitAllOn } | null> {
  const base = await scheduleBase(trx, loan.id);
  const latest = await latestRepayment(trx, loan.id);
  checkValueDate(on, { today, latest: latestValueDate(loan, base, latest), daysBack: await daysBackOf(trx, loan.county_code) });
  const closed = await closedThrough(trx);
  if (!closed || on > closed) return null;
  const forfeitAll = await forfeitAllOf(trx, loan);
  return { rows: await periodsAtStartOf(trx, loan, on, base, latest, forfeitAll), closedThrough: closed, forfeitAll };
}

/**
 * The loan's periods at the start of `on` (before that date's close): from its latest repayment
 * (computed again over the schedule it was allocated on) or its schedule base, whichever is later,
 * closed date by date up to the day before.
 */
export async function periodsAtStartOf(
  trx: Knex.Transaction,
  loan: LoanRow,
  on: string,
  base: Awaited<ReturnType<typeof scheduleBase>>,
  latest: LatestRepayment | undefined,
  forfeitAll: ForfeitAllOn,
): Promise<PeriodRow[]> {
  let from: { rows: PeriodRow[]; standing: ReturnType<typeof standingColumns>; date: string };
  if (latest && (!base || latest.paid_on >= base.value_date)) {
    if (!latest.schedule_before) throw new AppError("VALUE_DATE_NO_HISTORY", "该笔贷款最近一笔还款没有留存当时的还款计划，只能按今天入账 / the latest repayment predates value dates; enter this one as of today");
    const amount = new D(latest.amount);
    const t = planNeedsTerms(loan, latest.schedule_before, latest.paid_on, amount) ? await termsFor(trx, loan, currentPeriod(latest.schedule_before, latest.paid_on)) : null;
    // As it was computed then: the loan owed what this repayment took off it too.
    const p = planRepayment({ ...loan, outstanding_principal: fmt(new D(loan.outstanding_principal).plus(latest.principal)) }, latest.schedule_before, latest.paid_on, amount, t);
    from = { rows: p.periods, standing: p.standing, date: latest.paid_on };
  } else if (base) {
    from = { rows: base.periods, standing: standingColumns(loan, base.periods.map(toState), base.periods, base.value_date), date: base.value_date };
  } else {
    throw new AppError("VALUE_DATE_NO_HISTORY", "该笔贷款没有留存放款时的还款计划，只能按今天入账 / the loan predates value dates; enter the payment as of today");
  }
  const rolled = closeDates(loan, from.rows, from.standing, from.date, addDays(on, -1), forfeitAll);
  return withLateForfeits(rolled.rows, on).rows;
}

export async function repay(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RepaymentCreate>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  return applyRepayment(trx, ctx, id, input);
}

/**
 * Reversal (冲正) of a repayment by a bank manager, with a reason: only the latest repayment of the
 * loan not already reversed, and not a trustee's payment or a renewal's interest. The schedule
 * returns to what it was at the start of the repayment's value date, is brought forward to the last
 * closed business date, the principal goes back on the loan (a loan the payment closed reopens), a
 * reversing journal entry is posted, and the repayment is marked reversed (its bank reference stays
 * recorded: a new entry carries a new reference).
 */
export async function reverseRepayment(trx: Knex.Transaction, ctx: Ctx, loanId: string, repaymentId: string, input: z.infer<typeof RepaymentReversal>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, loanId);
  const rep = await trx("loan_repayments").where({ id: repaymentId, loan_id: loanId }).forUpdate().first<(RepaymentRow & { schedule_before: PeriodRow[] | null; bank_id: string }) | undefined>();
  if (!rep) throw notFound("repayment");
  if (rep.reversed_at) throw new AppError("REVERSAL_NOT_LATEST", `该笔还款已于 ${iso(rep.reversed_at)} 冲正 / this repayment was already reversed`);
  if (rep.kind !== "REPAYMENT" || rep.source === "TRUSTEE") throw new AppError("REVERSAL_NOT_ALLOWED", "托管收益代扣或续贷结息不能在此冲正 / a trustee's payment or a renewal's interest is not reversed here");
  const latest = await latestRepayment(trx, loanId);
  const base = await scheduleBase(trx, loanId);
  if (latest?.id !== rep.id || (base && base.value_date > rep.paid_on)) {
    throw new AppError("REVERSAL_NOT_LATEST", "只能冲正该笔贷款最近的一笔业务 / only the loan's latest operation may be reversed");
  }
  const closedByIt = loan.status === "REPAID" && loan.closed_on === rep.paid_on;
  if (!isActive(loan) && !closedByIt) throw invalidState(`The loan is ${loan.status}; its repayments are no longer reversed here`);
  if (!rep.schedule_before) throw new AppError("VALUE_DATE_NO_HISTORY", "该笔还款没有留存当时的还款计划，不能冲正 / the repayment predates reversals");
  const restored: LoanRow = closedByIt ? { ...loan, status: loan.extended_on ? "EXTENDED" : "DISBURSED", closed_on: null } : loan;
  const on = rep.paid_on;
  const stored = await periodsOf(trx, loanId);
  const rows = rep.schedule_before;
  const standing = standingColumns(restored, rows.map(toState), rows, on);
  const closed = await closedThrough(trx);
  const after = closed && on <= closed ? closeDates(restored, rows, standing, on, closed, await forfeitAllOf(trx, restored)) : { rows, standing };
  await savePeriods(trx, loanId, stored, after.rows);
  const today = ctx.clock.today();
  const updated = await saveLoan(
    trx,
    loanId,
    { outstanding_principal: fmt(new D(loan.outstanding_principal).plus(rep.principal)), ...after.standing, ...(closedByIt ? { status: restored.status, closed_on: null } : {}) },
    ctx.clock.now(),
  );
  const memo = `冲正 reversal of repayment ${rep.id}: ${input.reason}`;
  const entryId = rep.journal_entry_id
    ? await reverseJournalEntry(trx, rep.journal_entry_id, { entryDate: today, memo, actorId: ctx.actor.userId })
    : await reopenMigratedPrincipal(trx, loan, rep, today, memo, ctx.actor.userId);
  const [row] = await trx("loan_repayments")
    .where({ id: rep.id })
    .update({ reversed_at: ctx.clock.now(), reversed_by: ctx.actor.userId, reversal_reason: input.reason, reversal_entry_id: entryId })
    .returning<RepaymentRow[]>("*");
  const view = { ...repaymentView(row), loan: { status: updated.status, outstanding_principal: fmt(updated.outstanding_principal), dpd: updated.dpd } };
  await appendAudit(trx, ctx, {
    action: "loan.repayment.reversal",
    entityType: "loan",
    entityId: loanId,
    countyCode: loan.county_code,
    before: { status: loan.status, outstanding_principal: fmt(loan.outstanding_principal), repayment_id: rep.id },
    after: { ...view, reason: input.reason },
  });
  return view;
}

/**
 * A migrated repayment (存量贷款迁移) has no journal entry: it was history when the loan's
 * outstanding principal opened against 3101. Its reversal puts the principal back on the loan
 * against the same opening balance (Dr 1301 / Cr 3101); the interest and penalty it took were never
 * the platform's income. Null when it took no principal.
 */
async function reopenMigratedPrincipal(trx: Knex.Transaction, loan: LoanRow, rep: RepaymentRow, on: string, memo: string, actorId: string): Promise<string | null> {
  if (!new D(rep.principal).gt(0)) return null;
  return postJournalEntry(trx, {
    countyCode: loan.county_code,
    entryDate: on,
    kind: "loan.migration.reversal",
    refType: "loan",
    refId: loan.id,
    memo,
    actorId,
    lines: [
      { account: ACCOUNTS.LOAN_PRINCIPAL, debit: fmt(rep.principal), partyType: "loan", partyId: loan.id },
      { account: ACCOUNTS.OPENING_BALANCES, credit: fmt(rep.principal), partyType: "bank", partyId: loan.bank_id },
    ],
  });
}
