/** Approval, payment of the shares, returned payments and reversal. */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { z } from "zod";
import { AppError } from "../../http/errors.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { Money } from "../../lib/money.js";
import { postPaymentBatch } from "./queries.js";
import type { PayBody, ReturnBody, ReverseBody } from "./schemas.js";
import { notInState, PAYERS } from "./common.js";
import { locked, reload } from "./compute.js";
import { reverseEntries } from "./notice.js";
import { distributionView, incomesOf } from "./views.js";

/**
 * The regulator approves (oversight right). The income is recognised and put in the pool, and
 * the collective's part (retention, earmarks, cap excess) leaves the pool at once:
 *   1001 cash ← 4101 asset return income (per report); 4101 → 2301 pool; 2301 → 5201 collective.
 * What stays in the pool is exactly the households' shares.
 */
export async function approveDistribution(trx: Knex.Transaction, ctx: Ctx, id: string) {
  const d = await locked(trx, ctx, id, ["regulator"]);
  if (d.status !== "NOTICED") throw notInState(d.status, { zh: "只有公示中的收益分配可以审批", en: "only a noticed one is approved" });
  const open = await trx("distribution_objections").where({ distribution_id: id, status: "OPEN" }).count<{ n: number }[]>({ n: "*" });
  if (Number(open[0].n) > 0) throw new AppError("OPEN_OBJECTIONS", { zh: `公示还有 ${open[0].n} 条异议未处理`, en: `${open[0].n} objection(s) to the notice are still open` }, undefined, 409);
  const incomes = await incomesOf(trx, id);
  const today = ctx.clock.today();
  const common = { countyCode: d.county_code, entryDate: today, refType: "distribution", refId: id, actorId: ctx.actor.userId };
  const pool = { account: ACCOUNTS.DISTRIBUTION_POOL, partyType: "distribution", partyId: id } as const;
  await postJournalEntry(trx, {
    ...common,
    kind: "distribution.income",
    memo: `asset return income ${d.period}`,
    lines: [
      { account: ACCOUNTS.CASH, debit: d.income_total, partyType: "distribution", partyId: id },
      ...incomes.map((i) => ({ account: ACCOUNTS.ASSET_RETURN_INCOME, credit: Money.format(i.amount), partyType: "return_report", partyId: i.report_id })),
    ],
  });
  await postJournalEntry(trx, {
    ...common,
    kind: "distribution.pool",
    memo: `income into the distribution pool ${d.period}`,
    lines: [
      { account: ACCOUNTS.ASSET_RETURN_INCOME, debit: d.income_total, partyType: "distribution", partyId: id },
      { ...pool, credit: d.income_total },
    ],
  });
  const collective = { account: ACCOUNTS.COLLECTIVE_RETENTION, partyType: "village", partyId: d.village_code } as const;
  await postJournalEntry(trx, {
    ...common,
    kind: "distribution.retention",
    memo: "collective retention, earmarks and cap excess",
    lines: [
      { ...pool, debit: d.collective_total },
      { ...collective, credit: d.retention_amount },
      ...d.earmarks.map((e) => ({ ...collective, credit: Money.format(e.amount) })),
      { ...collective, credit: d.cap_excess },
    ],
  });
  await trx("distributions").where({ id }).update({ status: "APPROVED", approved_by: ctx.actor.userId, approved_at: ctx.clock.now(), version: d.version + 1, updated_at: ctx.clock.now() });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.approve", entityType: "distribution", entityId: id, countyCode: d.county_code, before: { status: d.status }, after: { status: after.status, approved_by: after.approved_by } });
  return distributionView(trx, after);
}

/** Completes the distribution when no share is left to pay (all paid or returned). */
export async function closeIfDone(trx: Knex.Transaction, id: string, paidOn: string): Promise<void> {
  const left = await trx("distribution_shares").where({ distribution_id: id }).whereIn("payment_status", ["PENDING", "FAILED"]).count<{ n: number }[]>({ n: "*" });
  if (Number(left[0].n) === 0) await trx("distributions").where({ id }).update({ status: "PAID", paid_on: paidOn });
}

/**
 * Records a bank batch: every listed (or every unpaid) share is PAID with its bank reference, the
 * listed failures stay unpaid (FAILED) for a retry or a return, and one journal entry takes the
 * paid shares out of the pool. Refused before the notice period ends.
 */
