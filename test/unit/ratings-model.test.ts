import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Assessment,
  availableCredit,
  checkAssessments,
  DEFAULT_SCORECARD,
  gradeFor,
  type Indicator,
  type LabourCapacity,
  type RegisterFacts,
  type ScorecardDef,
  scoreHousehold,
  validateScorecard,
  validUntil,
  viewStatus,
} from "../../src/modules/ratings/model.js";

function facts(perCapita: string | null, labour: Partial<Record<LabourCapacity, number>> = { ORDINARY: 2 }): RegisterFacts {
  return {
    income: perCapita === null ? null : { year: 2024, per_capita_net_income: perCapita },
    labour: { ORDINARY: 0, SKILLED: 0, WEAK: 0, NONE: 0, ...labour },
  };
}

function levels(l: { CREDIT_RECORD: string; PROJECT: string; ASSETS: string; REPUTATION: string; DEBT: string }): Record<string, Assessment> {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, { level: v }]));
}

const points = (r: ReturnType<typeof scoreHousehold>, code: string) => r.explanation.find((e) => e.code === code)!.points;

describe("default scorecard", () => {
  it("is a valid scorecard whose points add up to 100", () => {
    expect(validateScorecard(DEFAULT_SCORECARD)).toEqual([]);
    expect(DEFAULT_SCORECARD.indicators.reduce((s, i) => s + i.points, 0)).toBe(100);
  });

  it("grades each band edge (AAA ≥ 90, AA 80-89, A 70-79, B 60-69, C < 60)", () => {
    const g = (s: number) => gradeFor(DEFAULT_SCORECARD.grades, s);
    expect([100, 90, 89, 80, 79, 70, 69, 60, 59, 0].map((s) => g(s).grade)).toEqual(["AAA", "AAA", "AA", "AA", "A", "A", "B", "B", "C", "C"]);
    expect([90, 89, 79, 69, 59].map((s) => g(s).credit_line)).toEqual(["50000.00", "30000.00", "10000.00", "0.00", "0.00"]);
  });

  // Each case reaches the edge score through the indicators, so the grade comes from a real explanation.
  const cases: [number, string, string, string | null, Partial<Record<LabourCapacity, number>>, Parameters<typeof levels>[0]][] = [
    [90, "AAA", "50000.00", "10000.00", { ORDINARY: 2 }, { CREDIT_RECORD: "CLEAN", PROJECT: "RUNNING", ASSETS: "HIGH", REPUTATION: "POOR", DEBT: "NONE" }],
    [89, "AA", "30000.00", "10000.00", { ORDINARY: 2 }, { CREDIT_RECORD: "CLEAN", PROJECT: "PLANNED", ASSETS: "HIGH", REPUTATION: "FAIR", DEBT: "NONE" }],
    [80, "AA", "30000.00", "12000.00", { SKILLED: 1, ORDINARY: 1 }, { CREDIT_RECORD: "CLEAN", PROJECT: "RUNNING", ASSETS: "NONE", REPUTATION: "POOR", DEBT: "NONE" }],
    [79, "A", "10000.00", "6000.00", { ORDINARY: 2 }, { CREDIT_RECORD: "CLEAN", PROJECT: "RUNNING", ASSETS: "HIGH", REPUTATION: "POOR", DEBT: "HIGH" }],
    [70, "A", "10000.00", "10000.00", { ORDINARY: 2 }, { CREDIT_RECORD: "CLEAN", PROJECT: "NONE", ASSETS: "HIGH", REPUTATION: "POOR", DEBT: "HIGH" }],
    [69, "B", "0.00", "7999.99", { ORDINARY: 2 }, { CREDIT_RECORD: "CLEAN", PROJECT: "RUNNING", ASSETS: "NONE", REPUTATION: "POOR", DEBT: "HIGH" }],
    [60, "B", "0.00", "10000.00", { ORDINARY: 1, WEAK: 2 }, { CREDIT_RECORD: "CLEAN", PROJECT: "NONE", ASSETS: "NONE", REPUTATION: "POOR", DEBT: "HIGH" }],
    [59, "C", "0.00", "6000.00", { ORDINARY: 1 }, { CREDIT_RECORD: "CLEAN", PROJECT: "NONE", ASSETS: "HIGH", REPUTATION: "POOR", DEBT: "HIGH" }],
  ];
  it.each(cases)("scores %i → %s (line %s)", (score, grade, line, income, labour, assessed) => {
    const r = scoreHousehold(DEFAULT_SCORECARD, facts(income, labour), levels(assessed));
    expect(r.score).toBe(score);
    expect(r.grade).toBe(grade);
    expect(r.credit_line).toBe(line);
    expect(r.explanation.reduce((s, e) => s + e.points, 0)).toBe(score);
  });

  it("explains each indicator: points, input and why", () => {
    const r = scoreHousehold(DEFAULT_SCORECARD, facts("12000.00", { ORDINARY: 1, WEAK: 1, NONE: 1 }), levels({ CREDIT_RECORD: "SETTLED", PROJECT: "PLANNED", ASSETS: "LOW", REPUTATION: "GOOD", DEBT: "LOW" }));
    expect(r.explanation.map((e) => [e.code, e.points, e.max_points, e.source])).toEqual([
      ["CREDIT_RECORD", 15, 25, "OFFICER"],
      ["INCOME", 20, 20, "REGISTER"],
      ["LABOUR", 10, 15, "REGISTER"],
      ["PROJECT", 8, 15, "OFFICER"],
      ["ASSETS", 3, 10, "OFFICER"],
      ["REPUTATION", 10, 10, "VILLAGE_REVIEW"],
      ["DEBT", 3, 5, "OFFICER"],
    ]);
    const income = r.explanation[1];
    expect(income.input).toEqual({ per_capita_net_income: "12000.00", year: 2024 });
    expect(income.reason).toContain("10000.00");
    const labour = r.explanation[2];
    expect(labour.input).toMatchObject({ labour_units: "1.5", members: 3, ordinary: 1, weak: 1, none: 1 });
    expect(labour.reason).toContain("1.5 labour units");
    expect(r.score).toBe(69);
  });

  it("puts income exactly on a band edge in the upper band", () => {
    const income = (v: string) => points(scoreHousehold(DEFAULT_SCORECARD, facts(v), levels({ CREDIT_RECORD: "BAD", PROJECT: "NONE", ASSETS: "NONE", REPUTATION: "POOR", DEBT: "HIGH" })), "INCOME");
    expect([income("0.00"), income("3999.99"), income("4000.00"), income("5999.99"), income("6000.00"), income("8000.00"), income("9999.99"), income("10000.00"), income("99999.00")]).toEqual([
      4, 4, 10, 10, 14, 17, 17, 20, 20,
    ]);
  });
});

