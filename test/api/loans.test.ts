import { describe, expect, it } from "vitest";
import { D, Money } from "../../src/lib/money.js";
import { expectProblem } from "../helpers/expect.js";
import { onPostgres, useTestApp } from "../helpers/harness.js";
import { apply, disbursedLoan, household, key, product, reconciliationOk, repay, schedule, setupRates } from "./loans-helpers.js";

const t = useTestApp({ today: "2024-01-10" });
const fen = (x: InstanceType<typeof D>) => Money.format(Money.toFen(x));
const penalty = (base: string, rate: string, days: number) => fen(new D(base).mul(rate).mul("1.5").div(360).mul(days));

describe("loans: products and rates", () => {
  it("publishes LPR tables and versions products", async () => {
    await setupRates(t);
    const dup = await t.as("admin").post("/api/v1/rate-tables", { publication_date: "2020-01-20", lpr_1y: "0.0345", lpr_5y: "0.0395" });
    expectProblem(dup, 409, "CONFLICT");
    expect((await t.as("officer").post("/api/v1/rate-tables", { publication_date: "2021-01-20", lpr_1y: "0.0385", lpr_5y: "0.0465" })).status).toBe(403);
    const on = await t.as("officer").get("/api/v1/rate-tables?on=2024-01-10");
    expect(on.body.items[0]).toMatchObject({ publication_date: "2020-01-20", lpr_1y: "0.0345", lpr_5y: "0.0395" });

    // Without a subsidy policy a product gets the default one: 100%, TO_BANK, 36 months, the first 50,000.
    const p1 = await product(t, { code: "FPXD", max_amount: "50000.00", subsidy: undefined });
    const p2 = await product(t, { code: "FPXD", max_amount: "40000.00", subsidy: { ratio: "0.7", mode: "TO_HOUSEHOLD" } });
    expect([p1.version, p2.version]).toEqual([1, 2]);
    const got = await t.as("regulator").get(`/api/v1/loan-products/${p1.id}`);
    expect(got.body).toMatchObject({ penalty_markup: "0.5", grace_days: 0, subsidy: { ratio: "1", mode: "TO_BANK", term_months: 36, principal_cap: "50000.00" } });
    const latest = await t.as("manager").get("/api/v1/loan-products?code=FPXD&latest=true");
    expect(latest.body.items.map((p: { version: number }) => p.version)).toEqual([2]);
    expect((await t.as("otherBankManager").get(`/api/v1/loan-products/${p1.id}`)).status).toBe(404);
    expectProblem(await t.as("manager").post("/api/v1/loan-products", { county_code: "469030", code: "X", name: "x", effective_from: "2024-01-01", max_amount: "60000.00" }), 400, "VALIDATION_FAILED");
  });
});

