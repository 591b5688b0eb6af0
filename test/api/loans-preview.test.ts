import { beforeAll, describe, expect, it } from "vitest";
import { LPR_HISTORY } from "../../db/seeds/lpr-history.js";
import { expectProblem } from "../helpers/expect.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, key, product } from "./loans-helpers.js";

const t = useTestApp({ today: "2026-11-30" });
const API = "/api/v1";

interface PreviewPeriod {
  seq: number;
  accrual_start: string;
  accrual_end: string;
  due_date: string;
  days: number;
  opening_principal: string;
  principal: string;
  interest: string;
  interest_subsidy: string;
  household_interest: string;
  interest_due: string;
  payment: string;
}
interface Preview {
  product: { id: string; version: number } | null;
  annual_rate: string;
  rate_basis: string;
  lpr_date: string | null;
  disbursement_date: string;
  maturity_date: string;
  periods: PreviewPeriod[];
  totals: Record<string, string | number>;
  annualised_rate: { contract: string; household: string };
  subsidy: { mode: string; ratio: string } | null;
}
/** A period of `GET /loans/{id}/schedule` (its `interest` is what the household is charged, the preview's `interest_due`). */
type StoredPeriod = Omit<PreviewPeriod, "household_interest" | "interest_due" | "payment">;

const dayNo = (d: string) => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / 86_400_000;

/**
 * The annualised rate computed independently of the module: plain bisection on the float net present
 * value Σ a · (1 + R)^(−days/365) of the amount received and the payments, in percent.
 */
function xirrPercent(amount: number, payments: { date: string; amount: number }[], on: string): number {
  const npv = (r: number) => amount - payments.reduce((s, p) => s + p.amount * Math.pow(1 + r, -(dayNo(p.date) - dayNo(on)) / 365), 0);
  let lo = -0.5;
  let hi = 1;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (npv(mid) < 0) lo = mid;
    else hi = mid;
  }
  return ((lo + hi) / 2) * 100;
}
const num = (s: string) => Number(s);

async function preview(body: Record<string, unknown>, who: Parameters<typeof t.as>[0] = "officer") {
  return t.as(who).post(`${API}/loans/schedule-preview`, body);
}

/**
 * Previews a loan, then disburses the same loan through the API on that date (the clock set to it)
 * and compares the stored schedule with the preview period by period, and the preview's annualised
 * rates with an independent XIRR of the disbursed schedule's flows.
 */
async function previewMatchesDisbursement(productId: string, spec: { on: string; amount: string; term: number; method: string; mode: "TO_BANK" | "TO_HOUSEHOLD" }) {
  t.clock.set(spec.on);
  const res = await preview({ product_id: productId, amount: spec.amount, term_months: spec.term, repayment_method: spec.method, disbursement_date: spec.on });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const p = res.body as Preview;
  const loan = await disbursedLoan(t, { product_id: productId, amount: spec.amount, term_months: spec.term, repayment_method: spec.method });
  expect(loan.maturity_date).toBe(p.maturity_date);
  expect(loan.annual_rate).toBe(p.annual_rate);
  const stored = (await t.as("officer").get(`${API}/loans/${loan.id}/schedule`)).body.periods as StoredPeriod[];
  expect(p.periods).toHaveLength(stored.length);
  stored.forEach((s, k) => {
    const v = p.periods[k];
    expect({ seq: v.seq, accrual_start: v.accrual_start, accrual_end: v.accrual_end, due_date: v.due_date, days: v.days, opening_principal: v.opening_principal, principal: v.principal }).toEqual({
      seq: s.seq,
      accrual_start: s.accrual_start,
      accrual_end: s.accrual_end,
      due_date: s.due_date,
      days: s.days,
      opening_principal: s.opening_principal,
      principal: s.principal,
    });
    expect(v.interest_due).toBe(s.interest);
    expect(num(v.interest)).toBeCloseTo(num(s.interest) + num(s.interest_subsidy), 6);
    if (spec.mode === "TO_BANK") expect(v.interest_subsidy).toBe(s.interest_subsidy);
    else expect(s.interest_subsidy).toBe("0.00");
    expect(num(v.household_interest)).toBeCloseTo(num(v.interest) - num(v.interest_subsidy), 6);
  });
  // Contract flows from the stored schedule; the household's from it less the preview's subsidy where the bank does not hold it.
  const contract = stored.map((s) => ({ date: s.due_date, amount: num(s.principal) + num(s.interest) + num(s.interest_subsidy) }));
  const own = stored.map((s, k) => ({ date: s.due_date, amount: num(s.principal) + num(s.interest) - (spec.mode === "TO_HOUSEHOLD" ? num(p.periods[k].interest_subsidy) : 0) }));
  expect(Math.abs(num(p.annualised_rate.contract) * 100 - xirrPercent(num(spec.amount), contract, spec.on))).toBeLessThanOrEqual(0.01);
  expect(Math.abs(num(p.annualised_rate.household) * 100 - xirrPercent(num(spec.amount), own, spec.on))).toBeLessThanOrEqual(0.01);
  expect(p.totals.principal).toBe(spec.amount);
  return { preview: p, loanId: loan.id, stored };
}

