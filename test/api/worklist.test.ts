import ExcelJS from "exceljs";
import { parse as parseCsv } from "csv-parse/sync";
import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { signStaffToken } from "../../src/http/auth.js";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { addDays, daysBetween } from "../../src/lib/dates.js";
import { D, Money } from "../../src/lib/money.js";
import { DEFAULT_SCORECARD } from "../../src/modules/ratings/model.js";
import { expectProblem } from "../helpers/expect.js";
import { createHousehold } from "../helpers/factories.js";
import { COUNTY, OTHER_BANK, USERS } from "../helpers/fixture.js";
import { TEST_JWT, useTestApp } from "../helpers/harness.js";
import { grantLine, key, product, schedule, setupRates } from "./loans-helpers.js";

const TODAY = "2025-06-02";
const t = useTestApp({ today: TODAY });
const API = "/api/v1";

/** A rating's evidence: the five checks and the village review, in the days before `date`. */
function ratingBody(date: string) {
  const before = (n: number) => addDays(date, -n);
  return {
    assessments: {
      CREDIT_RECORD: { level: "CLEAN", evidence: "征信无不良" },
      PROJECT: { level: "RUNNING", evidence: "养殖黑山羊20只" },
      ASSETS: { level: "MEDIUM", evidence: "安全住房" },
      REPUTATION: { level: "GOOD" },
      DEBT: { level: "NONE" },
    },
    checks: {
      documents: { date: before(10), by: "客户经理 王", note: "户口簿、身份证核验一致" },
      neighbours: { date: before(9), by: "客户经理 王", note: "走访邻居三户" },
      phone: { date: before(8), by: "客户经理 王", note: "电话回访户主" },
      cross_team: { date: before(7), by: "客户经理 李", note: "交叉复核无异议" },
      repeat_question: { date: before(7), by: "客户经理 李", note: "重复提问一致" },
    },
    village_review: { date: before(5), reviewed_by: "新市村评议小组", note: "评议通过" },
  };
}

/** A household with a head of the given name (the borrower) and a credit line for the loan tests' stub. */
async function householdOf(head: string) {
  const h = await createHousehold(t, { members: [{ relation: "HEAD", name: head }, { relation: "SPOUSE", birth: "1982-03-03", name: "李秀兰" }] });
  grantLine(h.id);
  return { id: h.id, member: h.members[0].id };
}

async function applyOn(date: string, h: { id: string; member: string }, body: Record<string, unknown>) {
  t.clock.set(date);
  const a = await t.as("officer").post(`${API}/loans`, { household_id: h.id, borrower_member_id: h.member, purpose: "BREEDING", ...body });
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  return a.body.id as string;
}
async function approve(id: string) {
  const r = await t.as("manager").post(`${API}/loans/${id}/approve`, {});
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}
async function disburseOn(date: string, h: { id: string; member: string }, body: Record<string, unknown>) {
  const id = await applyOn(date, h, body);
  await approve(id);
  const d = await t.as("officer").post(`${API}/loans/${id}/disburse`, { contract_no: `HT-${id.slice(0, 8)}` }, key());
  expect(d.status, JSON.stringify(d.body)).toBe(200);
  return id;
}
async function rateOn(date: string, householdId: string, approveIt: boolean) {
  t.clock.set(date);
  const r = await t.as("officer").post(`${API}/households/${householdId}/ratings`, ratingBody(date));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  if (approveIt) {
    const a = await t.as("manager").post(`${API}/ratings/${r.body.id}/approve`, { note: "同意" });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return a.body as { id: string; valid_until: string };
  }
  return r.body as { id: string; valid_until: string | null };
}

const P = {} as Record<string, string>;
let expiring: { id: string; valid_until: string };
let pendingRatingId: string;