describe("loans: whole life, BULLET_QUARTERLY (worked example of docs/DOMAIN.md#repayment-methods)", () => {
  it("apply → approve → disburse → repay on time → late with penalty → prepay → close", async () => {
    t.clock.set("2024-01-10");
    await setupRates(t);
    const p = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0345" });
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "50000.00", term_months: 36, repayment_method: "BULLET_QUARTERLY" });
    expect(loan).toMatchObject({ status: "DISBURSED", maturity_date: "2027-01-10", annual_rate: "0.0345", outstanding_principal: "50000.00" });
    const s = await schedule(t, loan.id);
    expect(s.periods).toHaveLength(13);
    expect(s.periods[0]).toMatchObject({ due_date: "2024-03-20", days: 71, interest: "340.21" });
    expect(s.periods[1]).toMatchObject({ due_date: "2024-06-20", days: 92, interest: "440.83" });
    expect(s.periods[12]).toMatchObject({ due_date: "2027-01-10", days: 20, interest: "95.83", principal: "50000.00" });
    expect(s.totals).toMatchObject({ interest: "5251.64", principal: "50000.00", days: 1096 });

    t.clock.set("2024-03-20");
    const r1 = await repay(t, loan.id, "340.21");
    expect(r1.status, JSON.stringify(r1.body)).toBe(201);
    expect(r1.body).toMatchObject({ interest: "340.21", principal: "0.00", penalty: "0.00", loan: { dpd: 0 } });

    t.clock.set("2024-07-01"); // the June interest is 11 days late: penalty for 06-21 .. 06-30
    const late = await t.as("officer").get(`/api/v1/loans/${loan.id}`);
    const pen = penalty("440.83", "0.0345", 10);
    expect(late.body).toMatchObject({ overdue: true, dpd: 11, dpd_bucket: "DPD_1_30", overdue_interest: "440.83", penalty_due: pen });
    const s2 = await schedule(t, loan.id);
    expect(s2.periods[1]).toMatchObject({ overdue: true, status: "OVERDUE", penalty: pen });
    const r2 = await repay(t, loan.id, Money.format(new D("440.83").plus(pen)));
    expect(r2.body).toMatchObject({ penalty: pen, interest: "440.83", principal: "0.00", loan: { dpd: 0 } });

    t.clock.set("2024-08-01"); // prepay 20,000: the current period's interest is split at the prepayment date
    const r3 = await repay(t, loan.id, "20000.00");
    expect(r3.body).toMatchObject({ principal: "20000.00", prepayment: "20000.00", loan: { outstanding_principal: "30000.00" } });
    const s3 = await schedule(t, loan.id);
    expect(s3.periods[2]).toMatchObject({ due_date: "2024-09-20", interest: "343.08" }); // 50,000 × 41 days + 30,000 × 51 days
    expect(s3.periods[3]).toMatchObject({ due_date: "2024-12-20", interest: "261.63" });
    expect(s3.totals.principal).toBe("50000.00");

    t.clock.set("2024-09-20");
    expect((await repay(t, loan.id, "343.08")).status).toBe(201);

    t.clock.set("2024-10-10");
    const before = await t.as("officer").get(`/api/v1/loans/${loan.id}`);
    expect(before.body.payoff_amount).toBe("30054.63"); // 30,000 + 19 days' interest
    expectProblem(await repay(t, loan.id, "30054.64"), 422, "LOAN_OVERPAYMENT");
    expectProblem(await repay(t, loan.id, "30000.00"), 422, "LOAN_PAYOFF_SHORT");
    const close = await repay(t, loan.id, "30054.63");
    expect(close.body).toMatchObject({ principal: "30000.00", interest: "54.63", loan: { status: "REPAID", outstanding_principal: "0.00" } });
    expectProblem(await repay(t, loan.id, "1.00"), 409, "INVALID_STATE");
    const reps = await t.as("regulator").get(`/api/v1/loans/${loan.id}/repayments`);
    expect(reps.body.items).toHaveLength(5);
    await reconciliationOk(t);
  });
});

