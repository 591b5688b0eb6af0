import type { Knex } from "knex";
import type { z } from "zod";
import { affectedRows } from "../../db/knex.js";
import { transaction } from "../../db/transaction.js";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { clearAlert } from "../../lib/alerts.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntriesFrom, postJournalEntry, registerPartyBalanceCheck } from "../../lib/ledger.js";
import { D, Money, Rate } from "../../lib/money.js";
import { maskBankAccount, type Pii } from "../../lib/pii.js";
import { lockLoan, repayFromTrustee } from "../loans/index.js";
import {
  allocateReturnPayment,
  arrearsOf,
  buildReturnSchedule,
  checkContractDates,
  checkCreditCode,
  CREDIT_CODE_PROBLEM_TEXT,
  daysInArrears,
  exposureLimit,
  type Frequency,
  HOUSEHOLD_LOAN_BAN_FROM,
  householdLoanEntrustable,
  type InstallmentState,
  installmentStatus,
  withinExposure,
} from "./model.js";
import {
  exposureOf,
  findOperator,
  findTrusteeship,
  type InstallmentRow,
  installmentsOf,
  type OperatorRow,
  operatorScope,
  paymentRecordOf,
  type PaymentRow,
  paymentsOf,
  policyOn,
  trusteeshipsQuery,
  type TrusteeshipRow,
} from "./queries.js";
import type {
  DashboardQuery,
  OperatorCreate,
  OperatorQuery,
  PaymentCreate,
  PolicyCreate,
  PolicyQuery,
  PrincipalReturnCreate,
  TrusteeshipCreate,
  TrusteeshipQuery,
} from "./schemas.js";
import { addMonthsClamped } from "../../lib/dates.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  INVALID_CREDIT_CODE: { status: 422, title: "Invalid unified social credit code", description: "The operator's unified social credit code fails GB 32100 (length, alphabet or check character)." },
  HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED: {
    status: 422,
    title: "Household loan may not be entrusted (户贷企用)",
    description: "A poverty loan disbursed on or after 2021-03-04 may not be handed to an operator; contracts over older loans can still be recorded.",
  },
  OPERATOR_EXPOSURE_LIMIT: {
    status: 422,
    title: "Operator exposure limit reached",
    description: "The operator's open entrusted principal plus this contract would exceed its limit (10 × registered capital by default, or the county cap).",
  },
  INVALID_LINKED_LOAN: { status: 422, title: "Invalid linked loan", description: "The linked loan is not a disbursed, open loan of the beneficiary household, or is already linked to an open contract." },
  HOUSEHOLD_NOT_ELIGIBLE: { status: 422, title: "Household not eligible", description: "A removed (清退) household cannot be the beneficiary of a new contract." },
  TRUSTEESHIP_OVERPAYMENT: { status: 422, title: "Payment exceeds the returns owed", description: "The payment is more than every unpaid return installment of the contract together." },
  PRINCIPAL_RETURN_BEFORE_END: { status: 422, title: "Principal returned before the end date", description: "The principal is returned on or after the contract's end date." },
  PRINCIPAL_RETURN_MISMATCH: { status: 422, title: "Principal return is not the open principal", description: "The principal is returned whole: the amount must equal the open principal." },
});

export const ALERT_KINDS = {
  ARREARS: "TRUSTEE_RETURN_ARREARS",
  EXPOSURE: "OPERATOR_EXPOSURE_OVER_LIMIT",
  LOAN_AT_RISK: "LOAN_TRUSTEE_ARREARS",
} as const;

const READERS = ["admin", "regulator", "finance_officer", "village_officer", "operator"] as const;
const PAYERS = ["operator", "admin"] as const;

// ---------- operators ----------

/** Bank account whole only for the county admin and the operator itself (PIPL, like households' data). */
function seesAccountWhole(actor: Actor, o: Pick<OperatorRow, "id">): boolean {
  return actor.role === "admin" || (actor.role === "operator" && actor.operatorId === o.id);
}

async function limitOf(db: Db, o: OperatorRow, on: string): Promise<string> {
  const p = await policyOn(db, o.county_code, on);
  return exposureLimit(Money.format(o.registered_capital), p.exposure_multiple, p.exposure_cap === null ? null : Money.format(p.exposure_cap));
}

async function operatorView(db: Db, ctx: Ctx, pii: Pii, o: OperatorRow, exposure: { open: string; active: number } | undefined, withRecord: boolean) {
  const today = ctx.clock.today();
  const limit = await limitOf(db, o, today);
  const open = Money.format(exposure?.open ?? "0");
  const record = withRecord ? await paymentRecordOf(db, o.id, today) : undefined;
  return {
    id: o.id,
    county_code: o.county_code,
    name: o.name,
    credit_code: o.credit_code,
    operator_type: o.operator_type,
    legal_representative: o.legal_representative,
    registered_capital: Money.format(o.registered_capital),
    bank_account: seesAccountWhole(ctx.actor, o) && o.bank_account_enc ? pii.decrypt(o.bank_account_enc) : o.bank_account_masked,
    bank_name: o.bank_name,
    rating: o.rating,
    exposure: open,
    exposure_limit: limit,
    over_limit: Money.of(open).gt(limit),
    active_contracts: exposure?.active ?? 0,
    ...(record
      ? {
          payment_record: {
            installments_due: record.due,
            paid_on_time: record.on_time,
            paid_late: record.late,
            in_arrears: record.in_arrears,
            amount_due_to_date: Money.format(record.amount_due),
            amount_paid: Money.format(record.amount_paid),
            amount_in_arrears: Money.format(record.amount_in_arrears),
          },
        }
      : {}),
    created_at: new Date(o.created_at).toISOString(),
  };
}

