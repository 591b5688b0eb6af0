/**
 * The annualised rate (年化利率) of a loan's cash flows, pure: the internal rate of return of the
 * amount the household receives on the disbursement date and the payments it makes on the due
 * dates (People's Bank of China announcement [2021] No. 3: every loan offer discloses it).
 *
 * Convention (src/modules/loans/CONTEXT.md, "Annualised rate"): XIRR on actual/365 dates, the
 * compound IRR a spreadsheet's XIRR() gives — the annual rate R with Σ amountₖ · (1 + R)^(−daysₖ/365)
 * = 0, days counted from the disbursement date — rounded half-up to two places of a percent (four
 * of a fraction). It is solved as the daily rate r = (1 + R)^(1/365) − 1, whose powers are whole
 * numbers of days (exact in Decimal), then R = (1 + r)^365 − 1.
 *
 * Decimal throughout (decimal.js, 40 significant digits): Newton's method inside a bracket that
 * always holds a sign change, falling back to bisection when a Newton step leaves it.
 */
import { type Dec, D } from "../../lib/money.js";
import { daysBetween } from "../../lib/dates.js";

/** One cash flow of the household: positive received (the loan), negative paid (principal and interest). */
export interface CashFlow {
  date: string;
  amount: Dec;
}

export const DAYS_PER_YEAR = 365;
const MAX_ITERATIONS = 300;
/** A daily rate is exact enough when a step moves it less than this (1e-22 a day is 4e-20 a year). */
const STEP_TOLERANCE = new D("1e-22");

interface Term {
  days: number;
  amount: Dec;
}

/** The flows as whole days after the first date (flows on the same day added together). */
function termsOf(flows: readonly CashFlow[]): Term[] {
  if (flows.length === 0) throw new RangeError("no cash flows");
  const origin = flows.reduce((min, f) => (f.date < min ? f.date : min), flows[0].date);
  const byDay = new Map<number, Dec>();
  for (const f of flows) {
    const d = daysBetween(origin, f.date);
    byDay.set(d, (byDay.get(d) ?? new D(0)).plus(f.amount));
  }
  return [...byDay.entries()].sort((a, b) => a[0] - b[0]).map(([days, amount]) => ({ days, amount }));
}

/** Net present value on the first date at a daily rate: Σ amount · (1 + r)^(−days). */
export function npv(flows: readonly CashFlow[], dailyRate: Dec): Dec {
  return valueAt(termsOf(flows), dailyRate).value;
}

function valueAt(terms: readonly Term[], r: Dec): { value: Dec; slope: Dec } {
  const base = r.plus(1);
  let value = new D(0);
  let slope = new D(0);
  for (const t of terms) {
    const discount = base.pow(-t.days);
    value = value.plus(t.amount.mul(discount));
    slope = slope.minus(t.amount.mul(t.days).mul(discount).div(base));
  }
  return { value, slope };
}

/**
 * The daily internal rate of return: the r > −1 at which the flows' net present value is zero.
 * The flows need money both received and paid; a conventional loan (one amount received, then
 * payments) has exactly one such rate. Throws a RangeError when no rate brings the value to zero.
 */
export function dailyIrr(flows: readonly CashFlow[]): Dec {
  const terms = termsOf(flows);
  if (!terms.some((t) => t.amount.gt(0)) || !terms.some((t) => t.amount.lt(0))) throw new RangeError("the cash flows need money both received and paid");
  // A bracket [lo, hi] with a sign change, widened from ±1% a day until it holds one.
  let lo = new D("-0.01");
  let hi = new D("0.01");
  let fLo = valueAt(terms, lo).value;
  let fHi = valueAt(terms, hi).value;
  for (let k = 0; fLo.isZero() === false && fHi.isZero() === false && fLo.isNegative() === fHi.isNegative(); k++) {
    if (k > 60) throw new RangeError("no rate of return brings the cash flows to zero");
    lo = lo.minus(1).div(2); // halfway to −1
    hi = hi.mul(2);
    fLo = valueAt(terms, lo).value;
    fHi = valueAt(terms, hi).value;
  }
  if (fLo.isZero()) return lo;
  if (fHi.isZero()) return hi;
  const loNegative = fLo.isNegative();
  let r = D.max(lo, D.min(hi, new D("0.0001"))); // about 3.65% a year: near where a poverty loan's rate is
  for (let k = 0; k < MAX_ITERATIONS; k++) {
    const { value, slope } = valueAt(terms, r);
    if (value.isZero()) return r;
    if (value.isNegative() === loNegative) lo = r;
    else hi = r;
    let next = slope.isZero() ? null : r.minus(value.div(slope));
    if (next === null || next.lte(lo) || next.gte(hi)) next = lo.plus(hi).div(2);
    if (next.minus(r).abs().lt(STEP_TOLERANCE) || hi.minus(lo).lt(STEP_TOLERANCE)) return next;
    r = next;
  }
  return r;
}

/** The annual rate compounding a daily rate over 365 days: (1 + r)^365 − 1, unrounded. */
export function annualOfDaily(dailyRate: Dec): Dec {
  return dailyRate.plus(1).pow(DAYS_PER_YEAR).minus(1);
}

/**
 * The annualised rate of the flows (XIRR, actual/365) as a fraction rounded half-up to four places
 * (two places of a percent).
 */
export function annualisedRate(flows: readonly CashFlow[]): Dec {
  return annualOfDaily(dailyIrr(flows)).toDecimalPlaces(4, D.ROUND_HALF_UP);
}

/** "0.0435" → "4.35%": how the rate is shown to people. */
export function percentLabel(rate: Dec | string): string {
  return `${new D(rate).mul(100).toFixed(2, D.ROUND_HALF_UP)}%`;
}
