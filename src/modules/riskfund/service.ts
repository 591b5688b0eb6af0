import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, invalidState, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { transaction } from "../../db/transaction.js";
import { raiseAlert } from "../../lib/alerts.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry, registerPartyBalanceCheck } from "../../lib/ledger.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import { arrearsOf, closeByCompensation, findLoan, lockLoan, PORTFOLIO_BY_BANK_AND_COUNTY_SQL, portfolioOf, registerDisbursementCheck } from "../loans/index.js";
import { capAllows, compensationSplit, leverage, nplAbove, PAY_WITHIN_DAYS, recoverySplit } from "./model.js";
import { bankCountyScope, type BreakerRow, type ClaimRow, findFund, type FundRow, obligationsOf } from "./queries.js";
import type { BreakerLift, BreakerQuery, CompensationCreate, CompensationDecision, DepositCreate, FundCreate, FundQuery, RecoveryCreate } from "./schemas.js";
import { addDays } from "../../lib/dates.js";
import { statusLabel } from "../../lib/labels.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  RISK_FUND_CAP_EXCEEDED: {
    status: 422,
    title: { zh: "超过风险补偿金放大倍数", en: "Above the risk-fund lending cap" },
    description: { zh: "放款后本行在本县的扶贫小额信贷余额将超过补偿金余额 × 放大倍数。", en: "The disbursement would make the bank's outstanding poverty loans in the county exceed the fund balance × leverage cap (docs/DOMAIN.md#risk-fund)." },
  },
  CIRCUIT_BREAKER_TRIPPED: {
    status: 422,
    title: { zh: "已熔断", en: "Circuit breaker on" },
    description: { zh: "本行在本县的新增放款已暂停，直至县里解除熔断。", en: "New disbursements of this bank in this county are stopped until the county lifts the circuit breaker (熔断)." },
  },
  CIRCUIT_BREAKER_CONDITION_HOLDS: {
    status: 422,
    title: { zh: "熔断条件仍然存在", en: "Breaker condition still holds" },
    description: { zh: "不良率仍高于阈值（或补偿金仍不足以覆盖其应付义务）；不能解除熔断。", en: "The NPL ratio is still above the threshold (or the fund is still short of its obligations); the breaker cannot be lifted." },
  },
  RISK_FUND_EXISTS: {
    status: 409,
    title: { zh: "补偿金已存在", en: "Fund exists" },
    description: { zh: "本行在本县已有风险补偿金。", en: "The bank already has a risk fund in this county." },
  },
  RISK_FUND_INSUFFICIENT: {
    status: 422,
    title: { zh: "补偿金余额不足", en: "Fund balance insufficient" },
    description: { zh: "补偿金余额不足以支付此次补偿。", en: "The fund's balance does not cover this compensation." },
  },
  COMPENSATION_NOT_ELIGIBLE: {
    status: 422,
    title: { zh: "贷款不符合补偿条件", en: "Loan not eligible for compensation" },
    description: { zh: "贷款逾期天数达到补偿金阈值（默认 90 天）且已记录催收措施后方可补偿。", en: "A loan is compensated once it is DPD ≥ the fund's threshold (default 90) and collection actions are recorded." },
  },
  COMPENSATION_STALE: {
    status: 409,
    title: { zh: "申请后贷款已变化", en: "Loan changed since the claim" },
    description: { zh: "申请后贷款的未还金额发生变化；请拒绝后重新申请。", en: "The loan's unpaid amounts changed after the claim was made; reject it and claim again." },
  },
  SAME_MAKER_CHECKER: {
    status: 422,
    title: { zh: "审核分离", en: "Maker-checker" },
    description: { zh: "生成公共资金申领（贴息或风险补偿）的人不能审批；须由另一名工作人员审批。", en: "The person who generated a claim on a public fund (subsidy or compensation) may not approve it; another officer must." },
  },
  COMPENSATION_OVER_RECOVERY: {
    status: 422,
    title: { zh: "追偿超过损失", en: "Recovery above the loss" },
    description: { zh: "已补偿贷款的追偿合计不超过其损失。", en: "Recoveries of a compensated loan add up to at most its loss." },
  },
});

const FUND_ADMINS = ["admin", "finance_officer"] as const;
const READERS = ["admin", "finance_officer", "regulator", "loan_officer", "bank_manager"] as const;
const fmt = (v: Dec | string) => Money.format(v);
const iso = (d: Date | string) => new Date(d).toISOString();
const loanStatus = (s: string) => statusLabel("loan", s, "zh");
const claimStatus = (s: string) => statusLabel("compensation_claim", s, "zh");

// ---------- funds ----------

