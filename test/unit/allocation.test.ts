import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D, Money } from "../../src/lib/money.js";
import {
  allocateLargestRemainder,
  applyAnnualCap,
  computeDistribution,
  DEFAULT_RULE,
  householdWeight,
  multiplierFor,
  parsePeriod,
  payableFrom,
  splitIncome,
  transitionEnds,
} from "../../src/modules/distributions/model.js";

const hid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
const fmt = (xs: { toFixed(n: number): string }[]) => xs.map((x) => x.toFixed(2));

describe("largest-remainder allocation: worked examples", () => {
  it("splits 100.00 three ways: 33.34, 33.33, 33.33 (the leftover fen to the lowest id on a tie)", () => {
    const shares = allocateLargestRemainder("100.00", [
      { householdId: hid(2), weight: "1" },
      { householdId: hid(1), weight: "1" },
      { householdId: hid(3), weight: "1" },
    ]);
    expect(fmt(shares)).toEqual(["33.33", "33.34", "33.33"]);
  });

  it("gives leftover fens to the largest remainders first", () => {
    // 10.00 over weights 1, 1.5, 1.3 (3.8): exact 2.6315…, 3.9473…, 3.4210…
    // floors 2.63 + 3.94 + 3.42 = 9.99; the fen goes to the largest remainder (3.9473… → 3.95).
    const shares = allocateLargestRemainder("10.00", [
      { householdId: hid(1), weight: "1" },
      { householdId: hid(2), weight: "1.5" },
      { householdId: hid(3), weight: "1.3" },
    ]);
    expect(fmt(shares)).toEqual(["2.63", "3.95", "3.42"]);
    expect(Money.sum(shares).toFixed(2)).toBe("10.00");
  });

  it("gives a one-fen pool to one household and nothing to the others", () => {
    const shares = allocateLargestRemainder("0.01", [1, 2, 3].map((i) => ({ householdId: hid(i), weight: "1" })));
    expect(fmt(shares)).toEqual(["0.01", "0.00", "0.00"]);
  });

  it("allocates a zero pool as zero shares and refuses a non-zero pool with no households", () => {
    expect(fmt(allocateLargestRemainder("0.00", [{ householdId: hid(1), weight: "1" }]))).toEqual(["0.00"]);
    expect(allocateLargestRemainder("0", [])).toEqual([]);
    expect(() => allocateLargestRemainder("1.00", [])).toThrow();
    expect(() => allocateLargestRemainder("1.00", [{ householdId: hid(1), weight: "0" }])).toThrow();
    expect(() => allocateLargestRemainder("1.005", [{ householdId: hid(1), weight: "1" }])).toThrow();
  });

  it("splits 80,000.00 of a 100,000.00 income (20% retained) over the default circumstances", () => {
    const rule = DEFAULT_RULE;
    const c = computeDistribution(new D("100000.00"), rule, [
      { householdId: hid(1), weight: "1" },
      { householdId: hid(2), weight: "1.5" },
      { householdId: hid(3), weight: "1.3" },
      { householdId: hid(4), weight: "1.2" },
      { householdId: hid(5), weight: "1" },
      { householdId: hid(6), weight: "1" },
    ]);
    expect(c.retention.toFixed(2)).toBe("20000.00");
    expect(c.pool.toFixed(2)).toBe("80000.00");
    // W = 7.0: 1/7 × 80,000 = 11,428.571…; 1.5/7 = 17,142.857…; 1.3/7 = 14,857.142…; 1.2/7 = 13,714.285…
    // floors sum 79,999.98: the two fens left go to the largest remainders (0.714 fen, then 0.571 fen).
    expect(fmt(c.shares.map((s) => s.share))).toEqual(["11428.57", "17142.86", "14857.14", "13714.29", "11428.57", "11428.57"]);
    expect(c.sharesTotal.plus(c.retention).toFixed(2)).toBe("100000.00");
  });
});