let toBank: string;
let toHousehold: string;
beforeAll(async () => {
  for (const r of LPR_HISTORY) expect((await t.as("admin").post(`${API}/rate-tables`, r)).status).toBe(201);
  // 70% up to the LPR, paid to the bank; and 100% reimbursed to the household for 12 months only.
  toBank = (await product(t, { effective_from: "2019-08-20", subsidy: { ratio: "0.7", mode: "TO_BANK" }, rate_spread: "0.005" })).id;
  toHousehold = (await product(t, { effective_from: "2019-08-20", subsidy: { mode: "TO_HOUSEHOLD", term_months: 12 } })).id;
});

describe("schedule preview (试算) equals what a disbursement on that date writes", () => {
  it("equal instalments disbursed on a month end (Jan 31): due Feb 28, Mar 31, Apr 30 …", async () => {
    const { preview: p } = await previewMatchesDisbursement(toBank, { on: "2025-01-31", amount: "12000.00", term: 12, method: "EQUAL_INSTALLMENT", mode: "TO_BANK" });
    expect(p.periods.slice(0, 3).map((x) => x.due_date)).toEqual(["2025-02-28", "2025-03-31", "2025-04-30"]);
    expect(p).toMatchObject({ annual_rate: "0.036", rate_basis: "LPR_1Y", lpr_date: "2024-10-21" }); // 3.10% + 0.5%
    expect(p.subsidy).toMatchObject({ mode: "TO_BANK", ratio: "0.7" });
    expect(Number(p.annualised_rate.household)).toBeLessThan(Number(p.annualised_rate.contract));
  });

  it("bullet disbursed on a settlement day (2024-03-20): a first period of one day", async () => {
    const { preview: p } = await previewMatchesDisbursement(toBank, { on: "2024-03-20", amount: "50000.00", term: 36, method: "BULLET_QUARTERLY", mode: "TO_BANK" });
    expect(p.periods[0]).toMatchObject({ accrual_start: "2024-03-20", accrual_end: "2024-03-21", due_date: "2024-03-20", days: 1 });
    expect(p).toMatchObject({ rate_basis: "LPR_5Y", lpr_date: "2024-02-20", annual_rate: "0.0445", maturity_date: "2027-03-20" });
  });

  it("equal principal disbursed on a leap day (2024-02-29), subsidy reimbursed to the household for 12 months", async () => {
    const { preview: p } = await previewMatchesDisbursement(toHousehold, { on: "2024-02-29", amount: "30000.00", term: 24, method: "EQUAL_PRINCIPAL", mode: "TO_HOUSEHOLD" });
    expect(p.periods.slice(0, 2).map((x) => x.due_date)).toEqual(["2024-03-29", "2024-04-29"]);
    expect(p.periods[11].due_date).toBe("2025-02-28");
    expect(p.periods[23].due_date).toBe("2026-02-28");
    // 12 months of subsidy: nothing after the 12th period; the household pays all interest on the due date.
    expect(p.periods.slice(12).every((x) => x.interest_subsidy === "0.00")).toBe(true);
    expect(p.periods.slice(0, 12).every((x) => Number(x.interest_subsidy) > 0 && x.interest_due === x.interest)).toBe(true);
  });

  it("bullet whose maturity is the day after a settlement day: the last period has no days and carries the principal", async () => {
    const { preview: p } = await previewMatchesDisbursement(toHousehold, { on: "2023-12-21", amount: "20000.00", term: 12, method: "BULLET_QUARTERLY", mode: "TO_HOUSEHOLD" });
    const last = p.periods[p.periods.length - 1];
    expect(last).toMatchObject({ due_date: "2024-12-21", days: 0, interest: "0.00", principal: "20000.00" });
    expect(p.periods[0]).toMatchObject({ due_date: "2024-03-20", days: 91 }); // 11 + 31 + 29 (Feb 29, 2024) + 20
    // Fully subsidised at the contract rate (cap: the LPR priced on, the same rate): the household pays no interest.
    expect(p.totals.household_interest).toBe("0.00");
    expect(p.annualised_rate.household).toBe("0.0000");
  });

  it("an explicit rate with a subsidy policy is what a fixed-rate product with that policy disburses", async () => {
    const fixed = (await product(t, { effective_from: "2019-08-20", rate_rule: "FIXED", fixed_rate: "0.0435", subsidy: { ratio: "0.5", rate_cap: "0.0385", mode: "TO_BANK" } })).id;
    const { preview: byProduct } = await previewMatchesDisbursement(fixed, { on: "2022-06-15", amount: "45000.00", term: 30, method: "EQUAL_INSTALLMENT", mode: "TO_BANK" });
    const res = await preview({
      annual_rate: "0.0435",
      subsidy: { ratio: "0.5", rate_cap: "0.0385", mode: "TO_BANK" },
      amount: "45000.00",
      term_months: 30,
      repayment_method: "EQUAL_INSTALLMENT",
      disbursement_date: "2022-06-15",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { product: _p, ...rest } = res.body as Preview;
    const { product: _q, ...expected } = byProduct;
    expect(rest).toEqual(expected);
  });
});

describe("schedule preview: who, what is refused, nothing stored", () => {
  it("refuses what an application refuses, with the same codes", async () => {
    const small = (await product(t, { effective_from: "2024-01-01", max_amount: "30000.00", max_term_months: 12, repayment_methods: ["BULLET_QUARTERLY"] })).id;
    const base = { product_id: small, amount: "20000.00", term_months: 12, disbursement_date: "2024-06-03" };
    expect((await preview(base)).status).toBe(200);
    expectProblem(await preview({ ...base, amount: "30000.01" }), 422, "LOAN_ABOVE_PRODUCT_AMOUNT");
    expectProblem(await preview({ ...base, term_months: 24 }), 422, "LOAN_ABOVE_PRODUCT_TERM");
    expectProblem(await preview({ ...base, repayment_method: "EQUAL_PRINCIPAL" }), 422, "LOAN_METHOD_NOT_OFFERED");
    expectProblem(await preview({ ...base, disbursement_date: "2023-12-31" }), 422, "LOAN_PRODUCT_NOT_AVAILABLE");
    expectProblem(await preview({ ...base, term_months: 37 }), 400, "VALIDATION_FAILED", "body.term_months");
    expectProblem(await preview({ ...base, amount: "0.00" }), 400, "VALIDATION_FAILED", "body.amount");
    expectProblem(await preview({ ...base, amount: "12.345" }), 400, "VALIDATION_FAILED", "body.amount");
    expectProblem(await preview({ ...base, disbursement_date: "2024-02-30" }), 400, "VALIDATION_FAILED", "body.disbursement_date");
    expectProblem(await preview({ ...base, annual_rate: "0.04" }), 400, "VALIDATION_FAILED");
    expectProblem(await preview({ ...base, unknown: 1 }), 400, "VALIDATION_FAILED");
    expectProblem(await preview({ ...base, product_id: "0e000000-0000-4000-8000-000000000999" }), 404, "NOT_FOUND");
    expectProblem(await preview({ annual_rate: "0.0345", amount: "50000.01", term_months: 12, disbursement_date: "2024-06-03" }), 422, "LOAN_ABOVE_HOUSEHOLD_CAP");
    expectProblem(await preview({ annual_rate: "1.5", amount: "5000.00", term_months: 12, disbursement_date: "2024-06-03" }), 400, "VALIDATION_FAILED", "body.annual_rate");
    expectProblem(await preview({ ...base, product_id: undefined, product_code: "NOPE", county_code: "469030", disbursement_date: "2024-06-03" }), 422, "LOAN_PRODUCT_NOT_AVAILABLE");
  });

  it("bank staff and product readers only; another bank's product is not found; nothing is stored", async () => {
    const body = { product_id: toBank, amount: "10000.00", term_months: 12, disbursement_date: "2026-12-01" };
    const count = async () => ({
      loans: Number((await t.db("loans").count<{ n: string }[]>("* as n"))[0].n),
      periods: Number((await t.db("loan_schedule_periods").count<{ n: string }[]>("* as n"))[0].n),
      audit: Number((await t.db("audit_log").count<{ n: string }[]>("* as n"))[0].n),
      keys: Number((await t.db("idempotency_keys").count<{ n: string }[]>("* as n"))[0].n),
    });
    const before = await count();
    for (const who of ["officer", "manager", "admin", "regulator", "finance", "village"] as const) expect((await preview(body, who)).status, who).toBe(200);
    expect((await t.as("officer").post(`${API}/loans/schedule-preview`, body, "some-key")).status).toBe(200);
    expect(await count()).toEqual(before);
    expectProblem(await preview(body, "operator"), 403, "FORBIDDEN");
    expectProblem(await preview(body, "otherBankManager"), 404, "NOT_FOUND");
    expect((await t.http.post(`${API}/loans/schedule-preview`).send(body)).status).toBe(401);
  });
});

describe("product versions that begin in the past", () => {
  it("a back-dated version is the one in force on its dates, priced on the LPR of the date", async () => {
    const current = await product(t, { code: "HIST", effective_from: "2024-01-01" });
    const backDated = await product(t, { code: "HIST", effective_from: "2019-09-01" });
    expect([current.version, backDated.version]).toEqual([1, 2]);
    const inForce = async (on: string) => (await t.as("manager").get(`${API}/loan-products?code=HIST&in_force_on=${on}`)).body.items.map((p: { version: number }) => p.version);
    expect(await inForce("2020-03-01")).toEqual([2]);
    expect(await inForce("2024-06-01")).toEqual([1]);
    expect(await inForce("2019-08-31")).toEqual([]);

    const byCode = async (on: string, term = 12) => preview({ product_code: "HIST", county_code: "469030", amount: "10000.00", term_months: term, disbursement_date: on });
    const old = await byCode("2020-03-01");
    expect(old.body).toMatchObject({ product: { id: backDated.id, version: 2 }, annual_rate: "0.0405", lpr_date: "2020-02-20" });
    expect((await byCode("2020-03-01", 36)).body).toMatchObject({ annual_rate: "0.0475", rate_basis: "LPR_5Y" });
    expect((await byCode("2024-06-01")).body).toMatchObject({ product: { id: current.id, version: 1 }, annual_rate: "0.0345", lpr_date: "2024-02-20" });
    expectProblem(await byCode("2019-08-31"), 422, "LOAN_PRODUCT_NOT_AVAILABLE");

    // A loan disbursed on that past date under the back-dated version has the preview's rate and schedule.
    const { stored } = await previewMatchesDisbursement(backDated.id, { on: "2020-03-01", amount: "10000.00", term: 12, method: "BULLET_QUARTERLY", mode: "TO_HOUSEHOLD" });
    expect(stored[0].due_date).toBe("2020-03-20");

    // A renewal takes the version in force, not the highest number (the back-dated version 2).
    t.clock.set("2025-04-25");
    const loan = await disbursedLoan(t, { product_id: current.id, amount: "8000.00", term_months: 1, repayment_method: "BULLET_QUARTERLY" });
    t.clock.set("2025-05-20");
    const renewed = await t.as("manager").post(`${API}/loans/${loan.id}/renew`, { term_months: 12, reason: "无还本续贷" }, key());
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(201);
    expect(renewed.body.new_loan).toMatchObject({ product_id: current.id, annual_rate: "0.03", lpr_date: "2025-05-20" }); // priced today, the day the LPR fell to 3.00%
  });
});

describe("printable schedule (还款计划表)", () => {
  it("an existing loan: Chinese labels, the annualised rates, the borrower masked", async () => {
    const { preview: p, loanId } = await previewMatchesDisbursement(toBank, { on: "2025-03-03", amount: "40000.00", term: 24, method: "BULLET_QUARTERLY", mode: "TO_BANK" });
    const res = await t.as("officer").get(`${API}/loans/${loanId}/schedule?format=html`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    const html = res.text;
    expect(html).toContain("贷款还款计划表");
    expect(html).toContain("到期还本、按季结息");
    expect(html).toContain(`年化利率（合同）</th><td>${(Number(p.annualised_rate.contract) * 100).toFixed(2)}%`);
    expect(html).toContain(`年化利率（扣除贴息后农户自担）</th><td>${(Number(p.annualised_rate.household) * 100).toFixed(2)}%`);
    expect(html).toContain("王*国");
    expect(html).not.toContain("王建国");
    expect(html).toMatch(/469030\*+/);
    expect(html).toContain(p.totals.interest as string);
    const viaAccept = await t.as("regulator").get(`${API}/loans/${loanId}/schedule`).set("Accept", "text/html");
    expect(viaAccept.headers["content-type"]).toMatch(/^text\/html/);
    expect((await t.as("officer").get(`${API}/loans/${loanId}/schedule`)).headers["content-type"]).toMatch(/^application\/json/);
    expectProblem(await t.as("officer").get(`${API}/loans/${loanId}/schedule?format=pdf`), 400, "VALIDATION_FAILED");
    expect((await t.as("otherBankManager").get(`${API}/loans/${loanId}/schedule?format=html`)).status).toBe(404);
  });

  it("a loan not yet disbursed has no printable schedule", async () => {
    t.clock.set("2025-03-03");
    const h = await household(t);
    const a = await t.as("officer").post(`${API}/loans`, { household_id: h.id, borrower_member_id: h.member, product_id: toBank, amount: "5000.00", term_months: 12, purpose: "BREEDING" });
    expect(a.status).toBe(201);
    expectProblem(await t.as("officer").get(`${API}/loans/${a.body.id}/schedule?format=html`), 409, "INVALID_STATE");
  });

  it("a preview prints with format html or Accept: text/html", async () => {
    const body = { product_id: toBank, amount: "10000.00", term_months: 6, repayment_method: "EQUAL_PRINCIPAL", disbursement_date: "2025-07-01" };
    const json = (await preview(body)).body as Preview;
    const res = await preview({ ...body, format: "html" });
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain("贷款还款计划试算表");
    expect(res.text).toContain("等额本金");
    expect(res.text).toContain(`${(Number(json.annualised_rate.contract) * 100).toFixed(2)}%`);
    for (const period of json.periods) expect(res.text).toContain(`<td>${period.due_date}</td>`);
    const accept = await t.as("officer").post(`${API}/loans/schedule-preview`).set("Accept", "text/html").send(body);
    expect(accept.text).toBe(res.text);
  });
});
