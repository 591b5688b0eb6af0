import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { D, type Dec, Money } from "../../src/lib/money.js";
import { allocateLargestRemainder, applyAnnualCap, computeDistribution, type RuleParams } from "../../src/modules/distributions/model.js";
import { allocateInSql, eligibility } from "../../src/modules/distributions/queries.js";
import { createHousehold } from "../helpers/factories.js";
import { COUNTY, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, confirmedReport, createAsset, registerOperators } from "./assets-helpers.js";

// The allocation runs in SQL (queries.ts); model.ts is its reference. These tests check that the
// two agree to the fen, on the database the suite runs on (PGlite, or PostgreSQL with DATABASE_URL).

const t = useTestApp({ today: "2024-01-15" });

interface Case {
  pool: Dec;
  cap: Dec | null;
  households: { householdId: string; weight: string; alreadyThisYear: string }[];
}

/** The model's shares of a case, by household id. */
function modelShares(c: Case): Map<string, { uncapped: string; amount: string; capped: boolean }> {
  const raw = allocateLargestRemainder(c.pool, c.households);
  const { shares } = applyAnnualCap(
    raw,
    c.households.map((h) => new D(h.alreadyThisYear)),
    c.cap,
  );
  return new Map(c.households.map((h, i) => [h.householdId, { uncapped: shares[i].uncapped.toFixed(2), amount: shares[i].share.toFixed(2), capped: shares[i].capped }]));
}

async function expectSqlEqualsModel(c: Case): Promise<void> {
  const rows = await allocateInSql(t.db, c.pool, c.cap, c.households);
  const expected = modelShares(c);
  expect(rows).toHaveLength(c.households.length);
  for (const r of rows) {
    expect({ id: r.household_id, uncapped: Money.format(r.uncapped), amount: Money.format(r.amount), capped: r.capped }).toEqual({ id: r.household_id, ...expected.get(r.household_id) });
  }
  expect(Money.sum(rows.map((r) => r.uncapped)).eq(c.pool)).toBe(true);
}

const fen = (max: number) => fc.integer({ min: 0, max }).map((n) => new D(n).div(100));
// Weights as the register makes them (few values, so remainders tie by the dozen) or arbitrary ones.
const tieWeight = fc.constantFrom("1", "1.2", "1.3", "1.5", "2", "2.4", "3.9", "4.5");
const anyWeight = fc.integer({ min: 1, max: 4_000_000 }).map((n) => new D(n).div(1_000_000).toString());
const cases = (maxHouseholds: number) =>
  fc
    .record({
      pool: fen(1_000_000_000),
      cap: fc.option(fen(2_000_000), { nil: null }),
      ids: fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: maxHouseholds }),
      weights: fc.array(fc.oneof(tieWeight, tieWeight, anyWeight), { minLength: maxHouseholds, maxLength: maxHouseholds }),
      already: fc.array(fen(1_000_000), { minLength: maxHouseholds, maxLength: maxHouseholds }),
    })
    .map(({ pool, cap, ids, weights, already }): Case => ({
      pool,
      cap,
      households: ids.map((id, i) => ({ householdId: id, weight: weights[i], alreadyThisYear: already[i].toFixed(2) })),
    }));

describe("the SQL allocation equals the model's, to the fen", () => {
  it("on worked examples: ties to the lower household id, a one-fen pool, a zero pool", async () => {
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
    // 100.00 three ways: the leftover fen to the lowest id, wherever it is listed.
    const three = { pool: new D("100.00"), cap: null, households: [2, 1, 3].map((n) => ({ householdId: id(n), weight: "1", alreadyThisYear: "0" })) };
    await expectSqlEqualsModel(three);
    const rows = await allocateInSql(t.db, three.pool, null, three.households);
    expect(rows.map((r) => Money.format(r.amount))).toEqual(["33.34", "33.33", "33.33"]);
    await expectSqlEqualsModel({ pool: new D("0.01"), cap: null, households: [3, 1, 2].map((n) => ({ householdId: id(n), weight: "1.5", alreadyThisYear: "0" })) });
    await expectSqlEqualsModel({ pool: new D("0.00"), cap: new D("5.00"), households: [{ householdId: id(1), weight: "1", alreadyThisYear: "9.00" }] });
    // Ids that order differently by their first and their last digits.
    await expectSqlEqualsModel({
      pool: new D("10.00"),
      cap: null,
      households: ["f0000000-0000-4000-8000-000000000001", "0fffffff-ffff-4fff-bfff-ffffffffffff", "a0000000-0000-4000-8000-000000000000"].map((h) => ({ householdId: h, weight: "1", alreadyThisYear: "0" })),
    });
  });

  it("on random pools, weights, caps and household ids", async () => {
    await fc.assert(fc.asyncProperty(cases(120), expectSqlEqualsModel), { numRuns: 60, seed: 20261201 });
  });

  it("on a few thousand households with tied remainders", async () => {
    await fc.assert(fc.asyncProperty(cases(3000), expectSqlEqualsModel), { numRuns: 3, seed: 20261201 });
  });
});

