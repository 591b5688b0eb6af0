import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, invalidState, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { type AuditActor, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry, registerPartyBalanceCheck } from "../../lib/ledger.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import { checkDisbursement } from "../riskfund/service.js";
import { creditLineFor } from "./credit.js";
import { splitInterest, subsidyShare, type SubsidyTerms, subsidyTermsOf, withLateForfeits } from "./household-interest.js";
import {
  ACTIVE_STATUSES,
  accruePenalty,
  accruedInCurrentPeriod,
  addDays,
  ageOn,
  allocatePayment,
  amountDue,
  buildSchedule,
  daysBetween,
  daysPastDue,
  dpdBucket,
  isNonPerforming,
  loanStanding,
  isOverdueOn,
  isSettled,
  type LoanStatus,
  maturityOf,
  overdueFrom,
  type PeriodState,
  remainingSchedule,
  type RepaymentMethod,
  spanInterest,
  unpaidInterest,
  unpaidPenalty,
  unpaidPrincipal,
} from "./model.js";
import {
  findLoan,
  householdExposure,
  insertPeriods,
  type LoanRow,
  loanScope,
  lockLoan,
  lprOn,
  periodRows,
  periodsOf,
  type PeriodRow,
  productById,
  type ProductRow,
  toState,
} from "./queries.js";
import type {
  CollectionActionCreate,
  Decision,
  Disburse,
  Extend,
  LoanApply,
  LoanProductCreate,
  LoanProductQuery,
  LoanQuery,
  RateTableCreate,
  RateTableQuery,
  Renew,
  RepaymentCreate,
  WriteOff,
} from "./schemas.js";

type Db = Knex | Knex.Transaction;

/** The cap on a household's poverty loans, all members together (DOMAIN §3). */
export const HOUSEHOLD_CAP = new D(50000);
const ELIGIBLE_HOUSEHOLD = ["POOR", "EXITED", "MONITORED"];
const BANK_STAFF = ["loan_officer", "bank_manager"] as const;
const LOAN_READERS = ["admin", "regulator", "finance_officer", "village_officer", "loan_officer", "bank_manager"] as const;

registerErrorCodes({
  LOAN_HOUSEHOLD_NOT_ELIGIBLE: { status: 422, title: "Household not eligible", description: "The household is not POOR, EXITED or MONITORED (DOMAIN §3)." },
  LOAN_BORROWER_NOT_MEMBER: { status: 422, title: "Borrower not a member", description: "The borrower is not a member of the household." },
  LOAN_BORROWER_AGE: { status: 422, title: "Borrower age out of range", description: "The borrower must be 18 to 65 at application (from the ID birth date)." },
  LOAN_NO_EFFECTIVE_RATING: { status: 422, title: "No effective rating", description: "The household has no effective credit rating with a credit line above zero." },
  LOAN_ABOVE_CREDIT_LINE: { status: 422, title: "Above the credit line", description: "The household's outstanding and pending loans plus this one exceed its credit line." },
  LOAN_ABOVE_HOUSEHOLD_CAP: { status: 422, title: "Above the household cap", description: "The household's poverty loans would exceed 50,000 in total." },
  LOAN_PURPOSE_NOT_ALLOWED: { status: 422, title: "Purpose not allowed", description: "The product does not allow this purpose (production only)." },
  LOAN_ABOVE_PRODUCT_AMOUNT: { status: 422, title: "Above the product's amount", description: "The amount exceeds the product's maximum." },
  LOAN_ABOVE_PRODUCT_TERM: { status: 422, title: "Above the product's term", description: "The term exceeds the product's maximum." },
  LOAN_METHOD_NOT_OFFERED: { status: 422, title: "Repayment method not offered", description: "The product does not offer this repayment method." },
  LOAN_PRODUCT_NOT_AVAILABLE: { status: 422, title: "Product not available", description: "The product is not in force on this date, or belongs to another bank or county." },
  LOAN_NO_RATE_TABLE: { status: 422, title: "No LPR in force", description: "No LPR rate table is published on or before the pricing date." },
  LOAN_MAKER_CHECKER: { status: 422, title: "Maker-checker", description: "The officer who took the application may not approve or reject it." },
  LOAN_OVERPAYMENT: { status: 422, title: "Overpayment", description: "The payment is more than everything owed to close the loan (see `payoff_amount`)." },
  LOAN_PAYOFF_SHORT: { status: 422, title: "Payoff amount short", description: "The payment covers the whole principal but not the interest to date that closes the loan; pay `payoff_amount` or less than the principal." },
  LOAN_EXTENSION_USED: { status: 422, title: "Already extended", description: "A loan may be extended (展期) once." },
  LOAN_EXTENSION_AFTER_MATURITY: { status: 422, title: "Extension after maturity", description: "An extension must be made before the maturity date." },
  LOAN_EXTENSION_OVERDUE: { status: 422, title: "Extension of an overdue loan", description: "A loan with overdue amounts cannot be extended." },
  LOAN_RENEWAL_WINDOW: { status: 422, title: "Outside the renewal window", description: "Renewal (无还本续贷) is possible from 30 days before maturity through the maturity date." },
  LOAN_RENEWAL_OVERDUE: { status: 422, title: "Renewal of an overdue loan", description: "A loan with overdue amounts cannot be renewed." },
  LOAN_WRITE_OFF_NOT_NPL: { status: 422, title: "Not non-performing", description: "Only a non-performing loan (DPD > 90) may be written off." },
  LOAN_PRODUCT_VERSION_CONFLICT: { status: 409, title: "Product version conflict", description: "Another version of this product was created at the same time; retry." },
});

