import type { Bilingual } from "../../lib/i18n.js";
import { D, type Dec, Money } from "../../lib/money.js";
import { addDays, addMonthsClamped, daysBetween } from "../../lib/dates.js";

/**
 * Pure calculations of entrusted operation (委托经营): the unified social credit code check, the
 * return schedule, payment allocation, arrears and the exposure limit. No I/O: plain data in and
 * out, so every rule is tested with plain objects.
 */

// ---------- unified social credit code (统一社会信用代码, GB 32100-2015) ----------

/** The 31 characters of GB 32100: digits and capitals without I, O, Z, S, V. */
export const CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/** Weights of positions 1..17 (3^(i-1) mod 31). */
export const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

export type CreditCodeProblem = "LENGTH" | "CHARACTER" | "CHECK";
export const CREDIT_CODE_PROBLEM_TEXT: Record<CreditCodeProblem, Bilingual> = {
  LENGTH: { zh: "统一社会信用代码为 18 位", en: "a unified social credit code has 18 characters" },
  CHARACTER: { zh: "只能使用数字 0-9 和除 I、O、Z、S、V 以外的大写字母 A-Y（GB 32100）", en: "only 0-9 and A-Y without I, O, Z, S, V may appear (GB 32100)" },
  CHECK: { zh: "第 18 位校验码与前 17 位不符（GB 32100）", en: "the check character (18th) does not match the first 17 (GB 32100)" },
};

/** The check character of the first 17 characters: C18 = 31 − (Σ Ci·Wi mod 31), 31 → 0. */
export function creditCodeCheckChar(first17: string): string {
  if (first17.length !== 17) throw new RangeError("17 characters expected");
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_ALPHABET.indexOf(first17[i]);
    if (v < 0) throw new RangeError(`not a GB 32100 character: ${first17[i]}`);
    sum += v * CREDIT_CODE_WEIGHTS[i];
  }
  return CREDIT_CODE_ALPHABET[(31 - (sum % 31)) % 31];
}

/** Checks a code (upper-cased, spaces trimmed by the caller): length, alphabet, check character. */
export function checkCreditCode(code: string): { ok: true; value: string } | { ok: false; problem: CreditCodeProblem } {
  if (code.length !== 18) return { ok: false, problem: "LENGTH" };
  for (const ch of code) if (!CREDIT_CODE_ALPHABET.includes(ch)) return { ok: false, problem: "CHARACTER" };
  if (creditCodeCheckChar(code.slice(0, 17)) !== code[17]) return { ok: false, problem: "CHECK" };
  return { ok: true, value: code };
}

// ---------- schedule ----------

export const FREQUENCIES = ["ANNUAL", "SEMIANNUAL", "QUARTERLY"] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export const INSTALLMENTS_PER_YEAR: Record<Frequency, number> = { ANNUAL: 1, SEMIANNUAL: 2, QUARTERLY: 4 };
export const MONTHS_PER_PERIOD: Record<Frequency, number> = { ANNUAL: 12, SEMIANNUAL: 6, QUARTERLY: 3 };
/** A short (stub) period earns actual days / 365 of the annual return. */
export const DAY_COUNT_BASIS = 365;
/** Guaranteed annual return by default: 8% (环江: 4,000 a year on 50,000). */
export const DEFAULT_ANNUAL_RATE = "0.08";

export interface ScheduleInput {
  principal: string;
  annualRate: string;
  frequency: Frequency;
  startDate: string;
  endDate: string;
  /** The first due date; later ones step from it by whole periods. Default: one period after the start. */
  firstDueDate?: string;
  graceDays: number;
}

export interface ScheduledInstallment {
  seq: number;
  periodStart: string;
  dueDate: string;
  days: number;
  /** True for a short first or last period, paid by actual days / 365. */
  proRated: boolean;
  amountDue: string;
  /** First day an unpaid amount is in arrears: due date + grace days + 1. */
  arrearsFrom: string;
}

