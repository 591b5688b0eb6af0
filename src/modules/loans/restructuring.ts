/** Extension (展期), renewal (无还本续贷), write-off and collection actions. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, invalidState, notFound } from "../../http/errors.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { statusLabel } from "../../lib/labels.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { D, Money } from "../../lib/money.js";
import { subsidyTermsOf } from "./household-interest.js";
import {
  daysPastDue,
  dpdBucket,
  isNonPerforming,
  maturityOf,
  unpaidInterest,
  unpaidPenalty,
} from "./model.js";
import { addDays } from "../../lib/dates.js";
import { findLoan, insertPeriods, type LoanRow, productById, toState, versionsInForce } from "./queries.js";
import type { CollectionActionCreate, Extend, Renew, WriteOff } from "./schemas.js";
import { BANK_STAFF, expectContractNoFree, expectStatus, fmt, iso, loadForChange, saveLoan } from "./common.js";
import { checkCredit, checkHouseholdAndBorrower, checkProduct, checkProductLimits, disbursementSchedule } from "./origination.js";
import { priceLoan } from "./products.js";
import { rescheduleFuture } from "./repayment.js";
import { saveScheduleBase } from "./value-dates.js";
import { accruedToDate, currentPeriod, endCurrentPeriod, isActive, periodsAsOf, standingColumns, statesAsOf, termsFor } from "./standing.js";
import { loanView } from "./views.js";
import { lockHousehold } from "../register/index.js";

export async function extend(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof Extend>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "DISBURSED", "EXTENDED");
  const on = ctx.clock.today();
  if (loan.extended_on || loan.status === "EXTENDED") throw new AppError("LOAN_EXTENSION_USED", { zh: `该贷款已于 ${loan.extended_on} 展期`, en: `The loan was already extended on ${loan.extended_on}` });
  if (on >= loan.maturity_date!) throw new AppError("LOAN_EXTENSION_AFTER_MATURITY", { zh: `该贷款于 ${loan.maturity_date} 到期；须在到期前办理展期`, en: `The loan matures on ${loan.maturity_date}; an extension must be made before` });
  const rows = (await periodsAsOf(trx, id, on)).rows;
  const states = statesAsOf(loan, rows, on);
  if (daysPastDue(states, loan.grace_days, on) > 0) throw new AppError("LOAN_EXTENSION_OVERDUE", { zh: "该贷款有逾期金额；须先还清才能展期", en: "The loan has overdue amounts; they must be paid before an extension" });
  const maturity = maturityOf(loan.disbursed_on!, loan.term_months + input.months);
  const balance = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due).minus(r.principal_paid)));
  const after = await rescheduleFuture(trx, loan, rows, on, { balance, maturity });
  await saveScheduleBase(trx, loan, on, "EXTENSION", after);
  const standing = standingColumns(loan, after.map(toState), after, on);
  const row = await saveLoan(trx, id, { status: "EXTENDED", maturity_date: maturity, extended_on: on, extension_months: input.months, decision_note: input.reason, ...standing }, ctx.clock.now());
  const view = loanView(row);
  await appendAudit(trx, ctx, { action: "loan.extend", entityType: "loan", entityId: id, countyCode: loan.county_code, before: { status: loan.status, maturity_date: loan.maturity_date }, after: view });
  return view;
}

export async function renew(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof Renew>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "DISBURSED", "EXTENDED");
  const on = ctx.clock.today();
  if (on < addDays(loan.maturity_date!, -30) || on > loan.maturity_date!) {
    throw new AppError("LOAN_RENEWAL_WINDOW", {
      zh: `续贷可在 ${addDays(loan.maturity_date!, -30)} 至到期日 ${loan.maturity_date} 办理`,
      en: `Renewal is possible from ${addDays(loan.maturity_date!, -30)} through the maturity date ${loan.maturity_date}`,
    });
  }
  const rows = (await periodsAsOf(trx, id, on)).rows;
  const states = statesAsOf(loan, rows, on);
  if (daysPastDue(states, loan.grace_days, on) > 0) throw new AppError("LOAN_RENEWAL_OVERDUE", { zh: "该贷款有逾期金额；续贷只适用于正常贷款", en: "The loan has overdue amounts; a renewal is for a performing loan" });
  await lockHousehold(trx, loan.household_id);
  const oldProduct = loan.product_id ? await productById(trx, loan.product_id) : undefined;
  const productId = input.product_id ?? (await versionsInForce(trx, { bankId: loan.bank_id, countyCode: loan.county_code, code: oldProduct?.code ?? "" }, on).first<{ id: string } | undefined>())?.id;
  const product = checkProduct(productId ? await productById(trx, productId) : undefined, { bankId: loan.bank_id, countyCode: loan.county_code, on });
  const method = input.repayment_method ?? (product.repayment_methods.includes(loan.repayment_method) ? loan.repayment_method : product.repayment_methods[0]);
  const balance = new D(loan.outstanding_principal);
  checkProductLimits(product, balance, input.term_months, method);
  await checkHouseholdAndBorrower(trx, loan.household_id, loan.borrower_member_id, on);
  const ratingId = await checkCredit(trx, { householdId: loan.household_id, amount: balance, on, excludeLoanId: loan.id });
  const price = await priceLoan(trx, product, input.term_months, on);

  // Old loan: everything due and the current period's interest to date is collected; the principal moves.
  let penalty = new D(0);
  let interest = new D(0);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    const s = states[k];
    if (r.due_date > on) continue;
    penalty = penalty.plus(unpaidPenalty(s));
    interest = interest.plus(unpaidInterest(s));
    await trx("loan_schedule_periods")
      .where({ loan_id: id, seq: r.seq })
      .update({
        principal_paid: r.principal_due,
        interest_paid: r.interest_due,
        penalty_accrued: s.penaltyAccrued.toFixed(10),
        penalty_through: s.penaltyThrough,
        penalty_paid: fmt(Money.toFen(s.penaltyAccrued)),
        status: "PAID",
        settled_on: r.settled_on ?? on,
      });
  }
  const cur = currentPeriod(rows, on);
  if (cur) {
    const accrued = accruedToDate(loan, cur, on, await termsFor(trx, loan, cur));
    interest = interest.plus(accrued.household);
    await endCurrentPeriod(trx, loan, rows, cur, on, accrued);
  }

  const maturity = maturityOf(on, input.term_months);
  if (input.contract_no !== undefined) await expectContractNoFree(trx, loan.bank_id, input.contract_no);
  const [created] = await trx("loans")
    .insert({
      county_code: loan.county_code,
      village_code: loan.village_code,
      bank_id: loan.bank_id,
      household_id: loan.household_id,
      borrower_member_id: loan.borrower_member_id,
      product_id: product.id,
      status: "DISBURSED",
      amount: fmt(balance),
      outstanding_principal: fmt(balance),
      annual_rate: price.rate,
      rate_basis: price.basis,
      lpr_date: price.lprDate,
      term_months: input.term_months,
      repayment_method: method,
      purpose: loan.purpose,
      purpose_detail: loan.purpose_detail,
      penalty_markup: product.penalty_markup,
      grace_days: product.grace_days,
      rating_id: ratingId,
      applied_on: on,
      decided_on: on,
      disbursed_on: on,
      maturity_date: maturity,
      original_maturity_date: maturity,
      officer_id: loan.officer_id,
      approver_id: ctx.actor.userId,
      decision_note: input.reason,
      renewed_from_loan_id: loan.id,
      standing_date: on,
      contract_no: input.contract_no ?? null,
    })
    .returning<LoanRow[]>("*");
  const { periods, rows: newRows } = disbursementSchedule({ ...created, annual_rate: price.rate }, await subsidyTermsOf(trx, created), on);
  await saveScheduleBase(trx, created, on, "DISBURSEMENT", await insertPeriods(trx, newRows));
  const newLoan = await saveLoan(trx, created.id, { cur_period_start: periods[0].accrualStart, cur_period_end: periods[0].accrualEnd, cur_period_interest: newRows[0].interest_due }, ctx.clock.now());
  const oldLoan = await saveLoan(
    trx,
    id,
    { status: "RENEWED", outstanding_principal: "0.00", renewed_to_loan_id: created.id, closed_on: on, dpd: 0, dpd_bucket: "CURRENT", overdue_principal: "0.00", overdue_interest: "0.00", penalty_due: "0.00", standing_date: on },
    ctx.clock.now(),
  );
  const entryId = await postJournalEntry(trx, {
    countyCode: loan.county_code,
    entryDate: on,
    kind: "loan.renewal",
    refType: "loan",
    refId: id,
    memo: `renewal into ${created.id}`,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.LOAN_PRINCIPAL, debit: fmt(balance), partyType: "loan", partyId: created.id },
      { account: ACCOUNTS.LOAN_PRINCIPAL, credit: fmt(balance), partyType: "loan", partyId: id },
      { account: ACCOUNTS.CASH, debit: fmt(interest.plus(penalty)), partyType: "bank", partyId: loan.bank_id },
      { account: ACCOUNTS.INTEREST_INCOME, credit: fmt(interest), partyType: "loan", partyId: id },
      { account: ACCOUNTS.PENALTY_INCOME, credit: fmt(penalty), partyType: "loan", partyId: id },
    ],
  });
  await trx("loan_repayments").insert({
    loan_id: id,
    county_code: loan.county_code,
    bank_id: loan.bank_id,
    paid_on: on,
    entered_on: on,
    amount: fmt(balance.plus(interest).plus(penalty)),
    penalty: fmt(penalty),
    interest: fmt(interest),
    principal: fmt(balance),
    prepayment: "0.00",
    kind: "RENEWAL",
    source: "OTHER",
    reference: `renewed into ${created.id}`,
    allocation: JSON.stringify([]),
    journal_entry_id: entryId,
    actor_id: ctx.actor.userId,
  });
  const result = { old_loan: loanView(oldLoan), new_loan: loanView(newLoan), interest_collected: fmt(interest.plus(penalty)) };
  await appendAudit(trx, ctx, [
    { action: "loan.renew", entityType: "loan", entityId: id, countyCode: loan.county_code, before: { status: loan.status, outstanding_principal: fmt(loan.outstanding_principal) }, after: result.old_loan },
    { action: "loan.renewal_disburse", entityType: "loan", entityId: created.id, countyCode: loan.county_code, after: result.new_loan },
  ]);
  return result;
}

export async function writeOff(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof WriteOff>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "DISBURSED", "EXTENDED");
  const on = ctx.clock.today();
  const rows = (await periodsAsOf(trx, id, on)).rows;
  const dpd = daysPastDue(statesAsOf(loan, rows, on), loan.grace_days, on);
  if (!isNonPerforming(dpd)) throw new AppError("LOAN_WRITE_OFF_NOT_NPL", {
      zh: `该贷款逾期 ${dpd} 天；只有不良贷款（逾期超过 90 天）可以核销`,
      en: `The loan is ${dpd} days past due; only a non-performing loan (DPD > 90) may be written off`,
    });
  const principal = new D(loan.outstanding_principal);
  await trx("loan_schedule_periods").where({ loan_id: id }).whereNotIn("status", ["PAID"]).update({ status: "CLOSED" });
  const row = await saveLoan(
    trx,
    id,
    { status: "WRITTEN_OFF", outstanding_principal: "0.00", written_off_principal: fmt(principal), closed_on: on, decision_note: input.reason, dpd, dpd_bucket: dpdBucket(dpd), standing_date: on },
    ctx.clock.now(),
  );
  await postJournalEntry(trx, {
    countyCode: loan.county_code,
    entryDate: on,
    kind: "loan.write_off",
    refType: "loan",
    refId: id,
    memo: input.reason,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.LOAN_LOSSES, debit: fmt(principal), partyType: "loan", partyId: id },
      { account: ACCOUNTS.LOAN_PRINCIPAL, credit: fmt(principal), partyType: "loan", partyId: id },
    ],
  });
  const view = loanView(row);
  await appendAudit(trx, ctx, { action: "loan.write_off", entityType: "loan", entityId: id, countyCode: loan.county_code, before: { status: loan.status, outstanding_principal: fmt(principal) }, after: view });
  return view;
}

export async function addCollectionAction(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof CollectionActionCreate>) {
  requireRole(ctx.actor, ...BANK_STAFF, "village_officer");
  const loan = await findLoan(trx, ctx.actor, id);
  if (!loan) throw notFound("loan");
  if (!isActive(loan) && loan.status !== "WRITTEN_OFF" && loan.status !== "COMPENSATED") {
    throw invalidState({ zh: `贷款状态为${statusLabel("loan", loan.status, "zh")}；催收只针对仍有欠款的贷款`, en: `The loan is ${loan.status}; collection is for loans still owed` });
  }
  const [row] = await trx("loan_collection_actions")
    .insert({ loan_id: id, county_code: loan.county_code, action_date: ctx.clock.today(), method: input.method, result: input.result, note: input.note ?? null, promised_date: input.promised_date ?? null, actor_id: ctx.actor.userId })
    .returning("*");
  const view = { ...row, created_at: iso(row.created_at) };
  await appendAudit(trx, ctx, { action: "loan.collection_action", entityType: "loan", entityId: id, countyCode: loan.county_code, after: view });
  return view;
}
