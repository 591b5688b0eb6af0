import { loanState as twinState, twinLoanSpec, twinLoanTerms } from "../helpers/loan-state.js";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { addDays } from "../../src/lib/dates.js";
import { D } from "../../src/lib/money.js";
import { createHousehold, idNumber } from "../helpers/factories.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, grantLine, household, key, reconciliationOk, setupRates } from "../api/loans-helpers.js";

/*
 * Migration of existing loans (存量贷款迁移): a loan migrated with its history equals the same loan
 * lived on the platform from its first day. A random loan (product with a random penalty markup,
 * grace days and subsidy mode; method, amount, term) is disbursed through the API on its date and
 * repaid on random dates by random amounts (partial, early, the payoff), with the close of business
 * run for every date up to the end, as the nightly job would. The next day its twin is migrated from
 * a file holding the same contract and the repayments the live loan took. Every period (statuses,
 * amounts paid, penalty, subsidy shares), the loan's standing, the repayments' allocation and the
 * loan's principal receivable (1301) of the two are the same, and the ledger reconciles.
 */

const t = useTestApp({ today: "2023-01-02" });

beforeAll(async () => {
  await setupRates(t);
});

const paymentArb = fc.record({
  /** Days after the previous payment's value date (or the disbursement). */
  gap: fc.integer({ min: 0, max: 50 }),
  /** Per cent of what closes the loan on the value date (100: the payoff). */
  ratio: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant(100)),
});
const scenarioArb = fc.record({
  ...twinLoanTerms,
  payments: fc.array(paymentArb, { minLength: 0, maxLength: 3 }),
  /** Days the world runs on after the last payment. */
  tail: fc.integer({ min: 0, max: 40 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

let floor = "2023-01-02";
const seen = new Map<string, number>();
const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);

async function loanState(id: string) {
  const principal = await t.db("journal_lines").where({ account_code: "1301", party_type: "loan", party_id: id }).first(t.db.raw("coalesce(sum(debit), 0) - coalesce(sum(credit), 0) AS net"));
  return { ...(await twinState(t.db, id)), principalReceivable: new D(principal.net).toFixed(2) };
}

async function runScenario(sc: Scenario) {
  const start = addDays(floor, 1);
  t.clock.set(start);
  const { product: p, spec } = await twinLoanSpec(t, sc);
  const { amount } = spec;
  const live = await disbursedLoan(t, { ...spec, household: await household(t) });

  // The live loan: each payment on its date, the close of business of every date before it first.
  const taken: { value_date: string; amount: string; reference: string }[] = [];
  let closed = addDays(start, -1);
  let vd = start;
  for (const [k, x] of sc.payments.entries()) {
    vd = addDays(vd, x.gap);
    if (addDays(vd, -1) > closed) {
      closed = addDays(vd, -1);
      await runCloseOfBusiness(t.db, closed);
    }
    t.clock.set(vd);
    const l = await t.as("officer").get(`/api/v1/loans/${live.id}`);
    if (l.body.status === "REPAID") break;
    const payoff = l.body.payoff_amount as string;
    let pay = x.ratio === 100 ? payoff : new D(payoff).mul(x.ratio).div(100).toDecimalPlaces(2).toFixed(2);
    if (pay === "0.00") pay = "0.01";
    const reference = `L-${live.id.slice(0, 8)}-${k}`;
    const r = await t.as("officer").post(`/api/v1/loans/${live.id}/repayments`, { amount: pay, reference }, key());
    if (r.status >= 500) throw new Error(JSON.stringify(r.body));
    if (r.status === 201) taken.push({ value_date: vd, amount: pay, reference: `M-${reference}` });
    else count(`refused ${r.body.code}`);
  }
  const end = addDays(vd, sc.tail);
  if (end > closed) await runCloseOfBusiness(t.db, end);

  // Its twin, migrated the next day with the same contract and the repayments the live loan took.
  t.clock.set(addDays(end, 1));
  const idNo = idNumber("1981-02-03");
  const h = await createHousehold(t, { members: [{ relation: "HEAD", id_number: idNo, birth: "1981-02-03" }] });
  grantLine(h.id);
  const contractNo = `M-${live.id.slice(0, 12)}`;
  const row = { contract_no: contractNo, borrower_id_number: idNo, product_code: p.code, amount, annual_rate: "0.0435", repayment_method: sc.method, term_months: sc.termMonths, disbursed_on: start, purpose: "BREEDING", repayments: taken };
  const m = await t.as("manager").post("/api/v1/loan-migrations", { loans: [row] }, key());
  expect(m.status, JSON.stringify(m.body)).toBe(200);
  expect(m.body.migrated, JSON.stringify(m.body)).toBe(1);
  const twin = m.body.results[0].loan_id as string;

  const where = JSON.stringify({ sc, start, end, taken });
  const [a, b] = [await loanState(live.id), await loanState(twin)];
  expect(b, `migrated vs lived: ${where}`).toEqual(a);
  count(a.loan.status);
  count(`${taken.length} repayments`);
  if (a.loan.dpd > 0) count("overdue");
  if (a.periods.some((x) => new D(x.penalty).gt(0))) count("penalty");
  if (a.periods.some((x) => x.subsidy_forfeited)) count("forfeit");
  if (sc.toBank) count("TO_BANK");

  // Both leave the portfolio paid off, so later runs start from a performing book (the circuit breaker).
  for (const id of [live.id, twin]) {
    const l = await t.as("officer").get(`/api/v1/loans/${id}`);
    if (l.body.status !== "REPAID") expect((await t.as("officer").post(`/api/v1/loans/${id}/repayments`, { amount: l.body.payoff_amount }, key())).status).toBe(201);
  }
  floor = addDays(end, 1);
}

describe("loan migration (property)", () => {
  it("a loan migrated with its history equals the same loan lived on the platform day by day", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => runScenario(sc)),
      { numRuns: Number(process.env.MIGRATION_PARITY_RUNS ?? 6), seed: Number(process.env.MIGRATION_PARITY_SEED ?? 20261202), endOnFailure: true },
    );
    await reconciliationOk(t);
    // The generator reaches the cases it is for (with the fixed seed; another seed checks parity only).
    if (process.env.MIGRATION_PARITY_SEED) return;
    const reached = JSON.stringify([...seen]);
    for (const c of ["DISBURSED", "REPAID", "penalty", "TO_BANK"]) expect(seen.get(c) ?? 0, `${c}: ${reached}`).toBeGreaterThan(0);
    expect((seen.get("1 repayments") ?? 0) + (seen.get("2 repayments") ?? 0) + (seen.get("3 repayments") ?? 0), reached).toBeGreaterThan(0);
  }, 600_000);
});
