import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/lib/alerts.js";
import { expectProblem } from "../helpers/expect.js";
import { BANK, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, product, setupRates } from "./loans-helpers.js";

const t = useTestApp({ today: "2025-06-02" });
const API = "/api/v1";
const CJK = /[\u4e00-\u9fff]/;

describe("Accept-Language", () => {
  it("401: Chinese by default, English on request", async () => {
    const zh = await supertest(t.app).get(`${API}/loans`);
    expectProblem(zh, 401, "UNAUTHENTICATED");
    expect(zh.body).toMatchObject({ title: "未登录", detail: "请发送 Authorization: Bearer <令牌>" });
    expect(zh.headers["content-language"]).toBe("zh-CN");
    expect(zh.headers.vary).toMatch(/Accept-Language/);
    const en = await supertest(t.app).get(`${API}/loans`).set("Accept-Language", "en-US,en;q=0.9");
    expectProblem(en, 401, "UNAUTHENTICATED");
    expect(en.body).toMatchObject({ title: "Not authenticated", detail: "Send Authorization: Bearer <token>" });
    expect(en.headers["content-language"]).toBe("en");
    const login = await supertest(t.app).post(`${API}/auth/token`).send({ username: "admin", password: "wrong-password-123" });
    expect(login.body).toMatchObject({ code: "BAD_CREDENTIALS", title: "用户名或密码错误", detail: "用户名或密码错误" });
  });

  it("404: the record that was not found named in Chinese, in English on request", async () => {
    const zh = await t.as("regulator").get(`${API}/loans/00000000-0000-4000-8000-000000000000`);
    expectProblem(zh, 404, "NOT_FOUND");
    expect(zh.body).toMatchObject({ title: "未找到", detail: "未找到该贷款" });
    expect(zh.body.detail_en).toBeUndefined();
    const en = await t.as("regulator").get(`${API}/loans/00000000-0000-4000-8000-000000000000`).set("Accept-Language", "en");
    expect(en.body).toMatchObject({ title: "Not found", detail: "No such loan" });
    expect(en.body.detail_en).toBeUndefined();
    const zhRoute = await t.as("regulator").get(`${API}/no-such-thing`).set("Accept-Language", "zh-CN");
    expect(zhRoute.body).toMatchObject({ code: "NOT_FOUND", title: "未找到" });
  });

  it("400: field messages in the chosen language", async () => {
    const zh = await t.as("officer").post(`${API}/loans`, { amount: 5 });
    expectProblem(zh, 400, "VALIDATION_FAILED", "body.household_id");
    expect(zh.body.title).toBe("输入无效");
    expect(zh.body.detail).toMatch(/^请求体无效：/);
    for (const e of zh.body.errors as { message: string }[]) expect(e.message).toMatch(CJK);
    const en = await t.as("officer").post(`${API}/loans`, { amount: 5 }).set("Accept-Language", "en");
    expect(en.body.title).toBe("Invalid input");
    expect(en.body.detail).toMatch(/^Invalid body: /);
    for (const e of en.body.errors as { message: string }[]) expect(e.message).not.toMatch(CJK);
    const unknown = await t.as("regulator").get(`${API}/loans?colour=red`);
    expectProblem(unknown, 400, "UNKNOWN_QUERY_PARAMETER", "query.colour");
    expect(unknown.body.detail).toMatch(/^未知的查询参数：colour/);
  });

  it("400: a field message a schema writes as \"中文 / English\" answers in the chosen language", async () => {
    const body = { period: "2024", reference_date: "2025-01-01" };
    const zh = await t.as("admin").post(`${API}/distributions`, body);
    expectProblem(zh, 400, "VALIDATION_FAILED", "body.asset_id");
    expect(zh.body.errors).toEqual([{ path: "body.asset_id", message: "须给出 asset_id 或 village_code 之一" }]);
    const en = await t.as("admin").post(`${API}/distributions`, body).set("Accept-Language", "en");
    expect(en.body.errors).toEqual([{ path: "body.asset_id", message: "give either asset_id or village_code" }]);
  });

  it("400: the shared field formats (amount, date, id) answer in the chosen language", async () => {
    const body = { amount: "5.001", value_date: "2025-02-30" };
    const messages = (r: { body: { errors: { path: string; message: string }[] } }) => Object.fromEntries(r.body.errors.map((e) => [e.path, e.message]));
    const zh = messages(await t.as("officer").post(`${API}/loans/${"0".repeat(8)}-0000-4000-8000-000000000000/repayments`, body).set("Idempotency-Key", "i18n-formats"));
    expect(zh["body.amount"]).toBe('须为以元计的十进制字符串，最多两位小数，如 "50000.00"');
    expect(zh["body.value_date"]).toBe("不是有效日期（YYYY-MM-DD，1900 年及以后）");
    const en = messages(await t.as("officer").post(`${API}/loans/${"0".repeat(8)}-0000-4000-8000-000000000000/repayments`, body).set("Idempotency-Key", "i18n-formats-en").set("Accept-Language", "en"));
    expect(en["body.amount"]).toBe('an amount in yuan as a decimal string with at most two places, e.g. "50000.00"');
    expect(en["body.value_date"]).toBe("not a real date (YYYY-MM-DD, from 1900 on)");
  });

  it("422: a loan rule in both languages, with the specific figures", async () => {
    await setupRates(t);
    const p = await product(t);
    const old = await household(t, { birth: "1958-01-01" });
    const body = { household_id: old.id, borrower_member_id: old.member, product_id: p.id, amount: "10000.00", term_months: 12, purpose: "BREEDING" };
    const zh = await t.as("officer").post(`${API}/loans`, body);
    expectProblem(zh, 422, "LOAN_BORROWER_AGE");
    expect(zh.body).toMatchObject({ title: "借款人年龄不符", detail: "借款人在 2025-06-02 为 67 周岁；申请时须为 18 至 65 周岁" });
    expect(zh.body.detail_en).toBeUndefined();
    const en = await t.as("officer").post(`${API}/loans`, body).set("Accept-Language", "en");
    expect(en.body).toMatchObject({ title: "Borrower age out of range", detail: "The borrower is 67 on 2025-06-02; a borrower must be 18 to 65 at application" });
  });
});

