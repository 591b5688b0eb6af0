/**
 * Value dates (起息日): an operation entered after the close of business already ran past its
 * business date. The loan is taken back to where it stood on that date (its schedule base, or the
 * latest repayment computed again over the schedule it was allocated on), the operation is applied
 * as of the value date, and the loan is brought forward date by date to the last closed business
 * date with the close of business's own model (`closeOfBusinessDay`), so entering it late with its
 * value date leaves the same loan as entering it on time.
 */
import type { Knex } from "knex";
import { AppError } from "../../lib/errors.js";
import { addDays, daysBetween } from "../../lib/dates.js";
import { D, Money } from "../../lib/money.js";
import { type ClosingLoan, type ClosingPeriod, closeOfBusinessDay, dpdBucket, loanStanding, penaltyOfSpan, type PeriodStatus } from "./model.js";
import { type LoanRow, type PeriodRow, toState } from "./queries.js";
import { ACTIVE_STATUSES } from "./model.js";
import { fmt } from "./common.js";
import type { standingColumns } from "./standing.js";
import { lockHousehold } from "../register/index.js";

type Db = Knex | Knex.Transaction;

/** Days back a value date may go when the county has not set its own. */
export const DEFAULT_VALUE_DATE_DAYS_BACK = 30;

/** The last business date the close of business ran the loans' steps for, or null before the first close. */
export async function closedThrough(db: Db): Promise<string | null> {
  const r = await db("loan_close_marks").where({ scope: "*" }).first<{ closed_through: string } | undefined>();
  return r?.closed_through ?? null;
}

/** The close of business's last loans step: records the date it closed (idempotent, only forward). */
export async function markClosed(trx: Knex.Transaction, date: string): Promise<number> {
  const r = await trx.raw(
    `INSERT INTO loan_close_marks (scope, closed_through) VALUES ('*', ?::date)
     ON CONFLICT (scope) DO UPDATE SET closed_through = greatest(loan_close_marks.closed_through, EXCLUDED.closed_through)`,
    [date],
  );
  return (r as { rowCount?: number }).rowCount ?? 1;
}

export async function daysBackOf(db: Db, countyCode: string): Promise<number> {
  const r = await db("loan_county_settings").where({ county_code: countyCode }).first<{ value_date_days_back: number } | undefined>();
  return r?.value_date_days_back ?? DEFAULT_VALUE_DATE_DAYS_BACK;
}

/**
 * A value date's limits: not after today, not before the latest value date already on the loan
 * (history is not reordered), not more than the county's days back (a migration is exempt).
 */
export function checkValueDate(valueDate: string, o: { today: string; latest: string | null; daysBack: number; migration?: boolean }): void {
  if (valueDate > o.today) throw new AppError("VALUE_DATE_IN_FUTURE", `起息日 ${valueDate} 晚于今天 ${o.today} / the value date ${valueDate} is after today (${o.today})`);
  if (o.latest && valueDate < o.latest) {
    throw new AppError("VALUE_DATE_BEFORE_LATEST", `起息日 ${valueDate} 早于该笔贷款最近一笔业务的起息日 ${o.latest} / the value date is before the loan's latest value date ${o.latest}; correct it by a reversal and a new entry`);
  }
  if (!o.migration && daysBetween(valueDate, o.today) > o.daysBack) {
    throw new AppError("VALUE_DATE_TOO_OLD", `起息日 ${valueDate} 超过本县允许的 ${o.daysBack} 天补录期限 / the value date is more than the county's ${o.daysBack} days back`);
  }
}

function toClosing(r: PeriodRow): ClosingPeriod {
  return { ...toState(r), status: r.status as PeriodStatus, settledOn: r.settled_on, interestSubsidy: new D(r.interest_subsidy), subsidyForfeited: r.subsidy_forfeited };
}

function fromClosing(r: PeriodRow, c: ClosingPeriod): PeriodRow {
  if (c === undefined) return r;
  return {
    ...r,
    status: c.status,
    settled_on: c.settledOn,
    interest_due: Money.format(c.interestDue),
    interest_subsidy: Money.format(c.interestSubsidy),
    subsidy_forfeited: c.subsidyForfeited,
    penalty_accrued: c.penaltyAccrued.toFixed(10),
    penalty_through: c.penaltyThrough,
  };
}

