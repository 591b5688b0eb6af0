import type { Knex } from "knex";
import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/knex.js";
import { runCloseOfBusiness, SimulatedCrash } from "../../src/jobs/close-of-business.js";
import { CLOSE_OF_BUSINESS, createRegistry } from "../../src/jobs/registry.js";
import { JobScheduler, targetDate } from "../../src/jobs/scheduler.js";
import { FixedClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { expectProblem } from "../helpers/expect.js";
import { BANK, COUNTY, OTHER_COUNTY } from "../helpers/fixture.js";
import { onPostgres, openTestDb, useTestApp } from "../helpers/harness.js";

const API = "/api/v1";
const t = useTestApp({ today: "2025-06-02" });
const silent = createLogger("silent");
/** A moment in Asia/Shanghai time. */
const at = (date: string, hhmm: string) => new Date(`${date}T${hhmm}:00+08:00`);
const scheduler = (db: Knex, clock: FixedClock, registry = createRegistry()) => new JobScheduler({ db, clock, logger: silent, registry });
/** A tick runs every job for every county, over several dates: room for a loaded machine. */
const SLOW = 240_000;
const runsOf = (db: Knex, job: string) => db("job_runs").where({ job }).orderBy("id").select("id", "scope", "trigger", "business_dates", "outcome", "error");

describe("scheduler: which date a firing closes", () => {
  it("closes the previous day after midnight for the close of business, the day itself for the others, in Asia/Shanghai time", () => {
    expect(targetDate({ dates: "previous" }, "30 0 * * *", at("2025-06-03", "00:29"))).toBe("2025-06-01");
    expect(targetDate({ dates: "previous" }, "30 0 * * *", at("2025-06-03", "00:30"))).toBe("2025-06-02");
    expect(targetDate({ dates: "current" }, "0 8 * * *", at("2025-06-03", "07:59"))).toBe("2025-06-02");
    expect(targetDate({ dates: "current" }, "0 8 * * *", at("2025-06-03", "08:00"))).toBe("2025-06-03");
  });
});

describe("scheduler: two server processes at the same moment", () => {
  it.skipIf(!onPostgres)("runs each of the night's jobs exactly once (PostgreSQL advisory lock; PGlite is one process and one connection, nothing to race)", async () => {
    const fresh = await openTestDb();
    const url = (fresh.db.client.config as { connection: string }).connection;
    const second = createDb({ databaseUrl: url, poolMax: 5 });
    try {
      const clock = new FixedClock(at("2025-06-03", "09:00"));
      const [a, b] = await Promise.all([scheduler(fresh.db, clock).tick(), scheduler(second, clock).tick()]);
      const ran = [...a, ...b].filter((o) => o.outcome === "ran").map((o) => `${o.job}/${o.scope}`);
      // Five jobs: close of business and housekeeping once, three county jobs for each of the two counties.
      expect(ran.sort()).toEqual(
        [
          "close_of_business/*",
          "housekeeping/*",
          ...["oversight_alerts", "subsidy_claim_reminders", "trusteeship_arrears"].flatMap((j) => [`${j}/${COUNTY}`, `${j}/${OTHER_COUNTY}`]),
        ].sort(),
      );
      const perJob = await fresh.db("job_runs").groupBy("job", "scope").select("job", "scope", fresh.db.raw("count(*)::int AS n"));
      expect(perJob.every((r) => r.n === 1), JSON.stringify(perJob)).toBe(true);
      expect(perJob).toHaveLength(8);
      const closes = await fresh.db("audit_log").where({ action: "cob.complete", entity_id: "2025-06-02" }).count<{ n: string }[]>("* as n");
      expect(Number(closes[0].n)).toBe(1);
      expect(await fresh.db("cob_runs").where({ job: CLOSE_OF_BUSINESS }).pluck("business_date")).toEqual(["2025-06-02"]);
    } finally {
      await second.destroy();
      await fresh.drop();
    }
  }, SLOW);
});

describe("scheduler: the nights it missed", () => {
  it("runs the close of business after midnight for the previous day, then catches up three missed days in order", async () => {
    const clock = new FixedClock(at("2025-06-03", "00:31"));
    const s = scheduler(t.db, clock);
    const first = await s.tick();
    expect(first.find((o) => o.job === CLOSE_OF_BUSINESS)).toMatchObject({ outcome: "ran", target: "2025-06-02", dates: ["2025-06-02"] });

    // Down for three nights: on its first tick it closes 06-03, 06-04 and 06-05 in order, in one run.
    clock.set(at("2025-06-06", "00:45"));
    const back = await s.tick();
    expect(back.find((o) => o.job === CLOSE_OF_BUSINESS)).toMatchObject({ outcome: "ran", target: "2025-06-05", dates: ["2025-06-03", "2025-06-04", "2025-06-05"] });
    const runs = await runsOf(t.db, CLOSE_OF_BUSINESS);
    expect(runs.map((r) => [r.trigger, r.outcome, r.business_dates])).toEqual([
      ["schedule", "SUCCEEDED", ["2025-06-02"]],
      ["schedule", "SUCCEEDED", ["2025-06-03", "2025-06-04", "2025-06-05"]],
    ]);
    const ledger = await t.db("cob_runs").where({ job: CLOSE_OF_BUSINESS }).orderBy("finished_at").select("business_date", "status");
    expect(ledger).toEqual(["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05"].map((d) => ({ business_date: d, status: "DONE" })));
    // The county jobs (08:00, 08:30) last fired on 06-05 and close that day, catching up 06-03 and 06-04 first.
    const county = await runsOf(t.db, "trusteeship_arrears");
    expect(county.filter((r) => r.scope === COUNTY).map((r) => r.business_dates)).toEqual([["2025-06-02"], ["2025-06-03", "2025-06-04", "2025-06-05"]]);

    // Another tick in the same minute, or a restart, finds everything closed and runs nothing.
    const count = async () => Number((await t.db("job_runs").count<{ n: string }[]>("* as n"))[0].n);
    const before = await count();
    expect(await s.tick()).toEqual([]);
    expect(await scheduler(t.db, clock).tick()).toEqual([]);
    expect(await count()).toBe(before);
  }, SLOW);

  it("reminds of a subsidy claim approved more than 30 days ago and not paid, in that county only, and clears it once paid", async () => {
    const [claim] = await t.db("subsidy_claims")
      .insert({ county_code: COUNTY, bank_id: BANK, quarter: "2025Q1", quarter_start: "2025-01-01", quarter_end: "2025-03-31", status: "APPROVED", generated_on: "2025-04-03", approved_on: "2025-05-06" })
      .returning("id");
    const open = () => t.db("alerts").where({ kind: "subsidy.claim_unpaid", entity_id: claim.id }).whereNull("cleared_at").select("county_code", "severity", "business_date");
    const clock = new FixedClock(at("2025-06-06", "08:30"));
    await scheduler(t.db, clock).tick(); // 31 days after approval
    expect(await open()).toEqual([{ county_code: COUNTY, severity: "WARNING", business_date: "2025-06-06" }]);
    await t.db("subsidy_claims").where({ id: claim.id }).update({ status: "PAID", paid_on: "2025-06-06" });
    clock.set(at("2025-06-07", "08:30"));
    await scheduler(t.db, clock).tick();
    expect(await open()).toEqual([]);
  }, SLOW);
});

describe("scheduler: a step that fails", () => {
  it("records the failure without personal data, raises an alert, and a later run resumes and clears it", async () => {
    const failing = createRegistry();
    failing.step({
      job: "subsidy_claim_reminders",
      name: "notify_finance_bureau",
      order: 200,
      module: "test",
      run: async () => {
        throw new Error("finance bureau gateway refused household 110101199003071234");
      },
    });
    const clock = new FixedClock(at("2025-06-08", "08:30"));
    const outcomes = await scheduler(t.db, clock, failing).tick();
    expect(outcomes.filter((o) => o.job === "subsidy_claim_reminders").map((o) => o.outcome)).toEqual(["failed", "failed"]);
    expect(outcomes.find((o) => o.job === CLOSE_OF_BUSINESS)?.outcome).toBe("ran"); // the other jobs still run

    const [failed] = await t.db("job_runs").where({ job: "subsidy_claim_reminders", scope: COUNTY, outcome: "FAILED" }).select("id", "error", "business_dates", "steps");
    expect(failed.error).toBe("finance bureau gateway refused household ********");
    expect(failed.business_dates).toEqual(["2025-06-08"]);
    expect(failed.steps).toEqual([{ business_date: "2025-06-08", step: "unpaid_claims", rows: 0, ms: expect.any(Number) }]);
    const alert = await t.db("alerts").where({ kind: "job.failed", entity_id: `subsidy_claim_reminders/${COUNTY}` }).whereNull("cleared_at").first();
    expect(alert).toMatchObject({ county_code: COUNTY, severity: "CRITICAL", entity_type: "job", business_date: "2025-06-08" });
    expect(alert.message).not.toMatch(/110101/);

    // The regulator sees the alert and the failed run through the API.
    const alerts = await t.as("regulator").get(`${API}/alerts?kind=job.failed`);
    expect(alerts.status).toBe(200);
    expect(alerts.body.items.map((a: { entity_id: string }) => a.entity_id)).toEqual([`subsidy_claim_reminders/${COUNTY}`]);
    const shown = await t.as("regulator").get(`${API}/jobs/${failed.id}`);
    expect(shown.status, JSON.stringify(shown.body)).toBe(200);
    expect(shown.body).toMatchObject({ id: String(failed.id), job: "subsidy_claim_reminders", county_code: COUNTY, outcome: "FAILED", error: failed.error, business_dates: ["2025-06-08"] });
    expect(shown.body.steps.map((s: { step: string }) => s.step)).toEqual(["unpaid_claims"]);

    // Fixed: the next tick resumes the date at the step that failed (the one before it is not run again) and clears the alert.
    clock.set(at("2025-06-08", "08:31"));
    const again = await scheduler(t.db, clock).tick();
    expect(again.filter((o) => o.job === "subsidy_claim_reminders").map((o) => [o.scope, o.outcome, o.dates])).toEqual([
      [OTHER_COUNTY, "ran", ["2025-06-08"]], // counties in code order: 469025 before 469030
      [COUNTY, "ran", ["2025-06-08"]],
    ]);
    const resumed = await t.db("job_runs").where({ job: "subsidy_claim_reminders", scope: COUNTY }).orderBy("id", "desc").first();
    expect([resumed.outcome, resumed.steps]).toEqual(["SUCCEEDED", []]);
    expect(Number((await t.db("alerts").where({ kind: "job.failed" }).whereNull("cleared_at").count<{ n: string }[]>("* as n"))[0].n)).toBe(0);
  }, SLOW);
});

describe("scheduler: a process that ends in the middle of a run", () => {
  it("leaves the run RUNNING; the next run marks it ABANDONED and resumes the date at the first unfinished step", async () => {
    const clock = new FixedClock(at("2025-06-09", "00:31"));
    await expect(runCloseOfBusiness(t.db, "2025-06-08", { clock, trigger: "cli", crashAfter: { date: "2025-06-08", step: "standing" } })).rejects.toBeInstanceOf(SimulatedCrash);
    const cut = await t.db("job_runs").where({ job: CLOSE_OF_BUSINESS }).orderBy("id", "desc").first();
    expect([cut.trigger, cut.outcome]).toEqual(["cli", "RUNNING"]);

    const outcomes = await scheduler(t.db, clock).tick();
    expect(outcomes).toEqual([expect.objectContaining({ job: CLOSE_OF_BUSINESS, outcome: "ran", dates: ["2025-06-08"] })]);
    const [abandoned, resumed] = await t.db("job_runs").where({ job: CLOSE_OF_BUSINESS }).where("id", ">=", cut.id).orderBy("id").select("outcome", "steps", "error");
    const names = (r: { steps: { step: string }[] }) => r.steps.map((x) => x.step);
    expect([abandoned.outcome, names(abandoned)]).toEqual(["ABANDONED", ["mark_due", "subsidy_forfeits", "accrue_penalty", "roll_periods", "standing"]]);
    expect([resumed.outcome, names(resumed)]).toEqual(["SUCCEEDED", ["alerts", "portfolio", "loans_closed_through", "trusteeship_arrears", "oversight_alerts", "circuit_breakers", "expired_idempotency_keys", "audit_seal"]]);
  }, SLOW);
});

describe("GET /jobs", () => {
  it("lists runs newest first, filtered and paginated, bounded to the caller's counties", async () => {
    const all = await t.as("admin").get(`${API}/jobs?limit=500`);
    expect(all.status).toBe(200);
    const ids = all.body.items.map((r: { id: string }) => Number(r.id));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect(new Set(all.body.items.map((r: { county_code: string | null }) => r.county_code))).toEqual(new Set([null, COUNTY]));

    const cob = await t.as("finance").get(`${API}/jobs?job=close_of_business&limit=2`);
    expect(cob.status).toBe(200);
    expect(cob.body.items).toHaveLength(2);
    expect(cob.body.next_cursor).toEqual(expect.any(String));
    const next = await t.as("finance").get(`${API}/jobs?job=close_of_business&limit=2&cursor=${cob.body.next_cursor}`);
    expect(next.body.items.length).toBeGreaterThan(0);
    expect(Number(next.body.items[0].id)).toBeLessThan(Number(cob.body.items[1].id));
    expect(next.body.items.every((r: { job: string; scope: string }) => r.job === "close_of_business" && r.scope === "*")).toBe(true);

    const failed = await t.as("regulator").get(`${API}/jobs?outcome=FAILED`);
    expect(failed.body.items.map((r: { job: string; county_code: string }) => [r.job, r.county_code])).toEqual([["subsidy_claim_reminders", COUNTY]]);
    const onDate = await t.as("admin").get(`${API}/jobs?job=close_of_business&business_date=2025-06-04`);
    expect(onDate.body.items.map((r: { business_dates: string[] }) => r.business_dates)).toEqual([["2025-06-03", "2025-06-04", "2025-06-05"]]);

    // The other county's admin sees the runs over the whole database and its own county's, never ours.
    const other = await t.as("otherAdmin").get(`${API}/jobs?limit=500`);
    expect(new Set(other.body.items.map((r: { county_code: string | null }) => r.county_code))).toEqual(new Set([null, OTHER_COUNTY]));
    expectProblem(await t.as("otherAdmin").get(`${API}/jobs/${failed.body.items[0].id}`), 404, "NOT_FOUND");
    expect((await t.as("otherAdmin").get(`${API}/jobs?county_code=${COUNTY}`)).body.items).toEqual([]);
  });

  it("shows each job's schedule and the last date it closed", async () => {
    const r = await t.as("admin").get(`${API}/jobs/schedules`);
    expect(r.status).toBe(200);
    const cob = r.body.items.find((i: { job: string }) => i.job === CLOSE_OF_BUSINESS);
    expect(cob).toMatchObject({ scope: "*", cron: "30 0 * * *", source: "default", last_closed_date: "2025-06-08" });
    expect(cob.steps.map((s: { name: string }) => s.name)).toEqual([
      "mark_due",
      "subsidy_forfeits",
      "accrue_penalty",
      "roll_periods",
      "standing",
      "alerts",
      "portfolio",
      "loans_closed_through",
      "trusteeship_arrears",
      "oversight_alerts",
      "circuit_breakers",
      "expired_idempotency_keys",
      "audit_seal",
    ]);
    expect(r.body.items.filter((i: { scope: string }) => i.scope !== "*").every((i: { scope: string }) => i.scope === COUNTY)).toBe(true);
  });

  it("follows a county's own time from job_schedules", async () => {
    await t.db("job_schedules").insert({ job: "trusteeship_arrears", scope: OTHER_COUNTY, cron: "0 18 * * *" });
    const clock = new FixedClock(at("2025-06-09", "09:00"));
    const outcomes = await scheduler(t.db, clock).tick();
    const arrears = outcomes.filter((o) => o.job === "trusteeship_arrears").map((o) => [o.scope, o.target]);
    // Ours fired at 08:00 today; the other county's fires at 18:00, so its latest firing was yesterday (closed already).
    expect(arrears).toEqual([[COUNTY, "2025-06-09"]]);
  }, SLOW);

  it("is documented in the OpenAPI document, the close of business listing the steps the modules registered", async () => {
    const doc = (await t.http.get("/openapi.json")).body;
    for (const p of ["/api/v1/jobs", "/api/v1/jobs/{id}", "/api/v1/jobs/schedules"]) expect(doc.paths[p]?.get, p).toBeDefined();
    expect(doc.paths["/api/v1/jobs/close-of-business"].post.description).toContain("`circuit_breakers` (riskfund)");
    expect(JSON.stringify(doc.components.schemas.JobRun)).toContain("\"steps\"");
  });

  it("asks for a token and one of the roles that may read runs; rejects bad input", async () => {
    expect((await supertest(t.app).get(`${API}/jobs`)).status).toBe(401);
    expect((await supertest(t.app).get(`${API}/jobs/1`)).status).toBe(401);
    expectProblem(await t.as("officer").get(`${API}/jobs`), 403, "FORBIDDEN");
    expectProblem(await t.as("village").get(`${API}/jobs/1`), 403, "FORBIDDEN");
    expectProblem(await t.as("manager").get(`${API}/jobs/schedules`), 403, "FORBIDDEN");
    expectProblem(await t.as("admin").get(`${API}/jobs/abc`), 400, "VALIDATION_FAILED", "params.id");
    expectProblem(await t.as("admin").get(`${API}/jobs/999999`), 404, "NOT_FOUND");
    expectProblem(await t.as("admin").get(`${API}/jobs?outcome=BROKEN`), 400, "VALIDATION_FAILED", "query.outcome");
    const badCursor = await t.as("admin").get(`${API}/jobs?cursor=${Buffer.from("x'--").toString("base64url")}`);
    expectProblem(badCursor, 400, "VALIDATION_FAILED", "query.cursor");
    expect(badCursor.body).toMatchObject({ detail: "游标无效", errors: [{ path: "query.cursor", message: "不是本列表返回的游标" }] });
  });
});