beforeAll(async () => {
  await setupRates(t);
  t.clock.set("2020-01-01");
  const sc = await t.as("admin").post(`${API}/scorecards`, { county_code: COUNTY, ...DEFAULT_SCORECARD });
  expect(sc.status, JSON.stringify(sc.body)).toBe(201);
  const prod = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435" });
  const monthly = (method: string, amount: string) => ({ product_id: prod.id, amount, term_months: 12, repayment_method: method });

  // Overdue in every bucket on 2025-06-01 (the close of business below): never paid since disbursement.
  P.dpd181 = await disburseOn("2024-10-01", await householdOf("赵大山"), monthly("EQUAL_PRINCIPAL", "12000.00")); // first due 2024-11-01
  P.dpd91 = await disburseOn("2025-01-15", await householdOf("钱小河"), monthly("EQUAL_PRINCIPAL", "6000.00")); // 2025-02-15
  P.dpd31 = await disburseOn("2025-03-10", await householdOf("孙木林"), monthly("EQUAL_INSTALLMENT", "10000.00")); // 2025-04-10
  P.dpd1 = await disburseOn("2025-04-20", await householdOf("李春花"), monthly("EQUAL_INSTALLMENT", "8000.00")); // 2025-05-20
  // Due within the week: the first instalment on 2025-06-05; and a bullet loan settling on 2025-06-20.
  P.dueSoon = await disburseOn("2025-05-05", await householdOf("周海燕"), monthly("EQUAL_INSTALLMENT", "12000.00"));
  P.bullet = await disburseOn("2025-04-01", await householdOf("吴国强"), { product_id: prod.id, amount: "20000.00", term_months: 24, repayment_method: "BULLET_QUARTERLY" });
  // Approved, not disbursed; and an application waiting for the manager.
  P.approved = await applyOn("2025-05-28", await householdOf("郑明"), monthly("EQUAL_INSTALLMENT", "5000.00"));
  await approve(P.approved);
  P.applied = await applyOn("2025-05-30", await householdOf("王芳"), monthly("EQUAL_INSTALLMENT", "3000.00"));

  // Ratings: one approved 2024-06-20 (valid through 2025-06-19: expiring), one approved 2024-08-10 (valid
  // through 2025-08-09: not yet), one waiting for approval.
  const hr1 = await createHousehold(t, { members: [{ relation: "HEAD", name: "冯玉兰" }] });
  expiring = (await rateOn("2024-06-20", hr1.id, true)) as { id: string; valid_until: string };
  const hr2 = await createHousehold(t, { members: [{ relation: "HEAD", name: "陈志强" }] });
  await rateOn("2024-08-10", hr2.id, true);
  const hr3 = await createHousehold(t, { members: [{ relation: "HEAD", name: "褚红" }] });
  pendingRatingId = (await rateOn("2025-06-01", hr3.id, false)).id;

  t.clock.set(TODAY);
  await runCloseOfBusiness(t.db, "2025-06-01");
}, 120_000);

type Body = Record<string, unknown> & {
  due: { count: number; total: string; items: Record<string, unknown>[] };
  overdue: { count: number; buckets: { bucket: string; count: number; items: Record<string, unknown>[] }[] };
  expiring_ratings: { count: number; items: Record<string, unknown>[] };
  approved_not_disbursed: { count: number; items: Record<string, unknown>[] };
  pending_approval: { ratings: Record<string, unknown>[]; loans: Record<string, unknown>[] } | null;
};

