import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D } from "../../src/lib/money.js";
import { circumstancesOf, DEFAULT_RULE, householdWeight, type RuleParams } from "../../src/modules/distributions/model.js";
import { eligibility } from "../../src/modules/distributions/queries.js";
import { HEALTH, LABOUR } from "../../src/modules/register/model.js";
import { createHousehold } from "../helpers/factories.js";
import { COUNTY, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

/*
 * A household's weight is computed in SQL, over the register, by the statement that writes the
 * shares (`eligibilityCtes` in distributions/queries.ts); `circumstancesOf` and `householdWeight`
 * in distributions/model.ts are the reference. On random households (members' health, labour
 * capacity, 低保/特困 flags, household type) and random rules (per household or per member, base
 * weight, multipliers above, at or below 1 and tied), the SQL's members, multiplier, its reason and
 * the weight must be the model's. Runs on the database the suite runs on (PGlite, or PostgreSQL
 * with DATABASE_URL).
 */

const t = useTestApp({ today: "2025-03-03" });

const multiplier = fc.constantFrom("0.8", "1", "1.2", "1.3", "1.5", "1.5", "2");
const memberArb = fc.record({ health: fc.constantFrom(...HEALTH), labour: fc.constantFrom(...LABOUR), dibao: fc.boolean(), tekun: fc.boolean() });
const scenarioArb = fc.record({
  rule: fc.record({
    weightBasis: fc.constantFrom("HOUSEHOLD", "MEMBER") as fc.Arbitrary<RuleParams["weightBasis"]>,
    baseWeight: fc.constantFrom("1", "0.5", "2.25"),
    multiplierNoLabour: multiplier,
    multiplierSeriousIllness: multiplier,
    multiplierDibaoTekun: multiplier,
  }),
  households: fc.array(
    fc.record({ type: fc.constantFrom("GENERAL", "GENERAL", "DIBAO", "TEKUN"), members: fc.array(memberArb, { minLength: 1, maxLength: 4 }) }),
    { minLength: 1, maxLength: 4 },
  ),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

const seen = new Set<string>();

async function runScenario(s: Scenario) {
  const created = new Map<string, Scenario["households"][number]>();
  for (const h of s.households) {
    const body = await createHousehold(t, {
      household_type: h.type,
      members: h.members.map((m, i) => ({ relation: i === 0 ? "HEAD" : "CHILD", birth: i === 0 ? "1975-04-04" : "2001-06-06", health: m.health, labour_capacity: m.labour, on_dibao: m.dibao, on_tekun: m.tekun })),
    });
    created.set(body.id, h);
  }
  const rule: RuleParams = { ...DEFAULT_RULE, ...s.rule };
  const rows = (await eligibility(t.db, { countyCode: COUNTY, beneficiaries: { villages: [VILLAGE] }, referenceDate: t.clock.today(), rule, year: 2024, distributionId: null })).filter((r) => created.has(r.household_id));
  expect(rows).toHaveLength(created.size);
  for (const r of rows) {
    const h = created.get(r.household_id)!;
    const w = householdWeight(rule, circumstancesOf(h.type, h.members.map((m) => ({ health: m.health, labourCapacity: m.labour, onDibao: m.dibao, onTekun: m.tekun }))));
    seen.add(w.reason ?? "NONE");
    expect({ outcome: r.outcome, members: r.members, multiplier: new D(r.multiplier).toString(), reason: r.multiplier_reason, weight: new D(r.weight).toString() }, JSON.stringify(h)).toEqual({
      outcome: "POOR",
      members: h.members.length,
      multiplier: w.multiplier.toString(),
      reason: w.reason,
      weight: w.weight.toString(),
    });
  }
}

describe("household weights: SQL = distributions/model.ts", () => {
  it("on random households and rules: members, multiplier, its reason, weight", async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: Number(process.env.RUNS ?? 25), seed: 20261201, endOnFailure: true });
    expect([...seen].sort()).toEqual(["DIBAO_TEKUN", "NONE", "NO_LABOUR", "SERIOUS_ILLNESS_OR_DISABILITY"]);
  }, 300_000);
});
