import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addDays } from "../../src/lib/dates.js";
import { D, type Dec } from "../../src/lib/money.js";
import { annualisedRate, type CashFlow, dailyIrr, npv, percentLabel } from "../../src/modules/loans/irr.js";
import { buildSchedule, maturityOf } from "../../src/modules/loans/model.js";

const flow = (date: string, amount: string | number | Dec): CashFlow => ({ date, amount: new D(amount) });

/** A loan's flows: +amount on the disbursement date, −(principal + interest) on each due date. */
function loanFlows(method: "BULLET_QUARTERLY" | "EQUAL_INSTALLMENT" | "EQUAL_PRINCIPAL", amount: string, rate: string, on: string, term: number): CashFlow[] {
  const periods = buildSchedule({ method, principal: amount, annualRate: rate, disbursedOn: on, maturityDate: maturityOf(on, term) });
  return [flow(on, amount), ...periods.map((p) => flow(p.dueDate, p.principal.plus(p.interest).neg()))];
}

describe("annualised rate (年化利率): XIRR on actual/365", () => {
  it("one repayment a year later is its own rate; half a year later it compounds", () => {
    const year = [flow("2025-01-01", 10000), flow("2026-01-01", -10365)];
    expect(dailyIrr(year).plus(1).pow(365).toNumber()).toBeCloseTo(1.0365, 14);
    expect(annualisedRate(year).toString()).toBe("0.0365");
    expect(percentLabel(annualisedRate(year))).toBe("3.65%");
    // 2% over 181 days: (1.02)^(365/181) − 1 = 4.0741…%
    const half = [flow("2025-01-01", 10000), flow("2025-07-01", -10200)];
    expect(annualisedRate(half).toString()).toBe(new D(1.02 ** (365 / 181) - 1).toDecimalPlaces(4).toString());
  });

  it("no interest is a rate of zero; giving back less is a negative rate", () => {
    expect(annualisedRate([flow("2025-01-01", 5000), flow("2025-07-01", -5000)]).toNumber()).toBe(0);
    expect(annualisedRate([flow("2025-01-01", 5000), flow("2026-01-01", -4900)]).isNegative()).toBe(true);
  });

  it("equal instalments at 4.35% (the worked example): 4.35% a month compounded, (1 + 4.35%/12)^12 − 1 = 4.44%", () => {
    const flows = loanFlows("EQUAL_INSTALLMENT", "50000.00", "0.0435", "2024-01-10", 36);
    expect(flows[1].amount.toString()).toBe("-1484");
    expect(annualisedRate(flows).toString()).toBe("0.0444");
  });

  it("bullet with quarterly interest at 3.45% on days/360: 3.45% × 365/360 a year, paid quarterly, compounds to 3.54%", () => {
    const flows = loanFlows("BULLET_QUARTERLY", "50000.00", "0.0345", "2024-01-10", 36);
    const rate = annualisedRate(flows);
    expect(rate.toString()).toBe("0.0354"); // (1 + 3.4979%/4)^4 − 1
    expect(npv(flows, dailyIrr(flows)).abs().lt("1e-20")).toBe(true);
  });

  it("flows on the same day add up; flows without both signs are refused", () => {
    const split = [flow("2025-01-01", 6000), flow("2025-01-01", 4000), flow("2025-12-31", -10400)];
    expect(dailyIrr(split).eq(dailyIrr([flow("2025-01-01", 10000), flow("2025-12-31", -10400)]))).toBe(true);
    expect(() => dailyIrr([flow("2025-01-01", 100), flow("2025-02-01", 100)])).toThrow(RangeError);
    expect(() => dailyIrr([])).toThrow(RangeError);
  });
});

describe("annualised rate: properties", () => {
  const start = fc.integer({ min: 0, max: 3650 }).map((n) => addDays("2019-01-01", n));
  const loan = fc.record({
    start,
    principal: fc.integer({ min: 100_00, max: 50_000_00 }).map((fen) => new D(fen).div(100)),
    // Payments: days after the previous one and a share of the principal (their total from 0.8 to about 2 × principal).
    payments: fc.array(fc.record({ gap: fc.integer({ min: 1, max: 120 }), weight: fc.integer({ min: 1, max: 100 }) }), { minLength: 1, maxLength: 36 }),
    total: fc.integer({ min: 80, max: 200 }),
  });
  const flowsOf = (l: { start: string; principal: Dec; payments: { gap: number; weight: number }[]; total: number }) => {
    const weights = l.payments.reduce((a, p) => a + p.weight, 0);
    let day = 0;
    const out: CashFlow[] = [flow(l.start, l.principal)];
    for (const p of l.payments) {
      day += p.gap;
      out.push(flow(addDays(l.start, day), l.principal.mul(l.total).div(100).mul(p.weight).div(weights).toDecimalPlaces(2).neg()));
    }
    return out;
  };

  it("the net present value at the rate found is zero (within 1e-9 of the principal)", () => {
    fc.assert(
      fc.property(loan, (l) => {
        const flows = flowsOf(l);
        const r = dailyIrr(flows);
        expect(r.gt(-1)).toBe(true);
        expect(npv(flows, r).abs().lte(l.principal.mul("1e-9"))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("paying more on any date gives a higher rate", () => {
    fc.assert(
      fc.property(loan, fc.nat(), fc.integer({ min: 1, max: 100_000 }), (l, which, moreFen) => {
        const flows = flowsOf(l);
        const k = 1 + (which % (flows.length - 1));
        const more = flows.map((f, i) => (i === k ? { ...f, amount: f.amount.minus(new D(moreFen).div(100)) } : f));
        expect(dailyIrr(more).gt(dailyIrr(flows))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
