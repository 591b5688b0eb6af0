import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { addDays } from "../../src/lib/dates.js";
import { D } from "../../src/lib/money.js";
import { applyRepaymentBatch, type BatchPayment } from "../../src/modules/loans/index.js";
import { keptSchedule } from "../../src/modules/loans/queries.js";
import { COUNTY, USERS } from "../helpers/fixture.js";
import { twinLoanSpec } from "../helpers/loan-state.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, key, reconciliationOk, setupRates } from "../api/loans-helpers.js";

/*
 * A bank file's settlement-day payments (a current loan paying exactly the interest due on the
 * last closed date) are written set-based without running the model; every other payment is
 * decided by the model (`decideRepayment`). Two twin loans live through the same days; on the
 * morning after a due date the same payments reach A through the model alone and B through the
 * chunk as it is processed. Everything the payments leave behind must be the same: the loan row,
 * every period, the repayments (allocation and kept schedule), the journal entries and lines, the
 * audit records and the outcomes.
 */

const t = useTestApp({ today: "2023-01-02" });

beforeAll(async () => {
  await setupRates(t);
  await t.db("loan_county_settings").insert({ county_code: COUNTY, value_date_days_back: 365 });
});

const scenarioArb = fc.record({
  method: fc.constantFrom("BULLET_QUARTERLY", "BULLET_QUARTERLY", "EQUAL_INSTALLMENT"),
  termMonths: fc.constantFrom(6, 12),
  amountFen: fc.integer({ min: 500_000, max: 5_000_000 }),
  toBank: fc.boolean(),
  graceDays: fc.constantFrom(0, 3),
  /** Which due date the file pays (0: the first). */
  dueIndex: fc.constantFrom(0, 1),
  /** Days after its due date the earlier due date was paid (0: on time; later, it went overdue and took penalty). */
  earlierLate: fc.constantFrom(0, 0, 5),
  /** Days the file's value date lies before the last closed date (0: on it). */
  back: fc.constantFrom(0, 0, 0, 0, 0, 1),
  /** Days after the closed date the file arrives. */
  delay: fc.integer({ min: 1, max: 3 }),
  amount: fc.constantFrom("interest", "interest", "interest", "interest", "interest", "due", "part", "more"),
  /** A second payment of the loan in the same chunk: another, or the first sent twice. */
  second: fc.constantFrom("none", "none", "none", "another", "twice"),
  /** A row of no loan of the bank before the payment. */
  noise: fc.constantFrom(false, false, true),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

let floor = "2023-01-02";
const seen = new Map<string, number>();
const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
/** Settlement-day rows written without the model (the statement that keeps their schedules in SQL). */
let fastStatements = 0;

/** Every id of the twin replaced by a name, so the twins compare. */
function normalise(value: unknown, names: Map<string, string>): unknown {
  let s = JSON.stringify(value);
  for (const [id, name] of names) s = s.replaceAll(id, name);
  return JSON.parse(s);
}

async function fullState(loanId: string, prefix: string) {
  const loan = await t.db("loans").where({ id: loanId }).first();
  const { id: _id, household_id: _h, borrower_member_id: _b, contract_no: _c, created_at: _ca, ...loanRest } = loan;
  const periods = await t.db("loan_schedule_periods").where({ loan_id: loanId }).orderBy("seq").select();
  const reps = await t.db("loan_repayments").where({ loan_id: loanId }).orderBy(["paid_on", "reference"]).select();
  const names = new Map<string, string>([[loanId, "LOAN"], [prefix, "REF"]]);
  reps.forEach((r, k) => names.set(r.id, `REPAYMENT${k}`));
  // The kept schedule as it is read back (packed JSON, or the periods' rows packed on reading).
  const kept = await Promise.all(reps.map((r) => keptSchedule(t.db, r.id)));
  expect(kept.every((k) => k !== null && k.length > 0), "every repayment keeps its schedule").toBe(true);
  const entries = await t.db("journal_entries").where({ ref_type: "loan", ref_id: loanId }).orderBy(["entry_date", "kind", "total"]).select();
  entries.forEach((e, k) => names.set(e.id, `ENTRY${k}`));
  const lines = await t.db("journal_lines").whereIn("entry_id", entries.map((e) => e.id)).orderBy(["entry_id", "account_code"]).select("entry_id", "account_code", "county_code", "party_type", "party_id", "debit", "credit");
  const audit = await t.db("audit_log").where({ entity_type: "loan", entity_id: loanId, request_id: "settlement-day-parity" }).orderBy(["chain", "seq"]).select("occurred_at", "actor_id", "actor_role", "action", "county_code", "request_id", "before", "after");
  return normalise(
    {
      loan: loanRest,
      periods: periods.map(({ loan_id: _l, ...p }) => p),
      // Those entered through the API before (no reference) were stamped by the database's clock.
      repayments: reps.map(({ id: _i, created_at, schedule_before: _s, schedule_kept: _k, ...r }, k) => ({ ...r, kept: kept[k], created_at: r.reference ? created_at : null })),
      entries: entries.map(({ id: _i, created_at: _c, ...e }) => e),
      lines: (normalise(lines, names) as object[]).map((l) => JSON.stringify(l)).sort(),
      audit,
    },
    names,
  );
}

async function runScenario(sc: Scenario) {
  const start = addDays(floor, 1);
  t.clock.set(start);
  const { spec } = await twinLoanSpec(t, { ...sc, markup: "0.5" });
  const a = await disbursedLoan(t, { ...spec, household: await household(t) });
  const b = await disbursedLoan(t, { ...spec, household: await household(t) });
  const dues = (await t.db("loan_schedule_periods").where({ loan_id: a.id }).orderBy("seq").select<{ due_date: string }[]>("due_date")).map((r) => r.due_date);
  const target = dues[Math.min(sc.dueIndex, dues.length - 1)];
  let closed = addDays(start, -1);
  // The earlier due dates paid (all that is owed), on their dates or some days late.
  for (const due of dues.filter((d) => d < target)) {
    const paidOn = addDays(due, sc.earlierLate);
    await runCloseOfBusiness(t.db, addDays(paidOn, -1));
    t.clock.set(paidOn);
    for (const id of [a.id, b.id]) {
      const owed = await t.db("loan_schedule_periods")
        .where({ loan_id: id })
        .andWhere("due_date", "<=", paidOn)
        .first<{ amount: string }>(t.db.raw("sum(principal_due - principal_paid + interest_due - interest_paid + round(penalty_accrued, 2) - penalty_paid)::text AS amount"));
      const r = await t.as("officer").post(`/api/v1/loans/${id}/repayments`, { amount: new D(owed.amount).toFixed(2) }, key());
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    closed = addDays(paidOn, -1);
  }
  // The target date closed (its period DUE); the file comes in a day or more later.
  if (target > closed) {
    await runCloseOfBusiness(t.db, target);
    closed = target;
  }
  const today = addDays(target, sc.delay);
  t.clock.set(today);
  const valueDate = addDays(target, -sc.back);
  const period = (await t.db("loan_schedule_periods").where({ loan_id: a.id, due_date: target }).first())!;
  const interest = new D(period.interest_due).minus(period.interest_paid);
  const due = interest.plus(period.principal_due).minus(period.principal_paid);
  const amount = { interest, due, part: interest.div(3).toDecimalPlaces(2), more: interest.plus("0.01") }[sc.amount].toFixed(2);
  const payments = (loanId: string, ref: string): BatchPayment[] => [
    ...(sc.noise ? [{ key: "0", contractNo: "NO-SUCH-CONTRACT", valueDate, amount, reference: `${ref}-x` }] : []),
    { key: "1", loanId, valueDate, amount: amount === "0.00" ? "0.01" : amount, reference: `${ref}-1` },
    ...(sc.second === "another" ? [{ key: "2", loanId, valueDate, amount: "10.00", reference: `${ref}-2` }] : []),
    ...(sc.second === "twice" ? [{ key: "3", loanId, valueDate, amount, reference: `${ref}-1` }] : []),
  ];
  const { username: _u, ...officer } = USERS.officer;
  const ctx = { actor: { kind: "staff" as const, ...officer }, clock: t.clock, requestId: "settlement-day-parity" };
  const refA = `PA${a.id.slice(0, 8)}`;
  const refB = `PB${b.id.slice(0, 8)}`;
  const before = fastStatements;
  const outA = await t.db.transaction((trx) => applyRepaymentBatch(trx, ctx, payments(a.id, refA), { settlementDayPath: false }));
  expect(fastStatements, "the model alone decides A").toBe(before);
  const outB = await t.db.transaction((trx) => applyRepaymentBatch(trx, ctx, payments(b.id, refB)));
  const fast = fastStatements > before;
  const where = JSON.stringify({ sc, target, valueDate, amount });
  const strip = (o: unknown, id: string, ref: string) => normalise(o, new Map([[id, "LOAN"], [ref, "REF"]])) as { status: string; repaymentId?: string }[];
  const outcomes = (o: { status: string; repaymentId?: string }[]) => o.map(({ repaymentId: _r, ...x }) => x);
  expect(outcomes(strip(outB, b.id, refB)), `outcomes: ${where}`).toEqual(outcomes(strip(outA, a.id, refA)));
  expect(await fullState(b.id, refB), `settlement-day path vs model: ${where}`).toEqual(await fullState(a.id, refA));
  // The file's latest payment reversed on both twins: the schedule each kept (packed JSON by the model, the
  // periods' rows by the settlement-day path) brings the loan back to the same state.
  const latestOf = (id: string) => t.db("loan_repayments").where({ loan_id: id }).whereNull("reversed_at").orderBy([{ column: "paid_on", order: "desc" }, { column: "created_at", order: "desc" }]).first<{ id: string; reference: string | null }>("id", "reference");
  const [ra, rb] = [await latestOf(a.id), await latestOf(b.id)];
  if (ra?.reference?.startsWith(refA) && rb) {
    const revA = await t.as("manager").post(`/api/v1/loans/${a.id}/repayments/${ra.id}/reversal`, { reason: "核对冲正" }, key());
    const revB = await t.as("manager").post(`/api/v1/loans/${b.id}/repayments/${rb.id}/reversal`, { reason: "核对冲正" }, key());
    expect(revB.status, `reversal: ${where} ${JSON.stringify(revB.body)}`).toBe(revA.status);
    if (revA.status === 200) {
      expect(await fullState(b.id, refB), `after reversal: ${where}`).toEqual(await fullState(a.id, refA));
      count(fast ? "fast reversed" : "model reversed");
    }
  }
  count(fast ? "fast" : "model");
  if (outA.some((o) => o.status === "REFUSED" && o.loanId)) count("refused");
  floor = today;
  // The twins leave the portfolio paid off, so later scenarios start from a performing book.
  for (const id of [a.id, b.id]) {
    const l = await t.as("officer").get(`/api/v1/loans/${id}`);
    if (l.body.status !== "REPAID") expect((await t.as("officer").post(`/api/v1/loans/${id}/repayments`, { amount: l.body.payoff_amount }, key())).status).toBe(201);
  }
}

describe("settlement-day path (property)", () => {
  it("a settlement day's payments written set-based leave the same loans, repayments, journal and audit as the model", async () => {
    t.db.on("query", (q: { sql: string }) => {
      if (q.sql.includes("jsonb_build_object('seq', v.seq")) fastStatements += 1;
    });
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => runScenario(sc)),
      { numRuns: Number(process.env.SETTLEMENT_DAY_RUNS ?? 8), seed: Number(process.env.SETTLEMENT_DAY_SEED ?? 20261201), endOnFailure: true },
    );
    await reconciliationOk(t);
    // The generator reaches both paths.
    expect(seen.get("fast") ?? 0).toBeGreaterThan(0);
    expect(seen.get("model") ?? 0).toBeGreaterThan(0);
    expect(seen.get("fast reversed") ?? 0, "a settlement-day payment reversed from the rows it kept").toBeGreaterThan(0);
  }, 600_000);
});
