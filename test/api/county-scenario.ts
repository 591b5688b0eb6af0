import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { D, type Dec, Money } from "../../src/lib/money.js";
import { DEFAULT_SCORECARD } from "../../src/modules/ratings/model.js";
import { createHousehold, exitBody, householdBody, removeBody } from "../helpers/factories.js";
import { BANK, COUNTY, OPERATOR, OTHER_VILLAGE, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import type { TestApp } from "../helpers/harness.js";
import { assetBody, createAsset, registerOperators } from "./assets-helpers.js";

/**
 * A small county built through the API, late 2024 through June 2025, with numbers known by hand.
 * Shared by the county-summary and portal tests; everything is driven through the real modules
 * (credit lines come from approved ratings, not a stub).
 *
 * Households (members):
 *   A 新市村 POOR (2)            AAA 50,000 (2024-10-08); LA 30,000 TO_HOUSEHOLD 70% from 2024-10-10, pays every
 *                                quarter on time; entrusted 20,000 (quarterly 400.00: first paid late, second in arrears)
 *   B 新市村 POOR (3)            AA 30,000; LB 20,000 TO_BANK from 2024-11-15, never pays (non-performing by June)
 *                                (TO_BANK here subsidises interest at 3.00% of the contract's 3.45%: the household
 *                                pays the 0.45% above it on time, or all of it once late)
 *   C 新市村 POOR→EXITED (2)     AAA 50,000; LC 10,000 TO_BANK from 2025-01-15, 4,000 prepaid 2025-02-14, Q1 interest
 *                                paid, June interest missed (10 days past due on 2025-06-30); exits 2025-04-28
 *   D 新市村 MONITORED (1, no labour)  rated C (no line)
 *   G 新市村 POOR→REMOVED (2)    not rated; removed 2025-05-20
 *   E 百花村 POOR (2)            A 10,000 rated 2025-05-12; LD 10,000 TO_BANK from 2025-06-05, pays June interest
 *   F 百花村 POOR (1)            AAA 50,000, never borrows
 *   H 百花村 POOR (1)            not rated
 *   X another county's household (never counted)
 * Risk fund 10,000.00 (2024-10-08) + 5,000.00 (2025-06-05). Subsidy claim 2025Q1 generated and approved
 * 2025-04-01, paid 2025-04-02. Assets: a photovoltaic station of 新市村 (500,000, 2024 return 48,000 payable,
 * distributed with reference date 2025-05-31, paid 2025-06-09), an idle cold store (300,000) and a greenhouse
 * built 2025-05-15 (120,000). Close of business run once, for 2025-06-30. The clock ends on 2025-07-01.
 */

export const API = "/api/v1";
export const key = () => randomUUID();

/** Interest of a span by docs/DOMAIN.md#interest: principal × annual rate / 360 × days, rounded half-up to the fen. */
export function interest(principal: string, rate: string, days: number): string {
  return Money.format(Money.toFen(new D(principal).mul(rate).div(360).mul(days)));
}
/** The same for a period carrying several principals (a prepayment inside it): rounded once. */
export function interestOfSpans(rate: string, spans: [principal: string, days: number][]): string {
  return Money.format(Money.toFen(spans.reduce((s: Dec, [p, d]) => s.plus(new D(p).mul(rate).div(360).mul(d)), new D(0))));
}
/** A subsidy of a period: its interest × ratio, rounded half-up once. */
export function subsidyOf(principalSpans: [string, number][], rate: string, ratio: string): string {
  return Money.format(Money.toFen(principalSpans.reduce((s: Dec, [p, d]) => s.plus(new D(p).mul(rate).div(360).mul(d)), new D(0)).mul(ratio)));
}
/** Largest-remainder split to the fen (docs/DOMAIN.md#asset-income): floors, then leftover fens to the largest remainders, ties by id. */
export function allocate(pool: string, weights: Record<string, string>): Record<string, string> {
  const ids = Object.keys(weights);
  const total = Money.sum(ids.map((i) => weights[i]));
  const fen = new D(pool).mul(100);
  const raw = ids.map((id) => ({ id, exact: fen.mul(weights[id]).div(total) }));
  const floors = raw.map((r) => ({ ...r, floor: r.exact.floor(), rem: r.exact.minus(r.exact.floor()) }));
  let left = fen.minus(Money.sum(floors.map((f) => f.floor))).toNumber();
  const order = [...floors].sort((a, b) => (b.rem.cmp(a.rem) !== 0 ? b.rem.cmp(a.rem) : a.id < b.id ? -1 : 1));
  const extra = new Map<string, number>();
  for (const f of order) {
    if (left <= 0) break;
    extra.set(f.id, 1);
    left -= 1;
  }
  return Object.fromEntries(floors.map((f) => [f.id, Money.format(f.floor.plus(extra.get(f.id) ?? 0).div(100))]));
}
export const RATE = "0.0345";
/** The TO_BANK product's subsidy rate cap: the county subsidises 3.00% of the 3.45% contract rate. */
export const SUBSIDY_RATE = "0.03";

const checks = (d: string) => ({
  documents: { date: d, by: "客户经理 王", note: "户口簿、身份证、一卡通核验一致" },
  neighbours: { date: d, by: "客户经理 王", note: "走访左右邻居三户" },
  phone: { date: d, by: "客户经理 王", note: "电话回访户主" },
  cross_team: { date: d, by: "客户经理 李", note: "交叉复核无异议" },
  repeat_question: { date: d, by: "客户经理 李", note: "重复提问家庭收入，回答一致" },
});
const TOP = { CREDIT_RECORD: { level: "CLEAN" }, PROJECT: { level: "RUNNING" }, ASSETS: { level: "MEDIUM" }, REPUTATION: { level: "GOOD" }, DEBT: { level: "NONE" } };


type H = { id: string; head: string; village: string };
export interface County {
  h: Record<"A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "X", H>;
  ratings: Record<string, { grade: string; credit_line: string; score: number }>;
  loans: Record<"LA" | "LB" | "LC" | "LD", string>;
  claimId: string;
  hhClaimId: string;
  trusteeshipId: string;
  fundId: string;
  distributionId: string;
  assetId: string;
  shares: Record<string, string>;
  /** What the API answered while the county was built (cross-checked against the hand values inside). */
  seen: { lcQ1Interest: string; laQ1Subsidy: string; lcQ1Subsidy: string };
}

async function ok<T = Record<string, unknown>>(p: PromiseLike<{ status: number; body: unknown }>, status: number): Promise<T> {
  const res = await p;
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body as T;
}

export async function buildCounty(t: TestApp): Promise<County> {
  const c = { h: {}, ratings: {}, loans: {}, shares: {}, seen: {} } as County;
  t.clock.set("2024-10-08");
  await ok(t.as("admin").post(`${API}/rate-tables`, { publication_date: "2020-01-20", lpr_1y: RATE, lpr_5y: "0.0395" }), 201);
  await ok(t.as("admin").post(`${API}/scorecards`, { county_code: COUNTY, ...DEFAULT_SCORECARD }), 201);
  const base = { county_code: COUNTY, name: "扶贫小额信贷", effective_from: "2020-01-01", repayment_methods: ["BULLET_QUARTERLY"], rate_rule: "FIXED", fixed_rate: RATE };
  const toBank = (await ok<{ id: string }>(t.as("manager").post(`${API}/loan-products`, { ...base, code: "FPXD-BANK", subsidy: { mode: "TO_BANK", rate_cap: SUBSIDY_RATE } }), 201)).id;
  const toHousehold = (await ok<{ id: string }>(t.as("manager").post(`${API}/loan-products`, { ...base, code: "FPXD-HH", subsidy: { ratio: "0.7", mode: "TO_HOUSEHOLD" } }), 201)).id;
  await registerOperators(t);
  c.fundId = (await ok<{ id: string }>(t.as("finance").post(`${API}/risk-funds`, { county_code: COUNTY, bank_id: BANK, name: "琼中县扶贫小额信贷风险补偿金（测试农商行）" }), 201)).id;
  await ok(t.as("finance").post(`${API}/risk-funds/${c.fundId}/deposits`, { amount: "10000.00", reference: "县财政拨入" }, key()), 201);

  const mk = async (name: keyof County["h"], opts: Parameters<typeof createHousehold>[1]) => {
    const x = await createHousehold(t, opts);
    c.h[name] = { id: x.id, head: x.members[0].id, village: x.village_code };
  };
  await mk("A", {});
  await mk("B", { members: [{ relation: "HEAD" }, { relation: "SPOUSE", birth: "1981-01-01" }, { relation: "CHILD", birth: "2003-02-02" }] });
  await mk("C", {});
  await mk("D", { status: "MONITORED", household_type: "MONITORED", members: [{ relation: "HEAD", birth: "1962-04-04", labour_capacity: "NONE" }] });
  await mk("G", {});
  await mk("E", { village: VILLAGE_2 });
  await mk("F", { village: VILLAGE_2, members: [{ relation: "HEAD" }] });
  await mk("H", { village: VILLAGE_2, members: [{ relation: "HEAD" }] });
  const x = await t.as("otherVillage").post(`${API}/households`, householdBody({ village: OTHER_VILLAGE }));
  expect(x.status, JSON.stringify(x.body)).toBe(201);
  c.h.X = { id: x.body.id, head: x.body.members[0].id, village: OTHER_VILLAGE };

  const rate = async (name: string, assessments: object, d: string) => {
    const r = await ok<{ id: string; grade: string; credit_line: string; score: number }>(
      t.as("officer").post(`${API}/households/${c.h[name as "A"].id}/ratings`, { assessments, checks: checks(d), village_review: { date: d, reviewed_by: "村评议小组", note: "村民代表评议" } }),
      201,
    );
    await ok(t.as("manager").post(`${API}/ratings/${r.id}/approve`, { note: "同意" }), 200);
    c.ratings[name] = { grade: r.grade, credit_line: r.credit_line, score: r.score };
  };
  // Scores by hand (DEFAULT_SCORECARD): income per capita 24,000 / members, labour units = members.
  await rate("A", TOP, "2024-10-08"); // 25 + 20 + 15 + 15 + 6 + 10 + 5 = 96 → AAA
  await rate("B", { ...TOP, PROJECT: { level: "PLANNED" }, ASSETS: { level: "LOW" } }, "2024-10-08"); // 25 + 17 (8,000) + 15 + 8 + 3 + 10 + 5 = 83 → AA
  await rate("C", TOP, "2024-10-08"); // 96 → AAA
  await rate("D", { ...TOP, PROJECT: { level: "NONE" }, ASSETS: { level: "LOW" }, REPUTATION: { level: "FAIR" } }, "2024-10-08"); // 25 + 20 + 0 + 0 + 3 + 6 + 5 = 59 → C
  await rate("F", TOP, "2024-10-08"); // 25 + 20 + 10 (1 unit) + 15 + 6 + 10 + 5 = 91 → AAA
  expect(Object.fromEntries(Object.entries(c.ratings).map(([k, r]) => [k, [r.score, r.grade, r.credit_line]]))).toEqual({
    A: [96, "AAA", "50000.00"],
    B: [83, "AA", "30000.00"],
    C: [96, "AAA", "50000.00"],
    D: [59, "C", "0.00"],
    F: [91, "AAA", "50000.00"],
  });

  const loan = async (name: keyof County["h"], product: string, amount: string) => {
    const a = await ok<{ id: string }>(
      t.as("officer").post(`${API}/loans`, { household_id: c.h[name].id, borrower_member_id: c.h[name].head, product_id: product, amount, term_months: 12, repayment_method: "BULLET_QUARTERLY", purpose: "BREEDING" }),
      201,
    );
    await ok(t.as("manager").post(`${API}/loans/${a.id}/approve`, {}), 200);
    const d = await ok<{ id: string; status: string; annual_rate: string }>(t.as("officer").post(`${API}/loans/${a.id}/disburse`, {}, key()), 200);
    expect([d.status, d.annual_rate]).toEqual(["DISBURSED", RATE]);
    return d.id;
  };
  const repay = async (loanId: string, amount: string) => ok<{ principal: string; interest: string; prepayment: string }>(t.as("officer").post(`${API}/loans/${loanId}/repayments`, { amount }, key()), 201);
  const schedule = async (loanId: string) => (await ok<{ periods: { seq: number; due_date: string; days: number; interest: string; interest_subsidy: string; principal: string }[] }>(t.as("officer").get(`${API}/loans/${loanId}/schedule`), 200)).periods;

  t.clock.set("2024-10-10");
  c.loans.LA = await loan("A", toHousehold, "30000.00");
  // LA: 10-10 .. 12-20 = 72 days; 12-21 .. 03-20 = 90; 03-21 .. 06-20 = 92; 06-21 .. 09-20 = 92; 09-21 .. 10-09 = 19.
  expect((await schedule(c.loans.LA)).map((p) => [p.due_date, p.days, p.interest])).toEqual([
    ["2024-12-20", 72, interest("30000", RATE, 72)],
    ["2025-03-20", 90, interest("30000", RATE, 90)],
    ["2025-06-20", 92, interest("30000", RATE, 92)],
    ["2025-09-20", 92, interest("30000", RATE, 92)],
    ["2025-10-10", 19, interest("30000", RATE, 19)],
  ]);
  expect([interest("30000", RATE, 72), interest("30000", RATE, 90), interest("30000", RATE, 19)]).toEqual(["207.00", "258.75", "54.63"]);

  t.clock.set("2024-11-15");
  c.loans.LB = await loan("B", toBank, "20000.00");
  t.clock.set("2024-12-01");
  c.trusteeshipId = (
    await ok<{ id: string }>(
      t.as("admin").post(`${API}/trusteeships`, { household_id: c.h.A.id, operator_id: OPERATOR, source: "POVERTY_FUND_SHARE", principal: "20000.00", start_date: "2024-12-01", end_date: "2026-12-01", frequency: "QUARTERLY" }, key()),
      201,
    )
  ).id;
  t.clock.set("2024-12-20");
  expect(await repay(c.loans.LA, "207.00")).toMatchObject({ interest: "207.00", principal: "0.00" });

  t.clock.set("2025-01-15");
  c.loans.LC = await loan("C", toBank, "10000.00");
  t.clock.set("2025-02-14");
  expect(await repay(c.loans.LC, "4000.00")).toMatchObject({ principal: "4000.00", prepayment: "4000.00", interest: "0.00" });
  // LC's first period 01-15 .. 03-20 (65 days): 10,000 for 30 days, then 6,000 for 35 — rounded once.
  const lcQ1 = (await schedule(c.loans.LC))[0];
  c.seen.lcQ1Interest = lcQ1.interest;
  expect(Money.format(new D(lcQ1.interest).plus(lcQ1.interest_subsidy))).toBe(interestOfSpans(RATE, [["10000", 30], ["6000", 35]]));
  expect(lcQ1.interest_subsidy).toBe(subsidyOf([["10000", 30], ["6000", 35]], SUBSIDY_RATE, "1"));
  expect(c.seen.lcQ1Interest).toBe("6.38"); // the household's part: 48.88 (28.75 + 20.125 = 48.875) − 42.50 subsidised

  t.clock.set("2025-03-20");
  expect(await repay(c.loans.LA, "258.75")).toMatchObject({ interest: "258.75", principal: "0.00" });
  expect(await repay(c.loans.LC, "6.38")).toMatchObject({ interest: "6.38", principal: "0.00" });

  // The 2025Q1 subsidy batch: LA's period at 70% (TO_HOUSEHOLD), LC's at 100% (TO_BANK), LB's forfeited (unpaid).
  t.clock.set("2025-04-01");
  // One batch per mode: the bank generates its TO_BANK batch, the county finance bureau the TO_HOUSEHOLD one.
  type Batch = { id: string; lines_added: number; totals: Record<string, unknown> };
  const claim = await ok<Batch>(t.as("officer").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" }), 201);
  const hhClaim = await ok<Batch>(t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" }), 201);
  c.claimId = claim.id;
  c.hhClaimId = hhClaim.id;
  const laSub = subsidyOf([["30000", 90]], RATE, "0.7"); // 258.75 × 0.7 = 181.125 → 181.13
  const lcSub = subsidyOf([["10000", 30], ["6000", 35]], SUBSIDY_RATE, "1");
  expect([laSub, lcSub]).toEqual(["181.13", "42.50"]);
  type Lines = { lines: { loan_id: string; interest: string; subsidy: string; status: string; forfeit_reason: string | null }[] };
  const lines = [
    ...(await ok<Lines>(t.as("finance").get(`${API}/subsidy-claims/${c.claimId}`), 200)).lines,
    ...(await ok<Lines>(t.as("finance").get(`${API}/subsidy-claims/${c.hhClaimId}`), 200)).lines,
  ];
  const line = (l: string) => lines.filter((x) => x.loan_id === l).map((x) => [x.interest, x.subsidy, x.status, x.forfeit_reason]);
  expect(lines).toHaveLength(3);
  expect(line(c.loans.LA)).toEqual([["258.75", laSub, "CLAIMED", null]]);
  expect(line(c.loans.LC)).toEqual([["48.88", lcSub, "CLAIMED", null]]);
  expect(line(c.loans.LB)).toEqual([[interest("20000", RATE, 90), "0.00", "FORFEITED", "LATE_INTEREST"]]);
  c.seen.laQ1Subsidy = laSub;
  c.seen.lcQ1Subsidy = lcSub;
  expect(claim.totals).toMatchObject({ claimed: lcSub, to_bank: lcSub, to_household: "0.00" });
  expect(hhClaim.totals).toMatchObject({ claimed: laSub, to_bank: "0.00", to_household: laSub });
  await ok(t.as("finance").post(`${API}/subsidy-claims/${c.claimId}/approve`, {}), 200);
  // The finance officer generated the TO_HOUSEHOLD batch: another one approves it (maker-checker).
  await ok(t.as("finance2").post(`${API}/subsidy-claims/${c.hhClaimId}/approve`, {}), 200);
  t.clock.set("2025-04-02");
  expect(await ok(t.as("finance").post(`${API}/subsidy-claims/${c.claimId}/pay`, { reference: "财政拨付 2025-041" }, key()), 200)).toMatchObject({ status: "PAID", paid_on: "2025-04-02" });
  expect(await ok(t.as("finance").post(`${API}/subsidy-claims/${c.hhClaimId}/pay`, { reference: "财政拨付 2025-042" }, key()), 200)).toMatchObject({ status: "PAID", paid_on: "2025-04-02" });

  // The first entrusted return (due 2025-03-01) paid late; the second (2025-06-01) never.
  t.clock.set("2025-04-10");
  await ok(t.as("operator").post(`${API}/trusteeships/${c.trusteeshipId}/payments`, { amount: "400.00", reference: "HX20250410" }, key()), 201);

  t.clock.set("2025-04-28");
  await ok(t.as("village").post(`${API}/households/${c.h.C.id}/status-changes`, exitBody("2025-04-28")), 201);

  t.clock.set("2025-05-12");
  await rate("E", { CREDIT_RECORD: { level: "SETTLED" }, PROJECT: { level: "PLANNED" }, ASSETS: { level: "LOW" }, REPUTATION: { level: "FAIR" }, DEBT: { level: "LOW" } }, "2025-05-12");
  expect(c.ratings.E).toEqual({ score: 70, grade: "A", credit_line: "10000.00" }); // 15 + 20 + 15 + 8 + 3 + 6 + 3

  t.clock.set("2025-05-20");
  await ok(t.as("admin").post(`${API}/households/${c.h.G.id}/status-changes`, removeBody("2025-05-20")), 201);

  t.clock.set("2025-05-25");
  c.assetId = (await createAsset(t)).id; // 新市村 photovoltaic, 500,000.00, built 2019
  await createAsset(t, { name: "百花村冷库", asset_type: "COLD_STORAGE", village_code: VILLAGE_2, book_value: "300000.00", build_date: "2021-01-01", status: "IDLE", income_rights: { scheme: "VILLAGES", village_codes: [VILLAGE_2] } });
  await createAsset(t, {
    name: "百花村大棚",
    asset_type: "GREENHOUSE",
    village_code: VILLAGE_2,
    funding_sources: [{ source: "INTEGRATED_AGRICULTURE_FUND", amount: "120000.00" }],
    book_value: "120000.00",
    build_date: "2025-05-15",
    income_rights: { scheme: "VILLAGES", village_codes: [VILLAGE_2] },
  });
  const report = await ok<{ id: string }>(t.as("operator").post(`${API}/assets/${c.assetId}/return-reports`, { period: "2024", revenue: "120000.00", costs: "40000.00", net_income: "80000.00", amount_payable: "48000.00" }), 201);
  await ok(t.as("village").post(`${API}/return-reports/${report.id}/confirm`, {}), 200);

  // The distribution of 2024's 48,000.00: 20% retained, 38,400.00 to A, B, C (exited, in transition) by 1 and D by 1.5.
  t.clock.set("2025-06-02");
  const dist = await ok<{ id: string; pool_amount: string; retention_amount: string; shares: { household_id: string; amount: string; weight: string }[] }>(
    t.as("village").post(`${API}/distributions`, { asset_id: c.assetId, period: "2024", reference_date: "2025-05-31" }),
    201,
  );
  c.distributionId = dist.id;
  c.shares = allocate("38400.00", { [c.h.A.id]: "1", [c.h.B.id]: "1", [c.h.C.id]: "1", [c.h.D.id]: "1.5" });
  expect([dist.retention_amount, dist.pool_amount]).toEqual(["9600.00", "38400.00"]);
  expect(Object.fromEntries(dist.shares.map((s) => [s.household_id, s.amount]))).toEqual(c.shares);
  await ok(t.as("village").post(`${API}/distributions/${c.distributionId}/notice`, {}), 200);
  await ok(t.as("regulator").post(`${API}/distributions/${c.distributionId}/approve`, {}), 200);

  t.clock.set("2025-06-05");
  c.loans.LD = await loan("E", toBank, "10000.00");
  await ok(t.as("finance").post(`${API}/risk-funds/${c.fundId}/deposits`, { amount: "5000.00", reference: "县财政追加" }, key()), 201);

  t.clock.set("2025-06-09");
  expect(await ok(t.as("admin").post(`${API}/distributions/${c.distributionId}/pay`, { batch_reference: "NS20250609" }, key()), 200)).toMatchObject({ status: "PAID", paid_total: "38400.00" });

  t.clock.set("2025-06-20");
  expect(await repay(c.loans.LA, interest("30000", RATE, 92))).toMatchObject({ interest: "264.50" });
  // LD: 06-05 .. 06-20 = 16 days: 15.33, of which 13.33 subsidised; the household pays 2.00.
  expect(await repay(c.loans.LD, "2.00")).toMatchObject({ interest: "2.00" });

  // The close of business for the month's last day (the first run closes that date only).
  t.clock.set("2025-06-30");
  const cob = await ok<{ dates: { business_date: string }[] }>(t.as("admin").post(`${API}/jobs/close-of-business`, { business_date: "2025-06-30" }), 200);
  expect(cob.dates.map((d) => d.business_date)).toEqual(["2025-06-30"]);
  t.clock.set("2025-07-01");
  return c;
}