export async function createOperator(trx: Knex.Transaction, ctx: Ctx, pii: Pii, input: z.infer<typeof OperatorCreate>) {
  requireRole(ctx.actor, "admin");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  const checked = checkCreditCode(input.credit_code);
  if (!checked.ok) {
    throw new AppError("INVALID_CREDIT_CODE", `Unified social credit code: ${CREDIT_CODE_PROBLEM_TEXT[checked.problem]}`, [
      { path: "body.credit_code", message: CREDIT_CODE_PROBLEM_TEXT[checked.problem] },
    ]);
  }
  if (await trx("operators").where({ county_code: input.county_code, credit_code: checked.value }).first()) {
    throw new AppError("CONFLICT", `An operator with credit code ${checked.value} is already registered in ${input.county_code}`);
  }
  if (input.id && (await trx("operators").where({ id: input.id }).first())) throw new AppError("CONFLICT", `Operator ${input.id} already exists`);
  const now = ctx.clock.now();
  const [o] = await trx("operators")
    .insert({
      ...(input.id ? { id: input.id } : {}),
      county_code: input.county_code,
      name: input.name,
      credit_code: checked.value,
      operator_type: input.operator_type,
      legal_representative: input.legal_representative,
      registered_capital: Money.format(input.registered_capital),
      bank_account_enc: input.bank_account ? pii.encrypt(input.bank_account) : null,
      bank_account_masked: input.bank_account ? maskBankAccount(input.bank_account) : null,
      bank_name: input.bank_name ?? null,
      rating: input.rating ?? null,
      created_by: ctx.actor.userId,
      created_at: now,
      updated_at: now,
    })
    .returning<OperatorRow[]>("*");
  const { bank_account_enc: _enc, ...audited } = o;
  await appendAudit(trx, ctx, { action: "operator.create", entityType: "operator", entityId: o.id, countyCode: o.county_code, after: audited });
  return operatorView(trx, ctx, pii, o, undefined, false);
}

export async function getOperator(db: Db, ctx: Ctx, pii: Pii, id: string) {
  requireRole(ctx.actor, ...READERS);
  const o = await findOperator(db, ctx.actor, id);
  if (!o) throw notFound("operator");
  return operatorView(db, ctx, pii, o, (await exposureOf(db, [id])).get(id), true);
}

export async function listOperators(db: Db, ctx: Ctx, pii: Pii, q: z.infer<typeof OperatorQuery>) {
  requireRole(ctx.actor, ...READERS);
  const query = operatorScope(db("operators as o").select("o.*"), ctx.actor);
  if (q.county_code) query.andWhere("o.county_code", q.county_code);
  if (q.operator_type) query.andWhere("o.operator_type", q.operator_type);
  if (q.credit_code) query.andWhere("o.credit_code", q.credit_code.toUpperCase());
  const { rows, next_cursor } = await page<OperatorRow & Record<string, unknown>>(query, "o.id", (r) => r.id, q.limit, q.cursor);
  const exposure = await exposureOf(db, rows.map((r) => r.id));
  const items = [];
  for (const o of rows) items.push(await operatorView(db, ctx, pii, o, exposure.get(o.id), false));
  return { items, next_cursor };
}

// ---------- county policy ----------

function policyView(p: Record<string, unknown>) {
  return {
    id: p.id as string,
    county_code: p.county_code as string,
    effective_from: p.effective_from as string,
    default_annual_rate: Rate.format(p.default_annual_rate as string),
    grace_days: Number(p.grace_days),
    exposure_multiple: new D(p.exposure_multiple as string).toString(),
    exposure_cap: p.exposure_cap === null ? null : Money.format(p.exposure_cap as string),
  };
}

export async function createPolicy(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof PolicyCreate>) {
  requireRole(ctx.actor, "admin");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  if (await trx("trusteeship_policies").where({ county_code: input.county_code, effective_from: input.effective_from }).first()) {
    throw new AppError("CONFLICT", `A policy version effective from ${input.effective_from} already exists; versions are never edited, add one with another date`);
  }
  const [p] = await trx("trusteeship_policies")
    .insert({
      county_code: input.county_code,
      effective_from: input.effective_from,
      default_annual_rate: input.default_annual_rate,
      grace_days: input.grace_days,
      exposure_multiple: input.exposure_multiple,
      exposure_cap: input.exposure_cap,
      created_by: ctx.actor.userId,
      created_at: ctx.clock.now(),
    })
    .returning("*");
  await appendAudit(trx, ctx, { action: "trusteeship_policy.create", entityType: "trusteeship_policy", entityId: p.id, countyCode: input.county_code, after: p });
  return policyView(p);
}

