import { beforeAll, describe, expect, it } from "vitest";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { expectProblem } from "../helpers/expect.js";
import { useTestApp } from "../helpers/harness.js";
import { apply, disbursedLoan, household, key, product, reconciliationOk, setupRates } from "./loans-helpers.js";

/** Value dates (起息日) on repayments and disbursements, bank references recorded for ever, and reversals (冲正). */
const t = useTestApp({ today: "2025-03-01" });
let productId = "";

beforeAll(async () => {
  await setupRates(t);
  productId = (await product(t, { rate_rule: "FIXED", fixed_rate: "0.043500" })).id;
});

const pay = (id: string, body: Record<string, unknown>, who: "officer" | "manager" = "officer") => t.as(who).post(`/api/v1/loans/${id}/repayments`, body, key());
const loanOf = async (id: string) => (await t.as("officer").get(`/api/v1/loans/${id}`)).body;
/** Pays a loan off, so the bank's book stays performing for the next test (the circuit breaker watches it). */
const settle = async (id: string) => {
  const l = await loanOf(id);
  if (l.status === "REPAID") return;
  const r = await pay(id, { amount: l.payoff_amount });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
};
const periodsOf = async (id: string) =>
  (await t.db("loan_schedule_periods").where({ loan_id: id }).orderBy("seq").select()).map(({ loan_id: _l, ...p }) => p);

describe("value dates", () => {
  it("refuses a value date in the future, before the loan's latest, or further back than the county allows — and changes nothing", async () => {
    t.clock.set("2025-03-01");
    const loan = await disbursedLoan(t, { product_id: productId, amount: "10000.00", term_months: 12, repayment_method: "EQUAL_PRINCIPAL" });
    t.clock.set("2025-04-15");
    expectProblem(await pay(loan.id, { amount: "100.00", value_date: "2025-04-16" }), 422, "VALUE_DATE_IN_FUTURE");
    expectProblem(await pay(loan.id, { amount: "100.00", value_date: "2025-03-15" }), 422, "VALUE_DATE_TOO_OLD");
    expectProblem(await pay(loan.id, { amount: "100.00", value_date: "2025-02-28" }), 422, "VALUE_DATE_BEFORE_LATEST"); // before the disbursement
    const paid = await pay(loan.id, { amount: "900.00", value_date: "2025-04-10" });
    expect(paid.status).toBe(201);
    expect(paid.body.paid_on).toBe("2025-04-10");
    expectProblem(await pay(loan.id, { amount: "100.00", value_date: "2025-04-09" }), 422, "VALUE_DATE_BEFORE_LATEST");
    expectProblem(await pay(loan.id, { amount: "100.00", value_date: "04/10/2025" }), 400, "VALIDATION_FAILED");
    const after = await loanOf(loan.id);
    const reps = await t.db("loan_repayments").where({ loan_id: loan.id });
    expect(reps).toHaveLength(1);
    expect(reps[0]).toMatchObject({ entered_on: "2025-04-15" });
    expect(after.outstanding_principal).toBe((10000 - Number(paid.body.principal)).toFixed(2));
    await settle(loan.id);
  });

  it("takes a bank reference once per bank, for ever: the same reference again is a duplicate that moves nothing", async () => {
    t.clock.set("2025-05-01");
    const loan = await disbursedLoan(t, { product_id: productId, amount: "5000.00", term_months: 6, repayment_method: "EQUAL_INSTALLMENT" });
    t.clock.set("2025-06-01");
    expect((await pay(loan.id, { amount: "200.00", reference: "BK20250601-0001" })).status).toBe(201);
    const before = await loanOf(loan.id);
    t.clock.set("2025-06-20");
    const again = await pay(loan.id, { amount: "200.00", reference: "BK20250601-0001" });
    expectProblem(again, 409, "DUPLICATE_BANK_REFERENCE");
    expect(again.body.detail).toContain("BK20250601-0001");
    // On another loan of the same bank too.
    const other = await disbursedLoan(t, { product_id: productId, amount: "5000.00", term_months: 6 });
    expectProblem(await pay(other.id, { amount: "200.00", reference: "BK20250601-0001" }), 409, "DUPLICATE_BANK_REFERENCE");
    expect((await loanOf(loan.id)).outstanding_principal).toBe(before.outstanding_principal);
    expect(await t.db("loan_repayments").where({ reference: "BK20250601-0001" })).toHaveLength(1);
    await settle(loan.id);
    await settle(other.id);
  });

  it("disburses with a value date the close of business has passed: the schedule starts then and the closes since are applied", async () => {
    t.clock.set("2025-07-01");
    await runCloseOfBusiness(t.db, "2025-07-01");
    const onTime = await disbursedLoan(t, { product_id: productId, amount: "8000.00", term_months: 6, repayment_method: "EQUAL_INSTALLMENT" });
    const noHistory = await disbursedLoan(t, { product_id: productId, amount: "2000.00", term_months: 6, repayment_method: "EQUAL_INSTALLMENT" });
    t.clock.set("2025-07-02");
    await runCloseOfBusiness(t.db, "2025-08-10");
    t.clock.set("2025-08-11");
    const a = await apply(t, { product_id: productId, amount: "8000.00", term_months: 6, repayment_method: "EQUAL_INSTALLMENT", household: await household(t) });
    expect((await t.as("manager").post(`/api/v1/loans/${a.body.id}/approve`, {})).status).toBe(200);
    // Before its approval: refused.
    expectProblem(await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, { value_date: "2025-06-30" }, key()), 422, "VALUE_DATE_BEFORE_LATEST");
    const late = await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, { value_date: "2025-08-11" }, key());
    expect(late.status, JSON.stringify(late.body)).toBe(200);
    expect(late.body.disbursed_on).toBe("2025-08-11");
    // A loan whose schedule as disbursed was not kept (one from before value dates) takes no entry behind the last close.
    await t.db("loan_schedule_bases").where({ loan_id: noHistory.id }).delete();
    const kept = await periodsOf(noHistory.id);
    expectProblem(await pay(noHistory.id, { amount: "100.00", value_date: "2025-08-01" }), 422, "VALUE_DATE_NO_HISTORY");
    expect(await periodsOf(noHistory.id)).toEqual(kept);
    await settle(noHistory.id);
    // The on-time loan's first instalment (due 8/1) is overdue by now; paid late with its value date it equals one paid on time.
    expect((await loanOf(onTime.id)).dpd).toBe(10);
    const due = (await t.db("loan_schedule_periods").where({ loan_id: onTime.id, seq: 1 }).first()) as { principal_due: string; interest_due: string };
    const paid = await pay(onTime.id, { amount: (Number(due.principal_due) * 100 + Number(due.interest_due) * 100) / 100 + "", value_date: "2025-08-01" });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    const after = await loanOf(onTime.id);
    expect(after).toMatchObject({ dpd: 0, dpd_bucket: "CURRENT", penalty_due: "0.00", overdue_principal: "0.00" });
    expect((await periodsOf(onTime.id))[0]).toMatchObject({ status: "PAID", settled_on: "2025-08-01", penalty_accrued: "0.0000000000" });
    await reconciliationOk(t);
  });
});