const fmt = (v: Dec | string) => Money.format(v);
const rateFmt = (v: string | null) => (v === null ? null : Rate.format(v));
const iso = (d: Date | string) => new Date(d).toISOString();

// ---------- rate tables ----------

function rateTableView(r: { id: string; publication_date: string; lpr_1y: string; lpr_5y: string; note: string | null; created_at: Date }) {
  return { id: r.id, publication_date: r.publication_date, lpr_1y: Rate.format(r.lpr_1y), lpr_5y: Rate.format(r.lpr_5y), note: r.note, created_at: iso(r.created_at) };
}

export async function createRateTable(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof RateTableCreate>) {
  requireRole(ctx.actor, "admin");
  if (await trx("rate_tables").where({ publication_date: input.publication_date }).first()) {
    throw new AppError("CONFLICT", `A rate table published on ${input.publication_date} already exists`);
  }
  const [row] = await trx("rate_tables")
    .insert({ publication_date: input.publication_date, lpr_1y: input.lpr_1y, lpr_5y: input.lpr_5y, note: input.note ?? null, created_by: ctx.actor.userId })
    .returning("*");
  await appendAudit(trx, ctx, { action: "rate_table.create", entityType: "rate_table", entityId: row.id, countyCode: null, after: rateTableView(row) });
  return rateTableView(row);
}

export async function listRateTables(db: Db, q: z.infer<typeof RateTableQuery>) {
  if (q.on) {
    const row = await db("rate_tables").where("publication_date", "<=", q.on).orderBy("publication_date", "desc").first();
    return { items: row ? [rateTableView(row)] : [], next_cursor: null };
  }
  const query = db("rate_tables").select("*");
  const { rows, next_cursor } = await page<{ publication_date: string } & Parameters<typeof rateTableView>[0]>(query, "publication_date", (r) => r.publication_date, q.limit, q.cursor);
  return { items: rows.map(rateTableView), next_cursor };
}

// ---------- products ----------

export function productView(p: ProductRow) {
  return {
    id: p.id,
    bank_id: p.bank_id,
    county_code: p.county_code,
    code: p.code,
    version: p.version,
    name: p.name,
    effective_from: p.effective_from,
    max_amount: fmt(p.max_amount),
    max_term_months: p.max_term_months,
    rate_rule: p.rate_rule,
    fixed_rate: rateFmt(p.fixed_rate),
    rate_spread: new D(p.rate_spread).toString(),
    repayment_methods: p.repayment_methods,
    penalty_markup: Rate.format(p.penalty_markup),
    grace_days: p.grace_days,
    allowed_purposes: p.allowed_purposes,
    subsidy: {
      ratio: Rate.format(p.subsidy_ratio),
      rate_cap: rateFmt(p.subsidy_rate_cap),
      term_months: p.subsidy_term_months,
      principal_cap: fmt(p.subsidy_principal_cap),
      mode: p.subsidy_mode,
    },
    created_at: iso(p.created_at),
  };
}