describe("loans: whole life, EQUAL_INSTALLMENT and EQUAL_PRINCIPAL", () => {
  it("equal installment from Jan 31: on time, late with penalty, prepayment, payoff", async () => {
    t.clock.set("2025-01-31");
    const p = await product(t, { max_term_months: 12 });
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "12000.00", term_months: 12, repayment_method: "EQUAL_INSTALLMENT" });
    expect(loan.annual_rate).toBe("0.0345"); // 1-year LPR for ≤ 12 months
    const s = await schedule(t, loan.id);
    expect(s.periods.slice(0, 3).map((x) => x.due_date)).toEqual(["2025-02-28", "2025-03-31", "2025-04-30"]);
    const pay = (k: number) => Money.format(new D(s.periods[k].principal).plus(s.periods[k].interest));
    expect(pay(0)).toBe(pay(5));

    t.clock.set("2025-02-28");
    expect((await repay(t, loan.id, pay(0))).body).toMatchObject({ interest: s.periods[0].interest, principal: s.periods[0].principal });

    t.clock.set("2025-04-10"); // the March installment is 10 days late: penalty for 04-01 .. 04-09
    const pen = penalty(pay(1), "0.0345", 9);
    const got = await t.as("officer").get(`/api/v1/loans/${loan.id}`);
    expect(got.body).toMatchObject({ dpd: 10, penalty_due: pen, overdue_principal: s.periods[1].principal, overdue_interest: s.periods[1].interest });
    const late = await repay(t, loan.id, Money.format(new D(pay(1)).plus(pen)));
    expect(late.body).toMatchObject({ penalty: pen, loan: { dpd: 0 } });

    t.clock.set("2025-04-20"); // prepay 3,000 inside the April period (03-31 .. 04-30: 20 days before, 10 after)
    const opening = new D("12000").minus(s.periods[0].principal).minus(s.periods[1].principal);
    const i = new D("0.0345").div(12);
    const expected = fen(opening.mul(i).mul(20).div(30).plus(opening.minus(3000).mul(i).mul(10).div(30)));
    await repay(t, loan.id, "3000.00");
    const s2 = await schedule(t, loan.id);
    expect(s2.periods[2]).toMatchObject({ due_date: "2025-04-30", interest: expected });
    expect(s2.periods).toHaveLength(12);
    expect(Money.format(Money.sum(s2.periods.map((x) => new D(x.principal))))).toBe("12000.00");

    t.clock.set("2025-04-25");
    const payoff = (await t.as("officer").get(`/api/v1/loans/${loan.id}`)).body.payoff_amount as string;
    const done = await repay(t, loan.id, payoff);
    expect(done.body.loan).toMatchObject({ status: "REPAID", outstanding_principal: "0.00" });
    await reconciliationOk(t);
  });

  it("equal principal: three months paid on their due dates close the loan", async () => {
    t.clock.set("2025-03-10");
    const p = await product(t, { max_term_months: 12 });
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "3000.00", term_months: 3, repayment_method: "EQUAL_PRINCIPAL" });
    const s = await schedule(t, loan.id);
    expect(s.periods.map((x) => [x.due_date, x.principal, x.interest])).toEqual([
      ["2025-04-10", "1000.00", "8.63"],
      ["2025-05-10", "1000.00", "5.75"],
      ["2025-06-10", "1000.00", "2.88"],
    ]);
    for (const x of s.periods) {
      t.clock.set(x.due_date);
      const r = await repay(t, loan.id, Money.format(new D(x.principal).plus(x.interest)));
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const got = await t.as("officer").get(`/api/v1/loans/${loan.id}`);
    expect(got.body).toMatchObject({ status: "REPAID", closed_on: "2025-06-10", outstanding_principal: "0.00" });
    expect((await schedule(t, loan.id)).periods.every((x) => x.status === "PAID")).toBe(true);
  });
});