describe("GET /worklist", () => {
  it("lists exactly the instalments due this week, the overdue loans by bucket, the expiring rating and the approved loan, with the amounts owed", async () => {
    const r = await t.as("officer").get(`${API}/worklist`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const w = r.body as Body;
    expect(w).toMatchObject({ as_of: TODAY, days: 7, role: "loan_officer", pending_approval: null });

    // Due: only the first instalment of the loan disbursed 2025-05-05, as its schedule says.
    const s = await schedule(t, P.dueSoon);
    expect(w.due.items).toEqual([
      expect.objectContaining({
        loan_id: P.dueSoon,
        contract_no: `HT-${P.dueSoon.slice(0, 8)}`,
        due_date: "2025-06-05",
        seq: 1,
        borrower_name: "周海燕",
        head_name: "周海燕",
        village_name: "新市村",
        phone: "138****5678",
        phone_masked: true,
        principal: s.periods[0].principal,
        interest: s.periods[0].interest,
        penalty: "0.00",
        total: Money.format(new D(s.periods[0].principal).plus(s.periods[0].interest)),
      }),
    ]);
    expect(w.due.total).toBe(w.due.items[0].total);
    expect(JSON.stringify(w)).not.toContain("13812345678");

    // Overdue by bucket, from the standing the close of business of 2025-06-01 stored.
    const byBucket = Object.fromEntries(w.overdue.buckets.map((b) => [b.bucket, b.items.map((i) => i.loan_id)]));
    expect(byBucket).toEqual({ DPD_1_30: [P.dpd1], DPD_31_90: [P.dpd31], DPD_91_180: [P.dpd91], DPD_181_PLUS: [P.dpd181] });
    expect(w.overdue.count).toBe(4);
    for (const [id, firstDue] of [[P.dpd181, "2024-11-01"], [P.dpd91, "2025-02-15"], [P.dpd31, "2025-04-10"], [P.dpd1, "2025-05-20"]] as const) {
      const item = w.overdue.buckets.flatMap((b) => b.items).find((i) => i.loan_id === id)!;
      const sched = await schedule(t, id);
      const late = sched.periods.filter((p) => p.due_date <= "2025-05-31");
      const principal = late.reduce((a, p) => a.plus(p.principal), new D(0));
      const interest = late.reduce((a, p) => a.plus(p.interest), new D(0));
      expect(item).toMatchObject({
        dpd: daysBetween(firstDue, "2025-06-01"),
        standing_date: "2025-06-01",
        overdue_principal: Money.format(principal),
        overdue_interest: Money.format(interest),
        outstanding_principal: sched.totals.principal,
      });
      expect(new D(item.penalty_due as string).gt(0)).toBe(true);
      expect(item.overdue_total).toBe(Money.format(principal.plus(interest).plus(item.penalty_due as string)));
    }

    // The rating valid through 2025-06-19, not the one valid through 2025-08-09.
    expect(w.expiring_ratings.items).toEqual([
      expect.objectContaining({ rating_id: expiring.id, valid_until: "2025-06-19", days_left: 17, head_name: "冯玉兰", renewal_pending: false }),
    ]);
    expect(w.approved_not_disbursed.items).toEqual([
      expect.objectContaining({ loan_id: P.approved, borrower_name: "郑明", amount: "5000.00", decided_on: "2025-05-28", days_waiting: 5 }),
    ]);
  });

  it("looks further ahead with days: each loan's penalty owed comes with its first instalment listed", async () => {
    const w = (await t.as("officer").get(`${API}/worklist?days=30`)).body as Body;
    const listed = w.due.items.map((i) => [i.loan_id, i.due_date]);
    expect(listed).toEqual([
      [P.dueSoon, "2025-06-05"],
      [P.dpd31, "2025-06-10"],
      [P.dpd91, "2025-06-15"],
      ...[[P.dpd1, "2025-06-20"], [P.bullet, "2025-06-20"]].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      [P.dpd181, "2025-07-01"],
    ]);
    const overdue = new Map(w.overdue.buckets.flatMap((b) => b.items).map((i) => [i.loan_id, i.penalty_due]));
    for (const i of w.due.items) {
      expect(i.penalty).toBe(overdue.get(i.loan_id as string) ?? "0.00");
      expect(i.total).toBe(Money.format(new D(i.principal as string).plus(i.interest as string).plus(i.penalty as string)));
    }
    const bullet = w.due.items.find((i) => i.loan_id === P.bullet)!;
    const s = await schedule(t, P.bullet);
    expect(bullet).toMatchObject({ principal: "0.00", interest: s.periods[0].interest });
  });

  it("gives a bank manager the approvals waiting as well", async () => {
    const w = (await t.as("manager").get(`${API}/worklist`)).body as Body;
    expect(w.role).toBe("bank_manager");
    expect(w.pending_approval!.ratings.map((x) => x.rating_id)).toEqual([pendingRatingId]);
    expect(w.pending_approval!.loans).toEqual([expect.objectContaining({ loan_id: P.applied, borrower_name: "王芳", amount: "3000.00", applied_on: "2025-05-30", days_waiting: 3 })]);
    expect(w.due.items.map((i) => i.loan_id)).toEqual([P.dueSoon]);
  });

  it("shows another bank's staff none of it; other roles may not ask", async () => {
    const otherOfficer = `Bearer ${signStaffToken(TEST_JWT, { ...USERS.officer, bankId: OTHER_BANK })}`;
    for (const auth of [otherOfficer, `Bearer ${t.token("otherBankManager")}`]) {
      const w = (await supertest(t.app).get(`${API}/worklist?days=60`).set("Authorization", auth)).body as Body;
      expect(w.due.count).toBe(0);
      expect(w.overdue.count).toBe(0);
      expect(w.expiring_ratings.count).toBe(0);
      expect(w.approved_not_disbursed.count).toBe(0);
      expect(w.pending_approval?.loans ?? []).toEqual([]);
      expect(w.pending_approval?.ratings ?? []).toEqual([]);
    }
    for (const who of ["regulator", "admin", "village", "finance"] as const) expectProblem(await t.as(who).get(`${API}/worklist`), 403, "FORBIDDEN");
    expect((await supertest(t.app).get(`${API}/worklist`)).status).toBe(401);
  });

  it("refuses a bad window or an unknown parameter", async () => {
    expectProblem(await t.as("officer").get(`${API}/worklist?days=61`), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").get(`${API}/worklist?days=0`), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").get(`${API}/worklist?days=abc`), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").get(`${API}/worklist?format=pdf`), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").get(`${API}/worklist?day=7`), 400, "UNKNOWN_QUERY_PARAMETER");
  });
});

