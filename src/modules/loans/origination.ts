/** Application, eligibility, decisions (maker-checker), cancellation and disbursement. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { statusLabel } from "../../lib/labels.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { type Dec, D } from "../../lib/money.js";
import { creditLineFor } from "./credit.js";
import { runDisbursementChecks } from "./operations.js";
import { splitInterest, type SubsidyTerms, subsidyTermsOf } from "./household-interest.js";
import { ageOn, buildSchedule, maturityOf, overdueFrom, type RepaymentMethod } from "./model.js";
import { householdExposure, insertPeriods, type LoanRow, periodRows, type PeriodRow, productById, type ProductRow, savePeriods, toState } from "./queries.js";
import { standingColumns } from "./standing.js";
import { checkValueDate, closeDates, closedThrough, daysBackOf, forfeitAllOf, saveScheduleBase } from "./value-dates.js";
import type { Decision, Disburse, LoanApply } from "./schemas.js";
import { BANK_STAFF, ELIGIBLE_HOUSEHOLD, expectContractNoFree, expectStatus, fmt, HOUSEHOLD_CAP, loadForChange, saveLoan } from "./common.js";
import { priceLoan } from "./products.js";
import { loanView } from "./views.js";
import { lockHousehold } from "../register/index.js";

type Db = Knex | Knex.Transaction;

export interface EligibilityInput {
  householdId: string;
  amount: Dec;
  on: string;
  excludeLoanId?: string;
  /** Principal of a loan this one replaces (renewal): not counted against the line. */
  replacing?: Dec;
}

/** docs/DOMAIN.md#credit-line: the household's credit line and the 50,000 household cap. Returns the rating used. */
export async function checkCredit(db: Db, e: EligibilityInput): Promise<string | null> {
  const credit = await creditLineFor(db, e.householdId, e.on);
  if (!credit || !credit.rating_id || new D(credit.line).lte(0)) {
    throw new AppError("LOAN_NO_EFFECTIVE_RATING", { zh: `农户在 ${e.on} 没有授信额度大于零的有效评级`, en: `The household has no effective rating with a credit line above zero on ${e.on}` });
  }
  const exposure = await householdExposure(db, e.householdId, e.excludeLoanId);
  const replacing = e.replacing ?? new D(0);
  const total = new D(exposure.active).plus(exposure.pending).minus(replacing).plus(e.amount);
  if (total.gt(credit.line)) {
    throw new AppError(
      "LOAN_ABOVE_CREDIT_LINE",
      {
        zh: `未结清 ${fmt(exposure.active)} + 待审批 ${fmt(exposure.pending)}${replacing.isZero() ? "" : ` − 被替换 ${fmt(replacing)}`} + 本笔 ${fmt(e.amount)} = ${fmt(total)}，超过授信额度 ${fmt(credit.line)}（等级 ${credit.grade ?? "?"}）`,
        en: `Outstanding ${fmt(exposure.active)} + pending ${fmt(exposure.pending)}${replacing.isZero() ? "" : ` − replaced ${fmt(replacing)}`} + this ${fmt(e.amount)} = ${fmt(total)} exceeds the credit line ${fmt(credit.line)} (grade ${credit.grade ?? "?"})`,
      },
    );
  }
  if (total.gt(HOUSEHOLD_CAP)) {
    throw new AppError("LOAN_ABOVE_HOUSEHOLD_CAP", {
      zh: `农户的扶贫小额信贷合计将达 ${fmt(total)}，超过上限 ${fmt(HOUSEHOLD_CAP)}`,
      en: `The household's poverty loans would total ${fmt(total)}, above the cap of ${fmt(HOUSEHOLD_CAP)}`,
    });
  }
  return credit.rating_id;
}

export async function checkHouseholdAndBorrower(db: Db, householdId: string, memberId: string, on: string) {
  const h = await db("households").where({ id: householdId }).first<{ id: string; status: string; county_code: string; village_code: string } | undefined>();
  if (!h) throw notFound("household");
  if (!ELIGIBLE_HOUSEHOLD.includes(h.status)) {
    throw new AppError("LOAN_HOUSEHOLD_NOT_ELIGIBLE", {
      zh: `农户状态为${statusLabel("household", h.status, "zh")}；扶贫小额信贷只面向贫困户、脱贫户和监测户`,
      en: `The household's status is ${h.status}; poverty loans are for POOR, EXITED and MONITORED households`,
    });
  }
  const m = await db("household_members").where({ id: memberId }).first<{ household_id: string; birth_date: string } | undefined>();
  if (!m || m.household_id !== householdId) throw new AppError("LOAN_BORROWER_NOT_MEMBER", { zh: "借款人不是该农户的家庭成员", en: "The borrower is not a member of this household" });
  const age = ageOn(m.birth_date, on);
  if (age < 18 || age > 65) throw new AppError("LOAN_BORROWER_AGE", { zh: `借款人在 ${on} 为 ${age} 周岁；申请时须为 18 至 65 周岁`, en: `The borrower is ${age} on ${on}; a borrower must be 18 to 65 at application` });
  return h;
}