async function fundView(db: Db, f: FundRow) {
  const p = await portfolioOf(db, f.county_code, f.bank_id);
  const balance = new D(f.balance);
  const cap = balance.mul(f.leverage_cap);
  const lev = leverage(new D(p.outstanding), balance);
  return {
    id: f.id,
    county_code: f.county_code,
    bank_id: f.bank_id,
    name: f.name,
    balance: fmt(balance),
    leverage_cap: new D(f.leverage_cap).toString(),
    fund_share: Rate.format(f.fund_share),
    npl_threshold: Rate.format(f.npl_threshold),
    compensation_dpd: f.compensation_dpd,
    outstanding: fmt(p.outstanding),
    lending_cap: fmt(Money.toFen(cap)),
    headroom: fmt(Money.toFen(cap.minus(p.outstanding))),
    leverage: lev === null ? null : lev.toFixed(4),
    obligations: fmt(await obligationsOf(db, f.id)),
    created_at: iso(f.created_at),
  };
}

export async function createFund(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof FundCreate>) {
  requireRole(ctx.actor, ...FUND_ADMINS);
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  if (!(await trx("banks").where({ id: input.bank_id }).first())) throw notFound("bank");
  if (new D(input.fund_share).gt(1) || new D(input.fund_share).lte(0)) throw new AppError("VALIDATION_FAILED", { zh: "补偿金分担比例 fund_share 须大于 0 且不超过 1", en: "fund_share is above 0 and at most 1" }, [{ path: "body.fund_share", message: { zh: "须满足 0 < 比例 ≤ 1", en: "0 < share ≤ 1" } }]);
  if (new D(input.npl_threshold).gte(1) || new D(input.npl_threshold).lte(0)) throw new AppError("VALIDATION_FAILED", { zh: "不良率阈值 npl_threshold 须在 0 与 1 之间", en: "npl_threshold is between 0 and 1" }, [{ path: "body.npl_threshold", message: { zh: "须满足 0 < 阈值 < 1", en: "0 < threshold < 1" } }]);
  if (new D(input.leverage_cap).lte(0)) throw new AppError("VALIDATION_FAILED", { zh: "放大倍数 leverage_cap 须大于 0", en: "leverage_cap is above 0" }, [{ path: "body.leverage_cap", message: { zh: "须大于 0", en: "above 0" } }]);
  const rows = await trx("risk_funds")
    .insert({ county_code: input.county_code, bank_id: input.bank_id, name: input.name, leverage_cap: input.leverage_cap, fund_share: input.fund_share, npl_threshold: input.npl_threshold, compensation_dpd: input.compensation_dpd, created_by: ctx.actor.userId })
    .onConflict(["county_code", "bank_id"])
    .ignore()
    .returning<FundRow[]>("*");
  if (rows.length === 0) throw new AppError("RISK_FUND_EXISTS", { zh: "该银行在本县已有风险补偿金", en: "The bank already has a risk fund in this county" }, undefined, 409);
  const view = await fundView(trx, rows[0]);
  await appendAudit(trx, ctx, { action: "risk_fund.create", entityType: "risk_fund", entityId: rows[0].id, countyCode: input.county_code, after: view });
  return view;
}

export async function listFunds(db: Db, actor: Actor, q: z.infer<typeof FundQuery>) {
  requireRole(actor, ...READERS);
  const query = bankCountyScope(db("risk_funds").select("*"), actor, "risk_funds");
  if (q.county_code) query.andWhere("county_code", q.county_code);
  if (q.bank_id) query.andWhere("bank_id", q.bank_id);
  const { rows, next_cursor } = await page<FundRow & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  const items = [];
  for (const r of rows) items.push(await fundView(db, r));
  return { items, next_cursor };
}

export async function getFund(db: Db, actor: Actor, id: string) {
  requireRole(actor, ...READERS);
  const f = await findFund(db, actor, id);
  if (!f) throw notFound("risk fund");
  return fundView(db, f);
}

async function moveFund(trx: Knex.Transaction, f: FundRow, m: { kind: "DEPOSIT" | "COMPENSATION" | "RECOVERY"; amount: Dec; on: string; reference?: string | null; refId?: string | null; entryId: string | null; actorId: string | null }) {
  const [updated] = await trx("risk_funds")
    .where({ id: f.id })
    .update({ balance: trx.raw("balance + ?", [fmt(m.amount)]), version: trx.raw("version + 1"), updated_at: trx.fn.now() })
    .returning<FundRow[]>("*");
  const [mv] = await trx("risk_fund_movements")
    .insert({ fund_id: f.id, county_code: f.county_code, kind: m.kind, amount: fmt(m.amount), balance_after: updated.balance, movement_date: m.on, reference: m.reference ?? null, ref_id: m.refId ?? null, journal_entry_id: m.entryId, actor_id: m.actorId })
    .returning<{ id: string; balance_after: string; reference: string | null }[]>("*");
  return { fund: updated, movement: mv };
}