export async function listPolicies(db: Db, ctx: Ctx, q: z.infer<typeof PolicyQuery>) {
  requireRole(ctx.actor, "admin", "regulator", "finance_officer");
  const rows = await db("trusteeship_policies")
    .whereIn("county_code", q.county_code ? [q.county_code].filter((c) => ctx.actor.countyCodes.includes(c)) : ctx.actor.countyCodes)
    .orderBy(["county_code", "effective_from"]);
  return { items: rows.map(policyView), next_cursor: null };
}

// ---------- contracts: views ----------

function stateOf(i: InstallmentRow): InstallmentState {
  return { seq: i.seq, dueDate: i.due_date, amountDue: i.amount_due, amountPaid: i.amount_paid, arrearsFrom: i.arrears_from };
}

function installmentView(i: InstallmentRow, asOf: string) {
  const s = stateOf(i);
  return {
    seq: i.seq,
    period_start: i.period_start,
    due_date: i.due_date,
    days: i.days,
    pro_rated: i.pro_rated,
    amount_due: Money.format(i.amount_due),
    amount_paid: Money.format(i.amount_paid),
    status: installmentStatus(s, asOf),
    arrears_from: i.arrears_from,
    days_in_arrears: daysInArrears(s, asOf),
    paid_off_on: i.paid_off_on,
  };
}

function paymentView(p: PaymentRow) {
  return {
    id: p.id,
    kind: p.kind,
    amount: Money.format(p.amount),
    paid_on: p.paid_on,
    reference: p.reference,
    allocation: p.allocation.map((a) => ({ seq: a.seq, amount: Money.format(a.amount) })),
    journal_entry_id: p.journal_entry_id,
    created_at: new Date(p.created_at).toISOString(),
  };
}

function trusteeshipView(t: TrusteeshipRow, installments: InstallmentRow[], asOf: string, extra: { payments?: PaymentRow[]; withSchedule?: boolean } = {}) {
  const states = installments.map(stateOf);
  const next = installments.find((i) => Money.of(i.amount_paid).lt(i.amount_due));
  return {
    id: t.id,
    county_code: t.county_code,
    village_code: t.village_code,
    household_id: t.household_id,
    operator_id: t.operator_id,
    operator_name: t.operator_name ?? "",
    source: t.source,
    principal: Money.format(t.principal),
    principal_returned: Money.format(t.principal_returned),
    open_principal: Money.format(Money.of(Money.format(t.principal)).minus(t.principal_returned)),
    start_date: t.start_date,
    end_date: t.end_date,
    annual_rate: Rate.format(t.annual_rate),
    frequency: t.frequency,
    grace_days: t.grace_days,
    linked_loan_id: t.linked_loan_id,
    loan_disbursed_on: t.loan_disbursed_on,
    status: t.status,
    principal_returned_on: t.principal_returned_on,
    scheduled_returns: Money.format(Money.sum(installments.map((i) => i.amount_due))),
    returns_paid: Money.format(Money.sum(installments.map((i) => i.amount_paid))),
    arrears: arrearsOf(states, asOf),
    next_due: next ? { seq: next.seq, due_date: next.due_date, amount_open: Money.format(new D(next.amount_due).minus(next.amount_paid)) } : null,
    note: t.note,
    created_at: new Date(t.created_at).toISOString(),
    ...(extra.withSchedule ? { schedule: installments.map((i) => installmentView(i, asOf)) } : {}),
    ...(extra.payments ? { payments: extra.payments.map(paymentView) } : {}),
  };
}

async function fullView(db: Db, ctx: Ctx, id: string) {
  const t = await findTrusteeship(db, ctx.actor, id);
  if (!t) throw notFound("trusteeship");
  return trusteeshipView(t, await installmentsOf(db, [id]), ctx.clock.today(), { payments: await paymentsOf(db, id), withSchedule: true });
}

// ---------- contracts: create ----------

