/** Return payments and the principal coming back, with the linked loan repaid through the loans module. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { clearAlert } from "../../lib/alerts.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { D, Money } from "../../lib/money.js";
import { repayFromTrustee } from "../loans/index.js";
import { allocateReturnPayment } from "./model.js";
import { findTrusteeship, installmentsOf, type PaymentRow, type TrusteeshipRow } from "./queries.js";
import type { PaymentCreate, PrincipalReturnCreate } from "./schemas.js";
import { ALERT_KINDS, PAYERS } from "./common.js";
import { fullView, paymentView, stateOf } from "./contracts.js";

export async function lockForPayment(trx: Knex.Transaction, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...PAYERS);
  const t = await findTrusteeship(trx, ctx.actor, id, { forUpdate: true });
  if (!t) throw notFound("trusteeship");
  if (t.status === "CLOSED") throw new AppError("INVALID_STATE", { zh: "该合同已结束：本金和各期收益均已支付", en: "The contract is closed: its principal and every return are paid" });
  return t;
}

export function valueDate(given: string | undefined, t: TrusteeshipRow, today: string, path: string): string {
  const d = given ?? today;
  if (d > today) throw new AppError("VALIDATION_FAILED", { zh: "起息日不能晚于今天", en: "The value date is in the future" }, [{ path, message: { zh: "不能晚于今天", en: "not after today" } }]);
  if (d < t.start_date) {
    throw new AppError("VALIDATION_FAILED", { zh: "起息日早于合同开始日期", en: "The value date is before the contract started" }, [
      { path, message: { zh: `不能早于 ${t.start_date}`, en: `on or after ${t.start_date}` } },
    ]);
  }
  return d;
}

/** Closes the arrears alerts of a contract (and of its linked loan) once nothing of it is in arrears. */
export async function clearArrearsAlertsIfSettled(trx: Knex.Transaction, t: TrusteeshipRow, now: Date): Promise<void> {
  const still = await trx("trusteeship_installments").where({ trusteeship_id: t.id, in_arrears: true }).first();
  if (still) return;
  await clearAlert(trx, ALERT_KINDS.ARREARS, "trusteeship", t.id, now);
  if (t.linked_loan_id) {
    const other = await trx("trusteeship_installments as i")
      .join("trusteeships as t", "t.id", "i.trusteeship_id")
      .where({ "t.linked_loan_id": t.linked_loan_id, "i.in_arrears": true })
      .first();
    if (!other) await clearAlert(trx, ALERT_KINDS.LOAN_AT_RISK, "loan", t.linked_loan_id, now);
  }
}

export async function closeIfSettled(trx: Knex.Transaction, id: string, now: Date): Promise<boolean> {
  const n = await trx("trusteeships")
    .where({ id, status: "ACTIVE" })
    .andWhereRaw("principal_returned = principal")
    .whereNotExists(trx("trusteeship_installments as i").whereRaw("i.trusteeship_id = trusteeships.id").andWhereRaw("i.amount_paid < i.amount_due"))
    .update({ status: "CLOSED", updated_at: now });
  return n > 0;
}

/**
 * An operator pays return installments (partial payments allowed): the amount goes to the oldest
 * unpaid installments first, future ones last (prepayment); more than every unpaid return is
 * refused. Ledger: cash (1001) against the receivable (1402) for installments already recognised
 * as due, against households payable (2201) for the rest.
 */
