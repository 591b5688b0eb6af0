/**
 * Pure loan calculations (docs/DOMAIN.md#interest, #repayment-methods, #overdue): schedules, interest, allocation of a payment, penalty
 * interest, days past due. No I/O: plain data in and out, dates as `YYYY-MM-DD` strings, money
 * as Decimal rounded half-up to the fen once per schedule period.
 */
import { type Dec, D, Money } from "../../lib/money.js";
import { addDays, addMonthsClamped, daysBetween } from "../../lib/dates.js";

export const REPAYMENT_METHODS = ["BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"] as const;
export type RepaymentMethod = (typeof REPAYMENT_METHODS)[number];

export const LOAN_STATUSES = ["APPLIED", "APPROVED", "REJECTED", "CANCELLED", "DISBURSED", "EXTENDED", "REPAID", "RENEWED", "WRITTEN_OFF", "COMPENSATED"] as const;
export type LoanStatus = (typeof LOAN_STATUSES)[number];
/** Statuses of a loan that is out and bearing interest. */
export const ACTIVE_STATUSES: readonly LoanStatus[] = ["DISBURSED", "EXTENDED"];

export const PURPOSES = ["PLANTING", "BREEDING", "PROCESSING", "RURAL_TOURISM", "COMMERCE"] as const;
export type Purpose = (typeof PURPOSES)[number];

/** Interest settlement months of BULLET_QUARTERLY (按季结息): the 20th of Mar, Jun, Sep, Dec. */
const SETTLEMENT_MONTHS = [3, 6, 9, 12];
const SETTLEMENT_DAY = 20;

// ---------- dates (business dates, no time zone; day arithmetic in src/lib/dates.ts) ----------

/** Whole years of age on a date. */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split("-").map(Number);
  const [y, m, d] = on.split("-").map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** Interest settlement dates of BULLET_QUARTERLY on or after `from` and before `until`. */
export function settlementDates(from: string, until: string): string[] {
  const out: string[] = [];
  let y = Number(from.slice(0, 4));
  for (;;) {
    for (const m of SETTLEMENT_MONTHS) {
      const s = `${y}-${String(m).padStart(2, "0")}-${SETTLEMENT_DAY}`;
      if (s >= until) return out;
      if (s >= from) out.push(s);
    }
    y += 1;
  }
}

// ---------- schedules ----------

/**
 * One period of a schedule. Interest accrues over [accrualStart, accrualEnd): the first day is
 * counted and the last is not (算头不算尾), so `days` = accrualEnd − accrualStart.
 */
export interface Period {
  seq: number;
  accrualStart: string;
  accrualEnd: string;
  dueDate: string;
  days: number;
  /** Principal outstanding during the period (after the previous period's principal). */
  openingPrincipal: Dec;
  principal: Dec;
  interest: Dec;
}

export interface ScheduleInput {
  method: RepaymentMethod;
  principal: Dec | string;
  annualRate: Dec | string;
  disbursedOn: string;
  maturityDate: string;
}

/** Maturity of a loan of `termMonths` disbursed on a date (month-end clamped). */
export function maturityOf(disbursedOn: string, termMonths: number): string {
  return addMonthsClamped(disbursedOn, termMonths);
}

/** Level payment of an annuity, rounded to the fen: P·i·(1+i)^n / ((1+i)^n − 1). */
export function annuityPayment(principal: Dec, monthlyRate: Dec, n: number): Dec {
  if (monthlyRate.isZero()) return Money.toFen(principal.div(n));
  const f = monthlyRate.plus(1).pow(n);
  return Money.toFen(principal.mul(monthlyRate).mul(f).div(f.minus(1)));
}

/**
 * The remaining schedule of a loan from `start` (the accrual start of its first period) to its
 * maturity, on a principal `balance`. The whole schedule of a new loan is `start` = disbursement
 * date. `carried` is interest already earned in the first period before `start` at another
 * balance (a prepayment or an extension inside a period): it is added before that period's one
 * rounding, and `periodStart` is then where that first period really began.
 */
export interface RemainingInput {
  method: RepaymentMethod;
  balance: Dec | string;
  annualRate: Dec | string;
  /** The disbursement date: monthly due dates count from it. */
  anchorDate: string;
  maturityDate: string;
  /** From when the balance applies. */
  start: string;
  /** Start of the period `start` falls in (defaults to `start`). */
  periodStart?: string;
  carried?: Dec;
  firstSeq?: number;
}

