/** Repayments: the allocation of a payment over the schedule, prepayment and payoff. */
import type { Knex } from "knex";
import { preparedRaw } from "../../lib/prepared.js";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { notFound, invalidState } from "../../http/errors.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, journalEntryCtes, postJournalEntry, reverseJournalEntry } from "../../lib/ledger.js";
import { type Dec, D, Money } from "../../lib/money.js";
import { addDays } from "../../lib/dates.js";
import { AppError, registerConstraintCodes } from "../../lib/errors.js";
import { withLateForfeits } from "./household-interest.js";
import { findLoan, keptRowsSql, keptSchedule, keptScheduleSql, type LoanRow, lockLoan, type PackedPeriods, packPeriods, periodsOf, periodWritesCtes, type PeriodRow, savePeriods, toState, unpackPeriods } from "./queries.js";
import { planNeedsTerms, planRepayment, type RepaymentPlan, rescheduledRows } from "./repayment-plan.js";
import type { SubsidyTerms } from "./household-interest.js";
import type { RepaymentCreate, RepaymentReversal } from "./schemas.js";
import { BANK_STAFF, fmt, iso, loadForChange, saveLoan } from "./common.js";
import { currentPeriod, isActive, standingColumns, statesAsOf, termsFor } from "./standing.js";
import { checkValueDate, closeDates, closedThrough, daysBackOf, type ForfeitAllOn, forfeitAllOf, latestRepayment, type LatestRepayment, latestValueDate, scheduleBase, type ScheduleBase } from "./value-dates.js";
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
  const loan = opts.skipScope || !ctx.actor ? await lockLoan(trx, loanId) : await findLoan(trx, ctx.actor, loanId, { forUpdate: true, prepared: true });
  if (!loan) throw notFound("loan");
  const today = ctx.clock.today();
  const stored = await periodsOf(trx, loanId, { prepared: true });
  const { on, amount, rows, plan, after, asStored } = await decideRepayment(databaseSources(trx), loan, stored, input, today);
  const { principal, interest } = plan;
  const alloc = plan.allocation;
  const entry = journalEntryCtes({
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
  const updated = { outstanding_principal: fmt(plan.outstanding), ...after.standing, ...(plan.closed ? { status: "REPAID", closed_on: on } : {}) };
  const loanUpdate = trx("loans").where({ id: loanId }).update({ ...updated, updated_at: ctx.clock.now(), version: trx.raw("version + 1") }).toSQL();
  const allocation = alloc.perPeriod.map((a) => ({ seq: a.seq, penalty: fmt(a.penalty), interest: fmt(a.interest), principal: fmt(a.principal) }));
  const insert = trx("loan_repayments")
    .insert({
      loan_id: loanId,
      county_code: loan.county_code,
      bank_id: loan.bank_id,
      paid_on: on,
      entered_on: today,
      // The schedule it is allocated over: when that is the stored one as it stands, kept as the
      // periods' own rows, copied in the database (read before this statement's writes); otherwise
      // (a value date the close has passed, a late forfeiture) packed from the rows computed here.
      ...(asStored ? { schedule_kept: trx.raw(keptRowsSql("?::uuid"), [loanId]) } : { schedule_before: JSON.stringify(packPeriods(rows)) }),
      amount: fmt(amount),
      penalty: fmt(alloc.penalty),
      interest: fmt(interest),
      principal: fmt(principal),
      prepayment: fmt(plan.prepayment),
      kind: "REPAYMENT",
      source: input.source ?? "BORROWER",
      reference: input.reference ?? null,
      allocation: JSON.stringify(allocation),
      journal_entry_id: entry?.id ?? null,
      actor_id: ctx.actor?.userId ?? null,
    })
    .toSQL();
  // The schedule, the loan, the journal entry and the repayment in one statement, one round trip.
  // A bank reference already recorded fails it on the unique index, and nothing is written.
  const ctes = [...periodWritesCtes(trx, loanId, stored, after.rows), { sql: `loan_update AS (${loanUpdate.sql})`, bindings: loanUpdate.bindings }, ...(entry ? [entry] : [])];
  let rep: RepaymentRow;
  try {
    [rep] = await preparedRaw<RepaymentRow>(trx, `WITH ${ctes.map((c) => c.sql).join(", ")} ${insert.sql} RETURNING ${REPAYMENT_VIEW_COLUMNS}`, [
      ...ctes.flatMap((c) => c.bindings),
      ...insert.bindings,
    ]);
  } catch (err) {
    if ((err as { constraint?: string }).constraint === "loan_repayments_bank_reference") {
      throw new AppError("DUPLICATE_BANK_REFERENCE", `银行流水号 ${input.reference} 已入账 / bank reference ${input.reference} is already recorded`, undefined, 409);
    }
    throw err;
  }
  const view = { ...repaymentView(rep), loan: { status: updated.status ?? loan.status, outstanding_principal: updated.outstanding_principal, dpd: updated.dpd } };
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

// What the repayment's answer shows (its kept schedule is not read back).
const REPAYMENT_VIEW_COLUMNS = "id, loan_id, paid_on, amount, penalty, interest, principal, prepayment, kind, source, reference, allocation, journal_entry_id, entered_on, reversed_at, reversal_reason, reversal_entry_id, created_at";

/** Where deciding a repayment reads what it needs: the database for one payment, what a bank file's chunk loaded at once for many. */
export interface RepaymentSources {
  closedThrough(): Promise<string | null>;
  daysBack(countyCode: string): Promise<number>;
  base(loan: LoanRow): Promise<ScheduleBase | undefined>;
  latest(loan: LoanRow): Promise<LatestRepayment | undefined>;
  /** The schedule a repayment was allocated over. */
  scheduleBefore(repaymentId: string): Promise<PeriodRow[] | null>;
  terms(loan: LoanRow, cur: PeriodRow | undefined): Promise<SubsidyTerms | null>;
  forfeitAll(loan: LoanRow): Promise<ForfeitAllOn>;
}

export function databaseSources(trx: Knex.Transaction): RepaymentSources {
  let closed: Promise<string | null> | undefined;
  return {
    closedThrough: () => (closed ??= closedThrough(trx)),
    daysBack: (county) => daysBackOf(trx, county),
    base: (loan) => scheduleBase(trx, loan.id),
    latest: (loan) => latestRepayment(trx, loan.id),
    scheduleBefore: (id) => keptSchedule(trx, id),
    terms: (loan, cur) => termsFor(trx, loan, cur),
    forfeitAll: (loan) => forfeitAllOf(trx, loan),
  };
}

export interface RepaymentDecision {
  on: string;
  amount: Dec;
  /** The periods the payment is allocated over (as of its value date). */
  rows: PeriodRow[];
  plan: RepaymentPlan;
  /** The schedule and standing to store: the plan's, brought forward to the last closed date when entered late. */
  after: { rows: PeriodRow[]; standing: RepaymentPlan["standing"] };
  /** `rows` are the stored periods as they stand (no late forfeiture, no value date the close has passed). */
  asStored: boolean;
}

/**
 * Decides a payment on a loan without writing anything: its value date checked (not in the
 * future; when before today, not before the loan's latest value date nor more than the county's
 * days back), the periods it is allocated over (the stored ones, or — when the close of business
 * has already run past the value date — the loan as it stood at the start of that date), the plan,
 * and the schedule after it, closed date by date through the last closed date when entered late.
 */
export async function decideRepayment(src: RepaymentSources, loan: LoanRow, stored: PeriodRow[], input: { amount: string; value_date?: string }, today: string): Promise<RepaymentDecision> {
  if (!isActive(loan)) throw invalidState(`The loan is ${loan.status}; only a disbursed or extended loan takes repayments`);
  const on = input.value_date ?? today;
  const amount = Money.of(input.amount);
  if (on > today) checkValueDate(on, { today, latest: null, daysBack: 0 });
  let rows = withLateForfeits(stored, on).rows;
  let late: { closed: string; forfeitAll: ForfeitAllOn } | null = null;
  if (on < today) {
    const base = await src.base(loan);
    const latest = await src.latest(loan);
    checkValueDate(on, { today, latest: latestValueDate(loan, base, latest), daysBack: await src.daysBack(loan.county_code) });
    const closed = await src.closedThrough();
    if (closed && on <= closed) {
      // Shares lost for a misuse finding or a removed household matter only to a loan with subsidy shares.
      const forfeitAll = stored.some((r) => new D(r.interest_subsidy).gt(0) || r.subsidy_forfeited) ? await src.forfeitAll(loan) : () => null;
      late = { closed, forfeitAll };
      rows = withLateForfeits(rewoundTo(stored, on) ?? (await periodsAtStartOf(src, loan, on, base, latest, forfeitAll)), on).rows;
    }
  }
  const states = statesAsOf(loan, rows, on);
  const terms = planNeedsTerms(loan, rows, on, amount, states) ? await src.terms(loan, currentPeriod(rows, on)) : null;
  const plan = planRepayment(loan, rows, on, amount, terms, states);
  const after = late && !plan.closed ? closeDates(loan, plan.periods, plan.standing, on, late.closed, late.forfeitAll) : { rows: plan.periods, standing: plan.standing };
  return { on, amount, rows, plan, after, asStored: rows === stored };
}

/**
 * The stored periods taken back to the start of `on` without replaying, when the closes since did
 * nothing but mark periods due: no period is overdue (so none accrued penalty or lost a subsidy
 * share for lateness since), none accrued penalty on or after `on`, no share was lost to a misuse
 * finding or a removal. Periods the closes marked due (or settled) on or after `on` go back to
 * PENDING. Otherwise undefined (the loan is replayed from its base).
 */
export function rewoundTo(stored: PeriodRow[], on: string): PeriodRow[] | undefined {
  for (const r of stored) {
    if (r.status === "OVERDUE" || (r.penalty_through !== null && r.penalty_through >= on)) return undefined;
    if (r.subsidy_forfeited === "MISUSE" || r.subsidy_forfeited === "HOUSEHOLD_REMOVED") return undefined;
  }
  return stored.map((r) => (r.due_date > on && (r.status === "DUE" || r.status === "PAID") ? { ...r, status: "PENDING", settled_on: null } : r));
}

/**
 * The loan's periods at the start of `on` (before that date's close): from its latest repayment
 * (computed again over the schedule it was allocated on) or its schedule base, whichever is later,
 * closed date by date up to the day before.
 */
export async function periodsAtStartOf(src: RepaymentSources, loan: LoanRow, on: string, base: ScheduleBase | undefined, latest: LatestRepayment | undefined, forfeitAll: ForfeitAllOn): Promise<PeriodRow[]> {
  let from: { rows: PeriodRow[]; standing: ReturnType<typeof standingColumns>; date: string };
  if (latest && (!base || latest.paid_on >= base.value_date)) {
    const before = await src.scheduleBefore(latest.id);
    if (!before) throw new AppError("VALUE_DATE_NO_HISTORY", "该笔贷款最近一笔还款没有留存当时的还款计划，只能按今天入账 / the latest repayment predates value dates; enter this one as of today");
    const amount = new D(latest.amount);
    const t = planNeedsTerms(loan, before, latest.paid_on, amount) ? await src.terms(loan, currentPeriod(before, latest.paid_on)) : null;
    // As it was computed then: the loan owed what this repayment took off it too.
    const p = planRepayment({ ...loan, outstanding_principal: fmt(new D(loan.outstanding_principal).plus(latest.principal)) }, before, latest.paid_on, amount, t);
    from = { rows: p.periods, standing: p.standing, date: latest.paid_on };
  } else if (base) {
    from = { rows: base.periods, standing: standingColumns(loan, base.periods.map(toState), base.periods, base.value_date), date: base.value_date };
  } else {
    throw new AppError("VALUE_DATE_NO_HISTORY", "该笔贷款没有留存放款时的还款计划，只能按今天入账 / the loan predates value dates; enter the payment as of today");
  }
  return closeDates(loan, from.rows, from.standing, from.date, addDays(on, -1), forfeitAll).rows;
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
  // The repayment with the schedule it was allocated over, as read back (packed JSON, or its kept rows packed), in one query.
  const rep = await trx("loan_repayments as r")
    .where({ "r.id": repaymentId, "r.loan_id": loanId })
    .forUpdate()
    .first<(RepaymentRow & { bank_id: string; kept: PackedPeriods | PeriodRow[] | null }) | undefined>(trx.raw(`r.*, ${keptScheduleSql("r")} AS kept`));
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
  const rows = unpackPeriods(rep.kept);
  if (!rows) throw new AppError("VALUE_DATE_NO_HISTORY", "该笔还款没有留存当时的还款计划，不能冲正 / the repayment predates reversals");
  const restored: LoanRow = closedByIt ? { ...loan, status: loan.extended_on ? "EXTENDED" : "DISBURSED", closed_on: null } : loan;
  const on = rep.paid_on;
  const stored = await periodsOf(trx, loanId);
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