/** Why every open subsidy share of the loan is lost on a date (a REMOVED household, a misuse finding), if any. */
export type ForfeitAllOn = (date: string) => ClosingLoan["forfeitAll"];

type Standing = ReturnType<typeof standingColumns>;

/**
 * The close of business of each date `from` … `through` over one loan's periods, as the
 * set-based steps do it (statuses, lost subsidy shares, penalty; the period interest accrues in
 * moves on; days past due and overdue amounts as of the last date). `standing` is the loan's
 * standing before the first date.
 */
export function closeDates(loan: LoanRow, rows: PeriodRow[], standing: Standing, from: string, through: string, forfeitAll: ForfeitAllOn): { rows: PeriodRow[]; standing: Standing } {
  if (from > through) return { rows, standing };
  const active = (ACTIVE_STATUSES as readonly string[]).includes(loan.status);
  let ps = rows.map(toClosing);
  let cur = { start: standing.cur_period_start, end: standing.cur_period_end, interest: standing.cur_period_interest };
  for (let d = from; d <= through; d = addDays(d, 1)) {
    // Days on which the close only adds a day's penalty to overdue periods are taken together.
    const quietTo = active ? lastQuietDay(loan, ps, cur.end, d, through, forfeitAll) : null;
    if (quietTo !== null) {
      ps = accrueQuietDays(loan, ps, d, quietTo);
      d = quietTo;
      continue;
    }
    ps = closeOfBusinessDay({ active, annualRate: loan.annual_rate!, penaltyMarkup: loan.penalty_markup, graceDays: loan.grace_days, forfeitAll: forfeitAll(d) }, ps, d);
    if (!active) continue;
    // roll_periods: the period interest accrues in on `d` once the previous one has ended.
    if (cur.end === null || cur.end <= d) {
      const k = rows.findIndex((r) => r.accrual_start <= d && r.accrual_end > d);
      if (k >= 0) cur = { start: rows[k].accrual_start, end: rows[k].accrual_end, interest: Money.format(ps[k].interestDue) };
    }
  }
  const out = rows.map((r, k) => fromClosing(r, ps[k]));
  // A share lost while its period was the current one moves the current-period interest with it.
  const current = out.find((r) => r.accrual_start === cur.start);
  if (current && current.subsidy_forfeited) cur.interest = current.interest_due;
  if (!active) return { rows: out, standing };
  const st = loanStanding(out.map(toState), loan.grace_days, through);
  return {
    rows: out,
    standing: {
      ...standing,
      dpd: st.dpd,
      dpd_bucket: dpdBucket(st.dpd),
      overdue_principal: fmt(st.overduePrincipal),
      overdue_interest: fmt(st.overdueInterest),
      penalty_due: fmt(st.penaltyDue),
      cur_period_start: cur.start,
      cur_period_end: cur.end,
      cur_period_interest: cur.interest,
      standing_date: through,
    },
  };
}

/**
 * The last of the dates `d` … `through` (at least two) on which the close of business, date by
 * date, would only add one day's penalty to each overdue period of an active loan: no period falls
 * due or overdue (no status or subsidy share changes), no reason to forfeit every share, the period
 * the interest accrues in does not roll, and every overdue period's penalty runs through the day
 * before `d`. Null when `d` itself is not such a date (the date is then closed as usual).
 */
function lastQuietDay(loan: LoanRow, ps: ClosingPeriod[], curEnd: string | null, d: string, through: string, forfeitAll: ForfeitAllOn): string | null {
  if (curEnd === null) return null;
  let end = curEnd <= through ? addDays(curEnd, -1) : through;
  const dayBefore = addDays(d, -1);
  for (const p of ps) {
    if (p.status === "PAID" || p.status === "CLOSED") continue;
    if (p.status === "OVERDUE") {
      if (p.penaltyThrough !== dayBefore) return null;
      if (p.interestSubsidy.gt(0) && p.interestPaid.lt(p.interestDue)) return null;
      continue;
    }
    // PENDING (or DUE inside its grace days): quiet until the day before it falls due.
    if (p.status !== "PENDING" || p.dueDate <= d) return null;
    const last = addDays(p.dueDate, -1);
    if (last < end) end = last;
  }
  if (end <= d) return null;
  for (let x = d; x <= end; x = addDays(x, 1)) if (forfeitAll(x) !== null) return x === d || addDays(x, -1) === d ? null : addDays(x, -1);
  return end;
}