interface Frame {
  accrualStart: string;
  accrualEnd: string;
  dueDate: string;
}

/** The periods (dates only) from a period start to maturity. */
function frames(method: RepaymentMethod, anchorDate: string, maturityDate: string, periodStart: string): Frame[] {
  const out: Frame[] = [];
  if (method === "BULLET_QUARTERLY") {
    let start = periodStart;
    for (const s of settlementDates(periodStart, maturityDate)) {
      out.push({ accrualStart: start, accrualEnd: addDays(s, 1), dueDate: s });
      start = addDays(s, 1);
    }
    // The last period runs to the day before maturity (zero days when maturity follows a settlement date).
    out.push({ accrualStart: start, accrualEnd: maturityDate, dueDate: maturityDate });
    return out;
  }
  let prev = anchorDate;
  for (let k = 1; ; k++) {
    const due = addMonthsClamped(anchorDate, k);
    if (due > maturityDate) {
      // A maturity that is not a whole number of months (after an extension) ends the last period.
      if (prev < maturityDate) out.push({ accrualStart: prev, accrualEnd: maturityDate, dueDate: maturityDate });
      break;
    }
    if (due > periodStart) out.push({ accrualStart: prev > periodStart ? prev : periodStart, accrualEnd: due, dueDate: due });
    prev = due;
    if (due === maturityDate) break;
  }
  return out;
}

/** Interest of one period's span at a balance, unrounded (days/360, or rate/12 pro rata for monthly). */
export function spanInterest(method: RepaymentMethod, balance: Dec, annualRate: Dec, fromDate: string, toDate: string, frame: { accrualStart: string; accrualEnd: string }): Dec {
  const days = daysBetween(fromDate, toDate);
  if (days <= 0 || balance.isZero()) return new D(0);
  if (method === "BULLET_QUARTERLY") return balance.mul(annualRate).mul(days).div(360);
  const periodDays = daysBetween(frame.accrualStart, frame.accrualEnd);
  // One division, after every multiplication: dividing by 12 first would leave 40 digits of a
  // repeating fraction and could round an exact half fen down.
  return balance.mul(annualRate).mul(days).div(new D(12).mul(periodDays));
}

export function remainingSchedule(input: RemainingInput): Period[] {
  const rate = new D(input.annualRate);
  const balance0 = new D(input.balance);
  const periodStart = input.periodStart ?? input.start;
  const fs = frames(input.method, input.anchorDate, input.maturityDate, periodStart);
  const carried = input.carried ?? new D(0);
  const n = fs.length;
  const i = rate.div(12);
  const payment = input.method === "EQUAL_INSTALLMENT" ? annuityPayment(balance0, i, n) : new D(0);
  const level = input.method === "EQUAL_PRINCIPAL" ? Money.toFen(balance0.div(n)) : new D(0);
  let balance = balance0;
  const periods: Period[] = [];
  fs.forEach((f, k) => {
    const last = k === n - 1;
    let exact: Dec;
    if (input.method === "BULLET_QUARTERLY") {
      exact = spanInterest(input.method, balance, rate, k === 0 ? input.start : f.accrualStart, f.accrualEnd, f);
    } else if (k === 0 && input.start !== f.accrualStart) {
      exact = spanInterest(input.method, balance, rate, input.start, f.accrualEnd, f);
    } else {
      exact = balance.mul(rate).div(12); // a whole month: balance × annual / 12, divided last (an exact half fen stays a half)
    }
    if (k === 0) exact = exact.plus(carried);
    const interest = Money.toFen(exact);
    let principal: Dec;
    if (last) principal = balance;
    else if (input.method === "BULLET_QUARTERLY") principal = new D(0);
    else if (input.method === "EQUAL_PRINCIPAL") principal = D.min(level, balance);
    else principal = D.max(D.min(payment.minus(interest), balance), 0);
    periods.push({
      seq: (input.firstSeq ?? 1) + k,
      accrualStart: f.accrualStart,
      accrualEnd: f.accrualEnd,
      dueDate: f.dueDate,
      days: daysBetween(f.accrualStart, f.accrualEnd),
      openingPrincipal: balance,
      principal,
      interest,
    });
    balance = balance.minus(principal);
  });
  return periods;
}

