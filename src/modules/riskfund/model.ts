/**
 * Pure risk-fund calculations (docs/DOMAIN.md#risk-fund): the lending cap, leverage, the compensation split and
 * recoveries, the circuit-breaker test. No I/O.
 */
import { type Dec, D, Money } from "../../lib/money.js";

export const DEFAULT_LEVERAGE_CAP = new D(10);
export const DEFAULT_FUND_SHARE = new D("0.7");
export const DEFAULT_NPL_THRESHOLD = new D("0.03");
export const DEFAULT_COMPENSATION_DPD = 90;
/** Days the fund has to pay an approved compensation. */
export const PAY_WITHIN_DAYS = 30;

/** Lending cap: outstanding poverty loans of the bank in the county ≤ balance × leverage cap (equal is allowed). */
export function capAllows(outstanding: Dec, amount: Dec, balance: Dec, leverageCap: Dec): boolean {
  return outstanding.plus(amount).lte(balance.mul(leverageCap));
}

/** Leverage = outstanding / balance (null without a balance). */
export function leverage(outstanding: Dec, balance: Dec): Dec | null {
  return balance.isZero() ? null : outstanding.div(balance).toDecimalPlaces(4, D.ROUND_HALF_UP);
}

export interface CompensationSplit {
  loss: Dec;
  fundAmount: Dec;
  bankAmount: Dec;
  /** The fund's payment split into the principal and the interest it covers (for the journal). */
  fundPrincipal: Dec;
  fundInterest: Dec;
}

/**
 * Loss = unpaid principal + unpaid normal interest (never penalty). The fund pays its share rounded
 * half-up to the fen; the bank bears the rest, so fund + bank = loss to the fen.
 */
export function compensationSplit(unpaidPrincipal: Dec, unpaidInterest: Dec, fundShare: Dec): CompensationSplit {
  const loss = unpaidPrincipal.plus(unpaidInterest);
  const fundAmount = Money.toFen(loss.mul(fundShare));
  const fundPrincipal = D.min(Money.toFen(unpaidPrincipal.mul(fundShare)), fundAmount);
  return { loss, fundAmount, bankAmount: loss.minus(fundAmount), fundPrincipal, fundInterest: fundAmount.minus(fundPrincipal) };
}

/**
 * A recovery after compensation is shared back in the claim's ratio, cumulatively: the fund's part
 * of everything recovered so far is rounded once, so pieces add up to the same split as one sum.
 */
export function recoverySplit(amount: Dec, recoveredBefore: Dec, fundRecoveredBefore: Dec, fundShare: Dec): { fundPart: Dec; bankPart: Dec } {
  const fundTotal = Money.toFen(recoveredBefore.plus(amount).mul(fundShare));
  const fundPart = D.max(D.min(fundTotal.minus(fundRecoveredBefore), amount), 0);
  return { fundPart, bankPart: amount.minus(fundPart) };
}

/** NPL ratio above the threshold trips the breaker (equal does not); compared exactly: npl > threshold × outstanding. */
export function nplAbove(npl: Dec, outstanding: Dec, threshold: Dec): boolean {
  return npl.gt(threshold.mul(outstanding));
}