/** A deposit into the fund (the county pays in): Dr 1501 fund cash / Cr 3001 fund capital, both party = fund. */
export async function deposit(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof DepositCreate>) {
  requireRole(ctx.actor, ...FUND_ADMINS);
  const f = await findFund(trx, ctx.actor, id, { forUpdate: true });
  if (!f) throw notFound("risk fund");
  const amount = Money.of(input.amount);
  if (amount.lte(0)) throw new AppError("VALIDATION_FAILED", { zh: "金额须大于零", en: "amount is above zero" }, [{ path: "body.amount", message: { zh: "须大于 0.00", en: "above 0.00" } }]);
  const on = ctx.clock.today();
  const entryId = await postJournalEntry(trx, {
    countyCode: f.county_code,
    entryDate: on,
    kind: "risk_fund.deposit",
    refType: "risk_fund",
    refId: f.id,
    memo: input.reference ? `deposit ${input.reference}` : "deposit",
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.FUND_CASH, debit: fmt(amount), partyType: "risk_fund", partyId: f.id },
      { account: ACCOUNTS.FUND_CAPITAL, credit: fmt(amount), partyType: "risk_fund", partyId: f.id },
    ],
  });
  const { fund, movement } = await moveFund(trx, f, { kind: "DEPOSIT", amount, on, reference: input.reference, entryId, actorId: ctx.actor.userId });
  const view = { id: movement.id, fund_id: f.id, kind: "DEPOSIT", amount: fmt(amount), balance_after: fmt(movement.balance_after), movement_date: on, reference: movement.reference, fund: await fundView(trx, fund) };
  await appendAudit(trx, ctx, { action: "risk_fund.deposit", entityType: "risk_fund", entityId: f.id, countyCode: f.county_code, before: { balance: fmt(f.balance) }, after: view });
  return view;
}

// ---------- the disbursement check (called by the loans module) ----------

/**
 * Refuses a disbursement of a bank in a county while its circuit breaker is tripped, or when the
 * bank's outstanding poverty loans there plus this amount would exceed the fund balance × leverage
 * cap (equal is allowed). Locks the fund row, so concurrent disbursements of the bank in the county
 * are checked one after the other. A bank with no fund in the county is not capped (the county has
 * not put it under a fund).
 */
export async function checkDisbursement(trx: Knex.Transaction, loan: { county_code: string; bank_id: string; amount: string }): Promise<void> {
  const breaker = await trx("circuit_breakers").where({ county_code: loan.county_code, bank_id: loan.bank_id, status: "TRIPPED" }).first<BreakerRow | undefined>();
  if (breaker) {
    throw new AppError("CIRCUIT_BREAKER_TRIPPED", {
      zh: `该银行在县 ${loan.county_code} 的扶贫小额信贷自 ${breaker.tripped_on} 起已熔断（不良率 ${Rate.format(breaker.npl_ratio)}，高于阈值 ${Rate.format(breaker.threshold)}）；不良率回落到阈值以下后由县里解除熔断`,
      en: `Poverty lending of this bank in county ${loan.county_code} is stopped since ${breaker.tripped_on} (NPL ratio ${Rate.format(breaker.npl_ratio)} over ${Rate.format(breaker.threshold)}); the county lifts it once the ratio is back under`,
    });
  }
  const fund = await trx("risk_funds").where({ county_code: loan.county_code, bank_id: loan.bank_id }).forUpdate().first<FundRow | undefined>();
  if (!fund) return;
  const p = await portfolioOf(trx, loan.county_code, loan.bank_id);
  const amount = new D(loan.amount);
  if (!capAllows(new D(p.outstanding), amount, new D(fund.balance), new D(fund.leverage_cap))) {
    const cap = Money.toFen(new D(fund.balance).mul(fund.leverage_cap));
    throw new AppError(
      "RISK_FUND_CAP_EXCEEDED",
      {
        zh: `贷款余额 ${fmt(p.outstanding)} 元 + 本笔 ${fmt(amount)} 元 = ${fmt(amount.plus(p.outstanding))} 元，超过放款上限 ${fmt(cap)} 元（补偿金余额 ${fmt(fund.balance)} 元 × 放大倍数 ${new D(fund.leverage_cap).toString()}）`,
        en: `Outstanding ${fmt(p.outstanding)} + this ${fmt(amount)} = ${fmt(amount.plus(p.outstanding))} exceeds the lending cap ${fmt(cap)} (fund balance ${fmt(fund.balance)} × ${new D(fund.leverage_cap).toString()})`,
      },
    );
  }
}

registerDisbursementCheck("risk-fund", checkDisbursement);

// ---------- compensation ----------

function claimView(c: ClaimRow) {
  return {
    id: c.id,
    county_code: c.county_code,
    bank_id: c.bank_id,
    fund_id: c.fund_id,
    loan_id: c.loan_id,
    status: c.status,
    dpd: c.dpd,
    collection_actions: c.collection_actions,
    unpaid_principal: fmt(c.unpaid_principal),
    unpaid_interest: fmt(c.unpaid_interest),
    loss: fmt(c.loss),
    fund_share: Rate.format(c.fund_share),
    fund_amount: fmt(c.fund_amount),
    bank_amount: fmt(c.bank_amount),
    recovered: fmt(c.recovered),
    fund_recovered: fmt(c.fund_recovered),
    submitted_on: c.submitted_on,
    decided_on: c.decided_on,
    pay_by: c.pay_by,
    paid_on: c.paid_on,
    note: c.note,
    decision_note: c.decision_note,
  };
}