export async function recordPayment(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof PaymentCreate>) {
  const t = await lockForPayment(trx, ctx, id);
  const today = ctx.clock.today();
  const paidOn = valueDate(input.paid_on, t, today, "body.paid_on");
  const installments = await installmentsOf(trx, [id], { forUpdate: true });
  const amount = Money.format(input.amount);
  const { allocation, unallocated } = allocateReturnPayment(installments.map(stateOf), amount);
  if (!Money.of(unallocated).isZero()) {
    const owed = Money.format(Money.of(amount).minus(unallocated));
    throw new AppError(
      "TRUSTEESHIP_OVERPAYMENT",
      { zh: `该合同所有未付收益合计 ${owed}；本次付款 ${amount} 超过该金额`, en: `The contract's unpaid returns total ${owed}; the payment of ${amount} exceeds them` },
      [{ path: "body.amount", message: { zh: `最多 ${owed}`, en: `at most ${owed}` } }],
    );
  }
  const bySeq = new Map(installments.map((i) => [i.seq, i]));
  let toReceivable = new D(0);
  let toPayable = new D(0);
  for (const a of allocation) {
    const i = bySeq.get(a.seq)!;
    const paid = Money.of(Money.format(i.amount_paid)).plus(a.amount);
    const paidOff = paid.gte(i.amount_due);
    await trx("trusteeship_installments")
      .where({ trusteeship_id: id, seq: a.seq })
      .update({ amount_paid: Money.format(paid), ...(paidOff ? { paid_off_on: paidOn, in_arrears: false } : {}) });
    if (i.accrued_on) toReceivable = toReceivable.plus(a.amount);
    else toPayable = toPayable.plus(a.amount);
  }
  const entryId = await postJournalEntry(trx, {
    countyCode: t.county_code,
    entryDate: paidOn,
    kind: "trusteeship.return_payment",
    refType: "trusteeship",
    refId: id,
    memo: `trustee return paid${input.reference ? ` (${input.reference})` : ""}`,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.CASH, debit: amount, partyType: "trusteeship", partyId: id },
      { account: ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE, credit: toReceivable, partyType: "trusteeship", partyId: id },
      { account: ACCOUNTS.HOUSEHOLDS_PAYABLE, credit: toPayable, partyType: "trusteeship", partyId: id },
    ],
  });
  const [payment] = await trx("trusteeship_payments")
    .insert({
      trusteeship_id: id,
      county_code: t.county_code,
      kind: "RETURN",
      amount,
      paid_on: paidOn,
      reference: input.reference ?? null,
      allocation: JSON.stringify(allocation),
      journal_entry_id: entryId,
      actor_id: ctx.actor.userId,
      created_at: ctx.clock.now(),
    })
    .returning<PaymentRow[]>("*");
  const now = ctx.clock.now();
  await clearArrearsAlertsIfSettled(trx, t, now);
  const closed = await closeIfSettled(trx, id, now);
  await appendAudit(trx, ctx, {
    action: "trusteeship.payment",
    entityType: "trusteeship",
    entityId: id,
    countyCode: t.county_code,
    before: { installments: allocation.map((a) => ({ seq: a.seq, amount_paid: Money.format(bySeq.get(a.seq)!.amount_paid) })) },
    after: { payment_id: payment.id, amount, paid_on: paidOn, allocation, journal_entry_id: entryId, closed },
  });
  return { payment: paymentView(payment), trusteeship: await fullView(trx, ctx, id) };
}

/**
 * Repays the contract's linked loan with the returned principal, inside this transaction, through
 * the loans module (`repayFromTrustee`, a repayment with source TRUSTEE): at most what closes the loan today; the rest,
 * if any, is the household's. A loan no longer open (repaid by the household meanwhile, written off)
 * takes nothing and the whole principal goes to the household. The loans module values the
 * repayment today, so a linked-loan return is dated today.
 */
export async function repayLinkedLoan(trx: Knex.Transaction, ctx: Ctx, t: TrusteeshipRow, amount: string, reference: string | undefined) {
  // The contract was checked to be the caller's; the loan belongs to its household (checked at signing).
  return repayFromTrustee(trx, ctx, t.linked_loan_id!, amount, reference ?? `trusteeship ${t.id}`);
}

/**
 * The operator returns the whole open principal, on or after the end date. Without a linked loan
 * it is received in cash for the household (1001 ← 1401); with one it repays the loan in the same
 * transaction (2201 ← 1401 here for the part that repays it, the loan's own repayment entry in the
 * loans module).
 */