describe("loans: extension, renewal, write-off", () => {
  it("extends once, before maturity, and reschedules to the new maturity", async () => {
    t.clock.set("2025-01-10");
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "10000.00", term_months: 12 });
    t.clock.set("2025-02-01");
    const e = await t.as("manager").post(`/api/v1/loans/${loan.id}/extend`, { months: 6, reason: "养殖周期延长" });
    expect(e.status, JSON.stringify(e.body)).toBe(200);
    expect(e.body).toMatchObject({ status: "EXTENDED", maturity_date: "2026-07-10", original_maturity_date: "2026-01-10", extension_months: 6 });
    const s = await schedule(t, loan.id);
    expect(s.periods[s.periods.length - 1]).toMatchObject({ due_date: "2026-07-10", principal: "10000.00" });
    expect(s.totals.days).toBe(546);
    expectProblem(await t.as("manager").post(`/api/v1/loans/${loan.id}/extend`, { months: 3, reason: "again" }), 422, "LOAN_EXTENSION_USED");
    expectProblem(await t.as("manager").post(`/api/v1/loans/${loan.id}/extend`, { months: 13, reason: "too long" }), 400, "VALIDATION_FAILED");

    t.clock.set("2025-01-10");
    const short = await disbursedLoan(t, { product_id: p.id, amount: "1000.00", term_months: 1, repayment_method: "EQUAL_PRINCIPAL" });
    t.clock.set("2025-02-10");
    expectProblem(await t.as("manager").post(`/api/v1/loans/${short.id}/extend`, { months: 3, reason: "late" }), 422, "LOAN_EXTENSION_AFTER_MATURITY");
    t.clock.set("2025-01-10");
    const od = await disbursedLoan(t, { product_id: p.id, amount: "1000.00", term_months: 12 });
    t.clock.set("2025-04-01");
    expectProblem(await t.as("manager").post(`/api/v1/loans/${od.id}/extend`, { months: 3, reason: "overdue" }), 422, "LOAN_EXTENSION_OVERDUE");
  });

  it("renews without repaying principal: a linked loan takes the balance; the interest to date is collected", async () => {
    t.clock.set("2025-01-10");
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "20000.00", term_months: 12 });
    expectProblem(await t.as("manager").post(`/api/v1/loans/${loan.id}/renew`, { term_months: 12, reason: "续贷" }, key()), 422, "LOAN_RENEWAL_WINDOW");
    t.clock.set("2025-12-25");
    expectProblem(await t.as("manager").post(`/api/v1/loans/${loan.id}/renew`, { term_months: 12, reason: "续贷" }, key()), 422, "LOAN_RENEWAL_OVERDUE");
    const st = (await t.as("officer").get(`/api/v1/loans/${loan.id}`)).body;
    await repay(t, loan.id, Money.format(new D(st.overdue_interest).plus(st.penalty_due)));
    expectProblem(await t.as("manager").post(`/api/v1/loans/${loan.id}/renew`, { term_months: 12, reason: "续贷" }), 400, "IDEMPOTENCY_KEY_REQUIRED");
    const r = await t.as("manager").post(`/api/v1/loans/${loan.id}/renew`, { term_months: 12, reason: "无还本续贷" }, key());
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.interest_collected).toBe("7.67"); // 20,000 × 3.45% × 4 days (12-21 .. 12-24) / 360
    expect(r.body.old_loan).toMatchObject({ status: "RENEWED", outstanding_principal: "0.00", renewed_to_loan_id: r.body.new_loan.id });
    expect(r.body.new_loan).toMatchObject({ status: "DISBURSED", amount: "20000.00", outstanding_principal: "20000.00", renewed_from_loan_id: loan.id, disbursed_on: "2025-12-25", maturity_date: "2026-12-25" });
    await reconciliationOk(t);
  });

  it("writes off only a non-performing loan", async () => {
    t.clock.set("2025-01-10");
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "10000.00", term_months: 12 });
    t.clock.set("2025-05-01");
    expectProblem(await t.as("manager").post(`/api/v1/loans/${loan.id}/write-off`, { reason: "无力偿还" }, key()), 422, "LOAN_WRITE_OFF_NOT_NPL");
    const c = await t.as("officer").post(`/api/v1/loans/${loan.id}/collection-actions`, { method: "VISIT", result: "PROMISED_TO_PAY", promised_date: "2025-05-20" });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    t.clock.set("2025-07-01");
    // (the close of business is not run here: its circuit breaker would stop this file's later disbursements)
    expect((await t.as("manager").get(`/api/v1/loans/${loan.id}`)).body).toMatchObject({ dpd: 103, dpd_bucket: "DPD_91_180", non_performing: true });
    const w = await t.as("manager").post(`/api/v1/loans/${loan.id}/write-off`, { reason: "借款人死亡，无财产" }, key());
    expect(w.status, JSON.stringify(w.body)).toBe(200);
    expect(w.body).toMatchObject({ status: "WRITTEN_OFF", outstanding_principal: "0.00", written_off_principal: "10000.00" });
    await reconciliationOk(t);
  });
});