export async function payDistribution(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof PayBody>) {
  const d = await locked(trx, ctx, id, PAYERS);
  if (d.status !== "APPROVED") throw notInState(d.status, { zh: "只有已审批的收益分配可以兑付", en: "only an approved one is paid" });
  const today = ctx.clock.today();
  const paidOn = input.paid_on ?? today;
  if (today < d.payable_from! || paidOn < d.payable_from!) {
    throw new AppError("NOTICE_PERIOD_NOT_OVER", { zh: `${d.notice_date} 开始的公示为期 7 天：${d.payable_from} 起方可兑付`, en: `The notice of ${d.notice_date} runs 7 days: payable from ${d.payable_from}` });
  }
  if (paidOn > today) {
    throw new AppError("VALIDATION_FAILED", { zh: "兑付日期不能晚于今天", en: "The payment date is in the future" }, [{ path: "body.paid_on", message: { zh: "不能晚于今天", en: "not after today" } }]);
  }
  const failed = new Set(input.failures.map((f) => f.household_id));
  if (input.payments?.some((p) => failed.has(p.household_id))) {
    throw new AppError("VALIDATION_FAILED", { zh: "同一农户既列为已兑付又列为兑付失败", en: "A household is both paid and failed" }, [
      { path: "body.failures", message: { zh: "不能同时出现在 payments 中", en: "not also in payments" } },
    ]);
  }
  const listed = [...(input.payments ?? []).map((p) => p.household_id), ...failed];
  if (listed.length) {
    const open = await trx("distribution_shares").where({ distribution_id: id }).whereIn("household_id", listed).whereIn("payment_status", ["PENDING", "FAILED"]).pluck("household_id");
    const missing = listed.filter((h) => !open.includes(h));
    if (missing.length) {
      const some = missing.slice(0, 5).join(", ");
      throw new AppError("INVALID_STATE", { zh: `不是该收益分配中未兑付的份额：${some}`, en: `Not an unpaid share of this distribution: ${some}` });
    }
  }
  const batchId = randomUUID();
  if (input.payments) {
    await trx.raw(
      `UPDATE distribution_shares s SET payment_status = 'PAID', bank_reference = p.bank_reference, paid_on = ?::date, payment_batch = ?::uuid,
         failure_reason = NULL, attempts = s.attempts + 1
       FROM json_to_recordset(?::json) AS p(household_id uuid, bank_reference text)
       WHERE s.distribution_id = ?::uuid AND s.household_id = p.household_id AND s.payment_status IN ('PENDING', 'FAILED')`,
      [paidOn, batchId, JSON.stringify(input.payments), id],
    );
  } else {
    await trx.raw(
      `UPDATE distribution_shares s SET payment_status = 'PAID', bank_reference = ? || ':' || h.household_no, paid_on = ?::date, payment_batch = ?::uuid,
         failure_reason = NULL, attempts = s.attempts + 1
       FROM households h
       WHERE s.distribution_id = ?::uuid AND h.id = s.household_id AND s.payment_status IN ('PENDING', 'FAILED')
         AND s.household_id NOT IN (SELECT (jsonb_array_elements_text(?::jsonb))::uuid)`,
      [input.batch_reference, paidOn, batchId, id, JSON.stringify([...failed])],
    );
  }
  for (const f of input.failures) {
    await trx("distribution_shares")
      .where({ distribution_id: id, household_id: f.household_id })
      .update({ payment_status: "FAILED", failure_reason: f.reason, attempts: trx.raw("attempts + 1") });
  }
  const paid = await trx("distribution_shares").where({ payment_batch: batchId }).select<{ household_id: string; amount: string; bank_reference: string }[]>("household_id", "amount", "bank_reference");
  const total = Money.sum(paid.map((p) => p.amount));
  let entryId: string | null = null;
  if (total.gt(0)) {
    entryId = await postPaymentBatch(trx, {
      distributionId: id,
      countyCode: d.county_code,
      batchId,
      entryDate: paidOn,
      total: Money.format(total),
      actorId: ctx.actor.userId,
      memo: `dividend payment batch ${input.batch_reference}`,
    });
  }
  await trx("distributions")
    .where({ id })
    .update({ paid_total: Money.format(Money.of(d.paid_total).plus(total)), version: d.version + 1, updated_at: ctx.clock.now() });
  await closeIfDone(trx, id, paidOn);
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, [
    {
      action: "distribution.pay",
      entityType: "distribution",
      entityId: id,
      countyCode: d.county_code,
      before: { status: d.status, paid_total: d.paid_total },
      after: { status: after.status, paid_total: after.paid_total, batch_reference: input.batch_reference, paid: paid.length, failed: input.failures, journal_entry_id: entryId },
    },
    ...paid.map((p) => ({
      action: "distribution.share.paid",
      entityType: "household",
      entityId: p.household_id,
      countyCode: d.county_code,
      after: { distribution_id: id, amount: Money.format(p.amount), bank_reference: p.bank_reference, paid_on: paidOn },
    })),
  ]);
  return distributionView(trx, after);
}