export async function createProduct(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof LoanProductCreate>) {
  requireRole(ctx.actor, "bank_manager", "admin");
  const bankId = ctx.actor.role === "bank_manager" ? ctx.actor.bankId : input.bank_id;
  if (!bankId) throw new AppError("VALIDATION_FAILED", "bank_id is required", [{ path: "body.bank_id", message: "required" }]);
  if (ctx.actor.role === "bank_manager" && input.bank_id && input.bank_id !== ctx.actor.bankId) throw notFound("bank");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  if (!(await trx("banks").where({ id: bankId }).first())) throw notFound("bank");
  if (new D(input.max_amount).gt(HOUSEHOLD_CAP)) {
    throw new AppError("VALIDATION_FAILED", "max_amount is at most 50000.00", [{ path: "body.max_amount", message: "at most 50000.00 (DOMAIN §4)" }]);
  }
  if (input.rate_rule === "FIXED" && !input.fixed_rate) {
    throw new AppError("VALIDATION_FAILED", "fixed_rate is required with rate_rule FIXED", [{ path: "body.fixed_rate", message: "required" }]);
  }
  if (new D(input.subsidy.ratio).gt(1)) throw new AppError("VALIDATION_FAILED", "subsidy.ratio is at most 1", [{ path: "body.subsidy.ratio", message: "at most 1" }]);
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [`loan_product:${bankId}:${input.county_code}:${input.code}`]);
  const last = await trx("loan_products").where({ bank_id: bankId, county_code: input.county_code, code: input.code }).max<{ v: number | null }>("version as v").first();
  const [row] = await trx("loan_products")
    .insert({
      bank_id: bankId,
      county_code: input.county_code,
      code: input.code,
      version: (last?.v ?? 0) + 1,
      name: input.name,
      effective_from: input.effective_from,
      max_amount: input.max_amount,
      max_term_months: input.max_term_months,
      rate_rule: input.rate_rule,
      fixed_rate: input.fixed_rate ?? null,
      rate_spread: input.rate_spread,
      repayment_methods: input.repayment_methods,
      penalty_markup: input.penalty_markup,
      grace_days: input.grace_days,
      allowed_purposes: input.allowed_purposes,
      subsidy_ratio: input.subsidy.ratio,
      subsidy_rate_cap: input.subsidy.rate_cap,
      subsidy_term_months: input.subsidy.term_months,
      subsidy_principal_cap: input.subsidy.principal_cap,
      subsidy_mode: input.subsidy.mode,
      created_by: ctx.actor.userId,
    })
    .returning<ProductRow[]>("*");
  const view = productView(row);
  await appendAudit(trx, ctx, { action: "loan_product.create", entityType: "loan_product", entityId: row.id, countyCode: row.county_code, after: view });
  return view;
}

function productScope(q: Knex.QueryBuilder, actor: Actor) {
  q.whereIn("county_code", actor.countyCodes);
  if (actor.role === "loan_officer" || actor.role === "bank_manager") q.andWhere("bank_id", actor.bankId ?? "");
  return q;
}

export async function listProducts(db: Db, actor: Actor, q: z.infer<typeof LoanProductQuery>) {
  requireRole(actor, ...LOAN_READERS);
  const query = productScope(db("loan_products").select("*"), actor);
  if (q.bank_id) query.andWhere("bank_id", q.bank_id);
  if (q.county_code) query.andWhere("county_code", q.county_code);
  if (q.code) query.andWhere("code", q.code);
  if (q.latest === "true") {
    query.whereRaw(`version = (SELECT max(p2.version) FROM loan_products p2 WHERE p2.bank_id = loan_products.bank_id AND p2.county_code = loan_products.county_code AND p2.code = loan_products.code)`);
  }
  const { rows, next_cursor } = await page<ProductRow & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(productView), next_cursor };
}