/** The bank claims a non-performing loan: DPD ≥ the fund's threshold and collection tried. Loss = unpaid principal + unpaid normal interest. */
export async function createCompensation(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof CompensationCreate>) {
  requireRole(ctx.actor, "loan_officer", "bank_manager");
  const loan = await findLoan(trx, ctx.actor, input.loan_id, { forUpdate: true });
  if (!loan) throw notFound("loan");
  if (loan.status !== "DISBURSED" && loan.status !== "EXTENDED") throw invalidState({ zh: `贷款状态为${loanStatus(loan.status)}；代偿只适用于尚未还清的贷款`, en: `The loan is ${loan.status}; compensation is for a loan still owed` });
  const fund = await trx("risk_funds").where({ county_code: loan.county_code, bank_id: loan.bank_id }).first<FundRow | undefined>();
  if (!fund) throw new AppError("COMPENSATION_NOT_ELIGIBLE", { zh: "该银行在本县没有风险补偿金", en: "The bank has no risk fund in this county" });
  const on = ctx.clock.today();
  const a = await arrearsOf(trx, loan.id, on);
  if (a.dpd < fund.compensation_dpd) throw new AppError("COMPENSATION_NOT_ELIGIBLE", { zh: `贷款逾期 ${a.dpd} 天；申请代偿须逾期 ${fund.compensation_dpd} 天及以上`, en: `The loan is ${a.dpd} days past due; a claim needs ${fund.compensation_dpd} or more` });
  if (a.actions === 0) throw new AppError("COMPENSATION_NOT_ELIGIBLE", { zh: "该贷款尚未记录催收措施（POST /loans/{id}/collection-actions）", en: "No collection action is recorded on the loan (POST /loans/{id}/collection-actions)" });
  if (await trx("compensation_claims").where({ loan_id: loan.id }).whereNot({ status: "REJECTED" }).first()) throw new AppError("CONFLICT", { zh: "该贷款已有代偿申请", en: "The loan already has a compensation claim" });
  const split = compensationSplit(new D(loan.outstanding_principal), new D(a.unpaid_interest), new D(fund.fund_share));
  const [row] = await trx("compensation_claims")
    .insert({
      county_code: loan.county_code,
      bank_id: loan.bank_id,
      fund_id: fund.id,
      loan_id: loan.id,
      status: "SUBMITTED",
      dpd: a.dpd,
      collection_actions: a.actions,
      unpaid_principal: fmt(loan.outstanding_principal),
      unpaid_interest: fmt(a.unpaid_interest),
      loss: fmt(split.loss),
      fund_share: fund.fund_share,
      fund_amount: fmt(split.fundAmount),
      bank_amount: fmt(split.bankAmount),
      submitted_on: on,
      submitted_by: ctx.actor.userId,
      note: input.note ?? null,
    })
    .returning<ClaimRow[]>("*");
  const view = claimView(row);
  await appendAudit(trx, ctx, { action: "compensation.submit", entityType: "compensation_claim", entityId: row.id, countyCode: row.county_code, after: view });
  return view;
}

async function loadClaim(trx: Knex.Transaction, actor: Actor, id: string): Promise<ClaimRow> {
  const c = await bankCountyScope(trx("compensation_claims").where("compensation_claims.id", id), actor, "compensation_claims").forUpdate().first<ClaimRow | undefined>();
  if (!c) throw notFound("compensation claim");
  return c;
}

export async function getCompensation(db: Db, actor: Actor, id: string) {
  requireRole(actor, ...READERS);
  const c = await bankCountyScope(db("compensation_claims").where("compensation_claims.id", id), actor, "compensation_claims").first<ClaimRow | undefined>();
  if (!c) throw notFound("compensation claim");
  return claimView(c);
}

export async function decideCompensation(trx: Knex.Transaction, ctx: Ctx, id: string, decision: "approve" | "reject", input: z.infer<typeof CompensationDecision>) {
  requireRole(ctx.actor, "finance_officer");
  const c = await loadClaim(trx, ctx.actor, id);
  if (c.status !== "SUBMITTED") throw invalidState({ zh: `代偿申请状态为${claimStatus(c.status)}；只有${claimStatus("SUBMITTED")}的代偿申请才能审批或拒绝`, en: `The claim is ${c.status}; only a SUBMITTED claim is decided` });
  // Maker-checker: the roles already differ (the bank claims, finance decides), but a user whose
  // role changed since submitting the claim is still its maker.
  if (c.submitted_by === ctx.actor.userId) throw new AppError("SAME_MAKER_CHECKER", { zh: "这笔代偿申请由您提交；须由财政局另一名工作人员审批（审核分离）", en: "You submitted this compensation claim; another finance officer must decide it (maker-checker)" });
  const on = ctx.clock.today();
  const [row] = await trx("compensation_claims")
    .where({ id })
    .update({ status: decision === "approve" ? "APPROVED" : "REJECTED", decided_on: on, decided_by: ctx.actor.userId, decision_note: input.note ?? null, pay_by: decision === "approve" ? addDays(on, PAY_WITHIN_DAYS) : null, updated_at: ctx.clock.now() })
    .returning<ClaimRow[]>("*");
  const view = claimView(row);
  await appendAudit(trx, ctx, { action: `compensation.${decision}`, entityType: "compensation_claim", entityId: id, countyCode: c.county_code, before: { status: c.status }, after: view });
  return view;
}