/** Failed shares given up (e.g. the account is closed): they leave the pool back to the collective. */
export async function returnShares(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ReturnBody>) {
  const d = await locked(trx, ctx, id, PAYERS);
  if (d.status !== "APPROVED") throw notInState(d.status, { zh: "只有已审批的收益分配可以退回份额", en: "shares are returned from an approved one" });
  const ids = [...new Set(input.household_ids)];
  const rows = await trx("distribution_shares").where({ distribution_id: id, payment_status: "FAILED" }).whereIn("household_id", ids).select<{ household_id: string; amount: string }[]>("household_id", "amount");
  if (rows.length !== ids.length) throw new AppError("INVALID_STATE", { zh: "只能退回该收益分配中兑付失败的份额", en: "Only failed shares of this distribution are returned" });
  await trx("distribution_shares").where({ distribution_id: id }).whereIn("household_id", ids).update({ payment_status: "RETURNED", failure_reason: input.reason });
  const total = Money.sum(rows.map((r) => r.amount));
  const entryId = await postJournalEntry(trx, {
    countyCode: d.county_code,
    entryDate: ctx.clock.today(),
    kind: "distribution.returned",
    refType: "distribution",
    refId: id,
    memo: `unpaid shares returned to the collective: ${input.reason}`,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.DISTRIBUTION_POOL, debit: total, partyType: "distribution", partyId: id },
      { account: ACCOUNTS.COLLECTIVE_RETENTION, credit: total, partyType: "village", partyId: d.village_code },
    ],
  });
  await trx("distributions")
    .where({ id })
    .update({ returned_total: Money.format(Money.of(d.returned_total).plus(total)), version: d.version + 1, updated_at: ctx.clock.now() });
  await closeIfDone(trx, id, ctx.clock.today());
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, [
    { action: "distribution.return", entityType: "distribution", entityId: id, countyCode: d.county_code, after: { returned: rows.length, total: Money.format(total), reason: input.reason, journal_entry_id: entryId, status: after.status } },
    ...rows.map((r) => ({ action: "distribution.share.returned", entityType: "household", entityId: r.household_id, countyCode: d.county_code, after: { distribution_id: id, amount: Money.format(r.amount), reason: input.reason } })),
  ]);
  return distributionView(trx, after);
}

/**
 * Corrects a paid (or approved) distribution the only way allowed: every entry it posted is
 * reversed, it becomes REVERSED, and its income is released for a corrected distribution.
 */
export async function reverseDistribution(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ReverseBody>) {
  const d = await locked(trx, ctx, id, ["regulator"]);
  if (d.status !== "PAID" && d.status !== "APPROVED") throw notInState(d.status, { zh: "草稿或公示中的收益分配应重新计算，不能冲正", en: "a DRAFT or NOTICED one is recomputed, not reversed" });
  const reversed = await reverseEntries(trx, ctx, d, input.reason);
  const now = ctx.clock.now();
  await trx("distribution_incomes").where({ distribution_id: id }).whereNull("released_at").update({ released_at: now });
  await trx("distributions").where({ id }).update({ status: "REVERSED", reversed_at: now, reversal_reason: input.reason, version: d.version + 1, updated_at: now });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.reverse", entityType: "distribution", entityId: id, countyCode: d.county_code, before: { status: d.status }, after: { status: after.status, reason: input.reason, entries_reversed: reversed } });
  return distributionView(trx, after);
}
