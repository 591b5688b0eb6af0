/** Entrusted-fund contracts (委托经营): what readers see, signing a contract, reading one. */
import { joinedMessages } from "../../lib/i18n.js";
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry } from "../../lib/ledger.js";
import { D, Money, Rate } from "../../lib/money.js";
import { lockLoan } from "../loans/index.js";
import {
  arrearsOf,
  buildReturnSchedule,
  checkContractDates,
  daysInArrears,
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
  type PaymentRow,
  paymentsOf,
  policyOn,
  trusteeshipsQuery,
  type TrusteeshipRow,
} from "./queries.js";
import type { DashboardQuery, TrusteeshipCreate, TrusteeshipQuery } from "./schemas.js";
import { addMonthsClamped } from "../../lib/dates.js";
import { READERS } from "./common.js";
import { limitOf } from "./operators.js";

type Db = Knex | Knex.Transaction;

export function stateOf(i: InstallmentRow): InstallmentState {
  return { seq: i.seq, dueDate: i.due_date, amountDue: i.amount_due, amountPaid: i.amount_paid, arrearsFrom: i.arrears_from };
}

export function installmentView(i: InstallmentRow, asOf: string) {
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

export function paymentView(p: PaymentRow) {
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

export function trusteeshipView(t: TrusteeshipRow, installments: InstallmentRow[], asOf: string, extra: { payments?: PaymentRow[]; withSchedule?: boolean } = {}) {
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

export async function fullView(db: Db, ctx: Ctx, id: string) {
  const t = await findTrusteeship(db, ctx.actor, id);
  if (!t) throw notFound("trusteeship");
  return trusteeshipView(t, await installmentsOf(db, [id]), ctx.clock.today(), { payments: await paymentsOf(db, id), withSchedule: true });
}

export async function createTrusteeship(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof TrusteeshipCreate>) {
  requireRole(ctx.actor, "admin");
  const today = ctx.clock.today();
  const h = await trx("households").where({ id: input.household_id }).whereIn("county_code", ctx.actor.countyCodes).first<{ id: string; county_code: string; village_code: string; status: string } | undefined>();
  if (!h) throw notFound("household");
  if (h.status === "REMOVED") throw new AppError("HOUSEHOLD_NOT_ELIGIBLE", { zh: "该农户已从建档立卡名册中清退", en: "The household was removed from the register (清退)" });
  // Locking the operator serialises contracts of one operator, so two cannot both pass the limit.
  const o = await findOperator(trx, ctx.actor, input.operator_id, { forUpdate: true });
  if (!o) throw notFound("operator");
  if (o.county_code !== h.county_code) {
    throw new AppError("RULE_VIOLATION", { zh: `经营主体登记在 ${o.county_code}，农户在 ${h.county_code}`, en: `The operator is registered in ${o.county_code}, the household in ${h.county_code}` }, [
      { path: "body.operator_id", message: { zh: "其他县的经营主体", en: "operator of another county" } },
    ]);
  }

  const problems = checkContractDates({ startDate: input.start_date, endDate: input.end_date, firstDueDate: input.first_due_date, frequency: input.frequency });
  if (input.start_date > today) {
    problems.push({
      path: "body.start_date",
      message: { zh: "本金交付后才登记合同：开始日期不能晚于今天", en: "a contract is recorded once the principal is handed over: the start date is not in the future" },
    });
  }
  if (input.source !== "HOUSEHOLD_LOAN" && (input.linked_loan_id || input.loan_disbursed_on)) {
    problems.push({ path: "body.linked_loan_id", message: { zh: "只有 HOUSEHOLD_LOAN 合同才关联贷款", en: "only a HOUSEHOLD_LOAN contract has a loan" } });
  }
  if (input.source === "HOUSEHOLD_LOAN" && !input.linked_loan_id && !input.loan_disbursed_on) {
    problems.push({
      path: "body.loan_disbursed_on",
      message: { zh: "HOUSEHOLD_LOAN 合同须给出所关联的贷款（linked_loan_id）或该贷款的发放日期", en: "a HOUSEHOLD_LOAN contract names its loan (linked_loan_id) or the loan's disbursement date" },
    });
  }
  if (problems.length > 0) {
    throw new AppError("VALIDATION_FAILED", joinedMessages(problems), problems);
  }

  let loanDisbursedOn: string | null = input.loan_disbursed_on ?? null;
  if (input.linked_loan_id) {
    const loan = await lockLoan(trx, input.linked_loan_id);
    if (!loan || loan.household_id !== h.id || !["DISBURSED", "EXTENDED"].includes(loan.status) || !loan.disbursed_on) {
      throw new AppError("INVALID_LINKED_LOAN", { zh: "所关联的贷款不是该农户已发放且未结清的贷款", en: "The linked loan is not an open, disbursed loan of this household" }, [
        { path: "body.linked_loan_id", message: { zh: "不是该农户未结清的贷款", en: "not an open loan of the household" } },
      ]);
    }
    if (input.loan_disbursed_on && input.loan_disbursed_on !== loan.disbursed_on) {
      throw new AppError("VALIDATION_FAILED", { zh: "loan_disbursed_on 与所关联贷款的发放日期不符", en: "loan_disbursed_on differs from the linked loan's disbursement date" }, [
        { path: "body.loan_disbursed_on", message: { zh: `该贷款于 ${loan.disbursed_on} 发放`, en: `the loan was disbursed on ${loan.disbursed_on}` } },
      ]);
    }
    if (Money.of(input.principal).gt(Money.format(loan.outstanding_principal))) {
      const most = Money.format(loan.outstanding_principal);
      throw new AppError("INVALID_LINKED_LOAN", { zh: "委托的本金超过该贷款的未还本金", en: "The principal entrusted exceeds the loan's outstanding principal" }, [
        { path: "body.principal", message: { zh: `最多 ${most}`, en: `at most ${most}` } },
      ]);
    }
    if (await trx("trusteeships").where({ linked_loan_id: loan.id, status: "ACTIVE" }).first()) {
      throw new AppError("INVALID_LINKED_LOAN", { zh: "该贷款已关联一份履约中的委托合同", en: "The loan is already linked to an open contract" }, [
        { path: "body.linked_loan_id", message: { zh: "已被关联", en: "already linked" } },
      ]);
    }
    loanDisbursedOn = loan.disbursed_on;
  }
  if (input.source === "HOUSEHOLD_LOAN" && loanDisbursedOn && !householdLoanEntrustable(loanDisbursedOn)) {
    throw new AppError(
      "HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED",
      {
        zh: `该贷款于 ${loanDisbursedOn} 发放：${HOUSEHOLD_LOAN_BAN_FROM} 起发放的扶贫小额信贷不得交由经营主体使用（禁止户贷企用；户借、户用、户还）`,
        en: `The loan was disbursed on ${loanDisbursedOn}: poverty loans disbursed from ${HOUSEHOLD_LOAN_BAN_FROM} may not be handed to an operator (户贷企用 is banned; 户借、户用、户还)`,
      },
    );
  }

  // Rate and grace come from the policy in force at the start; the exposure limit from today's.
  const startPolicy = await policyOn(trx, h.county_code, input.start_date);
  const limit = await limitOf(trx, o, today);
  const open = Money.format((await exposureOf(trx, [o.id])).get(o.id)?.open ?? "0");
  if (!withinExposure(open, input.principal, limit)) {
    const principal = Money.format(input.principal);
    throw new AppError("OPERATOR_EXPOSURE_LIMIT", {
      zh: `经营主体未收回的委托本金 ${open} 加上本合同的 ${principal} 将超过其上限 ${limit}`,
      en: `The operator's open entrusted principal ${open} plus ${principal} would exceed its limit ${limit}`,
    });
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

export async function getTrusteeship(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...READERS);
  return fullView(db, ctx, id);
}

export function monthRange(month: string): [string, string] {
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