/**
 * The fund pays its share: the bank receives it (Dr 1001), the loan's principal leaves the books
 * (Cr 1301; the bank's uncovered principal to Dr 5001 loan losses; the interest the fund covers to
 * Cr 4001), and the fund's cash and capital go down (Dr 3001 / Cr 1501). The loan is COMPENSATED.
 */
export async function payCompensation(trx: Knex.Transaction, ctx: Ctx, id: string) {
  requireRole(ctx.actor, "finance_officer");
  const c = await loadClaim(trx, ctx.actor, id);
  if (c.status !== "APPROVED") throw invalidState({ zh: `代偿申请状态为${claimStatus(c.status)}；只有${claimStatus("APPROVED")}的代偿申请才能拨付`, en: `The claim is ${c.status}; only an APPROVED claim is paid` });
  const fund = await trx("risk_funds").where({ id: c.fund_id }).forUpdate().first<FundRow>();
  const loan = await lockLoan(trx, c.loan_id);
  const on = ctx.clock.today();
  const a = await arrearsOf(trx, c.loan_id, on);
  if (!loan || (loan.status !== "DISBURSED" && loan.status !== "EXTENDED") || !new D(loan.outstanding_principal).eq(c.unpaid_principal) || !new D(a.unpaid_interest).eq(c.unpaid_interest)) {
    throw new AppError("COMPENSATION_STALE", { zh: "申请代偿后贷款已还款、结清或发生变化；请拒绝该申请后重新申请", en: "The loan was repaid, closed or changed since the claim; reject it and claim again" }, undefined, 409);
  }
  const fundAmount = new D(c.fund_amount);
  if (new D(fund.balance).lt(fundAmount)) throw new AppError("RISK_FUND_INSUFFICIENT", { zh: `补偿金余额为 ${fmt(fund.balance)} 元；本次代偿需要 ${fmt(fundAmount)} 元`, en: `The fund holds ${fmt(fund.balance)}; the claim needs ${fmt(fundAmount)}` });
  const split = compensationSplit(new D(c.unpaid_principal), new D(c.unpaid_interest), new D(c.fund_share));
  const principal = new D(c.unpaid_principal);
  const entryId = await postJournalEntry(trx, {
    countyCode: c.county_code,
    entryDate: on,
    kind: "risk_fund.compensation",
    refType: "compensation_claim",
    refId: id,
    memo: `compensation of loan ${c.loan_id}`,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.CASH, debit: fmt(fundAmount), partyType: "bank", partyId: c.bank_id },
      { account: ACCOUNTS.LOAN_LOSSES, debit: fmt(principal.minus(split.fundPrincipal)), partyType: "loan", partyId: c.loan_id },
      { account: ACCOUNTS.LOAN_PRINCIPAL, credit: fmt(principal), partyType: "loan", partyId: c.loan_id },
      { account: ACCOUNTS.INTEREST_INCOME, credit: fmt(split.fundInterest), partyType: "loan", partyId: c.loan_id },
      { account: ACCOUNTS.FUND_CAPITAL, debit: fmt(fundAmount), partyType: "risk_fund", partyId: fund.id },
      { account: ACCOUNTS.FUND_CASH, credit: fmt(fundAmount), partyType: "risk_fund", partyId: fund.id },
    ],
  });
  await moveFund(trx, fund, { kind: "COMPENSATION", amount: fundAmount.neg(), on, refId: id, entryId, actorId: ctx.actor.userId });
  await closeByCompensation(trx, ctx, loan, on);
  const [row] = await trx("compensation_claims").where({ id }).update({ status: "PAID", paid_on: on, paid_by: ctx.actor.userId, payment_entry_id: entryId, updated_at: ctx.clock.now() }).returning<ClaimRow[]>("*");
  const view = claimView(row);
  await appendAudit(trx, ctx, { action: "compensation.pay", entityType: "compensation_claim", entityId: id, countyCode: c.county_code, before: { status: c.status, fund_balance: fmt(fund.balance) }, after: view });
  return view;
}

/**
 * A recovery on a compensated loan: shared back in the claim's ratio. The bank keeps its part
 * (Dr 1001 / Cr 5001, the loss shrinks) and the fund's part returns to it (Dr 1501 / Cr 3001).
 */
