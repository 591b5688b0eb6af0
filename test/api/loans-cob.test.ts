import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { D, Money } from "../../src/lib/money.js";
import { COB_STEPS, runCloseOfBusiness, SimulatedCrash } from "../../src/jobs/close-of-business.js";
import { accruePenalty } from "../../src/modules/loans/model.js";
import { toState, type PeriodRow } from "../../src/modules/loans/queries.js";
import { buildPortfolio } from "../../scripts/bench/loan-portfolio.js";
import { expectProblem } from "../helpers/expect.js";
import { BANK, COUNTY, VILLAGE } from "../helpers/fixture.js";
import { openTestDb, useTestApp } from "../helpers/harness.js";
import { daysBetween } from "../../src/lib/dates.js";

const t = useTestApp({ today: "2025-06-30" });
let other: { db: Knex; drop: () => Promise<void> };
const portfolio = { loans: 600, asOf: "2025-06-01", bankId: BANK, countyCode: COUNTY, villageCode: VILLAGE, households: 50, defaultEvery: 7 };

beforeAll(async () => {
  other = await openTestDb();
  await buildPortfolio(t.db, portfolio);
  await buildPortfolio(other.db, portfolio);
});
afterAll(async () => {
  await other?.drop();
});

/** Everything the close of business writes, without ids that differ between databases or wall-clock times. */
async function snapshot(db: Knex) {
  const loans = await db("loans")
    .orderBy("id")
    .select("id", "status", "dpd", "dpd_bucket", "overdue_principal", "overdue_interest", "penalty_due", "cur_period_start", "cur_period_end", "cur_period_interest", "standing_date");
  const periods = await db("loan_schedule_periods").orderBy(["loan_id", "seq"]).select("loan_id", "seq", "status", "penalty_accrued", "penalty_through", "settled_on");
  const daily = await db("loan_portfolio_daily").orderBy(["business_date", "county_code", "bank_id"]).select(db.raw("to_jsonb(d) - 'computed_at' AS row")).from({ d: "loan_portfolio_daily" });
  const alerts = await db("alerts").where("entity_type", "loan").orderBy(["entity_id", "kind"]).select("kind", "entity_id", "severity", "business_date", db.raw("cleared_at IS NULL AS open"));
  // Other modules' alerts raised by their steps (e.g. circuit breakers) have ids of their own: compare by kind.
  const otherAlerts = await db("alerts").whereNot("entity_type", "loan").groupBy("kind", "severity").orderBy("kind").select("kind", "severity", db.raw("count(*)::int AS n"));
  const runs = await db("cob_runs").orderBy("business_date").select("business_date", "status", db.raw("(SELECT jsonb_object_agg(k, v->'rows') FROM jsonb_each(steps) AS e(k, v)) AS rows"));
  return { loans, periods, daily, alerts, otherAlerts, runs };
}