describe("income split, caps, weights and periods", () => {
  it("takes retention and ratio earmarks rounded down to the fen and leaves the rest to the pool", () => {
    const s = splitIncome(new D("12345.67"), {
      collectiveRetentionRatio: "0.45",
      earmarks: [
        { name: "公益岗位工资", kind: "FIXED", amount: "2000.00" },
        { name: "管护费", kind: "RATIO", ratio: "0.1" },
      ],
    });
    expect(s.retention.toFixed(2)).toBe("5555.55"); // 5555.5515
    expect(fmt(s.earmarks.map((e) => e.amount))).toEqual(["2000.00", "1234.56"]); // 1234.567
    expect(s.pool.toFixed(2)).toBe("3555.56");
    expect(() => splitIncome(new D("100.00"), { collectiveRetentionRatio: "0.2", earmarks: [{ name: "x", kind: "FIXED", amount: "90.00" }] })).toThrow();
  });

  it("caps a household's year and returns the excess to the collective", () => {
    const { shares, excess } = applyAnnualCap([new D("600"), new D("300"), new D("500")], [new D("500"), new D("0"), new D("1200")], new D("1000"));
    expect(shares.map((s) => s.share.toFixed(2))).toEqual(["500.00", "300.00", "0.00"]);
    expect(shares.map((s) => s.capped)).toEqual([true, false, true]);
    expect(excess.toFixed(2)).toBe("600.00");
  });

  it("applies the largest multiplier only, per household or per member", () => {
    const all = { members: 3, noLabour: true, seriousIllnessOrDisability: true, dibaoTekun: true };
    expect(multiplierFor(DEFAULT_RULE, all)).toEqual({ multiplier: new D("1.5"), reason: "NO_LABOUR" });
    expect(multiplierFor(DEFAULT_RULE, { ...all, noLabour: false }).reason).toBe("SERIOUS_ILLNESS_OR_DISABILITY");
    expect(multiplierFor(DEFAULT_RULE, { ...all, noLabour: false, seriousIllnessOrDisability: false }).reason).toBe("DIBAO_TEKUN");
    expect(multiplierFor(DEFAULT_RULE, { members: 1, noLabour: false, seriousIllnessOrDisability: false, dibaoTekun: false }).reason).toBeNull();
    expect(householdWeight({ ...DEFAULT_RULE, weightBasis: "MEMBER" }, { ...all, noLabour: false }).weight.toString()).toBe("3.9");
    expect(householdWeight(DEFAULT_RULE, all).weight.toString()).toBe("1.5");
  });

  it("reads periods and dates", () => {
    expect(parsePeriod("2025")).toMatchObject({ start: "2025-01-01", end: "2025-12-31", year: 2025 });
    expect(parsePeriod("2024-H1")).toMatchObject({ start: "2024-01-01", end: "2024-06-30" });
    expect(parsePeriod("2024-Q4")).toMatchObject({ start: "2024-10-01", end: "2024-12-31" });
    expect(parsePeriod("2024-02")).toMatchObject({ start: "2024-02-01", end: "2024-02-29" });
    expect(parsePeriod("2024-13")).toBeUndefined();
    expect(parsePeriod("2024-Q4")!.yearFraction.toString()).toBe("0.25");
    expect(transitionEnds("2024-06-30", 12)).toBe("2025-06-30");
    expect(transitionEnds("2024-02-29", 12)).toBe("2025-02-28");
    expect(payableFrom("2025-06-24")).toBe("2025-07-01");
  });
});

// ---------- properties ----------

const fenAmount = fc.integer({ min: 0, max: 1_000_000_000 }).map((fen) => new D(fen).div(100)); // 0.00 to 10,000,000.00
const weight = fc.integer({ min: 1, max: 40_000 }).map((n) => new D(n).div(10_000)); // 0.0001 to 4.0000, like base × multiplier × members
const households = (max: number) => fc.array(weight, { minLength: 1, maxLength: max }).map((ws) => ws.map((w, i) => ({ householdId: hid(i), weight: w })));