describe("reversal (冲正)", () => {
  it("a bank manager reverses only the latest repayment, with a reason; a payoff reversed reopens the loan; entered again it equals the original", async () => {
    t.clock.set("2025-09-01");
    const loan = await disbursedLoan(t, { product_id: productId, amount: "6000.00", term_months: 3, repayment_method: "EQUAL_PRINCIPAL" });
    const twin = await disbursedLoan(t, { product_id: productId, amount: "6000.00", term_months: 3, repayment_method: "EQUAL_PRINCIPAL" });
    t.clock.set("2025-10-01");
    const first = await pay(loan.id, { amount: "1000.00", reference: "R-1" });
    expect((await pay(twin.id, { amount: "1000.00", reference: "T-1" })).status).toBe(201);
    t.clock.set("2025-10-15");
    const payoff = (await loanOf(loan.id)).payoff_amount as string;
    const second = await pay(loan.id, { amount: payoff, reference: "R-2" });
    expect(second.status).toBe(201);
    expect((await pay(twin.id, { amount: payoff, reference: "T-2" })).status).toBe(201);
    expect((await loanOf(loan.id)).status).toBe("REPAID");
    const original = await periodsOf(twin.id);

    const url = (id: string) => `/api/v1/loans/${loan.id}/repayments/${id}/reversal`;
    expectProblem(await t.as("officer").post(url(second.body.id), { reason: "录错" }, key()), 403, "FORBIDDEN");
    expectProblem(await t.as("manager").post(url(second.body.id), {}, key()), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("manager").post(url(first.body.id), { reason: "录错" }, key()), 422, "REVERSAL_NOT_LATEST");
    expectProblem(await t.as("otherBankManager").post(url(second.body.id), { reason: "录错" }, key()), 404, "NOT_FOUND");

    t.clock.set("2025-10-16");
    const rev = await t.as("manager").post(url(second.body.id), { reason: "金额录错 wrong amount" }, key());
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    expect(rev.body).toMatchObject({ reversal_reason: "金额录错 wrong amount", loan: { status: "DISBURSED" } });
    expect(rev.body.reversed_at).toBeTruthy();
    expectProblem(await t.as("manager").post(url(second.body.id), { reason: "again" }, key()), 422, "REVERSAL_NOT_LATEST");
    await reconciliationOk(t);
    // The reference stays recorded; the payment is entered again with its value date and a new reference.
    expectProblem(await pay(loan.id, { amount: payoff, reference: "R-2", value_date: "2025-10-15" }), 409, "DUPLICATE_BANK_REFERENCE");
    const again = await pay(loan.id, { amount: payoff, reference: "R-2b", value_date: "2025-10-15" });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(await periodsOf(loan.id)).toEqual(original);
    expect((await loanOf(loan.id)).status).toBe("REPAID");
    // A refusal of its own comes before the taken reference: the loan is closed.
    expectProblem(await pay(loan.id, { amount: "1.00", reference: "R-2b" }), 409, "INVALID_STATE");
    await reconciliationOk(t);
  });
});