export async function addRecovery(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RecoveryCreate>) {
  requireRole(ctx.actor, "loan_officer", "bank_manager");
  const c = await loadClaim(trx, ctx.actor, id);
  if (c.status !== "PAID") throw invalidState({ zh: `代偿申请状态为${claimStatus(c.status)}；追偿款只能在代偿${claimStatus("PAID")}后登记`, en: `The claim is ${c.status}; recoveries follow a paid compensation` });
  const amount = Money.of(input.amount);
  if (amount.lte(0)) throw new AppError("VALIDATION_FAILED", { zh: "金额须大于零", en: "amount is above zero" }, [{ path: "body.amount", message: { zh: "须大于 0.00", en: "above 0.00" } }]);
  const left = new D(c.loss).minus(c.recovered);
  if (amount.gt(left)) throw new AppError("COMPENSATION_OVER_RECOVERY", { zh: `损失 ${fmt(c.loss)} 元中仅剩 ${fmt(left)} 元待追偿`, en: `Only ${fmt(left)} of the loss ${fmt(c.loss)} is left to recover` });
  const { fundPart, bankPart } = recoverySplit(amount, new D(c.recovered), new D(c.fund_recovered), new D(c.fund_share));
  const on = ctx.clock.today();
  const fund = await trx("risk_funds").where({ id: c.fund_id }).forUpdate().first<FundRow>();
  const entryId = await postJournalEntry(trx, {
    countyCode: c.county_code,
    entryDate: on,
    kind: "risk_fund.recovery",
    refType: "compensation_claim",
    refId: id,
    memo: input.reference ? `recovery ${input.reference}` : "recovery",
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.CASH, debit: fmt(bankPart), partyType: "bank", partyId: c.bank_id },
      { account: ACCOUNTS.LOAN_LOSSES, credit: fmt(bankPart), partyType: "loan", partyId: c.loan_id },
      { account: ACCOUNTS.FUND_CASH, debit: fmt(fundPart), partyType: "risk_fund", partyId: fund.id },
      { account: ACCOUNTS.FUND_CAPITAL, credit: fmt(fundPart), partyType: "risk_fund", partyId: fund.id },
    ],
  });
  if (fundPart.gt(0)) await moveFund(trx, fund, { kind: "RECOVERY", amount: fundPart, on, reference: input.reference, refId: id, entryId, actorId: ctx.actor.userId });
  const [rec] = await trx("compensation_recoveries")
    .insert({ claim_id: id, county_code: c.county_code, recovered_on: on, amount: fmt(amount), fund_part: fmt(fundPart), bank_part: fmt(bankPart), reference: input.reference ?? null, journal_entry_id: entryId, actor_id: ctx.actor.userId })
    .returning<{ id: string; reference: string | null }[]>("*");
  const [row] = await trx("compensation_claims")
    .where({ id })
    .update({ recovered: trx.raw("recovered + ?", [fmt(amount)]), fund_recovered: trx.raw("fund_recovered + ?", [fmt(fundPart)]), updated_at: ctx.clock.now() })
    .returning<ClaimRow[]>("*");
  const view = { id: rec.id, claim_id: id, recovered_on: on, amount: fmt(amount), fund_part: fmt(fundPart), bank_part: fmt(bankPart), reference: rec.reference, claim: claimView(row) };
  await appendAudit(trx, ctx, { action: "compensation.recovery", entityType: "compensation_claim", entityId: id, countyCode: c.county_code, after: view });
  return view;
}

// ---------- circuit breakers ----------

function breakerView(b: BreakerRow) {
  return {
    id: b.id,
    county_code: b.county_code,
    bank_id: b.bank_id,
    status: b.status,
    reason: b.reason,
    tripped_on: b.tripped_on,
    outstanding_principal: fmt(b.outstanding_principal),
    npl_principal: fmt(b.npl_principal),
    npl_ratio: Rate.format(b.npl_ratio),
    threshold: Rate.format(b.threshold),
    fund_balance: b.fund_balance === null ? null : fmt(b.fund_balance),
    fund_obligations: b.fund_obligations === null ? null : fmt(b.fund_obligations),
    last_evaluated_on: b.last_evaluated_on,
    last_npl_ratio: Rate.format(b.last_npl_ratio),
    lifted_on: b.lifted_on,
    lifted_by: b.lifted_by,
    lift_npl_ratio: b.lift_npl_ratio === null ? null : Rate.format(b.lift_npl_ratio),
    lift_note: b.lift_note,
  };
}

/** Every bank × county poverty portfolio with its NPL, threshold and fund position, as a SQL fragment. */
const PORTFOLIO_STATE = `
  portfolio AS (${PORTFOLIO_BY_BANK_AND_COUNTY_SQL}),
  obligations AS (
    SELECT fund_id, sum(fund_amount) AS due FROM compensation_claims WHERE status IN ('SUBMITTED', 'APPROVED') GROUP BY fund_id),
  state AS (
    SELECT coalesce(p.county_code, f.county_code) AS county_code, coalesce(p.bank_id, f.bank_id) AS bank_id,
           coalesce(p.outstanding, 0) AS outstanding, coalesce(p.npl, 0) AS npl,
           CASE WHEN coalesce(p.outstanding, 0) = 0 THEN 0 ELSE round(p.npl / p.outstanding, 6) END AS ratio,
           coalesce(f.npl_threshold, 0.03) AS threshold, f.balance, CASE WHEN f.id IS NULL THEN NULL ELSE coalesce(o.due, 0) END AS obligations,
           coalesce(p.npl, 0) > coalesce(f.npl_threshold, 0.03) * coalesce(p.outstanding, 0) AS npl_over,
           coalesce(f.balance < coalesce(o.due, 0), false) AS fund_short
      FROM portfolio p
      FULL JOIN risk_funds f ON f.county_code = p.county_code AND f.bank_id = p.bank_id
      LEFT JOIN obligations o ON o.fund_id = f.id)`;

