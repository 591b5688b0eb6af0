import { beforeAll, describe, expect, it } from "vitest";
import { accountBalance, ACCOUNTS } from "../../src/lib/ledger.js";
import { dividendsOfHousehold } from "../../src/modules/distributions/service.js";
import { createHousehold, exitBody, removeBody } from "../helpers/factories.js";
import { OPERATOR, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, confirmedReport, createAsset, expectProblem, registerOperators } from "./assets-helpers.js";

const t = useTestApp({ today: "2024-01-15" });
let keyNo = 0;
const key = () => `dist-${++keyNo}`;

async function statusChange(householdId: string, body: object) {
  const res = await t.as("admin").post(`${API}/households/${householdId}/status-changes`, body);
  if (res.status !== 201) throw new Error(`status change: ${res.status} ${JSON.stringify(res.body)}`);
}

type Share = { household_id: string; amount: string; weight: string; eligibility: string; multiplier_reason: string | null; transition_ends: string | null; payment_status: string; bank_reference: string | null };
const byId = (shares: Share[]) => new Map(shares.map((s) => [s.household_id, s]));

// The households of 新市村 (VILLAGE), one per status and circumstance.
const h: Record<string, string> = {};
let asset: { id: string };
let distributionId: string;

beforeAll(async () => {
  await registerOperators(t);
  const none = { labour_capacity: "NONE" };
  const mk = async (name: string, opts: Parameters<typeof createHousehold>[1]) => {
    h[name] = (await createHousehold(t, opts)).id;
  };
  // Registered on 2024-01-15.
  await mk("A_poor", {});
  await mk("B_noLabour", { members: [{ relation: "HEAD", ...none }, { relation: "SPOUSE", birth: "1950-02-02", ...none }] });
  await mk("C_ill", { members: [{ relation: "HEAD" }, { relation: "PARENT", birth: "1950-03-03", health: "SERIOUS" }] });
  await mk("D_dibao", { household_type: "DIBAO" });
  await mk("E_all", { household_type: "TEKUN", members: [{ relation: "HEAD", health: "DISABLED", on_dibao: true, ...none }] });
  await mk("F_monitored", { status: "MONITORED", household_type: "MONITORED" });
  await mk("G_exitedInside", {});
  await mk("H_exitedOutside", {});
  await mk("I_removed", {});
  await mk("K_exitsAfterRef", {});
  await mk("J_otherVillage", { village: VILLAGE_2 });
  t.clock.set("2025-06-02");
  await statusChange(h.G_exitedInside, exitBody("2024-07-01")); // transition to 2025-07-01 (the first day without a share)
  await statusChange(h.H_exitedOutside, exitBody("2024-03-01")); // transition ended 2025-03-01
  await statusChange(h.I_removed, removeBody("2024-04-01"));
  await statusChange(h.K_exitsAfterRef, exitBody("2025-06-01")); // still POOR on 2025-05-31
  asset = await createAsset(t);
  await confirmedReport(t, asset.id, "2024"); // 48,000.00 payable
});

