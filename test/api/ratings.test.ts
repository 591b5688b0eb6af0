import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SCORECARD } from "../../src/modules/ratings/model.js";
import { createHousehold } from "../helpers/factories.js";
import { BANK, COUNTY, OTHER_COUNTY, OTHER_VILLAGE, USERS, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp({ today: "2025-06-02" });
const API = "/api/v1";

const CHECKS = {
  documents: { date: "2025-05-20", by: "客户经理 王", note: "户口簿、身份证、一卡通核验一致" },
  neighbours: { date: "2025-05-21", by: "客户经理 王", note: "走访左右邻居三户，评价良好" },
  phone: { date: "2025-05-22", by: "客户经理 王", note: "电话回访户主，信息一致" },
  cross_team: { date: "2025-05-23", by: "客户经理 李", note: "交叉复核无异议" },
  repeat_question: { date: "2025-05-23", by: "客户经理 李", note: "重复提问家庭收入，回答一致" },
};
const REVIEW = { date: "2025-05-25", reviewed_by: "新市村评议小组", note: "村民代表评议：遵纪守法，邻里和睦" };
const TOP = {
  CREDIT_RECORD: { level: "CLEAN", evidence: "人行征信报告无不良记录" },
  PROJECT: { level: "RUNNING", evidence: "养殖黑山羊20只" },
  ASSETS: { level: "MEDIUM", evidence: "安全住房，橡胶林5亩" },
  REPUTATION: { level: "GOOD" },
  DEBT: { level: "NONE" },
};
const ratingBody = (assessments: object = TOP) => ({ assessments, checks: CHECKS, village_review: REVIEW });

type Rating = { id: string; status: string; score: number; grade: string; credit_line: string; scorecard_version: number; scorecard_version_id: string; explanation: { code: string; points: number; input: Record<string, unknown>; reason: string }[]; valid_until: string | null };

async function rate(householdId: string, assessments: object = TOP, key?: string): Promise<Rating> {
  const res = await t.as("officer").post(`${API}/households/${householdId}/ratings`, ratingBody(assessments), key);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Rating;
}
async function approve(id: string): Promise<Rating> {
  const res = await t.as("manager").post(`${API}/ratings/${id}/approve`, { note: "同意" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Rating;
}

let scorecardV1: string;
beforeAll(async () => {
  const res = await t.as("admin").post(`${API}/scorecards`, { county_code: COUNTY, ...DEFAULT_SCORECARD });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  scorecardV1 = res.body.id;
});

describe("scorecards", () => {
  it("publishes numbered versions with grades and lines; reads them back", async () => {
    const res = await t.as("officer").get(`${API}/scorecards/${scorecardV1}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ county_code: COUNTY, version: 1, validity_months: 12 });
    expect(res.body.grades).toEqual([
      { grade: "AAA", min_score: 90, credit_line: "50000.00" },
      { grade: "AA", min_score: 80, credit_line: "30000.00" },
      { grade: "A", min_score: 70, credit_line: "10000.00" },
      { grade: "B", min_score: 60, credit_line: "0.00" },
      { grade: "C", min_score: 0, credit_line: "0.00" },
    ]);
    expect(res.body.indicators.map((i: { code: string; points: number }) => [i.code, i.points])).toEqual([
      ["CREDIT_RECORD", 25],
      ["INCOME", 20],
      ["LABOUR", 15],
      ["PROJECT", 15],
      ["ASSETS", 10],
      ["REPUTATION", 10],
      ["DEBT", 5],
    ]);
    const list = await t.as("regulator").get(`${API}/scorecards?county_code=${COUNTY}`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { id: string }) => s.id)).toContain(scorecardV1);
  });

  it("refuses points that do not add up to 100 (422 naming the problem)", async () => {
    const bad = { county_code: COUNTY, ...DEFAULT_SCORECARD, indicators: DEFAULT_SCORECARD.indicators.filter((i) => i.code !== "DEBT") };
    const res = await t.as("admin").post(`${API}/scorecards`, bad);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("SCORECARD_INVALID");
    expect(res.body.detail).toBe("各指标分值合计为 95，应为 100");
    expect(res.body.errors[0]).toEqual({ path: "body.indicators", message: "各指标分值合计为 95，应为 100" });
    const en = await t.as("admin").post(`${API}/scorecards`, bad).set("Accept-Language", "en");
    expect(en.body.detail).toBe("indicator points add up to 95, not 100");
    expect(en.body.errors[0]).toEqual({ path: "body.indicators", message: "indicator points add up to 95, not 100" });
  });

  it("answers 400 for a malformed scorecard, 403 to other roles, 404 for another county", async () => {
    expect((await t.as("admin").post(`${API}/scorecards`, { county_code: COUNTY, name: "x", indicators: [], grades: [] })).status).toBe(400);
    expect((await t.as("officer").post(`${API}/scorecards`, { county_code: COUNTY, ...DEFAULT_SCORECARD })).status).toBe(403);
    expect((await t.as("otherAdmin").post(`${API}/scorecards`, { county_code: COUNTY, ...DEFAULT_SCORECARD })).status).toBe(404);
    expect((await t.as("otherAdmin").get(`${API}/scorecards/${scorecardV1}`)).status).toBe(404);
    expect((await t.as("operator").get(`${API}/scorecards`)).status).toBe(403);
  });
});

describe("rating a household", () => {
  it("computes the score on the server from the register and the assessed levels, and explains it", async () => {
    // 2 members with ordinary labour, 2024 net income 24,000 → 12,000 per capita.
    const h = await createHousehold(t);
    const r = await rate(h.id);
    expect(r).toMatchObject({ status: "PENDING", score: 96, grade: "AAA", credit_line: "50000.00", scorecard_version: 1, scorecard_version_id: scorecardV1, valid_until: null });
    expect(r.explanation.map((e) => [e.code, e.points])).toEqual([
      ["CREDIT_RECORD", 25],
      ["INCOME", 20],
      ["LABOUR", 15],
      ["PROJECT", 15],
      ["ASSETS", 6],
      ["REPUTATION", 10],
      ["DEBT", 5],
    ]);
    expect(r.explanation.reduce((s, e) => s + e.points, 0)).toBe(r.score);
    const income = r.explanation.find((e) => e.code === "INCOME")!;
    expect(income.input).toEqual({ per_capita_net_income: "12000.00", year: 2024 });
    expect(income.reason).toContain("12000.00");
    expect(r.explanation.find((e) => e.code === "CREDIT_RECORD")!.input).toEqual({ level: "CLEAN", evidence: "人行征信报告无不良记录" });
  });

  it("uses the latest income year and scores a household without income as documented (0, 'no income recorded')", async () => {
    const latest = await createHousehold(t, { incomes: [{ year: 2023, net_income: "40000.00" }, { year: 2024, net_income: "9000.00" }] });
    const r1 = await rate(latest.id);
    expect(r1.explanation.find((e) => e.code === "INCOME")).toMatchObject({ points: 10, input: { per_capita_net_income: "4500.00", year: 2024 } });
    const none = await createHousehold(t, { incomes: [], members: [{ relation: "HEAD", labour_capacity: "WEAK" }, { relation: "CHILD", birth: "2015-01-01", labour_capacity: "NONE" }] });
    const r2 = await rate(none.id);
    const income = r2.explanation.find((e) => e.code === "INCOME")!;
    expect(income).toMatchObject({ points: 0, input: { per_capita_net_income: null, year: null } });
    expect(income.reason).toMatch(/^no income recorded/);
    expect(r2.explanation.find((e) => e.code === "LABOUR")).toMatchObject({ points: 5, input: { labour_units: "0.5" } });
    expect(r2).toMatchObject({ score: 66, grade: "B", credit_line: "0.00" });
  });

  it("never takes the score from the client, and refuses missing or unknown levels and unfinished checks", async () => {
    const h = await createHousehold(t);
    const withScore = await t.as("officer").post(`${API}/households/${h.id}/ratings`, { ...ratingBody(), score: 100 });
    expect(withScore.status).toBe(400);
    const { DEBT: _d, ...noDebt } = TOP;
    const missing = await t.as("officer").post(`${API}/households/${h.id}/ratings`, ratingBody({ ...noDebt, ASSETS: { level: "PALACE" } }));
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe("INVALID_ASSESSMENT");
    expect(missing.body.errors.map((e: { path: string }) => e.path)).toEqual(["body.assessments.ASSETS.level", "body.assessments.DEBT"]);
    const { phone: _p, ...fourChecks } = CHECKS;
    const noPhone = await t.as("officer").post(`${API}/households/${h.id}/ratings`, { assessments: TOP, checks: fourChecks, village_review: REVIEW });
    expect(noPhone.status).toBe(400);
    expect(noPhone.body.errors[0].path).toBe("body.checks.phone");
    const future = await t.as("officer").post(`${API}/households/${h.id}/ratings`, { ...ratingBody(), village_review: { ...REVIEW, date: "2025-06-03" } });
    expect(future.status).toBe(422);
  });

  it("keeps one pending rating per household and bank (409)", async () => {
    const h = await createHousehold(t);
    await rate(h.id);
    const again = await t.as("officer2").post(`${API}/households/${h.id}/ratings`, ratingBody());
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("RATING_PENDING_EXISTS");
  });

  it("replays an idempotent POST without rating twice", async () => {
    const h = await createHousehold(t);
    const first = await t.as("officer").post(`${API}/households/${h.id}/ratings`, ratingBody(), "rate-once-1");
    const second = await t.as("officer").post(`${API}/households/${h.id}/ratings`, ratingBody(), "rate-once-1");
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.body.id).toBe(first.body.id);
    expect((await t.db("ratings").where({ household_id: h.id }).count<{ n: number }[]>("* as n"))[0].n).toBe(1);
    const other = await t.as("officer").post(`${API}/households/${h.id}/ratings`, ratingBody({ ...TOP, DEBT: { level: "LOW" } }), "rate-once-1");
    expect(other.status).toBe(422);
    const a1 = await t.as("manager").post(`${API}/ratings/${first.body.id}/approve`, {}, "approve-once-1");
    const a2 = await t.as("manager").post(`${API}/ratings/${first.body.id}/approve`, {}, "approve-once-1");
    expect([a1.status, a2.status]).toEqual([200, 200]);
    expect(a2.headers["idempotent-replayed"]).toBe("true");
    expect(a2.body).toEqual(a1.body);
  });

  it("rates only POOR, EXITED or MONITORED households", async () => {
    const h = await createHousehold(t);
    await t.db("households").where({ id: h.id }).update({ status: "REMOVED" });
    const res = await t.as("officer").post(`${API}/households/${h.id}/ratings`, ratingBody());
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("RATING_NOT_ELIGIBLE");
  });
});

describe("maker-checker and validity", () => {
  it("is approved by a manager of the same bank only: the rating officer gets 403, another bank's manager 404", async () => {
    const h = await createHousehold(t);
    const r = await rate(h.id);
    const byMaker = await t.as("officer").post(`${API}/ratings/${r.id}/approve`, {});
    expect(byMaker.status).toBe(403);
    const otherBank = await t.as("otherBankManager").post(`${API}/ratings/${r.id}/approve`, {});
    expect(otherBank.status).toBe(404);
    expect((await t.as("otherBankManager").get(`${API}/ratings/${r.id}`)).status).toBe(404);
    expect((await t.as("otherBankManager").get(`${API}/households/${h.id}/ratings`)).body.items).toEqual([]);
    // Even a manager who somehow made the rating cannot decide it (schema CHECK and service rule).
    await t.db.raw("ALTER TABLE ratings DISABLE TRIGGER ratings_computed_immutable");
    await t.db("ratings").where({ id: r.id }).update({ created_by: USERS.manager.userId });
    await t.db.raw("ALTER TABLE ratings ENABLE TRIGGER ratings_computed_immutable");
    const self = await t.as("manager").post(`${API}/ratings/${r.id}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.body.code).toBe("SELF_APPROVAL");
  });

  it("becomes effective for 12 months from approval, then expires and grants nothing", async () => {
    const h = await createHousehold(t);
    const r = await rate(h.id);
    const before = await t.as("officer").get(`${API}/households/${h.id}/credit-line`);
    expect(before.body).toMatchObject({ status: "NONE", grade: null, line: "0.00", available: "0.00", rating_id: null });
    const a = await approve(r.id);
    expect(a).toMatchObject({ status: "EFFECTIVE", valid_until: "2026-06-01" });
    expect((await t.as("manager").post(`${API}/ratings/${r.id}/approve`, {})).status).toBe(409);
    try {
      t.clock.set("2026-06-01");
      const last = await t.as("officer").get(`${API}/households/${h.id}/credit-line`);
      expect(last.body).toMatchObject({ status: "EFFECTIVE", grade: "AAA", line: "50000.00", valid_until: "2026-06-01" });
      t.clock.set("2026-06-02");
      const after = await t.as("officer").get(`${API}/households/${h.id}/credit-line`);
      expect(after.body).toMatchObject({ status: "EXPIRED", grade: null, line: "0.00", available: "0.00", valid_until: "2026-06-01", rating_id: r.id });
      expect((await t.as("officer").get(`${API}/ratings/${r.id}`)).body.status).toBe("EXPIRED");
      // Asking for a date inside the window still reads the rating that was in force.
      const past = await t.as("officer").get(`${API}/households/${h.id}/credit-line?as_of=2025-12-31`);
      expect(past.body).toMatchObject({ status: "EFFECTIVE", grade: "AAA" });
    } finally {
      t.clock.set("2025-06-02");
    }
  });

  it("reports used and available credit from the household's outstanding poverty loans (all members)", async () => {
    const h = await createHousehold(t);
    await approve((await rate(h.id, { ...TOP, ASSETS: { level: "NONE" }, PROJECT: { level: "PLANNED" } })).id); // 25+20+15+8+0+10+5 = 83 → AA 30,000
    const loan = (member: string, status: string, outstanding: string) => ({
      county_code: COUNTY,
      village_code: VILLAGE,
      bank_id: BANK,
      household_id: h.id,
      borrower_member_id: member,
      status,
      amount: "20000.00",
      outstanding_principal: outstanding,
      term_months: 36,
      repayment_method: "BULLET_QUARTERLY",
      purpose: "BREEDING",
      applied_on: "2025-01-05",
      disbursed_on: "2025-01-10",
      maturity_date: "2028-01-10",
      officer_id: USERS.officer.userId,
    });
    await t.db("loans").insert([
      loan(h.members[0].id, "DISBURSED", "12000.50"),
      loan(h.members[1].id, "EXTENDED", "5000.00"),
      loan(h.members[1].id, "REPAID", "0.00"),
      loan(h.members[0].id, "APPLIED", "0.00"),
    ]);
    const res = await t.as("manager").get(`${API}/households/${h.id}/credit-line`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "EFFECTIVE", grade: "AA", line: "30000.00", used: "17000.50", available: "12999.50", valid_until: "2026-06-01", bank_id: BANK });
  });

  it("supersedes the previous effective rating on approval; a rejected one changes nothing", async () => {
    const h = await createHousehold(t);
    const first = await approve((await rate(h.id)).id);
    const second = await rate(h.id, { ...TOP, CREDIT_RECORD: { level: "SETTLED" } });
    const rejected = await t.as("manager").post(`${API}/ratings/${second.id}/reject`, { reason: "复核发现收入信息需补正" });
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe("REJECTED");
    expect((await t.as("manager").post(`${API}/ratings/${second.id}/reject`, { reason: "again" })).status).toBe(409);
    expect((await t.as("officer").get(`${API}/households/${h.id}/credit-line`)).body.rating_id).toBe(first.id);
    const third = await approve((await rate(h.id, { ...TOP, CREDIT_RECORD: { level: "SETTLED" } })).id);
    const list = await t.as("officer").get(`${API}/households/${h.id}/ratings`);
    const status = Object.fromEntries(list.body.items.map((r: Rating) => [r.id, r.status]));
    expect(status).toEqual({ [first.id]: "SUPERSEDED", [second.id]: "REJECTED", [third.id]: "EFFECTIVE" });
    const line = await t.as("officer").get(`${API}/households/${h.id}/credit-line`);
    expect(line.body).toMatchObject({ grade: "AA", line: "30000.00", rating_id: third.id });
  });
});

describe("scorecard versions", () => {
  it("applies a new version to new ratings only; old ratings keep their version, score and explanation", async () => {
    const h = await createHousehold(t);
    const old = await approve((await rate(h.id)).id);
    const oldView = (await t.as("officer").get(`${API}/ratings/${old.id}`)).body;
    const v2 = await t.as("admin").post(`${API}/scorecards`, {
      county_code: COUNTY,
      ...DEFAULT_SCORECARD,
      name: "2026 版",
      indicators: DEFAULT_SCORECARD.indicators.map((i) => (i.kind === "INCOME_BANDS" ? { ...i, bands: [{ min: "0.00", points: 0 }, { min: "20000.00", points: 20 }] } : i)),
      grades: [
        { grade: "AAA", min_score: 95, credit_line: "40000.00" },
        { grade: "AA", min_score: 75, credit_line: "20000.00" },
        { grade: "C", min_score: 0, credit_line: "0.00" },
      ],
    });
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe(2);
    const after = (await t.as("officer").get(`${API}/ratings/${old.id}`)).body;
    expect(after).toEqual(oldView);
    expect(after).toMatchObject({ scorecard_version: 1, grade: "AAA", credit_line: "50000.00", score: 96 });
    const h2 = await createHousehold(t);
    const fresh = await rate(h2.id);
    expect(fresh).toMatchObject({ scorecard_version: 2, scorecard_version_id: v2.body.id, score: 76, grade: "AA", credit_line: "20000.00" });
    expect((await t.as("officer").get(`${API}/households/${h.id}/credit-line`)).body).toMatchObject({ grade: "AAA", line: "50000.00" });
    // The computed part of a rating cannot be edited, even in SQL.
    await expect(t.db("ratings").where({ id: old.id }).update({ score: 10 })).rejects.toThrow(/immutable/);
    // Later tests in this file rate under the default bands again.
    expect((await t.as("admin").post(`${API}/scorecards`, { county_code: COUNTY, ...DEFAULT_SCORECARD })).body.version).toBe(3);
  });
});

describe("bulk rating", () => {
  it("creates the valid rows and rejects a bad row with its reason (JSON rows)", async () => {
    const hs = [await createHousehold(t), await createHousehold(t), await createHousehold(t)];
    const other = await createHousehold(t, { village: VILLAGE_2 });
    const levels = { CREDIT_RECORD: "CLEAN", PROJECT: "RUNNING", ASSETS: "MEDIUM", REPUTATION: "GOOD", DEBT: "NONE" };
    const body = {
      village_code: VILLAGE,
      checks: CHECKS,
      village_review: REVIEW,
      rows: [
        { household_id: hs[0].id, assessments: levels },
        { household_id: hs[1].id, assessments: { ...levels, DEBT: "ENORMOUS" } },
        { household_id: hs[2].id, assessments: { ...levels, PROJECT: { level: "PLANNED", evidence: "计划种植益智" } } },
        { household_id: other.id, assessments: levels },
        { household_id: "not-a-uuid", assessments: levels },
        { household_id: hs[0].id, assessments: levels },
      ],
    };
    const res = await t.as("officer").post(`${API}/ratings/bulk`, body, "bulk-rows-1");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.created).toBe(2);
    expect(res.body.rejected).toBe(4);
    const byRow = res.body.results;
    expect(byRow.map((r: { outcome: string }) => r.outcome)).toEqual(["CREATED", "REJECTED", "CREATED", "REJECTED", "REJECTED", "REJECTED"]);
    expect(byRow[0]).toMatchObject({ row: 1, household_id: hs[0].id, score: 96, grade: "AAA", credit_line: "50000.00" });
    expect(byRow[1].errors).toEqual([{ path: "rows.2.assessments.DEBT.level", message: "不是指标 DEBT 的级别：应取 NONE、LOW、HIGH 之一" }]);
    expect(byRow[2]).toMatchObject({ score: 89, grade: "AA" });
    expect(byRow[3].errors[0].message).toBe(`不是村 ${VILLAGE} 的农户`);
    expect(byRow[4].errors[0]).toEqual({ path: "rows.5.household_id", message: "须为 ID（UUID）" });
    expect(byRow[5].errors[0].message).toBe("该农户在本次请求中出现了两次");
    // A replay of the same request answers in the replaying request's language.
    const replay = await t.as("officer").post(`${API}/ratings/bulk`, body, "bulk-rows-1").set("Accept-Language", "en");
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    const replayed = replay.body.results;
    expect(replayed[1].errors).toEqual([{ path: "rows.2.assessments.DEBT.level", message: "not a level of DEBT: one of NONE, LOW, HIGH" }]);
    expect(replayed[3].errors[0].message).toBe(`not a household of village ${VILLAGE}`);
    expect(replayed[4].errors[0]).toEqual({ path: "rows.5.household_id", message: "an id (UUID)" });
    expect(replayed[5].errors[0].message).toMatch(/appears twice/);
    // Nothing of the bad rows was written; the good ones are there with their explanation and evidence.
    expect(await t.db("ratings").whereIn("household_id", [hs[1].id, other.id]).count<{ n: number }[]>("* as n")).toEqual([{ n: 0 }]);
    const created = await t.as("officer").get(`${API}/ratings/${byRow[2].rating_id}`);
    expect(created.body.explanation.find((e: { code: string }) => e.code === "PROJECT").input).toEqual({ level: "PLANNED", evidence: "计划种植益智" });
    expect(created.body.evidence.checks.phone.note).toBe(CHECKS.phone.note);
    const audits = await t.db("audit_log").where({ action: "rating.create" }).whereIn("entity_id", [byRow[0].rating_id, byRow[2].rating_id]);
    expect(audits).toHaveLength(2);
  });

  it("reads a CSV with one column per assessed indicator", async () => {
    const a = await createHousehold(t);
    const b = await createHousehold(t, { incomes: [] });
    const csv = [
      "household_id,CREDIT_RECORD,PROJECT,ASSETS,REPUTATION,DEBT",
      `${a.id},CLEAN,RUNNING,HIGH,GOOD,NONE`,
      `${b.id},BAD,NONE,LOW,"FAIR",HIGH`,
      "00000000-0000-4000-8000-000000000099,CLEAN,RUNNING,HIGH,GOOD,NONE",
      `${b.id},CLEAN,RUNNING,HIGH,GOOD`,
    ].join("\r\n");
    const res = await t.as("officer").post(`${API}/ratings/bulk`, { csv, checks: CHECKS, village_review: REVIEW }).set("Accept-Language", "en");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results.map((r: { outcome: string; score?: number }) => [r.outcome, r.score ?? null])).toEqual([
      ["CREATED", 100],
      ["CREATED", 24],
      ["REJECTED", null],
      ["REJECTED", null],
    ]);
    expect(res.body.results[2].errors[0].message).toBe("no such household in your jurisdiction");
  });

  it("needs the five checks for every row, and is for loan officers only", async () => {
    const h = await createHousehold(t);
    const res = await t.as("officer").post(`${API}/ratings/bulk`, { rows: [{ household_id: h.id, assessments: {} }, { household_id: h.id }] });
    expect(res.status).toBe(200);
    expect(res.body.results[0].errors).toEqual([
      { path: "rows.1.checks", message: "须有五验结果：在本行中给出，或为整个请求给出" },
      { path: "rows.1.village_review", message: "须有村级评议：在本行中给出，或为整个请求给出" },
    ]);
    // A malformed row: zod's message, in Chinese by default.
    expect(res.body.results[1].errors).toEqual([{ path: "rows.2.assessments", message: expect.stringMatching(/[\u4e00-\u9fff]/) }]);
    expect((await t.as("manager").post(`${API}/ratings/bulk`, { rows: [] })).status).toBe(403);
    expect((await t.as("officer").post(`${API}/ratings/bulk`, { rows: [], csv: "x" })).status).toBe(400);
  });
});

