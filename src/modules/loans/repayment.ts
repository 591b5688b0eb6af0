/** Repayments: the allocation of a payment over the schedule, prepayment and payoff. */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, invalidState, notFound } from "../../http/errors.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { type Dec, D, Money } from "../../lib/money.js";
import { splitInterest } from "./household-interest.js";
import { allocatePayment, amountDue, isSettled, overdueFrom, type PeriodState, remainingSchedule, spanInterest } from "./model.js";
import { findLoan, insertPeriods, type LoanRow, lockLoan, periodRows, type PeriodRow, toState } from "./queries.js";
import type { RepaymentCreate } from "./schemas.js";
import { BANK_STAFF, fmt, saveLoan } from "./common.js";
import { accruedToDate, carriedOf, currentPeriod, endCurrentPeriod, isActive, payoffWith, periodsAsOf, standingColumns, statesAsOf, statusOf, termsFor } from "./standing.js";
import { repaymentView, type RepaymentRow } from "./views.js";

export interface RepaymentInput {
  amount: string;
  source?: "BORROWER" | "TRUSTEE" | "OTHER";
  reference?: string;
}

/** Replaces the schedule after `on` with one on a new balance or maturity (prepayment, extension). */
export async function rescheduleFuture(trx: Knex.Transaction, loan: LoanRow, rows: PeriodRow[], on: string, opts: { balance: Dec; maturity: string; prepaid?: Dec }): Promise<PeriodRow[]> {
  const cur = currentPeriod(rows, on);
  if (!cur) return rows;
  const terms = await termsFor(trx, loan, cur);
  const opening = new D(cur.opening_principal);
  const carried = carriedOf(cur);
  let start: string;
  let carriedAmount: Dec | undefined;
  if (opts.balance.eq(opening)) {
    start = carried ? carried.through : cur.accrual_start;
    carriedAmount = carried?.amount;
  } else {
    start = on > cur.accrual_start ? on : cur.accrual_start;
    const from = carried ? carried.through : cur.accrual_start;
    carriedAmount = (carried?.amount ?? new D(0)).plus(spanInterest(loan.repayment_method, opening, new D(loan.annual_rate!), from, start, { accrualStart: cur.accrual_start, accrualEnd: cur.accrual_end }));
  }
  const periods = opts.balance.isZero()
    ? []
    : remainingSchedule({
        method: loan.repayment_method,
        balance: opts.balance,
        annualRate: loan.annual_rate!,
        anchorDate: loan.disbursed_on!,
        maturityDate: opts.maturity,
        start,
        periodStart: cur.accrual_start,
        carried: carriedAmount,
        firstSeq: cur.seq,
      });
  await trx("loan_schedule_periods").where({ loan_id: loan.id }).andWhere("seq", ">=", cur.seq).delete();
  // Principal prepaid in the current period stays on it (due and paid), so the schedule's principal still adds up to the amount.
  const prepaid = new D(cur.principal_paid).plus(opts.prepaid ?? 0);
  const rowsToInsert = periodRows(loan, periods, (due) => overdueFrom(due, loan.grace_days));
  if (rowsToInsert.length > 0) {
    Object.assign(rowsToInsert[0], {
      principal_due: fmt(new D(rowsToInsert[0].principal_due).plus(prepaid)),
      principal_paid: fmt(prepaid),
      ...(start !== cur.accrual_start && carriedAmount ? { carried_interest: carriedAmount.toFixed(10), carried_through: start } : {}),
    });
  }
  const inserted = await insertPeriods(trx, splitInterest(terms, rowsToInsert));
  return [...rows.filter((r) => r.seq < cur.seq), ...inserted];
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
  const on = ctx.clock.today();
  const amount = Money.of(input.amount);
  const late = await periodsAsOf(trx, loanId, on);
  let rows = late.rows;
  const states = statesAsOf(loan, rows, on);
  // Subsidy terms matter only when the payment reaches into the current period's interest (payoff).
  const terms = amount.gt(amountDue(states, on)) ? await termsFor(trx, loan, currentPeriod(rows, on)) : null;
  const payoff = payoffWith(loan, rows, states, on, terms);
  if (amount.gt(payoff)) {
    throw new AppError("LOAN_OVERPAYMENT", `The payment ${fmt(amount)} is more than the ${fmt(payoff)} that closes the loan on ${on}`);
  }
  const alloc = allocatePayment(states, amount, { graceDays: loan.grace_days, on });
  const byseq = new Map(alloc.perPeriod.map((a) => [a.seq, a]));
  // Persist penalty accrual and the allocation to due periods.
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    const s = states[k];
    const a = byseq.get(r.seq);
    const accrued = !s.penaltyAccrued.eq(r.penalty_accrued) || s.penaltyThrough !== r.penalty_through;
    const forfeited = late.forfeited.has(r.seq);
    if (!a && !accrued && !forfeited) continue;
    const after: PeriodState = {
      ...s,
      principalPaid: s.principalPaid.plus(a?.principal ?? 0),
      interestPaid: s.interestPaid.plus(a?.interest ?? 0),
      penaltyPaid: s.penaltyPaid.plus(a?.penalty ?? 0),
    };
    const status = statusOf(after, loan.grace_days, on);
    const changes = {
      principal_paid: fmt(after.principalPaid),
      interest_paid: fmt(after.interestPaid),
      penalty_paid: fmt(after.penaltyPaid),
      penalty_accrued: after.penaltyAccrued.toFixed(10),
      penalty_through: after.penaltyThrough,
      status,
      settled_on: status === "PAID" ? on : null,
      ...(forfeited ? { interest_due: r.interest_due, interest_subsidy: r.interest_subsidy, subsidy_forfeited: r.subsidy_forfeited } : {}),
    };
    await trx("loan_schedule_periods").where({ loan_id: loanId, seq: r.seq }).update(changes);
    rows[k] = { ...r, ...changes }; // the row as stored, without reading it back
  }
  let prepaidInterest = new D(0);
  let closed = false;
  const futurePrincipal = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due).minus(r.principal_paid)));
  if (alloc.prepayment.gt(0)) {
    const cur = currentPeriod(rows, on)!;
    if (alloc.prepayment.gte(futurePrincipal)) {
      // Payoff: the current period ends today with its interest to date; later periods go.
      const accrued = accruedToDate(loan, cur, on, terms);
      if (!alloc.prepayment.eq(futurePrincipal.plus(accrued.household))) {
        throw new AppError("LOAN_PAYOFF_SHORT", `To close the loan on ${on} pay ${fmt(payoff)} (principal ${fmt(futurePrincipal)} and interest to date ${fmt(accrued.household)} on top of what is due)`);
      }
      prepaidInterest = accrued.household;
      const ended = await endCurrentPeriod(trx, loan, rows, cur, on, accrued);
      closed = true;
      rows = [...rows.filter((r) => r.seq < cur.seq), ended];
    } else {
      rows = await rescheduleFuture(trx, loan, rows, on, { balance: futurePrincipal.minus(alloc.prepayment), maturity: loan.maturity_date!, prepaid: alloc.prepayment });
    }
  }
  const principal = alloc.overduePrincipal.plus(alloc.principalDueNow).plus(alloc.prepayment).minus(prepaidInterest);
  const interest = alloc.overdueInterest.plus(alloc.interestDueNow).plus(prepaidInterest);
  const outstanding = new D(loan.outstanding_principal).minus(principal);
  if (outstanding.isNeg()) throw new AppError("INTERNAL", "outstanding principal would go negative");
  const finalStates = rows.map(toState);
  const allSettled = finalStates.every(isSettled);
  if (outstanding.isZero() && allSettled) closed = true;
  const standing = standingColumns(loan, finalStates, rows, on);
  const updated = await saveLoan(
    trx,
    loanId,
    { outstanding_principal: fmt(outstanding), ...standing, ...(closed ? { status: "REPAID", closed_on: on } : {}) },
    ctx.clock.now(),
  );
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
      amount: fmt(amount),
      penalty: fmt(alloc.penalty),
      interest: fmt(interest),
      principal: fmt(principal),
      prepayment: fmt(alloc.prepayment.minus(prepaidInterest)),
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

export async function repay(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RepaymentCreate>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  return applyRepayment(trx, ctx, id, input);
}