export async function getProduct(db: Db, actor: Actor, id: string) {
  requireRole(actor, ...LOAN_READERS);
  const row = await productScope(db("loan_products").where({ id }), actor).first<ProductRow | undefined>();
  if (!row) throw notFound("loan product");
  return productView(row);
}

/** The contract rate of a product for a term on a date: LPR (1y ≤ 12 months, 5y above) + spread, or fixed. */
export async function priceLoan(db: Db, product: ProductRow, termMonths: number, on: string): Promise<{ rate: string; basis: string; lprDate: string | null }> {
  if (product.rate_rule === "FIXED") return { rate: Rate.format(product.fixed_rate!), basis: "FIXED", lprDate: null };
  const lpr = await lprOn(db, on);
  if (!lpr) throw new AppError("LOAN_NO_RATE_TABLE", `No LPR is published on or before ${on}; an admin adds it under /rate-tables`);
  const base = termMonths <= 12 ? lpr.lpr_1y : lpr.lpr_5y;
  const rate = new D(base).plus(product.rate_spread);
  if (rate.lte(0)) throw new AppError("RULE_VIOLATION", "The product's spread makes the rate zero or negative");
  return { rate: Rate.format(rate), basis: termMonths <= 12 ? "LPR_1Y" : "LPR_5Y", lprDate: lpr.publication_date };
}

// ---------- views ----------

interface Standing {
  dpd: number;
  overduePrincipal: Dec;
  overdueInterest: Dec;
  penalty: Dec;
}

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

// ---------- schedule state ----------

const isActive = (l: LoanRow) => (ACTIVE_STATUSES as readonly string[]).includes(l.status);

/** Penalty brought up to the day before `on` for every period (the close of business may not have run). */
function statesAsOf(loan: LoanRow, rows: PeriodRow[], on: string): PeriodState[] {
  const through = addDays(on, -1);
  return rows.map((r) => {
    const s = toState(r);
    if (r.status === "PAID" || r.status === "CLOSED") return s;
    return accruePenalty(s, { annualRate: loan.annual_rate!, markup: loan.penalty_markup, graceDays: loan.grace_days, through });
  });
}

function standingOf(loan: LoanRow, states: PeriodState[], on: string): Standing {
  const st = loanStanding(states, loan.grace_days, on);
  return { dpd: st.dpd, overduePrincipal: st.overduePrincipal, overdueInterest: st.overdueInterest, penalty: st.penaltyDue };
}

/** The period interest is accruing in on a date (the first one not yet due). */
function currentPeriod(rows: PeriodRow[], on: string): PeriodRow | undefined {
  return rows.find((r) => r.due_date > on && r.status !== "PAID" && r.status !== "CLOSED");
}

function carriedOf(r: PeriodRow): { amount: Dec; through: string } | undefined {
  return r.carried_interest !== null && r.carried_through !== null ? { amount: new D(r.carried_interest), through: r.carried_through } : undefined;
}

/**
 * Interest of the current period to date (exclusive), rounded once: the contract interest, and the
 * household's part of it when a TO_BANK share applies (the period cut short on `on` keeps its own
 * subsidy share, computed as the claims will).
 */
function accruedToDate(loan: LoanRow, cur: PeriodRow | undefined, on: string, terms: SubsidyTerms | null): { contract: Dec; share: Dec; household: Dec } {
  if (!cur) return { contract: new D(0), share: new D(0), household: new D(0) };
  const contract = accruedInCurrentPeriod(
    { accrualStart: cur.accrual_start, accrualEnd: cur.accrual_end, interestDue: new D(cur.interest_due), openingPrincipal: new D(cur.opening_principal) },
    loan.repayment_method,
    new D(loan.annual_rate!),
    on,
    carriedOf(cur),
  );
  const share = new D(cur.interest_subsidy).gt(0) ? subsidyShare(terms, { ...cur, accrual_end: on, frame_days: frameDaysOf(cur) }, contract) : new D(0);
  return { contract, share, household: contract.minus(share) };
}

/** The scheduled days of a period about to be cut short. */
function frameDaysOf(cur: PeriodRow): number {
  return cur.frame_days ?? daysBetween(cur.accrual_start, cur.accrual_end);
}