describe("computing a distribution", () => {
  it("shares the pool exactly by status and circumstance as of the reference date", async () => {
    const res = await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    distributionId = res.body.id;
    const d = res.body;
    expect(d).toMatchObject({ status: "DRAFT", income_total: "48000.00", retention_amount: "9600.00", pool_amount: "38400.00", shares_total: "38400.00", household_count: 8, total_weight: "9.5" });
    expect(d.excluded).toEqual({ ROLLED_OUT: 1, REMOVED: 1 });
    const s = byId(d.shares);
    // 38,400 / 9.5 per unit of weight; floors leave 5 fens for the largest remainders (×1.5 ×2, ×1.3, ×1.2, then the lowest id of weight 1).
    expect(s.get(h.B_noLabour)).toMatchObject({ weight: "1.5", multiplier_reason: "NO_LABOUR", amount: "6063.16" });
    expect(s.get(h.E_all)).toMatchObject({ weight: "1.5", multiplier_reason: "NO_LABOUR", amount: "6063.16" });
    expect(s.get(h.C_ill)).toMatchObject({ weight: "1.3", multiplier_reason: "SERIOUS_ILLNESS_OR_DISABILITY", amount: "5254.74" });
    expect(s.get(h.D_dibao)).toMatchObject({ weight: "1.2", multiplier_reason: "DIBAO_TEKUN", amount: "4850.53" });
    const ones = [h.A_poor, h.F_monitored, h.G_exitedInside, h.K_exitsAfterRef].sort();
    expect(ones.map((id) => s.get(id)!.amount)).toEqual(["4042.11", "4042.10", "4042.10", "4042.10"]);
    expect(s.get(h.F_monitored)!.eligibility).toBe("MONITORED");
    expect(s.get(h.K_exitsAfterRef)!.eligibility).toBe("POOR");
    expect(s.get(h.G_exitedInside)).toMatchObject({ eligibility: "EXITED_IN_TRANSITION", transition_ends: "2025-07-01" });
    for (const gone of [h.H_exitedOutside, h.I_removed, h.J_otherVillage]) expect(s.has(gone)).toBe(false);
    const sum = d.shares.reduce((a: number, x: Share) => a + Math.round(Number(x.amount) * 100), 0);
    expect(sum + 960000).toBe(4800000);
  });

  it("rolls an exited household out once its transition ends", async () => {
    // G exited on 2024-07-01: with 12 transition months it shares through 2025-06-30 and rolls out on 2025-07-01.
    const rows = await t.db("distribution_shares").where({ distribution_id: distributionId, household_id: h.G_exitedInside }).first();
    expect(rows.transition_ends).toBe("2025-07-01");
    const { eligibility } = await import("../../src/modules/distributions/queries.js");
    const { DEFAULT_RULE } = await import("../../src/modules/distributions/model.js");
    const at = async (ref: string) =>
      (await eligibility(t.db, { countyCode: "469030", beneficiaries: { villages: [VILLAGE] }, referenceDate: ref, rule: DEFAULT_RULE, year: 2025, distributionId: null })).find((r) => r.household_id === h.G_exitedInside)!.outcome;
    expect(await at("2025-06-30")).toBe("EXITED_IN_TRANSITION");
    expect(await at("2025-07-01")).toBe("ROLLED_OUT");
    expect(await at("2024-06-30")).toBe("POOR");
  });

  it("refuses to use the same income twice", async () => {
    expectProblem(await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" }), 409, "INCOME_ALREADY_DISTRIBUTED");
    expectProblem(await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2023", reference_date: "2025-05-31" }), 422, "NO_CONFIRMED_INCOME");
    expectProblem(await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, village_code: VILLAGE, period: "2024", reference_date: "2025-05-31" }), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-06-30" }), 400, "VALIDATION_FAILED");
  });

  it("keeps distributions inside the jurisdiction and away from operators", async () => {
    expectProblem(await t.as("operator").get(`${API}/distributions/${distributionId}`), 403, "FORBIDDEN");
    expectProblem(await t.as("operator").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" }), 403, "FORBIDDEN");
    expectProblem(await t.as("otherRegulator").get(`${API}/distributions/${distributionId}`), 404, "NOT_FOUND");
    expectProblem(await t.as("village2").get(`${API}/distributions/${distributionId}`), 404, "NOT_FOUND");
    expect((await t.as("regulator").get(`${API}/distributions/${distributionId}`)).status).toBe(200);
  });
  it("pages the shares by household id", async () => {
    const first = await t.as("regulator").get(`${API}/distributions/${distributionId}?limit=3`);
    expect(first.body.shares).toHaveLength(3);
    const second = await t.as("regulator").get(`${API}/distributions/${distributionId}?limit=10&cursor=${first.body.shares_next_cursor}`);
    expect(second.body.shares).toHaveLength(5);
    expect(second.body.shares_next_cursor).toBeNull();
    const ids = [...first.body.shares, ...second.body.shares].map((x: Share) => x.household_id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(8);
  });
});

describe("notice, objections, approval and payment", () => {
  it("publishes a masked list and sends an upheld objection back to DRAFT, recomputed", async () => {
    expectProblem(await t.as("regulator").post(`${API}/distributions/${distributionId}/approve`, {}), 409, "INVALID_STATE");
    const noticed = await t.as("village").post(`${API}/distributions/${distributionId}/notice`, {});
    expect(noticed.body).toMatchObject({ status: "NOTICED", notice_date: "2025-06-02", payable_from: "2025-06-09" });
    const list = await t.as("village").get(`${API}/distributions/${distributionId}/notice`);
    expect(list.body.villages).toHaveLength(1);
    expect(list.body.villages[0]).toMatchObject({ village_code: VILLAGE, village_name: "新市村", households: 8, total: "38400.00" });
    const item = list.body.villages[0].items[0];
    expect(item.head_name).toBe("王*国");
    expect(item.id_number).toMatch(/^469030\*{8}[0-9]{3}[0-9X]$/);

    const o = await t.as("village").post(`${API}/distributions/${distributionId}/objections`, { household_id: h.A_poor, raised_by: "村民李某", content: "王某家有财政供养人员，不应享受分红" });
    expect(o.status).toBe(201);
    expectProblem(await t.as("regulator").post(`${API}/distributions/${distributionId}/approve`, {}), 409, "OPEN_OBJECTIONS");
    // The village verifies it: the household is removed from the register, the objection upheld.
    t.clock.set("2025-06-03");
    await statusChange(h.A_poor, removeBody("2025-06-03"));
    const upheld = await t.as("village").post(`${API}/distributions/${distributionId}/objections/${o.body.id}/resolve`, { decision: "UPHELD", resolution: "经核实属实，已清退，重新计算" });
    expect(upheld.status, JSON.stringify(upheld.body)).toBe(200);
    expect(upheld.body).toMatchObject({ status: "DRAFT", notice_date: null, household_count: 7, total_weight: "8.5", computations: 2 });
    const s = byId(upheld.body.shares);
    expect(s.has(h.A_poor)).toBe(false);
    // 38,400 / 8.5: the three fens left go to the weight-1 households (remainder 0.706 fen).
    expect([h.F_monitored, h.G_exitedInside, h.K_exitsAfterRef].map((id) => s.get(id)!.amount)).toEqual(["4517.65", "4517.65", "4517.65"]);
    expect([h.B_noLabour, h.E_all, h.C_ill, h.D_dibao].map((id) => s.get(id)!.amount)).toEqual(["6776.47", "6776.47", "5872.94", "5421.17"]);
    expect(upheld.body.objections[0]).toMatchObject({ status: "UPHELD" });
  });

  it("is approved by the regulator only, and paid no earlier than 7 days after the notice", async () => {
    const noticed = await t.as("village").post(`${API}/distributions/${distributionId}/notice`, {});
    expect(noticed.body).toMatchObject({ status: "NOTICED", notice_date: "2025-06-03", payable_from: "2025-06-10" });
    expectProblem(await t.as("admin").post(`${API}/distributions/${distributionId}/approve`, {}), 403, "FORBIDDEN");
    expectProblem(await t.as("village").post(`${API}/distributions/${distributionId}/approve`, {}), 403, "FORBIDDEN");
    expectProblem(await t.as("otherRegulator").post(`${API}/distributions/${distributionId}/approve`, {}), 404, "NOT_FOUND");
    const approved = await t.as("regulator").post(`${API}/distributions/${distributionId}/approve`, {});
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe("APPROVED");
    // Income into the pool, the collective's 20% out: the pool holds the households' 38,400.00.
    expect((await accountBalance(t.db, ACCOUNTS.DISTRIBUTION_POOL, distributionId)).toFixed(2)).toBe("-38400.00");

    t.clock.set("2025-06-09"); // day 6
    expectProblem(await t.as("admin").post(`${API}/distributions/${distributionId}/pay`, { batch_reference: "NS20250609" }, key()), 422, "NOTICE_PERIOD_NOT_OVER");
    expectProblem(await t.as("admin").post(`${API}/distributions/${distributionId}/pay`, { batch_reference: "NS20250609" }), 400, "IDEMPOTENCY_KEY_REQUIRED");
    t.clock.set("2025-06-10"); // day 7
    expectProblem(await t.as("regulator").post(`${API}/distributions/${distributionId}/pay`, { batch_reference: "NS20250610" }, key()), 403, "FORBIDDEN");
    const k = key();
    const body = { batch_reference: "NS20250610", failures: [{ household_id: h.B_noLabour, reason: "账户已销户" }] };
    const paid = await t.as("admin").post(`${API}/distributions/${distributionId}/pay`, body, k);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "APPROVED", paid_total: "31623.53", payments: { PAID: 6, FAILED: 1 } });
    const replay = await t.as("admin").post(`${API}/distributions/${distributionId}/pay`, body, k);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect((await accountBalance(t.db, ACCOUNTS.DISTRIBUTION_POOL, distributionId)).toFixed(2)).toBe("-6776.47");
    const mid = await t.as("regulator").get(`${API}/ledger/reconciliation`);
    expect(mid.body.checks.find((c: { name: string }) => c.name === "distribution-pool")).toMatchObject({ ok: true });

    // The retry pays the failed share with its own bank reference.
    const retry = await t.as("admin").post(`${API}/distributions/${distributionId}/pay`, { batch_reference: "NS20250610-2", payments: [{ household_id: h.B_noLabour, bank_reference: "NS20250610-2-0001" }] }, key());
    expect(retry.body).toMatchObject({ status: "PAID", paid_total: "38400.00", paid_on: "2025-06-10", payments: { PAID: 7 } });
    const shares = byId((await t.as("regulator").get(`${API}/distributions/${distributionId}`)).body.shares);
    expect(shares.get(h.B_noLabour)!.bank_reference).toBe("NS20250610-2-0001");
    expect(shares.get(h.C_ill)!.bank_reference).toMatch(/^NS20250610:469030100201\d{6}$/);
    expectProblem(await t.as("admin").post(`${API}/distributions/${distributionId}/pay`, { batch_reference: "again" }, key()), 409, "INVALID_STATE");
  });

  it("reconciles the ledger: the pool account is zero once paid", async () => {
    expect((await accountBalance(t.db, ACCOUNTS.DISTRIBUTION_POOL, distributionId)).toFixed(2)).toBe("0.00");
    const rec = await t.as("regulator").get(`${API}/ledger/reconciliation`);
    expect(rec.body.trial_balance.balanced).toBe(true);
    expect(rec.body.checks.find((c: { name: string }) => c.name === "distribution-pool")).toMatchObject({ ok: true, differences: [] });
    const entries = await t.db("journal_entries").where({ ref_type: "distribution", ref_id: distributionId }).orderBy("created_at").pluck("kind");
    expect(entries.sort()).toEqual(["distribution.income", "distribution.payment", "distribution.payment", "distribution.pool", "distribution.retention"].sort());
    expect((await accountBalance(t.db, ACCOUNTS.COLLECTIVE_RETENTION, VILLAGE)).toFixed(2)).toBe("-9600.00");
    const audits = await t.db("audit_log").where({ action: "distribution.share.paid" }).count<{ n: number }[]>({ n: "*" });
    expect(Number(audits[0].n)).toBe(7);
  });

  it("shows each household its dividends with weight, reason, amount, status and paid date", async () => {
    const res = await t.as("village").get(`${API}/households/${h.B_noLabour}/dividends`);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      distribution_id: distributionId,
      assets: [{ id: asset.id, name: "新市村村级光伏电站", asset_type: "PHOTOVOLTAIC" }],
      period: "2024",
      weight: "1.5",
      multiplier_reason: "NO_LABOUR",
      amount: "6776.47",
      status: "PAID",
      paid_on: "2025-06-10",
    });
    expect(res.body.items[0].why).toContain("无劳动能力 ×1.5");
    const g = await dividendsOfHousehold(t.db, h.G_exitedInside);
    expect(g[0]).toMatchObject({ eligibility: "EXITED_IN_TRANSITION", transition_ends: "2025-07-01", amount: "4517.65" });
    expect(await dividendsOfHousehold(t.db, h.A_poor)).toEqual([]);
    expectProblem(await t.as("village2").get(`${API}/households/${h.B_noLabour}/dividends`), 404, "NOT_FOUND");
    expectProblem(await t.as("otherRegulator").get(`${API}/households/${h.B_noLabour}/dividends`), 404, "NOT_FOUND");
    expectProblem(await t.as("operator").get(`${API}/households/${h.B_noLabour}/dividends`), 403, "FORBIDDEN");
  });

  it("corrects a paid distribution only by reversing it, which releases its income", async () => {
    expectProblem(await t.as("admin").post(`${API}/distributions/${distributionId}/reverse`, { reason: "名单有误" }, key()), 403, "FORBIDDEN");
    const rev = await t.as("regulator").post(`${API}/distributions/${distributionId}/reverse`, { reason: "受益户名单有误，冲正后重新分配" }, key());
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    expect(rev.body.status).toBe("REVERSED");
    expect((await accountBalance(t.db, ACCOUNTS.DISTRIBUTION_POOL, distributionId)).toFixed(2)).toBe("0.00");
    expect((await accountBalance(t.db, ACCOUNTS.COLLECTIVE_RETENTION, VILLAGE)).toFixed(2)).toBe("0.00");
    const rec = await t.as("regulator").get(`${API}/ledger/reconciliation`);
    expect(rec.body.checks.find((c: { name: string }) => c.name === "distribution-pool").ok).toBe(true);
    expect((await dividendsOfHousehold(t.db, h.B_noLabour))[0].status).toBe("REVERSED");
    const again = await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" });
    expect(again.status).toBe(201);
    expect(again.body.household_count).toBe(7);
  });
});