export async function createTrusteeship(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof TrusteeshipCreate>) {
  requireRole(ctx.actor, "admin");
  const today = ctx.clock.today();
  const h = await trx("households").where({ id: input.household_id }).whereIn("county_code", ctx.actor.countyCodes).first<{ id: string; county_code: string; village_code: string; status: string } | undefined>();
  if (!h) throw notFound("household");
  if (h.status === "REMOVED") throw new AppError("HOUSEHOLD_NOT_ELIGIBLE", "The household was removed from the register (清退)");
  // Locking the operator serialises contracts of one operator, so two cannot both pass the limit.
  const o = await findOperator(trx, ctx.actor, input.operator_id, { forUpdate: true });
  if (!o) throw notFound("operator");
  if (o.county_code !== h.county_code) {
    throw new AppError("RULE_VIOLATION", `The operator is registered in ${o.county_code}, the household in ${h.county_code}`, [{ path: "body.operator_id", message: "operator of another county" }]);
  }

  const problems = checkContractDates({ startDate: input.start_date, endDate: input.end_date, firstDueDate: input.first_due_date, frequency: input.frequency });
  if (input.start_date > today) problems.push({ path: "body.start_date", message: "a contract is recorded once the principal is handed over: the start date is not in the future" });
  if (input.source !== "HOUSEHOLD_LOAN" && (input.linked_loan_id || input.loan_disbursed_on)) {
    problems.push({ path: "body.linked_loan_id", message: "only a HOUSEHOLD_LOAN contract has a loan" });
  }
  if (input.source === "HOUSEHOLD_LOAN" && !input.linked_loan_id && !input.loan_disbursed_on) {
    problems.push({ path: "body.loan_disbursed_on", message: "a HOUSEHOLD_LOAN contract names its loan (linked_loan_id) or the loan's disbursement date" });
  }
  if (problems.length > 0) throw new AppError("VALIDATION_FAILED", problems.map((p) => p.message).join("; "), problems);

  let loanDisbursedOn: string | null = input.loan_disbursed_on ?? null;
  if (input.linked_loan_id) {
    const loan = await lockLoan(trx, input.linked_loan_id);
    if (!loan || loan.household_id !== h.id || !["DISBURSED", "EXTENDED"].includes(loan.status) || !loan.disbursed_on) {
      throw new AppError("INVALID_LINKED_LOAN", "The linked loan is not an open, disbursed loan of this household", [{ path: "body.linked_loan_id", message: "not an open loan of the household" }]);
    }
    if (input.loan_disbursed_on && input.loan_disbursed_on !== loan.disbursed_on) {
      throw new AppError("VALIDATION_FAILED", "loan_disbursed_on differs from the linked loan's disbursement date", [{ path: "body.loan_disbursed_on", message: `the loan was disbursed on ${loan.disbursed_on}` }]);
    }
    if (Money.of(input.principal).gt(Money.format(loan.outstanding_principal))) {
      throw new AppError("INVALID_LINKED_LOAN", "The principal entrusted exceeds the loan's outstanding principal", [{ path: "body.principal", message: `at most ${Money.format(loan.outstanding_principal)}` }]);
    }
    if (await trx("trusteeships").where({ linked_loan_id: loan.id, status: "ACTIVE" }).first()) {
      throw new AppError("INVALID_LINKED_LOAN", "The loan is already linked to an open contract", [{ path: "body.linked_loan_id", message: "already linked" }]);
    }
    loanDisbursedOn = loan.disbursed_on;
  }
  if (input.source === "HOUSEHOLD_LOAN" && loanDisbursedOn && !householdLoanEntrustable(loanDisbursedOn)) {
    throw new AppError(
      "HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED",
      `The loan was disbursed on ${loanDisbursedOn}: poverty loans disbursed from ${HOUSEHOLD_LOAN_BAN_FROM} may not be handed to an operator (户贷企用 is banned; 户借、户用、户还)`,
    );
  }

  // Rate and grace come from the policy in force at the start; the exposure limit from today's.
  const startPolicy = await policyOn(trx, h.county_code, input.start_date);
  const limit = await limitOf(trx, o, today);
  const open = Money.format((await exposureOf(trx, [o.id])).get(o.id)?.open ?? "0");
  if (!withinExposure(open, input.principal, limit)) {
    throw new AppError(
      "OPERATOR_EXPOSURE_LIMIT",
      `The operator's open entrusted principal ${open} plus ${Money.format(input.principal)} would exceed its limit ${limit}`,
    );
  }

  const annualRate = input.annual_rate ?? Rate.format(startPolicy.default_annual_rate);
  const graceDays = input.grace_days ?? Number(startPolicy.grace_days);
  const schedule = buildReturnSchedule({
    principal: Money.format(input.principal),
    annualRate,
    frequency: input.frequency as Frequency,
    startDate: input.start_date,
    endDate: input.end_date,
    firstDueDate: input.first_due_date,
    graceDays,
  });
  const now = ctx.clock.now();
  const [t] = await trx("trusteeships")
    .insert({
      county_code: h.county_code,
      village_code: h.village_code,
      household_id: h.id,
      operator_id: o.id,
      source: input.source,
      principal: Money.format(input.principal),
      start_date: input.start_date,
      end_date: input.end_date,
      first_due_date: schedule[0].dueDate,
      annual_rate: annualRate,
      frequency: input.frequency,
      grace_days: graceDays,
      linked_loan_id: input.linked_loan_id ?? null,
      loan_disbursed_on: loanDisbursedOn,
      note: input.note ?? null,
      created_by: ctx.actor.userId,
      created_at: now,
      updated_at: now,
    })
    .returning<TrusteeshipRow[]>("*");
  await trx("trusteeship_installments").insert(
    schedule.map((s) => ({
      trusteeship_id: t.id,
      seq: s.seq,
      county_code: t.county_code,
      period_start: s.periodStart,
      due_date: s.dueDate,
      days: s.days,
      pro_rated: s.proRated,
      amount_due: s.amountDue,
      arrears_from: s.arrearsFrom,
      paid_off_on: Money.of(s.amountDue).isZero() ? s.dueDate : null,
    })),
  );
  // The operator now owes the principal back (1401); the platform owes it on to the beneficiary (2201).
  await postJournalEntry(trx, {
    countyCode: t.county_code,
    entryDate: t.start_date,
    kind: "trusteeship.entrust",
    refType: "trusteeship",
    refId: t.id,
    memo: `entrusted principal to operator ${o.name}`,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.ENTRUSTED_PRINCIPAL, debit: Money.format(t.principal), partyType: "trusteeship", partyId: t.id },
      { account: ACCOUNTS.HOUSEHOLDS_PAYABLE, credit: Money.format(t.principal), partyType: "trusteeship", partyId: t.id },
    ],
  });
  await appendAudit(trx, ctx, {
    action: "trusteeship.create",
    entityType: "trusteeship",
    entityId: t.id,
    countyCode: t.county_code,
    after: { ...t, schedule: schedule.map((s) => ({ seq: s.seq, due_date: s.dueDate, amount_due: s.amountDue, pro_rated: s.proRated })) },
  });
  return fullView(trx, ctx, t.id);
}