describe("largest-remainder allocation: properties", () => {
  it("shares add up to the pool to the fen, none negative, none with more than two places", () => {
    fc.assert(
      fc.property(fenAmount, households(300), (pool, hs) => {
        const shares = allocateLargestRemainder(pool, hs);
        expect(shares).toHaveLength(hs.length);
        expect(Money.sum(shares).eq(pool)).toBe(true);
        for (const s of shares) {
          expect(s.isNeg()).toBe(false);
          expect(s.eq(Money.toFen(s))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("orders shares as their weights: a larger weight never gets less, equal weights differ by at most a fen", () => {
    fc.assert(
      fc.property(fenAmount, households(200), (pool, hs) => {
        const shares = allocateLargestRemainder(pool, hs);
        const order = hs.map((_, i) => i).sort((a, b) => new D(hs[a].weight).cmp(hs[b].weight));
        for (let k = 1; k < order.length; k++) {
          const lo = order[k - 1];
          const hi = order[k];
          if (new D(hs[hi].weight).gt(hs[lo].weight)) expect(shares[hi].gte(shares[lo])).toBe(true);
          else expect(shares[hi].minus(shares[lo]).abs().lte("0.01")).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("is deterministic and does not depend on the order households are listed in", () => {
    fc.assert(
      fc.property(fenAmount, households(100), fc.integer(), (pool, hs, seed) => {
        const a = allocateLargestRemainder(pool, hs);
        const b = allocateLargestRemainder(pool, hs);
        expect(fmt(a)).toEqual(fmt(b));
        // A rotation of the list gives every household the same share.
        const r = Math.abs(seed) % hs.length;
        const rotated = [...hs.slice(r), ...hs.slice(0, r)];
        const c = allocateLargestRemainder(pool, rotated);
        const byId = new Map(rotated.map((h, i) => [h.householdId, c[i].toFixed(2)]));
        expect(hs.map((h) => byId.get(h.householdId))).toEqual(fmt(a));
      }),
      { numRuns: 100 },
    );
  });

  it("each share is within a fen of its exact quota", () => {
    fc.assert(
      fc.property(fenAmount, households(100), (pool, hs) => {
        const shares = allocateLargestRemainder(pool, hs);
        const total = Money.sum(hs.map((h) => h.weight));
        hs.forEach((h, i) => {
          const exact = pool.times(h.weight).div(total);
          expect(shares[i].minus(exact).abs().lt("0.01")).toBe(true);
        });
      }),
      { numRuns: 100 },
    );
  });

  it("retention + earmarks + cap excess + shares = the income, to the fen", () => {
    const ratio = fc.integer({ min: 0, max: 500_000 }).map((n) => new D(n).div(1_000_000).toString());
    fc.assert(
      fc.property(fenAmount, households(200), ratio, ratio, fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: null }), (income, hs, retention, earmark, capFen) => {
        const rule = {
          ...DEFAULT_RULE,
          collectiveRetentionRatio: retention,
          earmarks: [{ name: "管护", kind: "RATIO" as const, ratio: earmark }],
          annualCapPerHousehold: capFen === null ? null : new D(capFen).div(100).toFixed(2),
        };
        const c = computeDistribution(income, rule, hs.map((h, i) => ({ ...h, alreadyThisYear: new D(i % 7).times(100) })));
        const earmarks = Money.sum(c.earmarks.map((e) => e.amount));
        expect(c.retention.plus(earmarks).plus(c.capExcess).plus(c.sharesTotal).eq(income)).toBe(true);
        expect(c.shares.every((s) => !s.share.isNeg() && s.share.lte(s.uncapped))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("scales to 50,000 households with exact sums (a few runs)", () => {
    fc.assert(
      fc.property(fenAmount, fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 0, max: 2 ** 30 }), (pool, n, seed) => {
        const hs = Array.from({ length: n }, (_, i) => ({ householdId: hid(i), weight: ["1", "1.5", "1.3", "1.2", "2", "3.9"][(i * 7 + seed) % 6] }));
        const shares = allocateLargestRemainder(pool, hs);
        expect(Money.sum(shares).eq(pool)).toBe(true);
        expect(shares.every((s) => !s.isNeg())).toBe(true);
      }),
      { numRuns: 5 },
    );
  });
});