/** The whole schedule of a new loan (docs/DOMAIN.md#repayment-methods). */
export function buildSchedule(input: ScheduleInput): Period[] {
  return remainingSchedule({
    method: input.method,
    balance: input.principal,
    annualRate: input.annualRate,
    anchorDate: input.disbursedOn,
    maturityDate: input.maturityDate,
    start: input.disbursedOn,
  });
}

// ---------- state of a schedule, allocation, penalty ----------

/** A stored schedule period with what has been paid on it. */
export interface PeriodState {
  seq: number;
  accrualStart: string;
  accrualEnd: string;
  dueDate: string;
  principalDue: Dec;
  interestDue: Dec;
  principalPaid: Dec;
  interestPaid: Dec;
  /** Penalty interest accrued, unrounded; the amount owed is its fen rounding less what was paid. */
  penaltyAccrued: Dec;
  penaltyPaid: Dec;
  /** Last day whose penalty is in `penaltyAccrued` (null: none yet). */
  penaltyThrough: string | null;
}

export const unpaidPrincipal = (p: PeriodState) => p.principalDue.minus(p.principalPaid);
export const unpaidInterest = (p: PeriodState) => p.interestDue.minus(p.interestPaid);
export const unpaidPenalty = (p: PeriodState) => D.max(Money.toFen(p.penaltyAccrued).minus(p.penaltyPaid), 0);

/** The first day an amount due on `dueDate` is overdue: after the due date plus grace days. */
export function overdueFrom(dueDate: string, graceDays: number): string {
  return addDays(dueDate, graceDays + 1);
}
export function isOverdueOn(p: Pick<PeriodState, "dueDate">, graceDays: number, on: string): boolean {
  return on >= overdueFrom(p.dueDate, graceDays);
}
export function isSettled(p: PeriodState): boolean {
  return unpaidPrincipal(p).isZero() && unpaidInterest(p).isZero() && unpaidPenalty(p).isZero();
}

/** Daily penalty rates already computed, by rate and markup as written (a day-by-day close asks for the same few again and again). */
const dailyRates = new Map<string, Dec>();

/** Daily penalty rate: contract rate × (1 + markup) / 360 (罚息). */
export function penaltyDailyRate(annualRate: Dec | string, markup: Dec | string): Dec {
  if (typeof annualRate !== "string" || typeof markup !== "string") return new D(annualRate).mul(new D(markup).plus(1)).div(360);
  const key = `${annualRate}|${markup}`;
  let rate = dailyRates.get(key);
  if (rate === undefined) {
    rate = new D(annualRate).mul(new D(markup).plus(1)).div(360);
    if (dailyRates.size >= 10_000) dailyRates.clear();
    dailyRates.set(key, rate);
  }
  return rate;
}

/**
 * Accrues penalty interest on a period's overdue principal and interest for every day from the
 * first overdue day (or the day after `penaltyThrough`) through `through` inclusive. The base is
 * what is unpaid now, so callers accrue up to the day before a payment changes it.
 */
export function accruePenalty(p: PeriodState, opts: { annualRate: Dec | string; markup: Dec | string; graceDays: number; through: string }): PeriodState {
  const first = overdueFrom(p.dueDate, opts.graceDays);
  const from = p.penaltyThrough && p.penaltyThrough >= first ? addDays(p.penaltyThrough, 1) : first;
  const days = daysBetween(from, opts.through) + 1;
  if (days <= 0) return p;
  const base = unpaidPrincipal(p).plus(unpaidInterest(p));
  if (base.isZero()) return { ...p, penaltyThrough: opts.through };
  return {
    ...p,
    penaltyAccrued: p.penaltyAccrued.plus(penaltyOfSpan(base, opts.annualRate, opts.markup, days)),
    penaltyThrough: opts.through,
  };
}

/**
 * Penalty interest on `base` for a span of `days` days: base × daily penalty rate × days, kept to
 * 10 places (half-up) as `penalty_accrued` is stored and as the close of business adds each span
 * (`accrue_penalty`). PostgreSQL divides by 360 at about 16 places before multiplying by the days,
 * so the two may differ by one in the tenth place on an exact tie there, which moves what is owed
 * only if the period's total then sits exactly on half a fen.
 */
export function penaltyOfSpan(base: Dec, annualRate: Dec | string, markup: Dec | string, days: number): Dec {
  return base.mul(penaltyDailyRate(annualRate, markup)).mul(days).toDecimalPlaces(10, D.ROUND_HALF_UP);
}

