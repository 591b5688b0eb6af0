import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { setCreditLineProvider } from "../../src/modules/loans/credit.js";
import { createHousehold } from "../helpers/factories.js";
import type { TestApp } from "../helpers/harness.js";
import type { UserName } from "../helpers/fixture.js";

/**
 * Credit lines for loan tests: a household's effective rating is set here (the ratings module's
 * own tests cover how a rating becomes effective).
 */
const lines = new Map<string, { grade: string; line: string }>();
export function grantLine(householdId: string, line = "50000.00", grade = "AAA") {
  lines.set(householdId, { grade, line });
}
export function restoreStubLines() {
  setCreditLineProvider(async (_db, householdId) => {
    const l = lines.get(householdId);
    if (!l) return null;
    return { grade: l.grade, line: l.line, used: "0.00", available: l.line, valid_until: "2099-12-31", rating_id: "0d000000-0000-4000-8000-000000000001" };
  });
}
restoreStubLines();

export const key = () => randomUUID();

export async function setupRates(t: TestApp) {
  const r = await t.as("admin").post("/api/v1/rate-tables", { publication_date: "2020-01-20", lpr_1y: "0.0345", lpr_5y: "0.0395" });
  if (r.status !== 201 && r.status !== 409) throw new Error(JSON.stringify(r.body));
}

export async function product(t: TestApp, body: Record<string, unknown> = {}) {
  const r = await t.as("manager").post("/api/v1/loan-products", {
    county_code: "469030",
    code: `P${Math.floor(Math.random() * 1e9)}`,
    name: "扶贫小额信贷",
    effective_from: "2020-01-01",
    repayment_methods: ["BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"],
    // The lifecycle tests follow the contract interest, which the household pays itself under
    // TO_HOUSEHOLD; TO_BANK (the household pays interest − subsidy) has tests of its own.
    subsidy: { mode: "TO_HOUSEHOLD" },
    ...body,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; code: string; version: number };
}

export async function household(t: TestApp, opts: { line?: string; birth?: string } = {}) {
  const h = await createHousehold(t, { members: [{ relation: "HEAD", birth: opts.birth ?? "1980-05-17" }, { relation: "SPOUSE", birth: "1982-03-03" }] });
  if (opts.line !== "none") grantLine(h.id, opts.line ?? "50000.00");
  return { id: h.id, member: h.members[0].id };
}

export interface LoanSpec {
  amount?: string;
  term_months?: number;
  repayment_method?: string;
  purpose?: string;
  product_id: string;
  household?: { id: string; member: string };
  as?: UserName;
}

export async function apply(t: TestApp, s: LoanSpec) {
  const h = s.household ?? (await household(t));
  return t.as(s.as ?? "officer").post("/api/v1/loans", {
    household_id: h.id,
    borrower_member_id: h.member,
    product_id: s.product_id,
    amount: s.amount ?? "50000.00",
    term_months: s.term_months ?? 36,
    ...(s.repayment_method ? { repayment_method: s.repayment_method } : {}),
    purpose: s.purpose ?? "BREEDING",
  });
}

/** Apply → approve → disburse on the clock's date; returns the disbursed loan. */
export async function disbursedLoan(t: TestApp, s: LoanSpec) {
  const a = await apply(t, s);
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  const ap = await t.as("manager").post(`/api/v1/loans/${a.body.id}/approve`, {});
  expect(ap.status, JSON.stringify(ap.body)).toBe(200);
  const d = await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, {}, key());
  expect(d.status, JSON.stringify(d.body)).toBe(200);
  return d.body as { id: string; maturity_date: string; annual_rate: string; outstanding_principal: string; status: string };
}

export async function repay(t: TestApp, id: string, amount: string, k = key()) {
  return t.as("officer").post(`/api/v1/loans/${id}/repayments`, { amount }, k);
}

export async function schedule(t: TestApp, id: string) {
  const r = await t.as("officer").get(`/api/v1/loans/${id}/schedule`);
  expect(r.status).toBe(200);
  return r.body as { periods: { seq: number; due_date: string; days: number; principal: string; interest: string; principal_paid: string; interest_paid: string; penalty: string; outstanding: string; overdue: boolean; status: string }[]; totals: Record<string, string | number> };
}

export async function reconciliationOk(t: TestApp) {
  const r = await t.as("admin").get("/api/v1/ledger/reconciliation");
  expect(r.status).toBe(200);
  const loans = (r.body.checks as { name: string; ok: boolean; differences: unknown[] }[]).find((c) => c.name === "loan_principal");
  expect(loans, JSON.stringify(r.body)).toBeDefined();
  expect(loans!.differences).toEqual([]);
  expect(r.body.trial_balance.balanced).toBe(true);
}