describe("loans: rules, maker-checker, jurisdiction, idempotency", () => {
  it("refuses each broken rule with its own code", async () => {
    t.clock.set("2025-06-02");
    await setupRates(t);
    const p = await product(t);
    const refuse = async (code: string, spec: Parameters<typeof apply>[1]) => expectProblem(await apply(t, spec), 422, code);

    const [h1, h2] = [await household(t), await household(t)];
    await refuse("LOAN_BORROWER_NOT_MEMBER", { product_id: p.id, household: { id: h1.id, member: h2.member } });
    const removed = await household(t);
    await t.db("households").where({ id: removed.id }).update({ status: "REMOVED" });
    await refuse("LOAN_HOUSEHOLD_NOT_ELIGIBLE", { product_id: p.id, household: removed });
    await refuse("LOAN_BORROWER_AGE", { product_id: p.id, household: await household(t, { birth: "1958-01-01" }) });
    await refuse("LOAN_BORROWER_AGE", { product_id: p.id, household: await household(t, { birth: "2008-01-01" }) });
    await refuse("LOAN_NO_EFFECTIVE_RATING", { product_id: p.id, household: await household(t, { line: "none" }) });
    await refuse("LOAN_NO_EFFECTIVE_RATING", { product_id: p.id, household: await household(t, { line: "0.00" }) });
    await refuse("LOAN_ABOVE_CREDIT_LINE", { product_id: p.id, amount: "20000.00", household: await household(t, { line: "10000.00" }) });
    const big = await household(t, { line: "60000.00" });
    expect((await apply(t, { product_id: p.id, amount: "30000.00", household: big })).status).toBe(201);
    await refuse("LOAN_ABOVE_HOUSEHOLD_CAP", { product_id: p.id, amount: "30000.00", household: big });
    const narrow = await product(t, { allowed_purposes: ["PLANTING"], max_amount: "20000.00", max_term_months: 12, repayment_methods: ["BULLET_QUARTERLY"] });
    await refuse("LOAN_PURPOSE_NOT_ALLOWED", { product_id: narrow.id, amount: "1000.00", term_months: 12, purpose: "BREEDING" });
    await refuse("LOAN_ABOVE_PRODUCT_AMOUNT", { product_id: narrow.id, amount: "30000.00", term_months: 12, purpose: "PLANTING" });
    await refuse("LOAN_ABOVE_PRODUCT_TERM", { product_id: narrow.id, amount: "1000.00", term_months: 24, purpose: "PLANTING" });
    await refuse("LOAN_METHOD_NOT_OFFERED", { product_id: narrow.id, amount: "1000.00", term_months: 12, purpose: "PLANTING", repayment_method: "EQUAL_PRINCIPAL" });
    const other = await t.as("otherBankManager").post("/api/v1/loan-products", { county_code: "469030", code: "OTHER", name: "他行产品", effective_from: "2020-01-01" });
    await refuse("LOAN_PRODUCT_NOT_AVAILABLE", { product_id: other.body.id });
    expectProblem(await apply(t, { product_id: p.id, purpose: "HOUSING" }), 400, "VALIDATION_FAILED", "body.purpose");
    expect((await t.db("loans").count<{ n: number }[]>("* as n"))[0].n).toBeGreaterThan(0);
  });

  it("maker-checker: approval by a manager of the same bank who did not take the application", async () => {
    t.clock.set("2025-06-02");
    const p = await product(t);
    const mine = await apply(t, { product_id: p.id, as: "manager" });
    expect(mine.status).toBe(201);
    expectProblem(await t.as("manager").post(`/api/v1/loans/${mine.body.id}/approve`, {}), 422, "LOAN_MAKER_CHECKER");
    const a = await apply(t, { product_id: p.id });
    expectProblem(await t.as("officer").post(`/api/v1/loans/${a.body.id}/approve`, {}), 403, "FORBIDDEN");
    expectProblem(await t.as("otherBankManager").post(`/api/v1/loans/${a.body.id}/approve`, {}), 404, "NOT_FOUND");
    expectProblem(await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, {}, key()), 409, "INVALID_STATE");
    expect((await t.as("manager").post(`/api/v1/loans/${a.body.id}/approve`, { note: "同意" })).body).toMatchObject({ status: "APPROVED", approver_id: "0a000000-0000-4000-8000-000000000006" });
    expectProblem(await t.as("manager").post(`/api/v1/loans/${a.body.id}/approve`, {}), 409, "INVALID_STATE");
    expectProblem(await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, {}), 400, "IDEMPOTENCY_KEY_REQUIRED");
    const rj = await apply(t, { product_id: p.id });
    expect((await t.as("manager").post(`/api/v1/loans/${rj.body.id}/reject`, { note: "材料不全" })).body.status).toBe("REJECTED");
    const c = await apply(t, { product_id: p.id });
    expect((await t.as("officer2").post(`/api/v1/loans/${c.body.id}/cancel`, {})).body.status).toBe("CANCELLED");
  });

  it("jurisdiction: own bank, own counties, own village; outside is 404", async () => {
    t.clock.set("2025-06-02");
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "5000.00", term_months: 12 });
    for (const who of ["officer2", "manager", "admin", "regulator", "finance", "village"] as const) {
      expect((await t.as(who).get(`/api/v1/loans/${loan.id}`)).status, who).toBe(200);
    }
    for (const who of ["otherBankManager", "otherAdmin", "otherRegulator", "village2"] as const) {
      expectProblem(await t.as(who).get(`/api/v1/loans/${loan.id}`), 404, "NOT_FOUND");
      expect((await t.as(who).get(`/api/v1/loans/${loan.id}/schedule`)).status).toBe(404);
    }
    expectProblem(await t.as("otherBankManager").post(`/api/v1/loans/${loan.id}/repayments`, { amount: "1.00" }, key()), 404, "NOT_FOUND");
    expectProblem(await t.as("regulator").post(`/api/v1/loans/${loan.id}/repayments`, { amount: "1.00" }, key()), 403, "FORBIDDEN");
    expect((await t.as("operator").get(`/api/v1/loans/${loan.id}`)).status).toBe(403);
    expect((await t.http.get(`/api/v1/loans/${loan.id}`)).status).toBe(401);
    const list = await t.as("otherBankManager").get("/api/v1/loans");
    expect(list.body.items.find((l: { id: string }) => l.id === loan.id)).toBeUndefined();
    const mine = await t.as("village").get(`/api/v1/loans?household_id=${(await t.db("loans").where({ id: loan.id }).first()).household_id}`);
    expect(mine.body.items.map((l: { id: string }) => l.id)).toEqual([loan.id]);
  });

  it("a repayment replayed with the same Idempotency-Key moves money once", async () => {
    t.clock.set("2025-06-02");
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "5000.00", term_months: 12 });
    const k = key();
    const a = await repay(t, loan.id, "100.00", k);
    const b = await repay(t, loan.id, "100.00", k);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers["idempotent-replayed"]).toBe("true");
    expect(b.body.id).toBe(a.body.id);
    expectProblem(await repay(t, loan.id, "200.00", k), 422, "IDEMPOTENCY_KEY_REUSED");
    expectProblem(await t.as("officer").post(`/api/v1/loans/${loan.id}/repayments`, { amount: "1.00" }), 400, "IDEMPOTENCY_KEY_REQUIRED");
    expectProblem(await repay(t, loan.id, "0.00"), 400, "VALIDATION_FAILED", "body.amount");
    expect((await t.db("loan_repayments").where({ loan_id: loan.id })).length).toBe(1);
    expect((await t.db("loans").where({ id: loan.id }).first()).outstanding_principal).toBe("4900.00");
  });

  it.skipIf(!onPostgres)("50 concurrent repayments on one loan leave exactly the right balances (PostgreSQL only; PGlite has one connection)", async () => {
    t.clock.set("2025-06-02");
    const p = await product(t);
    const loan = await disbursedLoan(t, { product_id: p.id, amount: "50000.00", term_months: 12 });
    const results = await Promise.all(Array.from({ length: 50 }, () => repay(t, loan.id, "10.00")));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const row = await t.db("loans").where({ id: loan.id }).first();
    expect(row.outstanding_principal).toBe("49500.00");
    expect((await t.db("loan_repayments").where({ loan_id: loan.id })).length).toBe(50);
    await reconciliationOk(t);
  });
});