describe("status labels", () => {
  it("sit beside the codes, Chinese by default and English on request", async () => {
    await setupRates(t);
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "10000.00", term_months: 12 });
    const zh = await t.as("officer").get(`${API}/loans/${loan.id}`);
    expect(zh.body).toMatchObject({ status: "DISBURSED", status_label: "已放款" });
    const en = await t.as("officer").get(`${API}/loans/${loan.id}`).set("Accept-Language", "en");
    expect(en.body).toMatchObject({ status: "DISBURSED", status_label: "Disbursed" });
    const list = await t.as("officer").get(`${API}/loans`).set("Accept-Language", "en");
    expect(list.body.items.every((l: { status_label?: string }) => typeof l.status_label === "string" && !CJK.test(l.status_label))).toBe(true);

    const h = await t.as("village").get(`${API}/households/${zh.body.household_id as string}`);
    expect(h.body).toMatchObject({ status: "POOR", status_label: "贫困户" });
    const hs = await t.as("village").get(`${API}/households`).set("Accept-Language", "en");
    expect(hs.body.items[0].status_label).toMatch(/^(Poor|Exited poverty|Monitored|Removed)$/);
  });

  it("alerts: kind and severity named, message in the chosen language", async () => {
    await raiseAlert(
      t.db,
      { countyCode: "469030", kind: "loan.overdue.dpd_31_90", severity: "WARNING", entityType: "loan", entityId: "i18n-1", message: "贷款逾期 45 天 / loan 45 days past due", bankId: BANK, villageCode: VILLAGE },
      t.clock.now(),
    );
    const zh = await t.as("regulator").get(`${API}/alerts?entity_id=i18n-1`);
    expect(zh.body.items[0]).toMatchObject({ kind: "loan.overdue.dpd_31_90", kind_label: "贷款逾期 31-90 天", severity: "WARNING", severity_label: "警告", message: "贷款逾期 45 天" });
    const en = await t.as("regulator").get(`${API}/alerts?entity_id=i18n-1`).set("Accept-Language", "en");
    expect(en.body.items[0]).toMatchObject({ kind_label: "Loan 31-90 days past due", severity_label: "Warning", message: "loan 45 days past due" });
  });
});

describe("the error codes page", () => {
  it("shows every code in both languages", async () => {
    const page = await supertest(t.app).get("/docs/errors");
    expect(page.status).toBe(200);
    expect(page.text).toContain("借款人年龄不符");
    expect(page.text).toContain("Borrower age out of range");
  });
});