export async function returnPrincipal(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof PrincipalReturnCreate>) {
  const t = await lockForPayment(trx, ctx, id);
  const today = ctx.clock.today();
  const openPrincipal = Money.of(Money.format(t.principal)).minus(t.principal_returned);
  if (openPrincipal.isZero()) throw new AppError("INVALID_STATE", { zh: "本金已经返还", en: "The principal has already been returned" });
  const on = valueDate(input.returned_on, t, today, "body.returned_on");
  if (on < t.end_date) {
    throw new AppError("PRINCIPAL_RETURN_BEFORE_END", { zh: `该合同至 ${t.end_date} 到期；本金须在当日或之后返还`, en: `The contract runs to ${t.end_date}; the principal is returned on or after it` });
  }
  const amount = Money.format(input.amount);
  if (!Money.of(amount).eq(openPrincipal)) {
    const open = Money.format(openPrincipal);
    throw new AppError("PRINCIPAL_RETURN_MISMATCH", { zh: `未还本金为 ${open}；本金须一次全额返还`, en: `The open principal is ${open}; it is returned whole` }, [
      { path: "body.amount", message: { zh: `须为 ${open}`, en: `must be ${open}` } },
    ]);
  }
  if (t.linked_loan_id && on !== today) {
    throw new AppError("VALIDATION_FAILED", { zh: "用于偿还所关联贷款的本金返还须以今天为日期", en: "A principal return that repays a linked loan is dated today" }, [
      { path: "body.returned_on", message: { zh: `须为 ${today}（或不填）`, en: `must be ${today} (or absent)` } },
    ]);
  }
  const linked = t.linked_loan_id ? await repayLinkedLoan(trx, ctx, t, amount, input.reference) : { toLoan: "0.00", repayment: undefined };
  const toHousehold = Money.of(amount).minus(linked.toLoan);
  const entryId = await postJournalEntry(trx, {
    countyCode: t.county_code,
    entryDate: on,
    kind: "trusteeship.principal_return",
    refType: "trusteeship",
    refId: id,
    memo: t.linked_loan_id ? `entrusted principal returned; ${linked.toLoan} repays loan ${t.linked_loan_id}` : "entrusted principal returned",
    actorId: ctx.actor.userId,
    lines: [
      // The household's claim on the principal (2201) goes to its loan; the rest comes in as cash for it.
      { account: ACCOUNTS.HOUSEHOLDS_PAYABLE, debit: linked.toLoan, partyType: "trusteeship", partyId: id },
      { account: ACCOUNTS.CASH, debit: Money.format(toHousehold), partyType: "trusteeship", partyId: id },
      { account: ACCOUNTS.ENTRUSTED_PRINCIPAL, credit: amount, partyType: "trusteeship", partyId: id },
    ],
  });
  const now = ctx.clock.now();
  await trx("trusteeships")
    .where({ id })
    .update({ principal_returned: Money.format(t.principal), principal_returned_on: on, version: t.version + 1, updated_at: now });
  const [payment] = await trx("trusteeship_payments")
    .insert({
      trusteeship_id: id,
      county_code: t.county_code,
      kind: "PRINCIPAL",
      amount,
      paid_on: on,
      reference: input.reference ?? null,
      allocation: JSON.stringify([]),
      journal_entry_id: entryId,
      actor_id: ctx.actor.userId,
      created_at: now,
    })
    .returning<PaymentRow[]>("*");
  const closed = await closeIfSettled(trx, id, now);
  await appendAudit(trx, ctx, {
    action: "trusteeship.principal_return",
    entityType: "trusteeship",
    entityId: id,
    countyCode: t.county_code,
    before: { principal_returned: Money.format(t.principal_returned), status: t.status },
    after: { principal_returned: Money.format(t.principal), returned_on: on, payment_id: payment.id, journal_entry_id: entryId, linked_loan_id: t.linked_loan_id, repaid_to_loan: linked.toLoan, closed },
  });
  return { payment: paymentView(payment), trusteeship: await fullView(trx, ctx, id), ...(linked.repayment !== undefined ? { loan_repayment: linked.repayment } : {}) };
}