describe("jurisdiction and roles", () => {
  let h: { id: string };
  let foreign: { id: string };
  let rating: Rating;
  beforeAll(async () => {
    h = await createHousehold(t);
    rating = await rate(h.id);
    foreign = await createHousehold(t, { village: OTHER_VILLAGE, as: "otherAdmin" });
  });

  it("answers 404 for households and ratings outside the caller's counties or village", async () => {
    expect((await t.as("officer").post(`${API}/households/${foreign.id}/ratings`, ratingBody())).status).toBe(404);
    expect((await t.as("officer").get(`${API}/households/${foreign.id}/credit-line`)).status).toBe(404);
    expect((await t.as("otherAdmin").get(`${API}/households/${h.id}/ratings`)).status).toBe(404);
    expect((await t.as("otherAdmin").get(`${API}/ratings/${rating.id}`)).status).toBe(404);
    expect((await t.as("otherRegulator").get(`${API}/households/${h.id}/credit-line`)).status).toBe(404);
    expect((await t.as("village2").get(`${API}/households/${h.id}/ratings`)).status).toBe(404);
    expect((await t.as("village2").get(`${API}/ratings/${rating.id}`)).status).toBe(404);
    expect((await t.as("officer").get(`${API}/ratings/summary?county_code=${OTHER_COUNTY}`)).status).toBe(404);
    expect((await t.as("officer").post(`${API}/ratings/00000000-0000-4000-8000-000000000000/approve`, {})).status).toBe(403);
    expect((await t.as("manager").post(`${API}/ratings/00000000-0000-4000-8000-000000000000/approve`, {})).status).toBe(404);
  });

  it("lets the village officer of the village, the admin and the regulator read", async () => {
    for (const who of ["village", "admin", "regulator", "officer2", "manager"] as const) {
      const res = await t.as(who).get(`${API}/households/${h.id}/ratings`);
      expect(res.status, who).toBe(200);
      expect(res.body.items.map((r: Rating) => r.id)).toEqual([rating.id]);
    }
  });

  it("answers 401 without a token and 403 to roles that may not", async () => {
    expect((await t.http.get(`${API}/households/${h.id}/ratings`)).status).toBe(401);
    expect((await t.http.post(`${API}/households/${h.id}/ratings`).send(ratingBody())).status).toBe(401);
    expect((await t.http.get(`${API}/scorecards`)).status).toBe(401);
    expect((await t.as("finance").get(`${API}/households/${h.id}/ratings`)).status).toBe(403);
    expect((await t.as("operator").get(`${API}/households/${h.id}/credit-line`)).status).toBe(403);
    expect((await t.as("village").post(`${API}/households/${h.id}/ratings`, ratingBody())).status).toBe(403);
    expect((await t.as("admin").post(`${API}/households/${h.id}/ratings`, ratingBody())).status).toBe(403);
    expect((await t.as("regulator").post(`${API}/ratings/${rating.id}/approve`, {})).status).toBe(403);
  });
});