export function checkProduct(product: ProductRow | undefined, loan: { bankId: string; countyCode: string; on: string }): ProductRow {
  if (!product || product.bank_id !== loan.bankId || product.county_code !== loan.countyCode || product.effective_from > loan.on) {
    throw new AppError("LOAN_PRODUCT_NOT_AVAILABLE", {
      zh: "该产品不是本行在农户所在县于该日期生效的产品",
      en: "The product is not one of your bank's products in force in the household's county on this date",
    });
  }
  return product;
}

export function checkProductLimits(p: ProductRow, amount: Dec, termMonths: number, method: RepaymentMethod, purpose?: string) {
  if (amount.gt(p.max_amount)) throw new AppError("LOAN_ABOVE_PRODUCT_AMOUNT", { zh: `金额 ${fmt(amount)} 超过产品上限 ${fmt(p.max_amount)}`, en: `The amount ${fmt(amount)} exceeds the product's maximum ${fmt(p.max_amount)}` });
  if (termMonths > p.max_term_months) throw new AppError("LOAN_ABOVE_PRODUCT_TERM", { zh: `期限 ${termMonths} 个月超过产品上限 ${p.max_term_months} 个月`, en: `The term ${termMonths} months exceeds the product's maximum ${p.max_term_months}` });
  if (!p.repayment_methods.includes(method)) throw new AppError("LOAN_METHOD_NOT_OFFERED", { zh: `该产品提供的还款方式为 ${p.repayment_methods.join("、")}`, en: `The product offers ${p.repayment_methods.join(", ")}` });
  if (purpose !== undefined && !p.allowed_purposes.includes(purpose)) throw new AppError("LOAN_PURPOSE_NOT_ALLOWED", { zh: `该产品允许的用途为 ${p.allowed_purposes.join("、")}`, en: `The product allows ${p.allowed_purposes.join(", ")}` });
}

export async function applyLoan(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof LoanApply>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  const on = ctx.clock.today();
  const hh = await trx("households").where({ id: input.household_id }).whereIn("county_code", ctx.actor.countyCodes).first();
  if (!hh) throw notFound("household");
  // One application at a time per household: serialise on the household row.
  await lockHousehold(trx, input.household_id);
  const product = checkProduct(await productById(trx, input.product_id), { bankId: ctx.actor.bankId!, countyCode: hh.county_code, on });
  const method = input.repayment_method ?? product.repayment_methods[0];
  const amount = new D(input.amount);
  checkProductLimits(product, amount, input.term_months, method, input.purpose);
  await checkHouseholdAndBorrower(trx, input.household_id, input.borrower_member_id, on);
  const ratingId = await checkCredit(trx, { householdId: input.household_id, amount, on });
  const price = await priceLoan(trx, product, input.term_months, on);
  const [row] = await trx("loans")
    .insert({
      county_code: hh.county_code,
      village_code: hh.village_code,
      bank_id: ctx.actor.bankId,
      household_id: input.household_id,
      borrower_member_id: input.borrower_member_id,
      product_id: product.id,
      status: "APPLIED",
      amount: fmt(amount),
      outstanding_principal: "0.00",
      annual_rate: price.rate,
      rate_basis: price.basis,
      lpr_date: price.lprDate,
      term_months: input.term_months,
      repayment_method: method,
      purpose: input.purpose,
      purpose_detail: input.purpose_detail ?? null,
      penalty_markup: product.penalty_markup,
      grace_days: product.grace_days,
      rating_id: ratingId,
      applied_on: on,
      officer_id: ctx.actor.userId,
    })
    .returning<LoanRow[]>("*");
  const view = loanView(row);
  await appendAudit(trx, ctx, { action: "loan.apply", entityType: "loan", entityId: row.id, countyCode: row.county_code, after: view });
  return view;
}

export async function decide(trx: Knex.Transaction, ctx: Ctx, id: string, decision: "approve" | "reject", input: z.infer<typeof Decision>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "APPLIED");
  if (loan.officer_id === ctx.actor.userId) throw new AppError("LOAN_MAKER_CHECKER", {
      zh: "此申请由您受理；须由另一名银行行长审批（审贷分离）",
      en: "You took this application; another bank manager must decide it (maker-checker)",
    });
  const row = await saveLoan(
    trx,
    id,
    { status: decision === "approve" ? "APPROVED" : "REJECTED", approver_id: ctx.actor.userId, decided_on: ctx.clock.today(), decision_note: input.note ?? null },
    ctx.clock.now(),
  );
  const view = loanView(row);
  await appendAudit(trx, ctx, { action: `loan.${decision}`, entityType: "loan", entityId: id, countyCode: loan.county_code, before: { status: loan.status }, after: view });
  return view;
}

