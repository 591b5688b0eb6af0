import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { type Actor, signStaffToken } from "../../src/http/auth.js";
import { evaluateCircuitBreakers } from "../../src/modules/riskfund/service.js";
import "../../src/modules/riskfund/figures.js";
import { figureSources } from "../../src/modules/reports/figures.js";
import { expectProblem } from "../helpers/expect.js";
import { BANK, COUNTY } from "../helpers/fixture.js";
import { onPostgres, TEST_JWT, useTestApp } from "../helpers/harness.js";
import { apply, disbursedLoan, key, product, reconciliationOk, repay, setupRates } from "./loans-helpers.js";

const t = useTestApp({ today: "2024-06-21" });
const API = "/api/v1";

async function approved(productId: string, amount: string) {
  const a = await apply(t, { product_id: productId, amount, term_months: 36, repayment_method: "BULLET_QUARTERLY" });
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  expect((await t.as("manager").post(`${API}/loans/${a.body.id}/approve`, {})).status).toBe(200);
  return a.body.id as string;
}
const disburse = (id: string) => t.as("officer").post(`${API}/loans/${id}/disburse`, {}, key());
/** A loan officer of the bank who later becomes a finance officer: still the maker of the claims they submitted. */
const MOVER = { userId: "0a000000-0000-4000-8000-0000000000c7", countyCodes: [COUNTY], operatorId: null, villageCode: null };
const moverAs = (role: "loan_officer" | "finance_officer") => {
  const actor: Omit<Actor, "kind"> = { ...MOVER, role, bankId: role === "loan_officer" ? BANK : null };
  const auth = `Bearer ${signStaffToken(TEST_JWT, actor)}`;
  return { post: (path: string, body: object) => supertest(t.app).post(path).set("Authorization", auth).send(body) };
};
const cob = (date: string) => t.as("admin").post(`${API}/jobs/close-of-business`, { business_date: date });

