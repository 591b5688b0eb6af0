import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D, Money } from "../../src/lib/money.js";

describe("Money.format", () => {
  it("gives what decimal.js's toFixed(2, half-up) gives, for text in any form and for decimals", () => {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });
    const text = fc
      .tuple(fc.constantFrom("", "-"), digits(1, 16), fc.option(digits(0, 4), { nil: undefined }))
      .map(([sign, int, frac]) => `${sign}${int}${frac === undefined ? "" : `.${frac}`}`);
    fc.assert(
      fc.property(text, (s) => {
        expect(Money.format(s)).toBe(new D(s).toFixed(2, D.ROUND_HALF_UP));
        expect(Money.format(new D(s))).toBe(new D(s).toFixed(2, D.ROUND_HALF_UP));
      }),
      { numRuns: 2000, seed: 20261201 },
    );
    for (const s of ["-0.00", "0.00", "00.10", "-0.01", "12.345", "1e2", "7.5"]) expect(Money.format(s)).toBe(new D(s).toFixed(2, D.ROUND_HALF_UP));
  });
});