/**
 * Ends the current period on `on` (payoff, renewal): later periods go, and the current one is
 * settled with all principal not yet due and the interest to date (the household's part paid, the
 * TO_BANK share kept for the claim, the scheduled length kept for the subsidy's pro-rating).
 */
async function endCurrentPeriod(trx: Knex.Transaction, loan: LoanRow, rows: PeriodRow[], cur: PeriodRow, on: string, accrued: { household: Dec; share: Dec }): Promise<PeriodRow> {
  const principal = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due)));
  await trx("loan_schedule_periods").where({ loan_id: loan.id }).andWhere("seq", ">", cur.seq).delete();
  const [ended] = await trx("loan_schedule_periods")
    .where({ loan_id: loan.id, seq: cur.seq })
    .update({
      accrual_end: on,
      due_date: on,
      overdue_from: overdueFrom(on, loan.grace_days),
      days: daysBetween(cur.accrual_start, on),
      principal_due: fmt(principal),
      principal_paid: fmt(principal),
      interest_due: fmt(accrued.household),
      interest_subsidy: fmt(accrued.share),
      interest_paid: fmt(accrued.household),
      frame_days: frameDaysOf(cur),
      status: "PAID",
      settled_on: on,
    })
    .returning<PeriodRow[]>("*");
  return ended;
}

/** The subsidy terms a change to the current period needs: only when that period carries a TO_BANK share. */
async function termsFor(db: Db, loan: LoanRow, cur: PeriodRow | undefined): Promise<SubsidyTerms | null> {
  return cur && new D(cur.interest_subsidy).gt(0) ? subsidyTermsOf(db, loan) : null;
}

/** What closes the loan on a date, from its periods and their states as of that date and the subsidy terms (see `payoffAmount`). */
function payoffWith(loan: LoanRow, rows: PeriodRow[], states: PeriodState[], on: string, terms: SubsidyTerms | null): Dec {
  const future = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due).minus(r.principal_paid)));
  return amountDue(states, on).plus(future).plus(accruedToDate(loan, currentPeriod(rows, on), on, terms).household);
}

/**
 * What closes the loan on a date: everything due, the principal not yet due, and the household's
 * part of the current period's interest to date. `rows` as stored; late subsidy shares are
 * forfeited as of `on` here.
 */
export async function payoffAmount(db: Db, loan: LoanRow, stored: PeriodRow[], on: string): Promise<Dec> {
  const rows = withLateForfeits(stored, on).rows;
  return payoffWith(loan, rows, statesAsOf(loan, rows, on), on, await termsFor(db, loan, currentPeriod(rows, on)));
}

/** A loan's periods as of a date: TO_BANK shares of late periods forfeited (the close of business may not have run yet). */
async function periodsAsOf(db: Db, loanId: string, on: string): Promise<{ rows: PeriodRow[]; forfeited: Set<number> }> {
  return withLateForfeits(await periodsOf(db, loanId), on);
}

function statusOf(s: PeriodState, graceDays: number, on: string): string {
  if (s.dueDate > on) return "PENDING";
  if (isSettled(s)) return "PAID";
  return isOverdueOn(s, graceDays, on) ? "OVERDUE" : "DUE";
}

/** The loan's standing columns as of a date, from its schedule. */
function standingColumns(loan: LoanRow, states: PeriodState[], rows: PeriodRow[], on: string) {
  const st = standingOf(loan, states, on);
  const cur = currentPeriod(rows, on);
  return {
    dpd: st.dpd,
    dpd_bucket: dpdBucket(st.dpd),
    overdue_principal: fmt(st.overduePrincipal),
    overdue_interest: fmt(st.overdueInterest),
    penalty_due: fmt(st.penalty),
    cur_period_start: cur?.accrual_start ?? null,
    cur_period_end: cur?.accrual_end ?? null,
    cur_period_interest: cur ? fmt(cur.interest_due) : null,
    standing_date: on,
  };
}

// ---------- reads ----------

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