describe("a computed distribution equals the model's computation", () => {
  const ids: Record<string, string[]> = { one: [], noLabour: [], ill: [], dibao: [] };
  let asset: { id: string };

  beforeAll(async () => {
    await registerOperators(t);
    const none = { labour_capacity: "NONE" };
    for (let i = 0; i < 7; i++) ids.one.push((await createHousehold(t, {})).id);
    for (let i = 0; i < 2; i++) ids.noLabour.push((await createHousehold(t, { members: [{ relation: "HEAD", ...none }, { relation: "SPOUSE", birth: "1950-02-02", ...none }] })).id);
    for (let i = 0; i < 2; i++) ids.ill.push((await createHousehold(t, { members: [{ relation: "HEAD" }, { relation: "PARENT", birth: "1950-03-03", health: "SERIOUS" }] })).id);
    for (let i = 0; i < 2; i++) ids.dibao.push((await createHousehold(t, { household_type: "DIBAO" })).id);
    t.clock.set("2025-06-02");
    asset = await createAsset(t);
    await confirmedReport(t, asset.id, "2024", { revenue: "120000.00", costs: "40000.00", net_income: "80000.00", amount_payable: "48000.21" });
  });

  it("shares, retention, earmarks and cap excess add up to the income, and each share is the model's", async () => {
    const rule = await t.as("admin").post(`${API}/distribution-rules`, {
      scope: "ASSET",
      asset_id: asset.id,
      effective_from: "2025-01-01",
      collective_retention_ratio: "0.2",
      earmarks: [{ name: "光伏电站管护", kind: "FIXED", amount: "100.00" }],
      weight_basis: "HOUSEHOLD",
      annual_cap_per_household: "3500.00",
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const res = await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const d = res.body;

    const stored = (await t.db("distributions").where({ id: d.id }).first()) as { rule: RuleParams };
    const rows = (await eligibility(t.db, { countyCode: COUNTY, beneficiaries: { villages: [VILLAGE] }, referenceDate: "2025-05-31", rule: stored.rule, year: 2024, distributionId: d.id })).filter(
      (r) => r.outcome === "POOR" || r.outcome === "MONITORED" || r.outcome === "EXITED_IN_TRANSITION",
    );
    const model = computeDistribution(
      new D("48000.21"),
      stored.rule,
      rows.map((r) => ({ householdId: r.household_id, weight: r.weight, alreadyThisYear: r.already_this_year })),
    );
    expect(d).toMatchObject({
      income_total: "48000.21",
      retention_amount: Money.format(model.retention),
      earmarks_total: "100.00",
      pool_amount: Money.format(model.pool),
      cap_excess: Money.format(model.capExcess),
      collective_total: Money.format(model.collectiveTotal),
      shares_total: Money.format(model.sharesTotal),
      household_count: 13,
      total_weight: "15",
    });
    const cents = (v: string) => Math.round(Number(v) * 100);
    expect(cents(d.retention_amount) + cents(d.earmarks_total) + cents(d.cap_excess) + cents(d.shares_total)).toBe(cents("48000.21"));

    const shares = new Map((d.shares as { household_id: string; uncapped_amount: string; amount: string; capped: boolean }[]).map((s) => [s.household_id, s]));
    expect(shares.size).toBe(13);
    rows.forEach((r, i) => {
      expect({ id: r.household_id, uncapped: shares.get(r.household_id)!.uncapped_amount, amount: shares.get(r.household_id)!.amount, capped: shares.get(r.household_id)!.capped }).toEqual({
        id: r.household_id,
        uncapped: model.shares[i].uncapped.toFixed(2),
        amount: model.shares[i].share.toFixed(2),
        capped: model.shares[i].capped,
      });
    });

    // 38,300.17 over a weight of 15: the fens left over reach the weight-1 households, whose remainders
    // tie, so some of them get one more fen than the others — the lowest household ids.
    const ones = [...ids.one].sort().map((id) => shares.get(id)!.amount);
    expect(new Set(ones).size).toBe(2);
    expect([...ones].sort().reverse()).toEqual(ones);
    // The households of weight 1.5 are capped at 3,500.00; the rest of their share goes to the collective.
    for (const id of ids.noLabour) expect(shares.get(id)).toMatchObject({ amount: "3500.00", capped: true });
  });
});