/** Days past due on a date: from the due date of the oldest overdue unpaid period (0 if none). */
export function daysPastDue(periods: PeriodState[], graceDays: number, on: string): number {
  let oldest: string | null = null;
  for (const p of periods) {
    if ((unpaidPrincipal(p).gt(0) || unpaidInterest(p).gt(0)) && isOverdueOn(p, graceDays, on)) {
      if (oldest === null || p.dueDate < oldest) oldest = p.dueDate;
    }
  }
  return oldest === null ? 0 : daysBetween(oldest, on);
}

export const DPD_BUCKETS = ["CURRENT", "DPD_1_30", "DPD_31_90", "DPD_91_180", "DPD_181_PLUS"] as const;
export type DpdBucket = (typeof DPD_BUCKETS)[number];
/** DPD bucket: 1-30, 31-90, 91-180, 181+. */
export function dpdBucket(dpd: number): DpdBucket {
  if (dpd <= 0) return "CURRENT";
  if (dpd <= 30) return "DPD_1_30";
  if (dpd <= 90) return "DPD_31_90";
  if (dpd <= 180) return "DPD_91_180";
  return "DPD_181_PLUS";
}
/** Non-performing (不良): DPD > 90. */
export const isNonPerforming = (dpd: number) => dpd > 90;

/** A loan's standing on a date: what the close of business writes on the loan row (`standing`). */
export interface LoanStanding {
  dpd: number;
  bucket: DpdBucket;
  nonPerforming: boolean;
  /** Unpaid principal and interest of the periods overdue on the date. */
  overduePrincipal: Dec;
  overdueInterest: Dec;
  /** Penalty owed: its fen rounding less what was paid, over every period. */
  penaltyDue: Dec;
}

/**
 * The standing of a loan on `on` from its periods (penalty brought up to date by the caller): days
 * past due from the oldest overdue unpaid period, its bucket, the overdue amounts and the penalty
 * owed. The reference of the close of business's `standing` step, and what a repayment writes.
 */
export function loanStanding(periods: PeriodState[], graceDays: number, on: string): LoanStanding {
  let overduePrincipal = new D(0);
  let overdueInterest = new D(0);
  let penaltyDue = new D(0);
  for (const p of periods) {
    penaltyDue = penaltyDue.plus(unpaidPenalty(p));
    if (isOverdueOn(p, graceDays, on)) {
      overduePrincipal = overduePrincipal.plus(unpaidPrincipal(p));
      overdueInterest = overdueInterest.plus(unpaidInterest(p));
    }
  }
  const dpd = daysPastDue(periods, graceDays, on);
  return { dpd, bucket: dpdBucket(dpd), nonPerforming: isNonPerforming(dpd), overduePrincipal, overdueInterest, penaltyDue };
}

/** What the portfolio figures need of an active loan (its standing as the close of business left it). */
export interface PortfolioLoan {
  householdId: string;
  outstandingPrincipal: Dec;
  dpd: number;
  overduePrincipal: Dec;
  overdueInterest: Dec;
  penaltyDue: Dec;
}

export interface PortfolioFigures {
  activeLoans: number;
  households: number;
  outstandingPrincipal: Dec;
  overdueLoans: number;
  overduePrincipal: Dec;
  overdueInterest: Dec;
  penaltyDue: Dec;
  /** Outstanding principal of the loans in each DPD bucket (the whole balance of a loan in arrears, not only what is overdue). */
  principalByBucket: Record<Exclude<DpdBucket, "CURRENT">, Dec>;
  /** Non-performing (DPD > 90): loans, their outstanding principal, and its share of the outstanding, to 6 places half-up. */
  nplLoans: number;
  nplPrincipal: Dec;
  nplRatio: Dec;
}

/**
 * The figures of one bank's active loans in one county on a date (the close of business's step
 * `portfolio`, written to `loan_portfolio_daily`), from each loan's standing.
 */