describe("missing register data", () => {
  const all = levels({ CREDIT_RECORD: "CLEAN", PROJECT: "RUNNING", ASSETS: "HIGH", REPUTATION: "GOOD", DEBT: "NONE" });

  it("scores no income record as 0 points with the reason 'no income recorded'", () => {
    const r = scoreHousehold(DEFAULT_SCORECARD, facts(null), all);
    const income = r.explanation.find((e) => e.code === "INCOME")!;
    expect(income.points).toBe(0);
    expect(income.reason).toMatch(/^no income recorded/);
    expect(income.input).toEqual({ per_capita_net_income: null, year: null });
    expect(r.score).toBe(80);
    expect(r.grade).toBe("AA");
  });

  it("scores no member with labour capacity as 0 labour points, and no members at all as 'no members recorded'", () => {
    const none = scoreHousehold(DEFAULT_SCORECARD, facts("10000.00", { NONE: 3 }), all);
    expect(points(none, "LABOUR")).toBe(0);
    const empty = scoreHousehold(DEFAULT_SCORECARD, facts("10000.00", {}), all);
    const labour = empty.explanation.find((e) => e.code === "LABOUR")!;
    expect(labour.points).toBe(0);
    expect(labour.reason).toMatch(/^no members recorded/);
  });

  it("uses the scorecard's missing_points when a county documents another value", () => {
    const card: ScorecardDef = {
      ...DEFAULT_SCORECARD,
      indicators: DEFAULT_SCORECARD.indicators.map((i): Indicator => (i.kind === "INCOME_BANDS" ? { ...i, missing_points: 4 } : i)),
    };
    expect(points(scoreHousehold(card, facts(null), all), "INCOME")).toBe(4);
  });
});