describe("loans: eligibility from the ratings module", () => {
  it("reads the household's effective rating and credit line", async () => {
    const { setCreditLineProvider } = await import("../../src/modules/loans/credit.js");
    const { restoreStubLines } = await import("./loans-helpers.js");
    setCreditLineProvider(undefined);
    try {
      t.clock.set("2025-06-02");
      const p = await product(t);
      const h = await household(t, { line: "none" });
      expectProblem(await apply(t, { product_id: p.id, amount: "10000.00", household: h }), 422, "LOAN_NO_EFFECTIVE_RATING");
      const [sc] = await t.db("scorecards").insert({ county_code: "469030", version: 99, name: "测试评分卡", indicators: JSON.stringify([]) }).returning("id");
      await t.db("ratings").insert({
        county_code: "469030", village_code: "469030100201", household_id: h.id, bank_id: "0b000000-0000-4000-8000-00000000000a", scorecard_version_id: sc.id, scorecard_version: 99,
        status: "EFFECTIVE", score: 75, grade: "A", credit_line: "10000.00", explanation: JSON.stringify({}), evidence: JSON.stringify({}), rated_on: "2025-05-01",
        created_by: "0a000000-0000-4000-8000-000000000004", decided_by: "0a000000-0000-4000-8000-000000000006", decided_at: new Date(), valid_from: "2025-05-01", valid_until: "2026-04-30",
      });
      expectProblem(await apply(t, { product_id: p.id, amount: "10000.01", household: h }), 422, "LOAN_ABOVE_CREDIT_LINE");
      await setupRates(t);
      const ok = await apply(t, { product_id: p.id, amount: "10000.00", household: h });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      expect(ok.body.rating_id).not.toBeNull();
    } finally {
      restoreStubLines();
    }
  });
});