describe("GET /worklist as CSV and XLSX", () => {
  const binary = (res: supertest.Response, cb: (err: Error | null, body: Buffer) => void) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => cb(null, Buffer.concat(chunks)));
  };

  it("XLSX: one sheet per section, header frozen with an autofilter, the same values", async () => {
    const json = (await t.as("manager").get(`${API}/worklist`)).body as Body;
    const res = await t.as("manager").get(`${API}/worklist`).set("Accept", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet").buffer(true).parse(binary);
    expect(res.status).toBe(200);
    expect(res.headers["content-disposition"]).toContain(`worklist-${TODAY}.xlsx`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    expect(wb.worksheets.map((s) => s.name)).toEqual(["到期提醒", "逾期贷款", "评级到期", "已批未放", "待审批评级", "待审批贷款"]);
    for (const ws of wb.worksheets) {
      expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
      expect(ws.autoFilter).toBeTruthy();
    }
    const due = wb.getWorksheet("到期提醒")!;
    const header = (due.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(["到期日", "合同号", "贷款ID", "期次", "户号", "村", "户主", "借款人", "联系电话", "应还本金", "应还利息(农户)", "罚息", "合计"]);
    expect(due.rowCount).toBe(2);
    const row = due.getRow(2);
    expect(row.getCell(3).value).toBe(P.dueSoon);
    expect(row.getCell(9).value).toBe("138****5678");
    expect(Money.format(String(row.getCell(13).value))).toBe(json.due.items[0].total);
    const overdue = wb.getWorksheet("逾期贷款")!;
    expect(overdue.rowCount).toBe(5);
    expect((overdue.getRow(1).values as unknown[]).slice(1, 3)).toEqual(["逾期档次", "逾期天数"]);
    expect([2, 3, 4, 5].map((n) => overdue.getRow(n).getCell(1).value)).toEqual(["DPD_1_30", "DPD_31_90", "DPD_91_180", "DPD_181_PLUS"]);
    expect(wb.getWorksheet("待审批贷款")!.getRow(2).getCell(1).value).toBe(P.applied);
  });

  it("CSV: every section under its header line, the section named in the first column", async () => {
    const res = await t.as("officer").get(`${API}/worklist?format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    const rows = parseCsv(res.text, { bom: true, relax_column_count: true }) as string[][];
    const headerOf = (section: string) => rows.findIndex((r) => r[0] === "分类" && rows[rows.indexOf(r) + 1]?.[0] === section);
    expect(rows[0].slice(0, 4)).toEqual(["分类", "到期日", "合同号", "贷款ID"]);
    expect(rows[1]).toEqual(expect.arrayContaining(["到期提醒", "2025-06-05", P.dueSoon, "138****5678"]));
    expect(headerOf("逾期贷款")).toBeGreaterThan(0);
    expect(rows.filter((r) => r[0] === "逾期贷款").map((r) => r[4])).toEqual([P.dpd1, P.dpd31, P.dpd91, P.dpd181]);
    expect(rows.filter((r) => r[0] === "评级到期").map((r) => r[1])).toEqual([expiring.id]);
    expect(rows.filter((r) => r[0] === "已批未放").map((r) => r[1])).toEqual([P.approved]);
    expect(rows.some((r) => r[0] === "待审批贷款")).toBe(false);
    expect(res.text).not.toContain("13812345678");
  });
});