describe("scorecard and assessment rules", () => {
  it("refuses points that do not add up to 100, unreachable maxima, bad bands and grades", () => {
    const bad: ScorecardDef = {
      ...DEFAULT_SCORECARD,
      indicators: DEFAULT_SCORECARD.indicators.map((i): Indicator => (i.code === "DEBT" && i.kind === "ASSESSED" ? { ...i, points: 4, levels: [{ level: "NONE", points: 4, description: "x" }, { level: "HIGH", points: 0, description: "y" }] } : i)),
    };
    expect(validateScorecard(bad).map((p) => p.message)).toContainEqual({ zh: "各指标分值合计为 99，应为 100", en: "indicator points add up to 99, not 100" });
    const bands: ScorecardDef = {
      ...DEFAULT_SCORECARD,
      indicators: DEFAULT_SCORECARD.indicators.map((i): Indicator => (i.kind === "INCOME_BANDS" ? { ...i, bands: [{ min: "100.00", points: 20 }, { min: "50.00", points: 10 }] } : i)),
    };
    expect(validateScorecard(bands).map((p) => p.message)).toEqual([
      { zh: "第一个分档须从 0 开始", en: "the first band starts at 0" },
      { zh: "各分档的下限须严格递增", en: "bands go up strictly" },
    ]);
    const grades: ScorecardDef = { ...DEFAULT_SCORECARD, grades: [{ grade: "AAA", min_score: 90, credit_line: "60000.00" }, { grade: "B", min_score: 60, credit_line: "70000.00" }] };
    expect(validateScorecard(grades).map((p) => p.message.en)).toEqual([
      "a grade with min_score 0 catches every score",
      "above the household cap of 50000.00",
      "above the household cap of 50000.00",
      "grade B grants more than the better grade AAA",
    ]);
  });

  it("requires each assessed indicator once with a known level", () => {
    const problems = checkAssessments(DEFAULT_SCORECARD, { CREDIT_RECORD: { level: "GREAT" }, INCOME: { level: "HIGH" }, PROJECT: { level: "RUNNING" }, ASSETS: { level: "LOW" }, REPUTATION: { level: "GOOD" } });
    expect(problems.map((p) => p.path)).toEqual(["body.assessments.INCOME", "body.assessments.CREDIT_RECORD.level", "body.assessments.DEBT"]);
    expect(problems[0].message).toEqual({ zh: "评分卡中没有需评估的指标 INCOME", en: "the scorecard has no assessed indicator INCOME" });
  });
});

describe("validity and credit line", () => {
  it("is valid for 12 months from approval, the last day included", () => {
    expect(validUntil("2025-06-02", 12)).toBe("2026-06-01");
    // The anniversary of 29 February is 28 February (date-fns clamps to the month end), so the last valid day is the 27th.
    expect(validUntil("2024-02-29", 12)).toBe("2025-02-27");
    expect(validUntil("2025-01-01", 12)).toBe("2025-12-31");
    expect(viewStatus("EFFECTIVE", "2026-06-01", "2026-06-01")).toBe("EFFECTIVE");
    expect(viewStatus("EFFECTIVE", "2026-06-01", "2026-06-02")).toBe("EXPIRED");
    expect(viewStatus("SUPERSEDED", "2026-06-01", "2027-01-01")).toBe("SUPERSEDED");
  });

  it("leaves min(line, 50,000) − used, never below zero", () => {
    expect(availableCredit("50000.00", "20000.00").toFixed(2)).toBe("30000.00");
    expect(availableCredit("30000.00", "30000.01").toFixed(2)).toBe("0.00");
    expect(availableCredit("10000.00", "0").toFixed(2)).toBe("10000.00");
  });
});

// ---------- properties ----------

const labourArb = fc.record({ ORDINARY: fc.nat(5), SKILLED: fc.nat(3), WEAK: fc.nat(3), NONE: fc.nat(6) });
const incomeArb = fc.option(
  fc.tuple(fc.nat(200_000), fc.nat(99)).map(([y, f]) => ({ year: 2024, per_capita_net_income: `${y}.${String(f).padStart(2, "0")}` })),
  { nil: null },
);