describe("county figures", () => {
  it("counts rated households by grade, lines granted and the share of eligible households rated", async () => {
    const res = await t.as("regulator").get(`${API}/ratings/summary?county_code=${COUNTY}`);
    expect(res.status).toBe(200);
    const s = res.body;
    // Cross-check against the database: valid ratings today and eligible households.
    const eligible = await t.db("households").where({ county_code: COUNTY }).whereIn("status", ["POOR", "EXITED", "MONITORED"]).count<{ n: number }[]>("* as n");
    const valid = await t
      .db("ratings as r")
      .join("households as h", "h.id", "r.household_id")
      .where({ "r.county_code": COUNTY, "r.status": "EFFECTIVE" })
      .whereIn("h.status", ["POOR", "EXITED", "MONITORED"])
      .andWhere("r.valid_until", ">=", "2025-06-02")
      .select("r.grade", "r.credit_line");
    expect(s.eligible_households).toBe(Number(eligible[0].n));
    expect(s.households_rated).toBe(valid.length);
    expect(s.households_rated).toBeGreaterThan(3);
    const total = valid.reduce((sum: number, r: { credit_line: string }) => sum + Math.round(Number(r.credit_line) * 100), 0);
    expect(s.lines_granted).toBe((total / 100).toFixed(2));
    expect(s.by_grade.reduce((n: number, g: { households: number }) => n + g.households, 0)).toBe(s.households_rated);
    expect(s.rated_share).toBe((s.households_rated / s.eligible_households).toFixed(4));
    expect(s.pending).toBeGreaterThan(0);
    expect(s.scope).toBe("COUNTY");
    const bank = await t.as("otherBankManager").get(`${API}/ratings/summary?county_code=${COUNTY}`);
    expect(bank.body).toMatchObject({ scope: "BANK", households_rated: 0, lines_granted: "0.00", pending: 0 });
  });

  it("lists the approval queue of the manager's bank", async () => {
    const res = await t.as("manager").get(`${API}/ratings?status=PENDING&limit=2`);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(2);
    expect(res.body.next_cursor).not.toBeNull();
    expect(res.body.items.every((r: Rating) => r.status === "PENDING")).toBe(true);
    expect((await t.as("otherBankManager").get(`${API}/ratings?status=PENDING`)).body.items).toEqual([]);
  });
});

describe("OpenAPI", () => {
  it("documents every ratings endpoint, the bulk row and the module's error codes", async () => {
    const res = await t.http.get("/openapi.json");
    expect(res.status).toBe(200);
    for (const p of ["/scorecards", "/scorecards/{id}", "/households/{id}/ratings", "/households/{id}/credit-line", "/ratings/bulk", "/ratings/summary", "/ratings/{id}/approve", "/ratings/{id}/reject"]) {
      expect(res.body.paths[`/api/v1${p}`], p).toBeDefined();
    }
    expect(res.body.components.schemas.BulkRow).toBeDefined();
    expect(res.body.info.description).toContain("/docs/errors");
    const codes = (await t.http.get("/docs/errors")).text;
    for (const code of ["SCORECARD_INVALID", "SELF_APPROVAL", "RATING_PENDING_EXISTS", "INVALID_ASSESSMENT"]) expect(codes).toContain(`<tr id="${code}">`);
  });
});
