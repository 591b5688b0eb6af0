/** Repayments: the allocation of a payment over the schedule, prepayment and payoff. */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { notFound, invalidState } from "../../http/errors.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { type Dec, Money } from "../../lib/money.js";
import { withLateForfeits } from "./household-interest.js";
import { findLoan, type LoanRow, lockLoan, periodsOf, type PeriodRow, savePeriods } from "./queries.js";
import { planNeedsTerms, planRepayment, rescheduledRows } from "./repayment-plan.js";
import type { RepaymentCreate } from "./schemas.js";
import { BANK_STAFF, fmt, saveLoan } from "./common.js";
import { currentPeriod, isActive, termsFor } from "./standing.js";
import { repaymentView, type RepaymentRow } from "./views.js";

export interface RepaymentInput {
  amount: string;
  source?: "BORROWER" | "TRUSTEE" | "OTHER";
  reference?: string;
}

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
  const on = ctx.clock.today();
  const amount = Money.of(input.amount);
  const stored = await periodsOf(trx, loanId);
  const rows = withLateForfeits(stored, on).rows;
  const terms = planNeedsTerms(loan, rows, on, amount) ? await termsFor(trx, loan, currentPeriod(rows, on)) : null;
  const plan = planRepayment(loan, rows, on, amount, terms);
  await savePeriods(trx, loanId, stored, plan.periods);
  const updated = await saveLoan(
    trx,
    loanId,
    { outstanding_principal: fmt(plan.outstanding), ...plan.standing, ...(plan.closed ? { status: "REPAID", closed_on: on } : {}) },
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

export async function repay(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RepaymentCreate>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  return applyRepayment(trx, ctx, id, input);
}