export function portfolioFigures(loans: readonly PortfolioLoan[]): PortfolioFigures {
  const sum = (f: (l: PortfolioLoan) => Dec, which: (l: PortfolioLoan) => boolean = () => true) => Money.sum(loans.filter(which).map(f));
  const outstanding = sum((l) => l.outstandingPrincipal);
  const npl = sum((l) => l.outstandingPrincipal, (l) => isNonPerforming(l.dpd));
  const inBucket = (b: DpdBucket) => sum((l) => l.outstandingPrincipal, (l) => dpdBucket(l.dpd) === b);
  return {
    activeLoans: loans.length,
    households: new Set(loans.map((l) => l.householdId)).size,
    outstandingPrincipal: outstanding,
    overdueLoans: loans.filter((l) => l.dpd > 0).length,
    overduePrincipal: sum((l) => l.overduePrincipal),
    overdueInterest: sum((l) => l.overdueInterest),
    penaltyDue: sum((l) => l.penaltyDue),
    principalByBucket: { DPD_1_30: inBucket("DPD_1_30"), DPD_31_90: inBucket("DPD_31_90"), DPD_91_180: inBucket("DPD_91_180"), DPD_181_PLUS: inBucket("DPD_181_PLUS") },
    nplLoans: loans.filter((l) => isNonPerforming(l.dpd)).length,
    nplPrincipal: npl,
    nplRatio: outstanding.isZero() ? new D(0) : npl.div(outstanding).toDecimalPlaces(6, D.ROUND_HALF_UP),
  };
}

// ---------- the close of business (日终): the reference of its SQL (jobs.ts, the close-of-business steps) ----------

export const PERIOD_STATUSES = ["PENDING", "DUE", "OVERDUE", "PAID", "CLOSED"] as const;
export type PeriodStatus = (typeof PERIOD_STATUSES)[number];
export const SUBSIDY_FORFEITS = ["HOUSEHOLD_REMOVED", "MISUSE", "LATE_INTEREST"] as const;
export type SubsidyForfeit = (typeof SUBSIDY_FORFEITS)[number];

/** A stored period as the close of business reads and writes it. */
export interface ClosingPeriod extends PeriodState {
  status: PeriodStatus;
  settledOn: string | null;
  /** TO_BANK: the part of the contract interest the bank claims instead (0 otherwise); `interestDue` is the household's part. */
  interestSubsidy: Dec;
  subsidyForfeited: string | null;
}

/** What the close of business needs of a loan. */
export interface ClosingLoan {
  /** DISBURSED or EXTENDED: only these accrue penalty and have a standing. */
  active: boolean;
  annualRate: Dec | string;
  penaltyMarkup: Dec | string;
  graceDays: number;
  /** A reason every open subsidy share is lost (a REMOVED household, a misuse finding dated on or before the day), if any. */
  forfeitAll?: "HOUSEHOLD_REMOVED" | "MISUSE" | null;
}

const isOpen = (p: ClosingPeriod) => p.status === "PENDING" || p.status === "DUE" || p.status === "OVERDUE";

/**
 * The status a period takes at the close of `on` (step `mark_due`): a PENDING or DUE period whose
 * due date has come is PAID when nothing is left on it (settled on its due date), OVERDUE from due
 * date + grace + 1, DUE before that. OVERDUE, PAID and CLOSED periods keep theirs (a repayment
 * moves them).
 */
export function periodStatusAtClose(p: ClosingPeriod, graceDays: number, on: string): ClosingPeriod {
  if ((p.status !== "PENDING" && p.status !== "DUE") || p.dueDate > on) return p;
  if (isSettled(p)) return { ...p, status: "PAID", settledOn: p.dueDate };
  return { ...p, status: isOverdueOn(p, graceDays, on) ? "OVERDUE" : "DUE" };
}

/**
 * A TO_BANK share lost at the close of `on` (step `subsidy_forfeits`, household-interest.ts): the
 * household's part unpaid past due date + grace, or every open share of a loan whose household is
 * REMOVED or that has a misuse finding. The share moves back into what the household owes.
 */
export function forfeitAtClose(p: ClosingPeriod, loan: ClosingLoan, on: string): ClosingPeriod {
  if (!p.interestSubsidy.gt(0) || !isOpen(p)) return p;
  const late = isOverdueOn(p, loan.graceDays, on) && p.interestPaid.lt(p.interestDue);
  if (!late && !loan.forfeitAll) return p;
  return { ...p, interestDue: p.interestDue.plus(p.interestSubsidy), interestSubsidy: new D(0), subsidyForfeited: loan.forfeitAll ?? "LATE_INTEREST" };
}

/**
 * One business date of the close of business over one loan's periods, in the order of its steps:
 * statuses (`mark_due`), lost subsidy shares (`subsidy_forfeits`), then penalty on every OVERDUE
 * period of an active loan through `on` (`accrue_penalty`, from the day after `penaltyThrough`).
 * The loan's standing afterwards is `loanStanding(result, graceDays, on)`. A gap is closed date by
 * date, so a caller runs this for each date in order.
 */