export async function cancel(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof Decision>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "APPLIED", "APPROVED");
  const row = await saveLoan(trx, id, { status: "CANCELLED", closed_on: ctx.clock.today(), decision_note: input.note ?? loan.decision_note }, ctx.clock.now());
  const view = loanView(row);
  await appendAudit(trx, ctx, { action: "loan.cancel", entityType: "loan", entityId: id, countyCode: loan.county_code, before: { status: loan.status }, after: view });
  return view;
}

/** What a disbursement needs of a loan to write its schedule. */
export type ScheduledLoan = Pick<LoanRow, "id" | "county_code" | "grace_days" | "amount" | "repayment_method" | "term_months"> & { annual_rate: string };

/**
 * The schedule a disbursement on `on` writes: maturity, the periods of the method, and the stored
 * rows with the contract interest split into the household's part and the TO_BANK subsidy share.
 * The schedule preview (preview.ts) calls this same function, so a preview is what a disbursement writes.
 */
export function disbursementSchedule(loan: ScheduledLoan, terms: SubsidyTerms | null, on: string) {
  const maturity = maturityOf(on, loan.term_months);
  const periods = buildSchedule({ method: loan.repayment_method, principal: loan.amount, annualRate: loan.annual_rate, disbursedOn: on, maturityDate: maturity });
  const rows = splitInterest(terms, periodRows(loan, periods, (due) => overdueFrom(due, loan.grace_days)));
  return { maturity, periods, rows };
}

export async function disburse(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof Disburse>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "APPROVED");
  await runDisbursementChecks(trx, loan); // circuit breaker and risk-fund lending cap, registered by the risk fund (docs/DOMAIN.md#risk-fund)
  const today = ctx.clock.today();
  const on = input.value_date ?? today;
  if (on < today) checkValueDate(on, { today, latest: loan.decided_on, daysBack: await daysBackOf(trx, loan.county_code) });
  await lockHousehold(trx, loan.household_id);
  await checkHouseholdAndBorrower(trx, loan.household_id, loan.borrower_member_id, loan.applied_on);
  const ratingId = await checkCredit(trx, { householdId: loan.household_id, amount: new D(loan.amount), on, excludeLoanId: loan.id });
  const terms = await subsidyTermsOf(trx, { ...loan, disbursed_on: on });
  const { maturity, periods, rows } = disbursementSchedule({ ...loan, annual_rate: loan.annual_rate! }, terms, on);
  const stored = await insertPeriods(trx, rows);
  await saveScheduleBase(trx, loan, on, "DISBURSEMENT", stored);
  if (input.contract_no !== undefined) await expectContractNoFree(trx, loan.bank_id, input.contract_no);
  const first = periods[0];
  let row = await saveLoan(
    trx,
    id,
    {
      status: "DISBURSED",
      disbursed_on: on,
      maturity_date: maturity,
      original_maturity_date: maturity,
      outstanding_principal: loan.amount,
      rating_id: ratingId,
      cur_period_start: first.accrualStart,
      cur_period_end: first.accrualEnd,
      cur_period_interest: rows[0].interest_due,
      standing_date: on,
      ...(input.contract_no !== undefined ? { contract_no: input.contract_no } : {}),
    },
    ctx.clock.now(),
  );
  const closed = on < today ? await closedThrough(trx) : null;
  if (closed && on <= closed) row = await closeSinceValueDate(trx, ctx, row, stored, on, closed);
  await postJournalEntry(trx, {
    countyCode: loan.county_code,
    entryDate: on,
    kind: "loan.disbursement",
    refType: "loan",
    refId: id,
    memo: input.reference ? `disbursement ${input.reference}` : "disbursement",
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.LOAN_PRINCIPAL, debit: fmt(loan.amount), partyType: "loan", partyId: id },
      { account: ACCOUNTS.CASH, credit: fmt(loan.amount), partyType: "bank", partyId: loan.bank_id },
    ],
  });
  const view = loanView(row);
  await appendAudit(trx, ctx, { action: "loan.disburse", entityType: "loan", entityId: id, countyCode: loan.county_code, before: { status: loan.status }, after: { ...view, periods: periods.length } });
  return view;
}

/** A loan disbursed with a value date the close of business has already passed: its closes since, as they would have run. */
async function closeSinceValueDate(trx: Knex.Transaction, ctx: Ctx, loan: LoanRow, stored: PeriodRow[], on: string, closed: string): Promise<LoanRow> {
  const standing = standingColumns(loan, stored.map(toState), stored, on);
  const after = closeDates(loan, stored, standing, on, closed, await forfeitAllOf(trx, loan));
  await savePeriods(trx, loan.id, stored, after.rows);
  return saveLoan(trx, loan.id, after.standing, ctx.clock.now());
}
