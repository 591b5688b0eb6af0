import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { addDays } from "../../src/lib/dates.js";
import { D } from "../../src/lib/money.js";
import { COUNTY } from "../helpers/fixture.js";
import { loanState as twinState, twinLoanSpec, twinLoanTerms } from "../helpers/loan-state.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, key, reconciliationOk, setupRates } from "../api/loans-helpers.js";

/*
 * Value dates (起息日): a repayment entered late with its value date leaves the same loan as the
 * same repayment entered on its date. Three twin loans of random products live through the same
 * days of close of business (run date by date, as the nightly job would):
 *   A  every payment entered on its date;
 *   B  every payment entered days later, with its value date;
 *   C  as A, then its last payment reversed (冲正) by the bank manager and entered again with its value date;
 *   D  every payment sent late in a bank's repayment file (还款文件), with its value date, as B's.
 * At the end every period (statuses, amounts paid, penalty, subsidy shares), the loan's standing,
 * the repayments' allocation and the journal postings of the three are the same, and the ledger
 * reconciles with the loans.
 */

const t = useTestApp({ today: "2023-01-02" });

beforeAll(async () => {
  await setupRates(t);
  await t.db("loan_county_settings").insert({ county_code: COUNTY, value_date_days_back: 365 });
});

const paymentArb = fc.record({
  /** Days after the previous payment's value date (or the disbursement). */
  gap: fc.integer({ min: 0, max: 45 }),
  /** Per cent of what closes the loan on the value date (100: the payoff). */
  ratio: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant(100)),
  /** Days between the value date and B's entry. */
  delay: fc.integer({ min: 1, max: 12 }),
});
const scenarioArb = fc.record({
  ...twinLoanTerms,
  payments: fc.array(paymentArb, { minLength: 1, maxLength: 3 }),
  /** Days the world runs on after the last entry. */
  tail: fc.integer({ min: 0, max: 20 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

let floor = "2023-01-02";
const seen = new Map<string, number>();
const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);

type Action = { date: string; order: number; run: () => Promise<void> };

async function loanState(id: string) {
  const postings = await t.db("journal_lines as jl")
    .join("journal_entries as je", "je.id", "jl.entry_id")
    .where({ "je.ref_type": "loan", "je.ref_id": id })
    .groupBy("jl.account_code")
    .orderBy("jl.account_code")
    .select("jl.account_code", t.db.raw("coalesce(sum(jl.debit), 0)::text AS debit"), t.db.raw("coalesce(sum(jl.credit), 0)::text AS credit"));
  return { ...(await twinState(t.db, id)), postings: postings.map((p) => ({ account: p.account_code, net: new D(p.debit).minus(p.credit).toFixed(2) })) };
}

async function runScenario(sc: Scenario) {
  const start = addDays(floor, 1);
  t.clock.set(start);
  const { spec } = await twinLoanSpec(t, sc);
  const twin = async () => disbursedLoan(t, { ...spec, household: await household(t) });
  const [a, b, c, d] = [await twin(), await twin(), await twin(), await twin()];

  // Value dates and B's entry dates (never before an earlier entry: history is not reordered).
  let vd = start;
  let entered = start;
  const plan = sc.payments.map((x) => {
    vd = addDays(vd, x.gap);
    entered = addDays(vd, x.delay) > entered ? addDays(vd, x.delay) : entered;
    return { ...x, vd, enteredOn: entered };
  });
  const amounts: (string | null)[] = [];
  const outcomes = { a: [] as number[], b: [] as number[], c: [] as number[], d: [] as number[] };
  const payByFile = async (loanId: string, k: number, valueDate: string, ref: string) => {
    const r = await t.as("officer").post("/api/v1/repayment-files", { rows: [{ loan_id: loanId, value_date: valueDate, amount: amounts[k], reference: ref }] }, key());
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    for (;;) {
      const f = await t.as("officer").get(`/api/v1/repayment-files/${r.body.id}`);
      if (f.body.status === "DONE") return f.body.rows[0].status === "APPLIED" ? 201 : 422;
      expect(f.body.status).not.toBe("FAILED");
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const pay = async (loanId: string, k: number, valueDate: string | undefined, ref: string) => {
    const r = await t.as("officer").post(`/api/v1/loans/${loanId}/repayments`, { amount: amounts[k], reference: ref, ...(valueDate ? { value_date: valueDate } : {}) }, key());
    if (r.status >= 500) throw new Error(JSON.stringify(r.body));
    return r.status;
  };
  const actions: Action[] = [];
  plan.forEach((x, k) => {
    actions.push({
      date: x.vd,
      order: 0,
      run: async () => {
        // What closes the loan on the value date, read from A on time: every world pays the same sum.
        const l = await t.as("officer").get(`/api/v1/loans/${a.id}`);
        const payoff = l.body.payoff_amount as string | null;
        amounts[k] = payoff && l.body.status !== "REPAID" ? (x.ratio === 100 ? payoff : new D(payoff).mul(x.ratio).div(100).toDecimalPlaces(2).toFixed(2)) : "100.00";
        if (amounts[k] === "0.00") amounts[k] = "0.01";
        outcomes.a.push(await pay(a.id, k, undefined, `A-${a.id}-${k}`));
        outcomes.c.push(await pay(c.id, k, undefined, `C-${c.id}-${k}`));
      },
    });
    actions.push({
      date: x.enteredOn,
      order: 1,
      run: async () => {
        outcomes.b.push(await pay(b.id, k, x.vd, `B-${b.id}-${k}`));
        outcomes.d.push(await payByFile(d.id, k, x.vd, `D-${d.id}-${k}`));
      },
    });
  });
  actions.sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : x.order - y.order));

  let closed = addDays(start, -1);
  for (const act of actions) {
    if (addDays(act.date, -1) > closed) {
      closed = addDays(act.date, -1);
      await runCloseOfBusiness(t.db, closed);
    }
    t.clock.set(act.date);
    await act.run();
  }
  const end = addDays(plan[plan.length - 1].enteredOn, sc.tail);
  if (end > closed) await runCloseOfBusiness(t.db, end);
  // C: the last payment applied is reversed the day after, then entered again with its value date.
  t.clock.set(addDays(end, 1));
  const last = await t.db("loan_repayments").where({ loan_id: c.id }).whereNull("reversed_at").orderBy([{ column: "paid_on", order: "desc" }, { column: "created_at", order: "desc" }]).first();
  if (last) {
    const lastK = plan.findIndex((x) => x.vd === last.paid_on && amounts[plan.indexOf(x)] === last.amount);
    const rev = await t.as("manager").post(`/api/v1/loans/${c.id}/repayments/${last.id}/reversal`, { reason: "柜员录错金额" }, key());
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    const again = await t.as("officer").post(`/api/v1/loans/${c.id}/repayments`, { amount: last.amount, reference: `C2-${last.id}`, value_date: last.paid_on }, key());
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    count(lastK >= 0 ? "reversed" : "reversed-unmatched");
  }
  floor = addDays(end, 1);

  expect(outcomes.b, "B refused exactly what A refused").toEqual(outcomes.a);
  expect(outcomes.d.map((x) => x === 201), "the file refused exactly what A refused").toEqual(outcomes.a.map((x) => x === 201));
  const [sa, sb, scc, sd] = [await loanState(a.id), await loanState(b.id), await loanState(c.id), await loanState(d.id)];
  const where = JSON.stringify({ sc, plan, amounts });
  expect(sb, `late entry vs on time: ${where}`).toEqual(sa);
  expect(scc, `reversal and re-entry vs on time: ${where}`).toEqual(sa);
  expect(sd, `repayment file vs on time: ${where}`).toEqual(sa);
  count(sa.loan.status);
  if (sa.periods.some((x) => new D(x.penalty).gt(0))) count("penalty");
  if (sa.periods.some((x) => x.subsidy_forfeited)) count("forfeit");
  if (outcomes.a.some((s) => s !== 201)) count("refused");
  // The twins leave the portfolio paid off, so later scenarios start from a performing book.
  for (const id of [a.id, b.id, c.id, d.id]) {
    const l = await t.as("officer").get(`/api/v1/loans/${id}`);
    if (l.body.status !== "REPAID") expect((await t.as("officer").post(`/api/v1/loans/${id}/repayments`, { amount: l.body.payoff_amount }, key())).status).toBe(201);
  }
}

describe("value dates (property)", () => {
  it("a repayment entered late with its value date, or reversed and entered again, leaves the same loan as entered on time", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => runScenario(sc)),
      // A fixed seed by default, so the suite checks the same cases every run (the coverage checks below
      // need a loan still open at the end); VALUE_DATE_SEED explores others.
      { numRuns: Number(process.env.VALUE_DATE_RUNS ?? 6), seed: Number(process.env.VALUE_DATE_SEED ?? 20261201), endOnFailure: true },
    );
    await reconciliationOk(t);
    // The generator reaches the cases it is for.
    expect(seen.get("DISBURSED") ?? 0).toBeGreaterThan(0);
    expect(seen.get("reversed") ?? 0).toBeGreaterThan(0);
  }, 600_000);
});