export function closeOfBusinessDay(loan: ClosingLoan, periods: ClosingPeriod[], on: string): ClosingPeriod[] {
  return periods.map((p0) => {
    let p = periodStatusAtClose(p0, loan.graceDays, on);
    p = forfeitAtClose(p, loan, on);
    if (!loan.active || p.status !== "OVERDUE" || !isOverdueOn(p, loan.graceDays, on)) return p;
    if (p.penaltyThrough !== null && p.penaltyThrough >= on) return p;
    return { ...p, ...accruePenalty(p, { annualRate: loan.annualRate, markup: loan.penaltyMarkup, graceDays: loan.graceDays, through: on }) };
  });
}

export interface PeriodAllocation {
  seq: number;
  penalty: Dec;
  interest: Dec;
  principal: Dec;
}

export interface Allocation {
  penalty: Dec;
  overdueInterest: Dec;
  overduePrincipal: Dec;
  interestDueNow: Dec;
  principalDueNow: Dec;
  /** Left after everything due: prepays principal (提前还款). */
  prepayment: Dec;
  perPeriod: PeriodAllocation[];
}

/**
 * Allocates a payment made on `on` (src/modules/loans/CONTEXT.md#rules, Allocation): penalty interest → overdue interest → overdue
 * principal (oldest period first) → interest due now → principal due now; what is left is a
 * prepayment of principal. Only periods due on or before `on` take anything here.
 */
export function allocatePayment(periods: PeriodState[], amount: Dec, opts: { graceDays: number; on: string }): Allocation {
  const due = periods.filter((p) => p.dueDate <= opts.on).sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : a.seq - b.seq));
  const overdue = due.filter((p) => isOverdueOn(p, opts.graceDays, opts.on));
  const current = due.filter((p) => !isOverdueOn(p, opts.graceDays, opts.on));
  const per = new Map<number, PeriodAllocation>();
  const slot = (seq: number) => {
    let a = per.get(seq);
    if (!a) per.set(seq, (a = { seq, penalty: new D(0), interest: new D(0), principal: new D(0) }));
    return a;
  };
  let left = amount;
  const take = (ps: PeriodState[], owed: (p: PeriodState) => Dec, field: "penalty" | "interest" | "principal"): Dec => {
    let total = new D(0);
    for (const p of ps) {
      if (left.isZero()) break;
      const x = D.min(owed(p), left);
      if (x.lte(0)) continue;
      slot(p.seq)[field] = slot(p.seq)[field].plus(x);
      left = left.minus(x);
      total = total.plus(x);
    }
    return total;
  };
  const penalty = take(due, unpaidPenalty, "penalty");
  const overdueInterest = take(overdue, unpaidInterest, "interest");
  const overduePrincipal = take(overdue, unpaidPrincipal, "principal");
  const interestDueNow = take(current, unpaidInterest, "interest");
  const principalDueNow = take(current, unpaidPrincipal, "principal");
  return {
    penalty,
    overdueInterest,
    overduePrincipal,
    interestDueNow,
    principalDueNow,
    prepayment: left,
    perPeriod: [...per.values()].sort((a, b) => a.seq - b.seq),
  };
}

/** Everything owed on `on` by periods already due (penalty, interest, principal). */
export function amountDue(periods: PeriodState[], on: string): Dec {
  return Money.sum(periods.filter((p) => p.dueDate <= on).map((p) => unpaidPenalty(p).plus(unpaidInterest(p)).plus(unpaidPrincipal(p))));
}

/**
 * Interest earned so far in the current (not yet due) period up to `on` (exclusive), rounded once:
 * what a borrower pays on top of the principal to close the loan early.
 */
export function accruedInCurrentPeriod(
  current: { accrualStart: string; accrualEnd: string; interestDue: Dec; openingPrincipal: Dec },
  method: RepaymentMethod,
  annualRate: Dec,
  on: string,
  carried?: { amount: Dec; through: string },
): Dec {
  if (on <= current.accrualStart) return carried ? Money.toFen(carried.amount) : new D(0);
  const from = carried ? carried.through : current.accrualStart;
  const base = carried ? carried.amount : new D(0);
  return Money.toFen(base.plus(spanInterest(method, current.openingPrincipal, annualRate, from, on, current)));
}