describe("close of business", () => {
  it("catches up a gap date by date, and a run killed half-way resumes to the same result", async () => {
    const seen: string[] = [];
    await runCloseOfBusiness(t.db, "2025-06-01");
    const r = await runCloseOfBusiness(t.db, "2025-06-12", { onProgress: (e) => e.step === "portfolio" && seen.push(e.date) });
    expect(r.dates.map((d) => d.business_date)).toEqual(seen);
    expect(seen).toEqual(Array.from({ length: 11 }, (_, k) => `2025-06-${String(k + 2).padStart(2, "0")}`));

    await runCloseOfBusiness(other.db, "2025-06-01");
    await expect(runCloseOfBusiness(other.db, "2025-06-12", { crashAfter: { date: "2025-06-05", step: "accrue_penalty" } })).rejects.toBeInstanceOf(SimulatedCrash);
    const mid = await other.db("cob_runs").where({ business_date: "2025-06-05" }).first();
    expect(mid.status).toBe("RUNNING");
    expect(Object.keys(mid.steps).sort()).toEqual(["accrue_penalty", "mark_due", "subsidy_forfeits"]);
    await runCloseOfBusiness(other.db, "2025-06-12");
    const [a, b] = [await snapshot(t.db), await snapshot(other.db)];
    expect(b.runs.map((x) => x.status)).toEqual(Array(12).fill("DONE"));
    expect(b).toEqual(a);
    expect(a.loans.filter((l) => l.dpd > 0).length).toBeGreaterThan(10);
    expect(new Set(a.loans.map((l) => l.dpd_bucket))).toEqual(new Set(["CURRENT", "DPD_1_30", "DPD_31_90", "DPD_91_180", "DPD_181_PLUS"]));
  });

  it("is idempotent: re-running a closed date, or any step of it, changes nothing", async () => {
    const before = await snapshot(t.db);
    const again = await runCloseOfBusiness(t.db, "2025-06-12");
    expect(again.dates[0].skipped).toBe(true);
    await runCloseOfBusiness(t.db, "2025-06-05");
    for (const step of COB_STEPS) await t.db.transaction((trx) => step.run(trx, "2025-06-12"));
    expect(await snapshot(t.db)).toEqual(before);
  });

  it("accrues the same penalty and days past due as the model", async () => {
    const overdue = await t.db("loans").where("dpd", ">", 100).first();
    const rows = await t.db("loan_schedule_periods").where({ loan_id: overdue.id }).orderBy("seq").select<PeriodRow[]>();
    let total = new D(0);
    let oldest: string | null = null;
    for (const r of rows) {
      const fresh = { ...toState(r), penaltyAccrued: new D(0), penaltyThrough: null };
      const s = accruePenalty(fresh, { annualRate: overdue.annual_rate, markup: overdue.penalty_markup, graceDays: 0, through: "2025-06-12" });
      expect(new D(r.penalty_accrued).minus(s.penaltyAccrued).abs().lt("0.0000001"), `period ${r.seq}`).toBe(true);
      if (r.status === "OVERDUE") {
        total = total.plus(Money.toFen(s.penaltyAccrued));
        if (!oldest || r.due_date < oldest) oldest = r.due_date;
      }
    }
    expect(overdue.penalty_due).toBe(Money.format(total));
    expect(overdue.dpd).toBe(daysBetween(oldest!, "2025-06-12"));
    const daily = await t.db("loan_portfolio_daily").where({ business_date: "2025-06-12", bank_id: BANK }).first();
    const sums = await t.db("loans").whereIn("status", ["DISBURSED", "EXTENDED"]).select(t.db.raw("sum(outstanding_principal)::text AS o, sum(outstanding_principal) FILTER (WHERE dpd > 90)::text AS npl")).first();
    expect([daily.outstanding_principal, daily.npl_principal]).toEqual([Money.format(sums.o), Money.format(sums.npl)]);
    const open = await t.db("alerts").whereNull("cleared_at").where("kind", "like", "loan.overdue.%").count<{ n: number }[]>("* as n");
    const od = await t.db("loans").where("dpd", ">", 0).whereIn("status", ["DISBURSED", "EXTENDED"]).count<{ n: number }[]>("* as n");
    expect(Number(open[0].n)).toBe(Number(od[0].n));
  });

  it("deletes the answers stored for Idempotency-Keys past their lifetime, and only those", async () => {
    const key = (k: string, hoursAgo: number) => ({
      owner: "cob-test",
      key: k,
      method: "POST",
      path: "/api/v1/loans/x/repayments",
      request_hash: "h",
      status_code: 201,
      response_body: JSON.stringify({ sealed: "…" }),
      created_at: t.db.raw(`now() - interval '${hoursAgo} hours'`),
    });
    await t.db("idempotency_keys").insert([key("old", 30), key("just-expired", 24.5), key("live", 23), key("new", 0)]);
    const step = COB_STEPS.find((s) => s.name === "expired_idempotency_keys")!;
    expect(await t.db.transaction((trx) => step.run(trx, "2025-06-12"))).toBe(2);
    expect(await t.db("idempotency_keys").where({ owner: "cob-test" }).orderBy("key").pluck("key")).toEqual(["live", "new"]);
    expect(await t.db.transaction((trx) => step.run(trx, "2025-06-12"))).toBe(0);
  });

  it("runs through the API for admins, never for a future date", async () => {
    expectProblem(await t.as("admin").post("/api/v1/jobs/close-of-business", { business_date: "2025-07-01" }), 422, "COB_FUTURE_DATE");
    expectProblem(await t.as("officer").post("/api/v1/jobs/close-of-business", { business_date: "2025-06-13" }), 403, "FORBIDDEN");
    const r = await t.as("admin").post("/api/v1/jobs/close-of-business", { business_date: "2025-06-14" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.dates.map((d: { business_date: string }) => d.business_date)).toEqual(["2025-06-13", "2025-06-14"]);
    expect(Object.keys(r.body.dates[1].steps).sort()).toEqual(COB_STEPS.map((s) => s.name).sort());
  });
});