/** The dates `d` … `to` closed one by one when nothing but penalty moves: each overdue period gains the same day's penalty (kept to 10 places) for each date. */
function accrueQuietDays(loan: LoanRow, ps: ClosingPeriod[], d: string, to: string): ClosingPeriod[] {
  const days = daysBetween(d, to) + 1;
  return ps.map((p) => {
    if (p.status !== "OVERDUE") return p;
    const base = p.principalDue.minus(p.principalPaid).plus(p.interestDue.minus(p.interestPaid));
    const daily = base.isZero() ? new D(0) : penaltyOfSpan(base, loan.annual_rate!, loan.penalty_markup, 1);
    return { ...p, penaltyAccrued: p.penaltyAccrued.plus(daily.mul(days)), penaltyThrough: to };
  });
}

export interface LatestRepayment {
  id: string;
  paid_on: string;
  amount: string;
  principal: string;
}

export interface ScheduleBase {
  value_date: string;
  event: string;
  periods: PeriodRow[];
}

/** The latest repayment not reversed (by value date, then entry), or undefined. */
export async function latestRepayment(db: Db, loanId: string): Promise<LatestRepayment | undefined> {
  return db("loan_repayments")
    .where({ loan_id: loanId })
    .whereNull("reversed_at")
    .orderBy([{ column: "paid_on", order: "desc" }, { column: "created_at", order: "desc" }])
    .first<LatestRepayment | undefined>("id", db.raw("paid_on::text AS paid_on"), "amount", "principal");
}

export async function scheduleBase(db: Db, loanId: string): Promise<ScheduleBase | undefined> {
  return db("loan_schedule_bases").where({ loan_id: loanId }).first(db.raw("value_date::text AS value_date"), "event", "periods");
}

/** Records the schedule as it stands right after a disbursement, extension or migration, on its value date. */
export async function saveScheduleBase(trx: Knex.Transaction, loan: Pick<LoanRow, "id" | "county_code">, valueDate: string, event: string, periods: PeriodRow[]): Promise<void> {
  await trx("loan_schedule_bases")
    .insert({ loan_id: loan.id, county_code: loan.county_code, value_date: valueDate, event, periods: JSON.stringify(periods), updated_at: trx.fn.now() })
    .onConflict("loan_id")
    .merge();
}

/** The schedule bases of loans new to the platform (a migration), in one statement. */
export async function saveScheduleBases(trx: Knex.Transaction, bases: { loan: Pick<LoanRow, "id" | "county_code">; valueDate: string; event: string; periods: PeriodRow[] }[]): Promise<void> {
  if (bases.length === 0) return;
  await trx("loan_schedule_bases").insert(bases.map((b) => ({ loan_id: b.loan.id, county_code: b.loan.county_code, value_date: b.valueDate, event: b.event, periods: JSON.stringify(b.periods), updated_at: trx.fn.now() })));
}

/** The latest value date on a loan: its schedule base (disbursement, extension) or its latest repayment not reversed. */
export function latestValueDate(loan: LoanRow, base: { value_date: string } | undefined, latest: LatestRepayment | undefined): string | null {
  const dates = [loan.disbursed_on, loan.extended_on, base?.value_date, latest?.paid_on].filter((d): d is string => Boolean(d));
  return dates.length > 0 ? dates.reduce((a, b) => (a > b ? a : b)) : null;
}

/** Why all the loan's open subsidy shares are lost on a date (a REMOVED household, a misuse finding), as the close of business decides it. */
export async function forfeitAllOf(trx: Knex.Transaction, loan: LoanRow): Promise<ForfeitAllOn> {
  const household = await lockHousehold(trx, loan.household_id);
  const misuse = await trx("loan_misuse_findings").where({ loan_id: loan.id }).first<{ d: string | null }>(trx.raw("min(finding_date)::text AS d"));
  const from = misuse?.d ?? null;
  return (d) => (household?.status === "REMOVED" ? "HOUSEHOLD_REMOVED" : from && from <= d ? "MISUSE" : null);
}