export async function listLoans(db: Db, ctx: Pick<Ctx, "actor" | "clock">, q: z.infer<typeof LoanQuery>) {
  const { actor } = ctx;
  requireRole(actor, ...LOAN_READERS);
  const query = loanScope(db("loans").select("loans.*"), actor);
  for (const k of ["status", "household_id", "bank_id", "county_code", "village_code", "dpd_bucket"] as const) {
    if (q[k]) query.andWhere(`loans.${k}`, q[k]);
  }
  const { rows, next_cursor } = await page<LoanRow & Record<string, unknown>>(query, "loans.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map((r) => loanView(r, { on: ctx.clock.today() })), next_cursor };
}

export async function getSchedule(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...LOAN_READERS);
  const loan = await findLoan(db, ctx.actor, id);
  if (!loan) throw notFound("loan");
  const on = ctx.clock.today();
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

// ---------- application and decisions ----------

interface EligibilityInput {
  householdId: string;
  amount: Dec;
  on: string;
  excludeLoanId?: string;
  /** Principal of a loan this one replaces (renewal): not counted against the line. */
  replacing?: Dec;
}

/** DOMAIN §3: the household's credit line and the 50,000 household cap. Returns the rating used. */
async function checkCredit(db: Db, e: EligibilityInput): Promise<string | null> {
  const credit = await creditLineFor(db, e.householdId, e.on);
  if (!credit || !credit.rating_id || new D(credit.line).lte(0)) {
    throw new AppError("LOAN_NO_EFFECTIVE_RATING", `The household has no effective rating with a credit line above zero on ${e.on}`);
  }
  const exposure = await householdExposure(db, e.householdId, e.excludeLoanId);
  const replacing = e.replacing ?? new D(0);
  const total = new D(exposure.active).plus(exposure.pending).minus(replacing).plus(e.amount);
  if (total.gt(credit.line)) {
    throw new AppError(
      "LOAN_ABOVE_CREDIT_LINE",
      `Outstanding ${fmt(exposure.active)} + pending ${fmt(exposure.pending)}${replacing.isZero() ? "" : ` − replaced ${fmt(replacing)}`} + this ${fmt(e.amount)} = ${fmt(total)} exceeds the credit line ${fmt(credit.line)} (grade ${credit.grade ?? "?"})`,
    );
  }
  if (total.gt(HOUSEHOLD_CAP)) {
    throw new AppError("LOAN_ABOVE_HOUSEHOLD_CAP", `The household's poverty loans would total ${fmt(total)}, above the cap of ${fmt(HOUSEHOLD_CAP)}`);
  }
  return credit.rating_id;
}

async function checkHouseholdAndBorrower(db: Db, householdId: string, memberId: string, on: string) {
  const h = await db("households").where({ id: householdId }).first<{ id: string; status: string; county_code: string; village_code: string } | undefined>();
  if (!h) throw notFound("household");
  if (!ELIGIBLE_HOUSEHOLD.includes(h.status)) {
    throw new AppError("LOAN_HOUSEHOLD_NOT_ELIGIBLE", `The household's status is ${h.status}; poverty loans are for POOR, EXITED and MONITORED households`);
  }
  const m = await db("household_members").where({ id: memberId }).first<{ household_id: string; birth_date: string } | undefined>();
  if (!m || m.household_id !== householdId) throw new AppError("LOAN_BORROWER_NOT_MEMBER", "The borrower is not a member of this household");
  const age = ageOn(m.birth_date, on);
  if (age < 18 || age > 65) throw new AppError("LOAN_BORROWER_AGE", `The borrower is ${age} on ${on}; a borrower must be 18 to 65 at application`);
  return h;
}

function checkProduct(product: ProductRow | undefined, loan: { bankId: string; countyCode: string; on: string }): ProductRow {
  if (!product || product.bank_id !== loan.bankId || product.county_code !== loan.countyCode || product.effective_from > loan.on) {
    throw new AppError("LOAN_PRODUCT_NOT_AVAILABLE", "The product is not one of your bank's products in force in the household's county on this date");
  }
  return product;
}

function checkProductLimits(p: ProductRow, amount: Dec, termMonths: number, method: RepaymentMethod, purpose?: string) {
  if (amount.gt(p.max_amount)) throw new AppError("LOAN_ABOVE_PRODUCT_AMOUNT", `The amount ${fmt(amount)} exceeds the product's maximum ${fmt(p.max_amount)}`);
  if (termMonths > p.max_term_months) throw new AppError("LOAN_ABOVE_PRODUCT_TERM", `The term ${termMonths} months exceeds the product's maximum ${p.max_term_months}`);
  if (!p.repayment_methods.includes(method)) throw new AppError("LOAN_METHOD_NOT_OFFERED", `The product offers ${p.repayment_methods.join(", ")}`);
  if (purpose !== undefined && !p.allowed_purposes.includes(purpose)) throw new AppError("LOAN_PURPOSE_NOT_ALLOWED", `The product allows ${p.allowed_purposes.join(", ")}`);
}

export async function applyLoan(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof LoanApply>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  const on = ctx.clock.today();
  const hh = await trx("households").where({ id: input.household_id }).whereIn("county_code", ctx.actor.countyCodes).first();
  if (!hh) throw notFound("household");
  // One application at a time per household: serialise on the household row.
  await trx("households").where({ id: input.household_id }).forUpdate().first();
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

async function loadForChange(trx: Knex.Transaction, ctx: Ctx, id: string): Promise<LoanRow> {
  const loan = await findLoan(trx, ctx.actor, id, { forUpdate: true });
  if (!loan) throw notFound("loan");
  return loan;
}

function expectStatus(loan: LoanRow, ...statuses: LoanStatus[]) {
  if (!statuses.includes(loan.status as LoanStatus)) throw invalidState(`The loan is ${loan.status}; this needs ${statuses.join(" or ")}`);
}

async function saveLoan(trx: Knex.Transaction, id: string, changes: Record<string, unknown>, now: Date): Promise<LoanRow> {
  const [row] = await trx("loans")
    .where({ id })
    .update({ ...changes, updated_at: now, version: trx.raw("version + 1") })
    .returning<LoanRow[]>("*");
  return row;
}

export async function decide(trx: Knex.Transaction, ctx: Ctx, id: string, decision: "approve" | "reject", input: z.infer<typeof Decision>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "APPLIED");
  if (loan.officer_id === ctx.actor.userId) throw new AppError("LOAN_MAKER_CHECKER", "You took this application; another bank manager must decide it (maker-checker)");
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

// ---------- disbursement ----------

export async function disburse(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof Disburse>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "APPROVED");
  await checkDisbursement(trx, loan); // circuit breaker and risk-fund lending cap (DOMAIN §6)
  const on = ctx.clock.today();
  await trx("households").where({ id: loan.household_id }).forUpdate().first();
  await checkHouseholdAndBorrower(trx, loan.household_id, loan.borrower_member_id, loan.applied_on);
  const ratingId = await checkCredit(trx, { householdId: loan.household_id, amount: new D(loan.amount), on, excludeLoanId: loan.id });
  const maturity = maturityOf(on, loan.term_months);
  const periods = buildSchedule({ method: loan.repayment_method, principal: loan.amount, annualRate: loan.annual_rate!, disbursedOn: on, maturityDate: maturity });
  const terms = await subsidyTermsOf(trx, { ...loan, disbursed_on: on });
  const rows = splitInterest(terms, periodRows(loan, periods, (due) => overdueFrom(due, loan.grace_days)));
  await insertPeriods(trx, rows);
  const first = periods[0];
  const row = await saveLoan(
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
    },
    ctx.clock.now(),
  );
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

// ---------- repayment ----------

export interface RepaymentInput {
  amount: string;
  source?: "BORROWER" | "TRUSTEE" | "OTHER";
  reference?: string;
}

/** Replaces the schedule after `on` with one on a new balance or maturity (prepayment, extension). */
async function rescheduleFuture(trx: Knex.Transaction, loan: LoanRow, rows: PeriodRow[], on: string, opts: { balance: Dec; maturity: string; prepaid?: Dec }): Promise<PeriodRow[]> {
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

interface RepaymentRow {
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
  created_at: Date;
}

function repaymentView(r: RepaymentRow) {
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
    created_at: iso(r.created_at),
  };
}

export async function repay(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof RepaymentCreate>) {
  requireRole(ctx.actor, ...BANK_STAFF);
  return applyRepayment(trx, ctx, id, input);
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

// ---------- extension, renewal, write-off ----------

export async function extend(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof Extend>) {
  requireRole(ctx.actor, "bank_manager");
  const loan = await loadForChange(trx, ctx, id);
  expectStatus(loan, "DISBURSED", "EXTENDED");
  const on = ctx.clock.today();
  if (loan.extended_on || loan.status === "EXTENDED") throw new AppError("LOAN_EXTENSION_USED", `The loan was already extended on ${loan.extended_on}`);
  if (on >= loan.maturity_date!) throw new AppError("LOAN_EXTENSION_AFTER_MATURITY", `The loan matures on ${loan.maturity_date}; an extension must be made before`);
  const rows = (await periodsAsOf(trx, id, on)).rows;
  const states = statesAsOf(loan, rows, on);
  if (daysPastDue(states, loan.grace_days, on) > 0) throw new AppError("LOAN_EXTENSION_OVERDUE", "The loan has overdue amounts; they must be paid before an extension");
  const maturity = maturityOf(loan.disbursed_on!, loan.term_months + input.months);
  const balance = Money.sum(rows.filter((r) => r.due_date > on).map((r) => new D(r.principal_due).minus(r.principal_paid)));
  const after = await rescheduleFuture(trx, loan, rows, on, { balance, maturity });
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
    throw new AppError("LOAN_RENEWAL_WINDOW", `Renewal is possible from ${addDays(loan.maturity_date!, -30)} through the maturity date ${loan.maturity_date}`);
  }
  const rows = (await periodsAsOf(trx, id, on)).rows;
  const states = statesAsOf(loan, rows, on);
  if (daysPastDue(states, loan.grace_days, on) > 0) throw new AppError("LOAN_RENEWAL_OVERDUE", "The loan has overdue amounts; a renewal is for a performing loan");
  await trx("households").where({ id: loan.household_id }).forUpdate().first();
  const oldProduct = loan.product_id ? await productById(trx, loan.product_id) : undefined;
  const productId =
    input.product_id ??
    (await trx("loan_products")
      .where({ bank_id: loan.bank_id, county_code: loan.county_code, code: oldProduct?.code ?? "" })
      .andWhere("effective_from", "<=", on)
      .orderBy("version", "desc")
      .first<{ id: string } | undefined>())?.id;
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
    })
    .returning<LoanRow[]>("*");
  const periods = buildSchedule({ method, principal: balance, annualRate: price.rate, disbursedOn: on, maturityDate: maturity });
  const newRows = splitInterest(await subsidyTermsOf(trx, created), periodRows(created, periods, (due) => overdueFrom(due, created.grace_days)));
  await insertPeriods(trx, newRows);
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
  if (!isNonPerforming(dpd)) throw new AppError("LOAN_WRITE_OFF_NOT_NPL", `The loan is ${dpd} days past due; only a non-performing loan (DPD > 90) may be written off`);
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
  if (!isActive(loan) && loan.status !== "WRITTEN_OFF" && loan.status !== "COMPENSATED") throw invalidState(`The loan is ${loan.status}; collection is for loans still owed`);
  const [row] = await trx("loan_collection_actions")
    .insert({ loan_id: id, county_code: loan.county_code, action_date: ctx.clock.today(), method: input.method, result: input.result, note: input.note ?? null, promised_date: input.promised_date ?? null, actor_id: ctx.actor.userId })
    .returning("*");
  const view = { ...row, created_at: iso(row.created_at) };
  await appendAudit(trx, ctx, { action: "loan.collection_action", entityType: "loan", entityId: id, countyCode: loan.county_code, after: view });
  return view;
}

// ---------- reconciliation ----------

registerPartyBalanceCheck({
  name: "loan_principal",
  description: "Each loan's principal receivable (account 1301, party = loan) equals its outstanding principal",
  account: ACCOUNTS.LOAN_PRINCIPAL,
  partyType: "loan",
  recordsSql: `SELECT id, county_code, outstanding_principal AS amount FROM loans
                WHERE outstanding_principal <> 0 OR status IN ('DISBURSED', 'EXTENDED', 'REPAID', 'RENEWED', 'WRITTEN_OFF', 'COMPENSATED')`,
});
