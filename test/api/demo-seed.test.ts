import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import supertest from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createDb, migrateLatest } from "../../src/db/knex.js";
import type { Deps } from "../../src/deps.js";
import { FixedClock } from "../../src/lib/clock.js";
import { createLogger } from "../../src/lib/logger.js";
import { addDays } from "../../src/lib/dates.js";
import { DEMO_COUNTY, DEMO_PASSWORD, seedDemoCounty } from "../../db/seeds/demo.js";
import { withDatabase } from "../helpers/global-setup.js";
import { TEST_JWT, TEST_PII } from "../helpers/harness.js";

/**
 * The demo county as `npm start` seeds it on an empty database, read the way its regulator reads
 * the monthly report: every month of its year of business has the overdue figures of a county
 * that closed business every night (not 0.00% for the months the seed lived through).
 */
const TODAY = "2026-11-20";
let db: Knex;
let drop: () => Promise<void> = async () => {};
let http: supertest.Agent;

beforeAll(async () => {
  const url = process.env.DATABASE_URL;
  if (url) {
    // An empty database (not the test template: the demo brings its own county, banks and users).
    const name = `huinong_demo_${process.pid}_${randomBytes(4).toString("hex")}`;
    const admin = createDb({ databaseUrl: url, poolMax: 1 });
    await admin.raw(`CREATE DATABASE ${name}`);
    db = createDb({ databaseUrl: withDatabase(url, name), poolMax: 5 });
    drop = async () => {
      await db.destroy();
      await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    };
  } else {
    db = createDb({});
    drop = () => db.destroy();
  }
  await migrateLatest(db);
  const clock = new FixedClock(TODAY);
  const deps: Deps = {
    db,
    clock,
    logger: createLogger("silent"),
    pii: TEST_PII,
    jwt: TEST_JWT,
    settings: { bodyLimit: "1mb", loginMaxFailures: 5, loginLockSeconds: 900 },
  };
  await seedDemoCounty(deps, { households: 300 });
  http = supertest.agent(createApp(deps));
}, 300_000);
afterAll(async () => drop());