// ---------- contracts: read ----------

export async function getTrusteeship(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...READERS);
  return fullView(db, ctx, id);
}

function monthRange(month: string): [string, string] {
  const first = `${month}-01`;
  return [first, addMonthsClamped(first, 1)];
}

export async function listTrusteeships(db: Db, ctx: Ctx, q: z.infer<typeof TrusteeshipQuery>) {
  requireRole(ctx.actor, ...READERS);
  const today = ctx.clock.today();
  const query = trusteeshipsQuery(db, ctx.actor);
  if (q.operator_id) query.andWhere("t.operator_id", q.operator_id);
  if (q.household_id) query.andWhere("t.household_id", q.household_id);
  if (q.village_code) query.andWhere("t.village_code", q.village_code);
  if (q.county_code) query.andWhere("t.county_code", q.county_code);
  if (q.status) query.andWhere("t.status", q.status);
  if (q.source) query.andWhere("t.source", q.source);
  if (q.in_arrears) {
    const sub = db("trusteeship_installments as i").whereRaw("i.trusteeship_id = t.id").andWhereRaw("i.amount_paid < i.amount_due").andWhere("i.arrears_from", "<=", today);
    if (q.in_arrears === "true") query.whereExists(sub);
    else query.whereNotExists(sub);
  }
  if (q.due_month) {
    const [from, to] = monthRange(q.due_month);
    query.whereExists(db("trusteeship_installments as i").whereRaw("i.trusteeship_id = t.id").andWhere("i.due_date", ">=", from).andWhere("i.due_date", "<", to));
  }
  const { rows, next_cursor } = await page<TrusteeshipRow & Record<string, unknown>>(query, "t.id", (r) => r.id, q.limit, q.cursor);
  const installments = await installmentsOf(db, rows.map((r) => r.id));
  const byContract = new Map<string, InstallmentRow[]>();
  for (const i of installments) byContract.set(i.trusteeship_id, [...(byContract.get(i.trusteeship_id) ?? []), i]);
  return { items: rows.map((t) => trusteeshipView(t, byContract.get(t.id) ?? [], today)), next_cursor };
}

export async function operatorDashboard(db: Db, ctx: Ctx, operatorId: string, q: z.infer<typeof DashboardQuery>) {
  requireRole(ctx.actor, "operator", "admin", "regulator", "finance_officer");
  const o = await findOperator(db, ctx.actor, operatorId);
  if (!o) throw notFound("operator");
  const today = ctx.clock.today();
  const month = q.month ?? today.slice(0, 7);
  const [from, to] = monthRange(month);
  const rows = await db("trusteeship_installments as i")
    .join("trusteeships as t", "t.id", "i.trusteeship_id")
    .where("t.operator_id", o.id)
    .andWhere("t.status", "ACTIVE")
    .andWhere((w) => w.where((m) => m.where("i.due_date", ">=", from).andWhere("i.due_date", "<", to)).orWhere((a) => a.whereRaw("i.amount_paid < i.amount_due").andWhere("i.arrears_from", "<=", today)))
    .orderBy(["i.due_date", "i.trusteeship_id", "i.seq"])
    .select<(InstallmentRow & { household_id: string; village_code: string })[]>("i.*", "t.household_id", "t.village_code");
  const line = (i: InstallmentRow & { household_id: string; village_code: string }) => ({
    trusteeship_id: i.trusteeship_id,
    household_id: i.household_id,
    village_code: i.village_code,
    seq: i.seq,
    due_date: i.due_date,
    amount_due: Money.format(i.amount_due),
    amount_paid: Money.format(i.amount_paid),
    amount_open: Money.format(new D(i.amount_due).minus(i.amount_paid)),
    days_in_arrears: daysInArrears(stateOf(i), today),
  });
  const dueThisMonth = rows.filter((i) => i.due_date >= from && i.due_date < to).map(line);
  const overdue = rows.filter((i) => installmentStatus(stateOf(i), today) === "IN_ARREARS").map(line);
  const principalDue = await db("trusteeships")
    .where({ operator_id: o.id, status: "ACTIVE" })
    .andWhere("end_date", "<", to)
    .andWhereRaw("principal > principal_returned")
    .orderBy(["end_date", "id"])
    .select<{ id: string; end_date: string; principal: string; principal_returned: string }[]>("id", "end_date", "principal", "principal_returned");
  const exposure = (await exposureOf(db, [o.id])).get(o.id);
  return {
    operator_id: o.id,
    as_of: today,
    month,
    active_contracts: exposure?.active ?? 0,
    exposure: Money.format(exposure?.open ?? "0"),
    exposure_limit: await limitOf(db, o, today),
    due_this_month: { amount_open: Money.format(Money.sum(dueThisMonth.map((l) => l.amount_open))), items: dueThisMonth },
    overdue: { amount_open: Money.format(Money.sum(overdue.map((l) => l.amount_open))), items: overdue },
    principal_due: principalDue.map((p) => ({ trusteeship_id: p.id, end_date: p.end_date, open_principal: Money.format(new D(p.principal).minus(p.principal_returned)) })),
  };
}