describe("a village's distribution under its own rule", () => {
  it("applies retention 45%, a fixed earmark, per-member weights and the annual cap", async () => {
    const people = (n: number, extra: object = {}) => [{ relation: "HEAD" }, ...Array.from({ length: n - 1 }, (_, i) => ({ relation: "CHILD", birth: `201${i}-01-0${i + 1}`, ...extra }))];
    const p = (await createHousehold(t, { village: VILLAGE_2, members: people(2) })).id;
    const q = (await createHousehold(t, { village: VILLAGE_2, members: [{ relation: "HEAD" }, { relation: "SPOUSE", birth: "1975-01-01", health: "SERIOUS" }, { relation: "CHILD", birth: "2012-02-02" }] })).id;
    const r = (await createHousehold(t, { village: VILLAGE_2, members: people(1) })).id;
    const storage = await createAsset(t, {
      name: "百花村冷库",
      asset_type: "COLD_STORAGE",
      village_code: VILLAGE_2,
      book_value: "300000.00",
      management: { operator_id: OPERATOR, form: "CONTRACTING", contract_start: "2021-01-01", contract_end: "2030-12-31", return_terms: "FIXED_RENT", annual_rent: "30000.00", guaranteed_min_rate: "0.06" },
      income_rights: { scheme: "VILLAGES", village_codes: [VILLAGE_2] },
    });
    const rep = await t.as("operator").post(`${API}/assets/${storage.id}/return-reports`, { period: "2024", revenue: "90000.00", costs: "50000.00", net_income: "40000.00", amount_payable: "30000.00" });
    expect((await t.as("village2").post(`${API}/return-reports/${rep.body.id}/confirm`, {})).status).toBe(200);
    const rule = await t.as("admin").post(`${API}/distribution-rules`, {
      scope: "VILLAGE",
      village_code: VILLAGE_2,
      effective_from: "2025-01-01",
      collective_retention_ratio: "0.45",
      earmarks: [{ name: "公益岗位工资", kind: "FIXED", amount: "1000.00" }],
      weight_basis: "MEMBER",
      annual_cap_per_household: "5000.00",
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(rule.body.version).toBe(1);
    expectProblem(await t.as("village2").post(`${API}/distribution-rules`, { scope: "VILLAGE", village_code: VILLAGE_2 }), 403, "FORBIDDEN");
    const d = await t.as("village2").post(`${API}/distributions`, { village_code: VILLAGE_2, period: "2024", reference_date: "2025-06-10" });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    // J (POOR, 2 members) is in 百花村 too: weights 2, 2, 3 × 1.3 = 3.9, 1 → 8.9.
    expect(d.body).toMatchObject({ scope: "VILLAGE", rule_id: rule.body.id, income_total: "30000.00", retention_amount: "13500.00", earmarks_total: "1000.00", pool_amount: "15500.00", total_weight: "8.9" });
    // The snapshot of the rule used, in snake_case with the rule's own field names (stored as the model's form).
    expect(d.body.rule).toEqual({
      collective_retention_ratio: "0.45",
      earmarks: [{ name: "公益岗位工资", kind: "FIXED", amount: "1000.00" }],
      weight_basis: "MEMBER",
      base_weight: "1",
      multipliers: { no_labour: "1.5", serious_illness_or_disability: "1.3", dibao_tekun: "1.2" },
      transition_months: 12,
      annual_cap_per_household: "5000.00",
    });
    const stored = (await t.db("distributions").where({ id: d.body.id }).first()) as { rule: Record<string, unknown> };
    expect(stored.rule).toMatchObject({ collectiveRetentionRatio: "0.45", weightBasis: "MEMBER", multiplierSeriousIllness: "1.3" });
    const s = byId(d.body.shares);
    // 15,500 / 8.9: floors 3483.14, 3483.14, 6792.13, 1741.57 leave 2 fens, to J and P (remainder 0.607 fen);
    // Q's 6792.13 is capped to 5000.00 and the 1792.13 above the cap goes to the collective.
    expect(s.get(q)).toMatchObject({ weight: "3.9", uncapped_amount: "6792.13", amount: "5000.00", capped: true });
    expect(s.get(r)!.amount).toBe("1741.57");
    expect([s.get(p)!.amount, s.get(h.J_otherVillage)!.amount]).toEqual(["3483.15", "3483.15"]);
    expect(d.body).toMatchObject({ cap_excess: "1792.13", collective_total: "16292.13", shares_total: "13707.87" });
    const cents = (v: string) => Math.round(Number(v) * 100);
    expect(cents(d.body.collective_total) + cents(d.body.shares_total)).toBe(cents("30000.00"));
    expectProblem(await t.as("village2").post(`${API}/distributions`, { village_code: VILLAGE_2, period: "2024", reference_date: "2025-06-10" }), 409, "INCOME_ALREADY_DISTRIBUTED");
    expectProblem(await t.as("village").post(`${API}/distributions`, { village_code: VILLAGE_2, period: "2024", reference_date: "2025-06-10" }), 404, "NOT_FOUND");
  });
});