/** The default first due date: one whole period after the start, or the end when sooner. */
export function defaultFirstDueDate(startDate: string, endDate: string, frequency: Frequency): string {
  const oneStep = addMonthsClamped(startDate, MONTHS_PER_PERIOD[frequency]);
  return oneStep < endDate ? oneStep : endDate;
}

/** A problem with one field of a contract, in both languages. */
export interface ContractProblem {
  path: string;
  message: Bilingual;
}

/** Problems with a contract's dates (empty when a schedule can be built). */
export function checkContractDates(i: Pick<ScheduleInput, "startDate" | "endDate" | "firstDueDate" | "frequency">): ContractProblem[] {
  const problems: ContractProblem[] = [];
  if (i.endDate <= i.startDate) problems.push({ path: "body.end_date", message: { zh: "结束日期须晚于开始日期", en: "the end date comes after the start date" } });
  if (i.firstDueDate !== undefined) {
    const latest = addMonthsClamped(i.startDate, MONTHS_PER_PERIOD[i.frequency]);
    const first = (zh: string, en: string) => problems.push({ path: "body.first_due_date", message: { zh, en } });
    if (i.firstDueDate <= i.startDate) first("首个应付日须晚于开始日期", "the first due date comes after the start date");
    else if (i.firstDueDate > latest) first(`首期可以短于一期，但不能长于一期（最晚 ${latest}）`, `a first period may be short but not longer than one period (at most ${latest})`);
    else if (i.firstDueDate > i.endDate) first("首个应付日不能晚于结束日期", "the first due date is on or before the end date");
  }
  return problems;
}

/**
 * The return schedule. Due dates are the first due date and every whole period after it (same day
 * of the month, or the month's last day), while before the end date; the end date is the last due
 * date. A whole period earns principal × rate / installments per year; a short first period (start
 * to a first due date sooner than one period) and a short last period (last due date to an end
 * date off the grid) earn principal × rate × actual days / 365, never more than a whole period.
 * Each amount is rounded half-up to the fen once.
 */
export function buildReturnSchedule(input: ScheduleInput): ScheduledInstallment[] {
  const problems = checkContractDates(input);
  if (problems.length > 0) throw new RangeError(problems.map((p) => p.message.en).join("; "));
  const step = MONTHS_PER_PERIOD[input.frequency];
  const principal = Money.of(input.principal);
  const rate = new D(input.annualRate);
  // The k-th due date of the grid (k from 0): counted from the first due date when one is given,
  // else from the start date, so a contract starting on 30 November stays on month ends.
  const gridDate = (k: number) => (input.firstDueDate ? addMonthsClamped(input.firstDueDate, k * step) : addMonthsClamped(input.startDate, (k + 1) * step));
  const wholePeriod = Money.toFen(principal.times(rate).div(INSTALLMENTS_PER_YEAR[input.frequency]));

  const dueDates: string[] = [];
  for (let k = 0; ; k++) {
    const d = gridDate(k);
    if (d >= input.endDate) break;
    dueDates.push(d);
  }
  dueDates.push(input.endDate);

  const out: ScheduledInstallment[] = [];
  let from = input.startDate;
  dueDates.forEach((due, i) => {
    const first = i === 0;
    const last = i === dueDates.length - 1;
    // Grid-to-grid periods are whole; the first is whole when it spans one full period from the
    // start; the last when the end date is itself the next grid date.
    let whole = true;
    if (first && due !== addMonthsClamped(from, step)) whole = false;
    if (last && !first && due !== gridDate(i)) whole = false;
    const days = daysBetween(from, due);
    // A short period of 181-184 days can come to more than half a year at /365; it never earns
    // more than the whole period it is a part of.
    const amount = whole ? wholePeriod : D.min(wholePeriod, Money.toFen(principal.times(rate).times(days).div(DAY_COUNT_BASIS)));
    out.push({
      seq: i + 1,
      periodStart: from,
      dueDate: due,
      days,
      proRated: !whole,
      amountDue: Money.format(amount),
      arrearsFrom: addDays(due, input.graceDays + 1),
    });
    from = due;
  });
  return out;
}