describe("demo county month-end figures", () => {
  it("shows for every month of the demo the overdue ratio of its loans as they stood at the month's end", async () => {
    const login = await http.post("/api/v1/auth/token").send({ username: "regulator", password: DEMO_PASSWORD });
    expect(login.status).toBe(200);
    const auth = { authorization: `Bearer ${login.body.access_token}` };
    const from = addDays(TODAY, -300).slice(0, 7); // the month of the first loan
    const res = await http.get(`/api/v1/reports/county-summary/series?county_code=${DEMO_COUNTY.code}&from=${from}&to=${TODAY.slice(0, 7)}`).set(auth);
    expect(res.status).toBe(200);
    const months: string[] = res.body.months;
    const outstanding: string[] = res.body.series.loans_outstanding_amount.values;
    const overdue: string[] = res.body.series.overdue_ratio.values;
    const npl: string[] = res.body.series.npl_ratio.values;
    expect(months.length).toBeGreaterThanOrEqual(10);
    const rows = months.map((m, i) => ({ month: m, outstanding: outstanding[i], overdue: overdue[i], npl: npl[i] }));

    // Every month with money lent out has its month-end snapshot: a sensible ratio, never above 1.
    for (const r of rows) {
      expect(Number(r.overdue), r.month).toBeGreaterThanOrEqual(0);
      expect(Number(r.overdue), r.month).toBeLessThan(0.5);
      expect(Number(r.npl), r.month).toBeLessThanOrEqual(Number(r.overdue));
    }
    const snapshots = await db("loan_portfolio_daily").where({ county_code: DEMO_COUNTY.code }).orderBy("business_date").pluck("business_date");
    const closed = new Set(snapshots.map((d: string | Date) => (typeof d === "string" ? d : d.toISOString().slice(0, 10)).slice(0, 7)));
    for (const r of rows) if (Number(r.outstanding) > 0) expect(closed.has(r.month), `${r.month} has a month-end snapshot`).toBe(true);

    // The loans that stopped paying: one paid through 32 days ago (1-30 past due now), one through
    // 75 days ago (31-90 now). Today's month, and the month before, show them overdue; the months
    // before the first missed instalment (about 2.5 months ago) show every loan current.
    const last = rows[rows.length - 1];
    expect(Number(last.overdue)).toBeGreaterThan(0);
    expect(Number(rows[rows.length - 2].overdue)).toBeGreaterThan(0);
    const earlyMonths = rows.filter((r) => r.month < addDays(TODAY, -120).slice(0, 7) && Number(r.outstanding) > 0);
    expect(earlyMonths.length).toBeGreaterThan(3);
    for (const r of earlyMonths) expect(r.overdue, r.month).toBe("0.0000");
  });

  it("has the LPR since the 2019 reform, for loans priced years back, and an audit log that verifies", async () => {
    const login = await http.post("/api/v1/auth/token").send({ username: "regulator", password: DEMO_PASSWORD });
    const auth = { authorization: `Bearer ${login.body.access_token}` };
    expect((await http.get("/api/v1/rate-tables?on=2020-03-01").set(auth)).body.items[0]).toMatchObject({ publication_date: "2020-02-20", lpr_1y: "0.0405", lpr_5y: "0.0475" });
    expect((await http.get("/api/v1/rate-tables?on=2019-08-19").set(auth)).body.items).toEqual([]);
    const verify = await http.get("/api/v1/audit-log/verify").set(auth);
    expect(verify.status).toBe(200);
    expect(verify.body.ok, JSON.stringify(verify.body).slice(0, 500)).toBe(true);
  });

  it("names the demo village 新市村 wherever it appears: divisions, the village user, the station and its printed notice", async () => {
    const login = async (username: string) => ({ authorization: `Bearer ${(await http.post("/api/v1/auth/token").send({ username, password: DEMO_PASSWORD })).body.access_token}` });
    const regulator = await login("regulator");
    const divisions = (await http.get("/api/v1/divisions?parent_code=469030100").set(regulator)).body.items as { code: string; name: string }[];
    expect(divisions.find((d) => d.code === "469030100201")?.name).toBe("新市村");
    expect(divisions.filter((d) => d.name === "新市村")).toHaveLength(1);
    const village = await login("village");
    const assets = (await http.get("/api/v1/assets?village_code=469030100201&asset_type=PHOTOVOLTAIC").set(village)).body.items as { id: string; name: string }[];
    expect(assets.map((a) => a.name)).toEqual(["新市村村级光伏扶贫电站"]);
    // The station's distribution was put on notice about two years back: its printed notice names the village.
    const printed = await http.get(`/api/v1/notices?kind=distributions&village_code=469030100201&from=${addDays(TODAY, -800)}&format=html`).set(village);
    expect(printed.status).toBe(200);
    expect(printed.text).toContain("新市村 扶贫资产收益分配公示");
    expect(printed.text).not.toContain("营根社区");
  });

  it("offers the portal demo a partner and a household of 新市村 that can log in and read its dividends", async () => {
    const sample = await http.get("/api/v1/portal/demo-sample");
    expect(sample.status).toBe(200);
    expect(sample.body).toMatchObject({ client_id: "demo-portal", pin: expect.stringMatching(/^\d{6}$/), id_number: expect.stringMatching(/^469030\d{11}[\dX]$/) });
    const token = await http.post("/api/v1/portal/token").send(sample.body);
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    expect(token.body.must_change_pin).toBe(false);
    const auth = { authorization: `Bearer ${token.body.access_token}` };
    expect((await http.get("/api/v1/portal/me").set(auth)).body.village_name).toBe("新市村");
    expect((await http.get("/api/v1/portal/me/dividends").set(auth)).body.items.length).toBeGreaterThan(0);
    expect((await http.get("/api/v1/portal/me/loans").set(auth)).body.items.length).toBeGreaterThan(0);
  });
});