/**
 * Checks every bank × county poverty portfolio on a business date, set-based: an NPL ratio (DPD >
 * 90 principal / outstanding principal) above the threshold, or a fund balance below the fund's
 * shares of submitted and approved compensation claims, trips the breaker (one open breaker per bank
 * and county; a rerun for the date trips nothing twice). Open breakers record the latest ratio.
 * Raises an alert per trip and a warning for portfolios near the threshold (≥ 80% of it); also the
 * payment alert of docs/DOMAIN.md#alerts: compensation approved and unpaid past its 30 days (a
 * subsidy claim unpaid after approval is the subsidies module's daily reminder).
 */
export async function evaluateCircuitBreakers(db: Db, businessDate: string, opts: { now?: Date; requestId?: string } = {}) {
  return transaction(db, (trx) => evaluateIn(trx, businessDate, opts));
}

async function evaluateIn(db: Knex.Transaction, businessDate: string, opts: { now?: Date; requestId?: string }) {
  const now = opts.now ?? new Date();
  const tripped = await db.raw<{ rows: BreakerRow[] }>(
    `WITH ${PORTFOLIO_STATE}
     INSERT INTO circuit_breakers (county_code, bank_id, status, reason, tripped_on, outstanding_principal, npl_principal, npl_ratio, threshold,
                                   fund_balance, fund_obligations, last_evaluated_on, last_npl_ratio)
     SELECT county_code, bank_id, 'TRIPPED', CASE WHEN npl_over AND fund_short THEN 'BOTH' WHEN npl_over THEN 'NPL_RATIO' ELSE 'FUND_SHORTFALL' END,
            ?::date, outstanding, npl, ratio, threshold, balance, obligations, ?::date, ratio
       FROM state WHERE npl_over OR fund_short
     ON CONFLICT (county_code, bank_id) WHERE status = 'TRIPPED' DO NOTHING
     RETURNING *`,
    [businessDate, businessDate],
  );
  const refreshed = await db.raw(
    `WITH ${PORTFOLIO_STATE}
     UPDATE circuit_breakers b SET last_evaluated_on = ?::date, last_npl_ratio = s.ratio, updated_at = now()
       FROM state s WHERE b.status = 'TRIPPED' AND b.county_code = s.county_code AND b.bank_id = s.bank_id`,
    [businessDate],
  );
  const near = await db.raw<{ rows: { county_code: string; bank_id: string; ratio: string; threshold: string }[] }>(
    `WITH ${PORTFOLIO_STATE}
     SELECT county_code, bank_id, ratio::text, threshold::text FROM state WHERE NOT npl_over AND npl >= 0.8 * threshold * outstanding AND npl > 0`,
  );
  for (const b of tripped.rows) {
    await raiseAlert(
      db,
      {
        countyCode: b.county_code,
        kind: "circuit_breaker.tripped",
        severity: "CRITICAL",
        entityType: "circuit_breaker",
        entityId: b.id,
        bankId: b.bank_id,
        message: `熔断 / circuit breaker tripped: NPL ratio ${Rate.format(b.npl_ratio)} (threshold ${Rate.format(b.threshold)})${b.reason !== "NPL_RATIO" ? `, fund ${fmt(b.fund_balance ?? "0")} below obligations ${fmt(b.fund_obligations ?? "0")}` : ""}; new disbursements stopped`,
        details: { reason: b.reason, npl_ratio: Rate.format(b.npl_ratio), threshold: Rate.format(b.threshold), outstanding: fmt(b.outstanding_principal), npl: fmt(b.npl_principal) },
        businessDate,
      },
      now,
    );
  }
  // A portfolio no longer near the threshold (or now tripped) clears its warning.
  await db("alerts")
    .where({ kind: "circuit_breaker.npl_near", entity_type: "bank_county" })
    .whereNull("cleared_at")
    .whereNotIn("entity_id", near.rows.map((n) => `${n.bank_id}:${n.county_code}`))
    .update({ cleared_at: now, updated_at: now });
  for (const n of near.rows) {
    await raiseAlert(
      db,
      {
        countyCode: n.county_code,
        kind: "circuit_breaker.npl_near",
        severity: "WARNING",
        entityType: "bank_county",
        entityId: `${n.bank_id}:${n.county_code}`,
        bankId: n.bank_id,
        message: `不良率接近熔断线 / NPL ratio ${Rate.format(n.ratio)} near the threshold ${Rate.format(n.threshold)}`,
        details: { npl_ratio: Rate.format(n.ratio), threshold: Rate.format(n.threshold) },
        businessDate,
      },
      now,
    );
  }
  if (tripped.rows.length > 0) {
    const ctx: AuditActor = { actor: null, requestId: opts.requestId ?? "", clock: { now: () => now, today: () => businessDate } };
    await appendAudit(
      db,
      ctx,
      tripped.rows.map((b) => ({ action: "circuit_breaker.trip", entityType: "circuit_breaker", entityId: b.id, countyCode: b.county_code, after: breakerView(b) })),
    );
  }
  // Compensation approved and not paid within 30 days, and subsidy batches unpaid 30 days after approval (docs/DOMAIN.md#alerts).
  await db.raw(
    `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, message, details, business_date, raised_at, updated_at)
     SELECT county_code, 'compensation.unpaid', 'WARNING', 'compensation_claim', id::text, bank_id,
            format('风险补偿逾期未拨付 / compensation of %s due by %s is unpaid', fund_amount, pay_by), jsonb_build_object('pay_by', pay_by, 'fund_amount', fund_amount::text),
            ?::date, now(), now()
       FROM compensation_claims WHERE status = 'APPROVED' AND pay_by < ?::date
     ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL DO NOTHING`,
    [businessDate, businessDate],
  );
  await db.raw(
    `UPDATE alerts a SET cleared_at = now(), updated_at = now() FROM compensation_claims c
      WHERE a.kind = 'compensation.unpaid' AND a.entity_type = 'compensation_claim' AND a.entity_id = c.id::text AND a.cleared_at IS NULL AND c.status <> 'APPROVED'`,
  );
  const open = await db("circuit_breakers").where({ status: "TRIPPED" }).count<{ n: string }[]>("* as n");
  return { business_date: businessDate, evaluated: Number((refreshed as { rowCount?: number }).rowCount ?? 0) + tripped.rows.length, tripped: tripped.rows.length, open: Number(open[0].n) };
}