/** Any valid scorecard: 1-8 indicators whose points partition 100, each with reachable levels or bands. */
const scorecardArb: fc.Arbitrary<ScorecardDef> = fc
  .uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 7 })
  .chain((cuts) => {
    const sorted = [0, ...[...cuts].sort((a, b) => a - b), 100];
    const pts = sorted.slice(1).map((v, i) => v - sorted[i]);
    return fc.tuple(
      ...pts.map((p, idx) =>
        fc.oneof(
          fc.uniqueArray(fc.integer({ min: 0, max: p }), { minLength: 1, maxLength: 5 }).map(
            (ls): Indicator => ({
              kind: "ASSESSED",
              code: `IND_${idx}`,
              name: `指标${idx}`,
              points: p,
              assessed_by: "OFFICER",
              levels: [...new Set([p, ...ls])].map((v, j) => ({ level: `L${j}`, points: v, description: `level ${j}` })),
            }),
          ),
          fc.tuple(fc.uniqueArray(fc.integer({ min: 1, max: 50_000 }), { maxLength: 5 }), fc.integer({ min: 0, max: p })).map(
            ([mins, missing]): Indicator => ({
              kind: "INCOME_BANDS",
              code: `IND_${idx}`,
              name: `收入${idx}`,
              points: p,
              missing_points: missing,
              bands: [0, ...[...mins].sort((a, b) => a - b)].map((m, j, all) => ({ min: `${m}.00`, points: Math.round((p * (j + 1)) / all.length) })),
            }),
          ),
          fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 4 }).map(
            (mins): Indicator => ({
              kind: "LABOUR_BANDS",
              code: `IND_${idx}`,
              name: `劳动力${idx}`,
              points: p,
              weights: { ORDINARY: "1", SKILLED: "1.5", WEAK: "0.5", NONE: "0" },
              bands: [0, ...[...mins].sort((a, b) => a - b)].map((m, j, all) => ({ min: String(m), points: Math.round((p * (j + 1)) / all.length) })),
            }),
          ),
        ),
      ),
    );
  })
  .map((indicators) => ({ ...DEFAULT_SCORECARD, indicators }));

/** Assessments for a scorecard: a random level per assessed indicator, sometimes left out. */
function assessmentsFor(card: ScorecardDef): fc.Arbitrary<Record<string, Assessment>> {
  const entries = card.indicators.flatMap((i) => (i.kind === "ASSESSED" ? [fc.option(fc.constantFrom(...i.levels.map((l) => l.level)), { nil: undefined }).map((lv) => [i.code, lv] as const)] : []));
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter(([, lv]) => lv !== undefined).map(([code, lv]) => [code, { level: lv! }])));
}

describe("properties", () => {
  it("the score is always 0-100 and the sum of the explanation's points (default scorecard)", () => {
    fc.assert(
      fc.property(incomeArb, labourArb, assessmentsFor(DEFAULT_SCORECARD), (income, labour, assessed) => {
        const r = scoreHousehold(DEFAULT_SCORECARD, { income, labour }, assessed);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(100);
        expect(r.score).toBe(r.explanation.reduce((s, e) => s + e.points, 0));
        for (const e of r.explanation) expect(e.points).toBeLessThanOrEqual(e.max_points);
        expect(r.grade).toBe(gradeFor(DEFAULT_SCORECARD.grades, r.score).grade);
      }),
      { numRuns: 500 },
    );
  });

  it("holds for any valid scorecard version", () => {
    fc.assert(
      fc.property(
        scorecardArb.chain((card) => fc.tuple(fc.constant(card), incomeArb, labourArb, assessmentsFor(card))),
        ([card, income, labour, assessed]) => {
          expect(validateScorecard(card)).toEqual([]);
          const r = scoreHousehold(card, { income, labour }, assessed);
          expect(r.score).toBeGreaterThanOrEqual(0);
          expect(r.score).toBeLessThanOrEqual(100);
          expect(r.score).toBe(r.explanation.reduce((s, e) => s + e.points, 0));
          expect(r.explanation).toHaveLength(card.indicators.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
