import Decimal from "decimal.js";

// Two places, no leading zero, not negative zero: what `toFixed(2)` gives back unchanged (the
// database's numeric(18,2) as text is already so).
const FEN_TEXT = /^(?:-(?!0\.00$))?(?:0|[1-9]\d*)\.\d\d$/;

/**
 * Money is yuan with two places. Arithmetic runs in Decimal at full precision; an amount is rounded
 * half-up to the fen once, at the moment it becomes a fact (`toFen`). Nothing else parses amounts.
 */
export const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = InstanceType<typeof D>;

const AMOUNT_RE = /^-?\d{1,16}(\.\d{1,2})?$/;
const RATE_RE = /^\d{1,3}(\.\d{1,6})?$/;

export const Money = {
  zero: new D(0),
  /** Parses a decimal string (at most two places) or a Decimal. Throws on anything else. */
  of(v: string | Dec): Dec {
    if (typeof v !== "string") return new D(v);
    if (!AMOUNT_RE.test(v)) throw new RangeError(`not an amount: ${v}`);
    return new D(v);
  },
  /** Rounds half-up to the fen: the one place an amount becomes a fact. */
  toFen(v: Dec): Dec {
    return v.toDecimalPlaces(2, D.ROUND_HALF_UP);
  },
  /** Floors to the fen (for largest-remainder allocations). */
  floorFen(v: Dec): Dec {
    return v.toDecimalPlaces(2, D.ROUND_FLOOR);
  },
  /** The JSON form: a string with exactly two places (text already in that form is returned as it is). */
  format(v: Dec | string): string {
    if (typeof v === "string" && FEN_TEXT.test(v)) return v;
    return new D(v).toFixed(2, D.ROUND_HALF_UP);
  },
  sum(values: Iterable<Dec | string>): Dec {
    let s = new D(0);
    for (const v of values) s = s.plus(v);
    return s;
  },
  isAmount(v: string): boolean {
    return AMOUNT_RE.test(v);
  },
};

export const Rate = {
  of(v: string | Dec): Dec {
    if (typeof v !== "string") return new D(v);
    if (!RATE_RE.test(v)) throw new RangeError(`not a rate: ${v}`);
    return new D(v);
  },
  /** Rates are numeric(9,6): six places, trailing zeros dropped in JSON ("0.0345"). */
  format(v: Dec | string): string {
    return new D(v).toDecimalPlaces(6, D.ROUND_HALF_UP).toString();
  },
  isRate(v: string): boolean {
    return RATE_RE.test(v);
  },
};