export async function listBreakers(db: Db, actor: Actor, q: z.infer<typeof BreakerQuery>) {
  requireRole(actor, ...READERS);
  const query = bankCountyScope(db("circuit_breakers").select("*"), actor, "circuit_breakers");
  for (const k of ["status", "county_code", "bank_id"] as const) if (q[k]) query.andWhere(k, q[k]);
  const { rows, next_cursor } = await page<BreakerRow & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(breakerView), next_cursor };
}

/** The county admin lifts a breaker once the NPL ratio is back under the threshold (and the fund covers its obligations); recorded. */
export async function liftBreaker(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof BreakerLift>) {
  requireRole(ctx.actor, "admin");
  const b = await trx("circuit_breakers").where({ id }).whereIn("county_code", ctx.actor.countyCodes).forUpdate().first<BreakerRow | undefined>();
  if (!b) throw notFound("circuit breaker");
  if (b.status !== "TRIPPED") throw invalidState({ zh: `该熔断已于 ${b.lifted_on} 解除`, en: `The breaker was lifted on ${b.lifted_on}` });
  const p = await portfolioOf(trx, b.county_code, b.bank_id);
  const fund = await trx("risk_funds").where({ county_code: b.county_code, bank_id: b.bank_id }).first<FundRow | undefined>();
  const threshold = new D(fund?.npl_threshold ?? b.threshold);
  const outstanding = new D(p.outstanding);
  const npl = new D(p.npl);
  const ratio = outstanding.isZero() ? new D(0) : npl.div(outstanding);
  if (nplAbove(npl, outstanding, threshold)) {
    throw new AppError("CIRCUIT_BREAKER_CONDITION_HOLDS", { zh: `不良率为 ${ratio.toFixed(6)}，仍高于阈值 ${Rate.format(threshold)}`, en: `The NPL ratio is ${ratio.toFixed(6)}, still above the threshold ${Rate.format(threshold)}` });
  }
  if (fund && new D(fund.balance).lt(await obligationsOf(trx, fund.id))) {
    throw new AppError("CIRCUIT_BREAKER_CONDITION_HOLDS", { zh: `补偿金余额 ${fmt(fund.balance)} 元仍不足以覆盖其代偿义务`, en: `The fund's balance ${fmt(fund.balance)} is still below its compensation obligations` });
  }
  const [row] = await trx("circuit_breakers")
    .where({ id })
    .update({ status: "LIFTED", lifted_on: ctx.clock.today(), lifted_by: ctx.actor.userId, lift_npl_ratio: ratio.toFixed(6), lift_note: input.note, updated_at: ctx.clock.now() })
    .returning<BreakerRow[]>("*");
  await trx("alerts").where({ kind: "circuit_breaker.tripped", entity_type: "circuit_breaker", entity_id: id }).whereNull("cleared_at").update({ cleared_at: ctx.clock.now(), updated_at: ctx.clock.now() });
  const view = breakerView(row);
  await appendAudit(trx, ctx, { action: "circuit_breaker.lift", entityType: "circuit_breaker", entityId: id, countyCode: b.county_code, before: { status: b.status }, after: view });
  return view;
}

// ---------- reconciliation ----------

registerPartyBalanceCheck({
  name: "risk_fund_cash",
  description: "Each risk fund's cash (account 1501, party = fund) equals its balance",
  account: ACCOUNTS.FUND_CASH,
  partyType: "risk_fund",
  recordsSql: `SELECT id, county_code, balance AS amount FROM risk_funds`,
});