describe("risk fund, circuit breaker and compensation (docs/DOMAIN.md#risk-fund)", () => {
  let productId = "";
  const ids: Record<string, string> = {};
  let fundId = "";
  let breakerId = "";

  it("trips the circuit breaker by the close of business only above the threshold (3% is not above)", async () => {
    await setupRates(t);
    productId = (await product(t, { rate_rule: "FIXED", fixed_rate: "0.0345" })).id;
    // Two loans that will never pay (non-performing by December) …
    ids.L3 = (await disbursedLoan(t, { product_id: productId, amount: "1000.00", term_months: 12, repayment_method: "BULLET_QUARTERLY" })).id;
    ids.L5 = (await disbursedLoan(t, { product_id: productId, amount: "2000.00", term_months: 12, repayment_method: "BULLET_QUARTERLY" })).id;
    // … and two performing ones: 3,000 NPL of 100,000 outstanding = exactly 3%.
    t.clock.set("2024-12-21");
    ids.L1 = (await disbursedLoan(t, { product_id: productId, amount: "50000.00" })).id;
    ids.L2 = (await disbursedLoan(t, { product_id: productId, amount: "47000.00" })).id;
    const first = await cob("2024-12-21");
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect((await t.as("officer").get(`${API}/loans/${ids.L5}`)).body).toMatchObject({ dpd: 92, non_performing: true });
    expect((await t.as("admin").get(`${API}/circuit-breakers`)).body.items).toEqual([]);

    // One yuan prepaid: 3,000 / 99,999 is above 3%.
    t.clock.set("2024-12-22");
    const pre = await repay(t, ids.L2, "1.00");
    expect(pre.body).toMatchObject({ prepayment: "1.00", loan: { outstanding_principal: "46999.00" } });
    expect((await cob("2024-12-22")).status).toBe(200);
    const list = await t.as("regulator").get(`${API}/circuit-breakers`);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ county_code: COUNTY, bank_id: BANK, status: "TRIPPED", reason: "NPL_RATIO", tripped_on: "2024-12-22", outstanding_principal: "99999.00", npl_principal: "3000.00", threshold: "0.03" });
    breakerId = list.body.items[0].id;
    const alerts = await t.as("regulator").get(`${API}/alerts`);
    expect(alerts.body.items.some((a: { kind: string; entity_id: string }) => a.kind === "circuit_breaker.tripped" && a.entity_id === breakerId)).toBe(true);
    // Evaluating again for the date trips nothing twice.
    expect(await evaluateCircuitBreakers(t.db, "2024-12-22")).toMatchObject({ tripped: 0, open: 1 });
    expect((await t.as("otherBankManager").get(`${API}/circuit-breakers`)).body.items).toEqual([]);
  });

  it("refuses new disbursements while tripped; lifted by the county only once the ratio is back under", async () => {
    ids.L4 = await approved(productId, "1000.00");
    expectProblem(await disburse(ids.L4), 422, "CIRCUIT_BREAKER_TRIPPED");
    expectProblem(await t.as("officer").post(`${API}/circuit-breakers/${breakerId}/lift`, { note: "已整改" }), 403, "FORBIDDEN");
    expectProblem(await t.as("otherAdmin").post(`${API}/circuit-breakers/${breakerId}/lift`, { note: "已整改" }), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").post(`${API}/circuit-breakers/${breakerId}/lift`, { note: "已整改" }), 422, "CIRCUIT_BREAKER_CONDITION_HOLDS");
    // L3 is paid off: 2,000 / 98,999 ≈ 2.02%.
    const l3 = await t.as("officer").get(`${API}/loans/${ids.L3}`);
    expect((await repay(t, ids.L3, l3.body.payoff_amount)).body.loan.status).toBe("REPAID");
    const lifted = await t.as("admin").post(`${API}/circuit-breakers/${breakerId}/lift`, { note: "不良贷款已清收，恢复放贷" });
    expect(lifted.status, JSON.stringify(lifted.body)).toBe(200);
    expect(lifted.body).toMatchObject({ status: "LIFTED", lifted_on: "2024-12-22", lift_npl_ratio: "0.020202" });
    expectProblem(await t.as("admin").post(`${API}/circuit-breakers/${breakerId}/lift`, { note: "再次" }), 409, "INVALID_STATE");
    expect((await disburse(ids.L4)).status).toBe(200);
  });

  it("caps lending at the fund balance × 10: equal is allowed, one fen over is refused", async () => {
    expectProblem(await t.as("officer").post(`${API}/risk-funds`, { county_code: COUNTY, bank_id: BANK, name: "x" }), 403, "FORBIDDEN");
    const f = await t.as("finance").post(`${API}/risk-funds`, { county_code: COUNTY, bank_id: BANK, name: "琼中县扶贫小额信贷风险补偿金（测试农商行）" });
    expect(f.status, JSON.stringify(f.body)).toBe(201);
    fundId = f.body.id;
    expect(f.body).toMatchObject({ balance: "0.00", leverage_cap: "10", fund_share: "0.7", npl_threshold: "0.03", outstanding: "99999.00" });
    expectProblem(await t.as("finance").post(`${API}/risk-funds`, { county_code: COUNTY, bank_id: BANK, name: "again" }), 409, "RISK_FUND_EXISTS");
    expectProblem(await t.as("finance").post(`${API}/risk-funds`, { county_code: COUNTY, bank_id: BANK, name: "x", fund_share: "1.5" }), 400, "VALIDATION_FAILED");
    expect((await t.http.get(`${API}/risk-funds/${fundId}`)).status).toBe(401);
    expectProblem(await t.as("finance").post(`${API}/risk-funds/${fundId}/deposits`, { amount: "-1.00" }, key()), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("finance").post(`${API}/risk-funds/${fundId}/deposits`, { amount: "10100.00" }), 400, "IDEMPOTENCY_KEY_REQUIRED");
    const k = key();
    const d = await t.as("finance").post(`${API}/risk-funds/${fundId}/deposits`, { amount: "10100.00", reference: "县财政拨入" }, k);
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect(d.body).toMatchObject({ amount: "10100.00", balance_after: "10100.00" });
    const replay = await t.as("finance").post(`${API}/risk-funds/${fundId}/deposits`, { amount: "10100.00", reference: "县财政拨入" }, k);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    const got = await t.as("manager").get(`${API}/risk-funds/${fundId}`);
    expect(got.body).toMatchObject({ balance: "10100.00", outstanding: "99999.00", lending_cap: "101000.00", headroom: "1001.00", leverage: "9.9009" });
    expect((await t.as("otherBankManager").get(`${API}/risk-funds/${fundId}`)).status).toBe(404);
    expect((await t.as("otherAdmin").get(`${API}/risk-funds/${fundId}`)).status).toBe(404);

    const over = await approved(productId, "1001.01");
    const equal = await approved(productId, "1001.00");
    const refused = await disburse(over);
    expectProblem(refused, 422, "RISK_FUND_CAP_EXCEEDED");
    // The figures in the request's language: Chinese by default, English on request.
    expect(refused.body.detail).toBe("贷款余额 99999.00 元 + 本笔 1001.01 元 = 101000.01 元，超过放款上限 101000.00 元（补偿金余额 10100.00 元 × 放大倍数 10）");
    expect(refused.body.detail_en).toBeUndefined();
    const refusedEn = await t.as("officer").post(`${API}/loans/${over}/disburse`, {}, key()).set("Accept-Language", "en");
    expect(refusedEn.body.detail).toBe("Outstanding 99999.00 + this 1001.01 = 101000.01 exceeds the lending cap 101000.00 (fund balance 10100.00 × 10)");
    expect((await disburse(equal)).status).toBe(200);
    const after = await t.as("finance").get(`${API}/risk-funds/${fundId}`);
    expect(after.body).toMatchObject({ outstanding: "101000.00", lending_cap: "101000.00", headroom: "0.00", leverage: "10.0000" });
    expectProblem(await disburse(over), 422, "RISK_FUND_CAP_EXCEEDED");
  });

  it("compensates a non-performing loan with collection tried: amounts to the fen, the loan COMPENSATED, recoveries shared back; the ledger reconciles", async () => {
    expectProblem(await t.as("officer").post(`${API}/compensation-claims`, { loan_id: ids.L5 }), 422, "COMPENSATION_NOT_ELIGIBLE"); // no collection action yet
    expectProblem(await t.as("officer").post(`${API}/compensation-claims`, { loan_id: ids.L1 }), 422, "COMPENSATION_NOT_ELIGIBLE"); // performing
    expect((await t.as("officer").post(`${API}/loans/${ids.L5}/collection-actions`, { method: "VISIT", result: "REFUSED", note: "上门催收" })).status).toBe(201);
    // The bank claims; the finance bureau may not (403).
    expectProblem(await t.as("finance").post(`${API}/compensation-claims`, { loan_id: ids.L5 }), 403, "FORBIDDEN");
    await t.db("users").insert({ id: MOVER.userId, username: "t-officer-mover", password_hash: "x", display_name: "t-officer-mover", role: "loan_officer", county_codes: [COUNTY], bank_id: BANK });
    const c = await moverAs("loan_officer").post(`${API}/compensation-claims`, { loan_id: ids.L5, note: "逾期93天，催收无果" });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    // Interest 2,000 × 3.45% × 92/360 = 17.63 (Sep) and × 91/360 = 17.44 (Dec); penalty never counts.
    expect(c.body).toMatchObject({ status: "SUBMITTED", dpd: 93, collection_actions: 1, unpaid_principal: "2000.00", unpaid_interest: "35.07", loss: "2035.07", fund_share: "0.7", fund_amount: "1424.55", bank_amount: "610.52" });
    const claimId = c.body.id;
    expectProblem(await t.as("officer").post(`${API}/compensation-claims`, { loan_id: ids.L5 }), 409, "CONFLICT");
    expect((await t.as("finance").get(`${API}/risk-funds/${fundId}`)).body.obligations).toBe("1424.55");
    expectProblem(await t.as("officer").post(`${API}/compensation-claims/${claimId}/approve`, {}), 403, "FORBIDDEN");
    expectProblem(await t.as("finance").post(`${API}/compensation-claims/${claimId}/pay`, {}, key()), 409, "INVALID_STATE");
    // Its maker, now at the finance bureau, may not approve it (maker-checker); the claim is unchanged.
    await t.db("users").where({ id: MOVER.userId }).update({ role: "finance_officer", bank_id: null });
    expectProblem(await moverAs("finance_officer").post(`${API}/compensation-claims/${claimId}/approve`, { note: "自己批准" }), 422, "SAME_MAKER_CHECKER");
    expect((await t.as("finance").get(`${API}/compensation-claims/${claimId}`)).body).toMatchObject({ status: "SUBMITTED", decided_on: null });
    const ap = await t.as("finance").post(`${API}/compensation-claims/${claimId}/approve`, { note: "同意代偿" });
    expect(ap.status, JSON.stringify(ap.body)).toBe(200);
    expect(ap.body).toMatchObject({ status: "APPROVED", decided_on: "2024-12-22", pay_by: "2025-01-21" });
    const paid = await t.as("finance").post(`${API}/compensation-claims/${claimId}/pay`, {}, key());
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "PAID", paid_on: "2024-12-22" });
    expect((await t.as("officer").get(`${API}/loans/${ids.L5}`)).body).toMatchObject({ status: "COMPENSATED", outstanding_principal: "0.00" });
    expect((await t.as("finance").get(`${API}/risk-funds/${fundId}`)).body).toMatchObject({ balance: "8675.45", obligations: "0.00" });

    const r1 = await t.as("officer").post(`${API}/compensation-claims/${claimId}/recoveries`, { amount: "1000.00", reference: "司法追偿" }, key());
    expect(r1.status, JSON.stringify(r1.body)).toBe(201);
    expect(r1.body).toMatchObject({ amount: "1000.00", fund_part: "700.00", bank_part: "300.00", claim: { recovered: "1000.00", fund_recovered: "700.00" } });
    // 1,035.07 of the loss is left to recover.
    expectProblem(await t.as("officer").post(`${API}/compensation-claims/${claimId}/recoveries`, { amount: "1035.08" }, key()), 422, "COMPENSATION_OVER_RECOVERY");
    const r2 = await t.as("officer").post(`${API}/compensation-claims/${claimId}/recoveries`, { amount: "0.05" }, key());
    expect(r2.body).toMatchObject({ fund_part: "0.04", bank_part: "0.01" }); // 1,000.05 × 0.7 = 700.035 → 700.04 in all
    expect((await t.as("finance").get(`${API}/risk-funds/${fundId}`)).body.balance).toBe("9375.49");

    // This module's part of the county summary (GET /reports/county-summary runs every source).
    const items = await figureSources().find((x) => x.name === "riskfund")!.compute(t.db, { countyCode: COUNTY, monthStart: "2024-12-01", monthEnd: "2024-12-31" });
    const fig = (k: string) => items.find((i) => i.key === k)?.value;
    // Outstanding 50,000 + 46,999 + 1,000 + 1,001 (L3 repaid, L5 compensated) over 9,375.49.
    expect([fig("risk_fund_balance"), fig("risk_fund_covered_outstanding"), fig("risk_fund_leverage"), fig("risk_fund_compensation_month"), fig("circuit_breakers_open")]).toEqual([
      "9375.49",
      "99000.00",
      "10.5594",
      "1424.55",
      0,
    ]);
    await reconciliationOk(t);
    const rec = await t.as("finance").get(`${API}/ledger/reconciliation`);
    const fundCheck = (rec.body.checks as { name: string; differences: unknown[] }[]).find((x) => x.name === "risk_fund_cash");
    expect(fundCheck?.differences).toEqual([]);
  });

  it.skipIf(!onPostgres)("checks concurrent disbursements one after another: two that fit the cap alone, not together, give one success (PostgreSQL only)", async () => {
    // Outstanding 99,000.00; a balance of 10,000.00 leaves 1,000.00 of headroom.
    const d = await t.as("finance").post(`${API}/risk-funds/${fundId}/deposits`, { amount: "624.51" }, key());
    expect(d.body).toMatchObject({ balance_after: "10000.00", fund: { outstanding: "99000.00", headroom: "1000.00" } });
    const a = await approved(productId, "600.00");
    const b = await approved(productId, "600.00");
    const results = await Promise.all([disburse(a), disburse(b)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 422]);
    expect(results.find((r) => r.status === 422)!.body.code).toBe("RISK_FUND_CAP_EXCEEDED");
    expect((await t.as("finance").get(`${API}/risk-funds/${fundId}`)).body).toMatchObject({ outstanding: "99600.00", headroom: "400.00" });
  });
});