// ---------- payments and arrears ----------

export interface InstallmentState {
  seq: number;
  dueDate: string;
  amountDue: string;
  amountPaid: string;
  arrearsFrom: string;
}

/** Allocates a return payment to the oldest unpaid installments first (future ones last: prepayment). */
export function allocateReturnPayment(installments: InstallmentState[], amount: string): { allocation: { seq: number; amount: string }[]; unallocated: string } {
  let left = Money.of(amount);
  const allocation: { seq: number; amount: string }[] = [];
  for (const inst of [...installments].sort((a, b) => a.seq - b.seq)) {
    if (left.lte(0)) break;
    const open = Money.of(inst.amountDue).minus(inst.amountPaid);
    if (open.lte(0)) continue;
    const take = D.min(open, left);
    allocation.push({ seq: inst.seq, amount: Money.format(take) });
    left = left.minus(take);
  }
  return { allocation, unallocated: Money.format(left) };
}

export type InstallmentStatus = "PAID" | "IN_ARREARS" | "DUE" | "NOT_DUE";

/** Where an installment stands on a date: paid, in arrears (unpaid after due + grace), due (inside grace) or not yet due. */
export function installmentStatus(i: InstallmentState, asOf: string): InstallmentStatus {
  if (Money.of(i.amountPaid).gte(i.amountDue)) return "PAID";
  if (asOf >= i.arrearsFrom) return "IN_ARREARS";
  if (asOf >= i.dueDate) return "DUE";
  return "NOT_DUE";
}

/** Days an installment has been in arrears on a date (1 on its first day in arrears, 0 when not). */
export function daysInArrears(i: InstallmentState, asOf: string): number {
  return installmentStatus(i, asOf) === "IN_ARREARS" ? daysBetween(i.arrearsFrom, asOf) + 1 : 0;
}

export interface ArrearsSummary {
  amount: string;
  installments: number;
  /** Days in arrears of the oldest installment in arrears. */
  days: number;
  since: string | null;
}

/** Arrears of a contract on a date: unpaid amounts of installments past due + grace days. */
export function arrearsOf(installments: InstallmentState[], asOf: string): ArrearsSummary {
  let amount: Dec = new D(0);
  let count = 0;
  let days = 0;
  let since: string | null = null;
  for (const i of installments) {
    if (installmentStatus(i, asOf) !== "IN_ARREARS") continue;
    amount = amount.plus(Money.of(i.amountDue).minus(i.amountPaid));
    count += 1;
    const d = daysInArrears(i, asOf);
    if (d > days) {
      days = d;
      since = i.arrearsFrom;
    }
  }
  return { amount: Money.format(amount), installments: count, days, since };
}

// ---------- exposure ----------

/** Exposure limits by default: 10 × registered capital (docs/DOMAIN.md#entrusted-operation), lowered by a county cap when set. */
export const DEFAULT_EXPOSURE_MULTIPLE = "10";

export function exposureLimit(registeredCapital: string, multiple: string, countyCap: string | null): string {
  const byCapital = Money.toFen(Money.of(registeredCapital).times(multiple));
  return Money.format(countyCap === null ? byCapital : D.min(byCapital, Money.of(countyCap)));
}

/** Whether a new contract of `principal` keeps the operator's open principal within its limit. */
export function withinExposure(openPrincipal: string, principal: string, limit: string): boolean {
  return Money.of(openPrincipal).plus(principal).lte(limit);
}

/** 户贷企用 ban: from this date a household's poverty loan may not be handed to an enterprise or cooperative. */
export const HOUSEHOLD_LOAN_BAN_FROM = "2021-03-04";
export function householdLoanEntrustable(loanDisbursedOn: string): boolean {
  return loanDisbursedOn < HOUSEHOLD_LOAN_BAN_FROM;
}