// ---------- payments ----------

async function lockForPayment(trx: Knex.Transaction, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...PAYERS);
  const t = await findTrusteeship(trx, ctx.actor, id, { forUpdate: true });
  if (!t) throw notFound("trusteeship");
  if (t.status === "CLOSED") throw new AppError("INVALID_STATE", "The contract is closed: its principal and every return are paid");
  return t;
}

function valueDate(given: string | undefined, t: TrusteeshipRow, today: string, path: string): string {
  const d = given ?? today;
  if (d > today) throw new AppError("VALIDATION_FAILED", "The value date is in the future", [{ path, message: "not after today" }]);
  if (d < t.start_date) throw new AppError("VALIDATION_FAILED", "The value date is before the contract started", [{ path, message: `on or after ${t.start_date}` }]);
  return d;
}

/** Closes the arrears alerts of a contract (and of its linked loan) once nothing of it is in arrears. */
async function clearArrearsAlertsIfSettled(trx: Knex.Transaction, t: TrusteeshipRow, now: Date): Promise<void> {
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

async function closeIfSettled(trx: Knex.Transaction, id: string, now: Date): Promise<boolean> {
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
    throw new AppError("TRUSTEESHIP_OVERPAYMENT", `The contract's unpaid returns total ${owed}; the payment of ${amount} exceeds them`, [
      { path: "body.amount", message: `at most ${owed}` },
    ]);
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
async function repayLinkedLoan(trx: Knex.Transaction, ctx: Ctx, t: TrusteeshipRow, amount: string, reference: string | undefined) {
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
  if (openPrincipal.isZero()) throw new AppError("INVALID_STATE", "The principal has already been returned");
  const on = valueDate(input.returned_on, t, today, "body.returned_on");
  if (on < t.end_date) throw new AppError("PRINCIPAL_RETURN_BEFORE_END", `The contract runs to ${t.end_date}; the principal is returned on or after it`);
  const amount = Money.format(input.amount);
  if (!Money.of(amount).eq(openPrincipal)) {
    throw new AppError("PRINCIPAL_RETURN_MISMATCH", `The open principal is ${Money.format(openPrincipal)}; it is returned whole`, [
      { path: "body.amount", message: `must be ${Money.format(openPrincipal)}` },
    ]);
  }
  if (t.linked_loan_id && on !== today) {
    throw new AppError("VALIDATION_FAILED", "A principal return that repays a linked loan is dated today", [{ path: "body.returned_on", message: `must be ${today} (or absent)` }]);
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

// ---------- arrears job (close of business) ----------

function countyClause(column: string, countyCodes: string[] | undefined): { sql: string; bindings: string[] } {
  if (!countyCodes) return { sql: "TRUE", bindings: [] };
  if (countyCodes.length === 0) return { sql: "FALSE", bindings: [] };
  return { sql: `${column} IN (${countyCodes.map(() => "?").join(", ")})`, bindings: countyCodes };
}

async function rowCount(p: Promise<unknown>): Promise<number> {
  return affectedRows(await p);
}

export interface ArrearsRun {
  business_date: string;
  installments_accrued: number;
  installments_newly_in_arrears: number;
  contracts_in_arrears: number;
  operators_over_limit: number;
  alerts_cleared: number;
}

/**
 * The trusteeship part of the close of business for a business date, in set-based SQL over the
 * whole portfolio (or some counties): (1) recognises the return of every installment that has
 * fallen due (1402 ← 2201, one journal entry per installment, for the part still unpaid);
 * (2) marks unpaid installments past due + grace days as in arrears; (3) raises or refreshes one
 * arrears alert per contract, one per linked loan (the loan at risk) and one per operator over its
 * exposure limit, and clears those whose condition no longer holds. Idempotent for a date; runs in
 * one transaction (reusing the caller's when given one).
 */
export async function trusteeshipArrears(db: Db, businessDate: string, opts: { countyCodes?: string[]; now?: Date } = {}): Promise<ArrearsRun> {
  const now = opts.now ?? new Date();
  return transaction(db, async (trx) => {
    const ic = countyClause("i.county_code", opts.countyCodes);
    const tc = countyClause("t.county_code", opts.countyCodes);
    const oc = countyClause("o.county_code", opts.countyCodes);
    const ac = countyClause("a.county_code", opts.countyCodes);
    const bd = businessDate;

    // (1) Recognise what fell due: one entry per installment, ids assigned first so lines can follow.
    const accrued = await rowCount(
      trx.raw(
        `UPDATE trusteeship_installments i
            SET accrued_on = ?::date, accrued_amount = i.amount_due - i.amount_paid,
                accrual_entry_id = CASE WHEN i.amount_due > i.amount_paid THEN gen_random_uuid() END
          WHERE i.accrued_on IS NULL AND i.due_date <= ?::date AND ${ic.sql}`,
        [bd, bd, ...ic.bindings],
      ),
    );
    await postJournalEntriesFrom(trx, {
      entriesSql: `SELECT i.accrual_entry_id AS id, i.county_code, i.due_date AS entry_date, 'trusteeship.return_due' AS kind, 'trusteeship' AS ref_type,
                          i.trusteeship_id::text AS ref_id, 'return installment ' || i.seq || ' due' AS memo, NULL::uuid AS actor_id, NULL::uuid AS reverses_entry_id
                     FROM trusteeship_installments i
                    WHERE i.accrued_on = ?::date AND i.accrual_entry_id IS NOT NULL AND ${ic.sql}`,
      linesSql: `SELECT i.accrual_entry_id AS entry_id, x.account AS account_code, i.county_code, 'trusteeship' AS party_type, i.trusteeship_id::text AS party_id, x.debit, x.credit
                   FROM trusteeship_installments i
                  CROSS JOIN LATERAL (VALUES ('${ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE}', i.accrued_amount, 0::numeric),
                                             ('${ACCOUNTS.HOUSEHOLDS_PAYABLE}', 0::numeric, i.accrued_amount)) AS x(account, debit, credit)
                  WHERE i.accrued_on = ?::date AND i.accrual_entry_id IS NOT NULL AND ${ic.sql}`,
      bindings: [bd, ...ic.bindings, bd, ...ic.bindings],
    });

    // (2) Mark arrears: unpaid after due date + grace days.
    const newlyInArrears = await rowCount(
      trx.raw(
        `UPDATE trusteeship_installments i SET in_arrears = true, arrears_since = coalesce(i.arrears_since, i.arrears_from)
          WHERE NOT i.in_arrears AND i.amount_paid < i.amount_due AND i.arrears_from <= ?::date AND ${ic.sql}`,
        [bd, ...ic.bindings],
      ),
    );

    // (3a) One alert per contract in arrears, to the regulator and the village (village_code set).
    const arrearsSql = `
      SELECT t.id, t.county_code, t.village_code, t.operator_id, t.linked_loan_id,
             sum(i.amount_due - i.amount_paid) AS amount, count(*)::int AS installments,
             (?::date - min(i.arrears_from) + 1) AS days, min(i.arrears_from) AS since
        FROM trusteeships t JOIN trusteeship_installments i ON i.trusteeship_id = t.id
       WHERE i.in_arrears AND t.status = 'ACTIVE' AND ${tc.sql}
       GROUP BY t.id`;
    const contractsInArrears = await rowCount(
      trx.raw(
        `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, operator_id, village_code, message, details, business_date, raised_at, updated_at)
         SELECT c.county_code, ?, CASE WHEN c.days > 90 THEN 'CRITICAL' ELSE 'WARNING' END, 'trusteeship', c.id::text, c.operator_id, c.village_code,
                format('委托经营收益拖欠 trustee return in arrears: %s yuan, %s installment(s), %s days', c.amount, c.installments, c.days),
                jsonb_build_object('amount', c.amount::text, 'installments', c.installments, 'days', c.days, 'since', c.since, 'operator_id', c.operator_id, 'linked_loan_id', c.linked_loan_id),
                ?::date, ?, ?
           FROM (${arrearsSql}) c
         ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
         DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message, details = EXCLUDED.details,
                       business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
        [ALERT_KINDS.ARREARS, bd, now, now, bd, ...tc.bindings],
      ),
    );
    // (3b) The linked loan is at risk: an alert on the loan, for its bank.
    await trx.raw(
      `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, operator_id, village_code, message, details, business_date, raised_at, updated_at)
       SELECT c.county_code, ?, 'WARNING', 'loan', c.linked_loan_id::text, l.bank_id, c.operator_id, c.village_code,
              format('贷款风险: 委托经营方拖欠收益 loan at risk: its trusteeship operator is %s days in arrears', c.days),
              jsonb_build_object('trusteeship_id', c.id, 'operator_id', c.operator_id, 'amount', c.amount::text, 'days', c.days),
              ?::date, ?, ?
         FROM (${arrearsSql}) c JOIN loans l ON l.id = c.linked_loan_id
       ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
       DO UPDATE SET message = EXCLUDED.message, details = EXCLUDED.details, business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
      [ALERT_KINDS.LOAN_AT_RISK, bd, now, now, bd, ...tc.bindings],
    );
    // (3c) Operators over their exposure limit (the county policy in force on the business date).
    const overSql = `
      SELECT o.id, o.county_code, x.open,
             least(round(o.registered_capital * coalesce(p.exposure_multiple, 10), 2), coalesce(p.exposure_cap, round(o.registered_capital * coalesce(p.exposure_multiple, 10), 2))) AS lim
        FROM operators o
        JOIN (SELECT operator_id, sum(principal - principal_returned) AS open FROM trusteeships WHERE status = 'ACTIVE' GROUP BY operator_id) x ON x.operator_id = o.id
        LEFT JOIN LATERAL (SELECT exposure_multiple, exposure_cap FROM trusteeship_policies p
                            WHERE p.county_code = o.county_code AND p.effective_from <= ?::date
                            ORDER BY p.effective_from DESC LIMIT 1) p ON true
       WHERE ${oc.sql}`;
    const operatorsOver = await rowCount(
      trx.raw(
        `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, operator_id, message, details, business_date, raised_at, updated_at)
         SELECT e.county_code, ?, 'CRITICAL', 'operator', e.id::text, e.id,
                format('委托经营方超限 operator exposure %s yuan over its limit %s', e.open, e.lim),
                jsonb_build_object('exposure', e.open::text, 'limit', e.lim::text), ?::date, ?, ?
           FROM (${overSql}) e WHERE e.open > e.lim
         ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
         DO UPDATE SET message = EXCLUDED.message, details = EXCLUDED.details, business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
        [ALERT_KINDS.EXPOSURE, bd, now, now, bd, ...oc.bindings],
      ),
    );

    // Clear what no longer holds.
    let cleared = await rowCount(
      trx.raw(
        `UPDATE alerts a SET cleared_at = ?, updated_at = ?
          WHERE a.cleared_at IS NULL AND a.kind = ? AND ${ac.sql}
            AND NOT EXISTS (SELECT 1 FROM trusteeship_installments i WHERE i.trusteeship_id::text = a.entity_id AND i.in_arrears)`,
        [now, now, ALERT_KINDS.ARREARS, ...ac.bindings],
      ),
    );
    cleared += await rowCount(
      trx.raw(
        `UPDATE alerts a SET cleared_at = ?, updated_at = ?
          WHERE a.cleared_at IS NULL AND a.kind = ? AND ${ac.sql}
            AND NOT EXISTS (SELECT 1 FROM trusteeships t JOIN trusteeship_installments i ON i.trusteeship_id = t.id
                             WHERE t.linked_loan_id::text = a.entity_id AND i.in_arrears)`,
        [now, now, ALERT_KINDS.LOAN_AT_RISK, ...ac.bindings],
      ),
    );
    cleared += await rowCount(
      trx.raw(
        `UPDATE alerts a SET cleared_at = ?, updated_at = ?
          WHERE a.cleared_at IS NULL AND a.kind = ? AND ${ac.sql}
            AND NOT EXISTS (SELECT 1 FROM (${overSql.replace(`WHERE ${oc.sql}`, "WHERE TRUE")}) e WHERE e.id::text = a.entity_id AND e.open > e.lim)`,
        [now, now, ALERT_KINDS.EXPOSURE, ...ac.bindings, bd],
      ),
    );

    return {
      business_date: bd,
      installments_accrued: accrued,
      installments_newly_in_arrears: newlyInArrears,
      contracts_in_arrears: contractsInArrears,
      operators_over_limit: operatorsOver,
      alerts_cleared: cleared,
    };
  });
}

/** `POST /jobs/trusteeship-arrears`: the job for the caller's counties, audited. */
export async function runArrearsJob(trx: Knex.Transaction, ctx: Ctx, businessDate: string) {
  requireRole(ctx.actor, "admin");
  if (businessDate > ctx.clock.today()) throw new AppError("VALIDATION_FAILED", "The business date is in the future", [{ path: "body.business_date", message: "not after today" }]);
  const run = await trusteeshipArrears(trx, businessDate, { countyCodes: ctx.actor.countyCodes, now: ctx.clock.now() });
  await appendAudit(
    trx,
    ctx,
    ctx.actor.countyCodes.map((c) => ({ action: "job.trusteeship_arrears", entityType: "job", entityId: `trusteeship-arrears:${businessDate}`, countyCode: c, after: run })),
  );
  return run;
}

// ---------- reconciliation ----------

registerPartyBalanceCheck({
  name: "trusteeship.entrusted_principal",
  description: "Entrusted principal (1401) per contract equals its open principal (principal − principal returned)",
  account: ACCOUNTS.ENTRUSTED_PRINCIPAL,
  partyType: "trusteeship",
  recordsSql: `SELECT id, county_code, principal - principal_returned AS amount FROM trusteeships`,
});
registerPartyBalanceCheck({
  name: "trusteeship.return_receivable",
  description: "Trustee return receivable (1402) per contract equals the unpaid part of its installments recognised as due",
  account: ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE,
  partyType: "trusteeship",
  recordsSql: `SELECT trusteeship_id AS id, county_code, sum(amount_due - amount_paid) AS amount FROM trusteeship_installments
                WHERE accrued_on IS NOT NULL GROUP BY trusteeship_id, county_code`,
});
