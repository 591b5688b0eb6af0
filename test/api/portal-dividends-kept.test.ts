import type { Express } from "express";
import type { Knex } from "knex";
import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createHousehold, portalSignIn, registerPartner } from "../helpers/factories.js";
import { useTestApp } from "../helpers/harness.js";
import { API, confirmedReport, createAsset, registerOperators } from "./assets-helpers.js";

/**
 * The portal's hot dividends read keeps each household's answer with the version of its county's
 * dividends and reads it again once a write has moved that version on. Through a distribution's
 * whole life — computed, noticed, approved, a payment failed and paid again, its asset renamed,
 * reversed — every answer of the hot read is the answer the route reads afresh (the same app built
 * without its hot routes), and an answer is kept indeed: a change written with the triggers off is
 * not seen until a write moves the version on.
 */
const t = useTestApp({ today: "2024-01-15" });
let full: Express;
let household: string;
let token: string;
let asset: { id: string };
let keyNo = 0;
const key = () => `kept-${++keyNo}`;

beforeAll(async () => {
  full = createApp(t.deps, { hotRoutes: false });
  await registerOperators(t);
  household = (await createHousehold(t)).id;
  t.clock.set("2025-06-02");
  asset = await createAsset(t);
  await confirmedReport(t, asset.id, "2024");
  ({ token } = await portalSignIn(t, await registerPartner(t, "kept-app"), household));
}, 60_000);

/** The hot read's answer, after checking it is the route's answer read afresh. */
async function dividends(): Promise<{ items: { distribution_id: string; status: string; paid_on: string | null; assets: { name: string }[] }[] }> {
  const hot = await supertest(t.app).get(`${API}/portal/me/dividends`).set("Authorization", `Bearer ${token}`);
  const fresh = await supertest(full).get(`${API}/portal/me/dividends`).set("Authorization", `Bearer ${token}`);
  expect(hot.status).toBe(200);
  expect(hot.text).toBe(fresh.text);
  return hot.body;
}

describe("the household's dividends, kept between changes", () => {
  it("answer as read afresh at every step of a distribution's life", async () => {
    expect((await dividends()).items).toEqual([]);
    const created = await t.as("village").post(`${API}/distributions`, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await dividends()).items).toEqual([]); // a DRAFT is not shown
    expect((await t.as("village").post(`${API}/distributions/${id}/notice`, {})).status).toBe(200);
    expect((await dividends()).items).toMatchObject([{ distribution_id: id, status: "NOTICED", paid_on: null }]);
    expect((await t.as("regulator").post(`${API}/distributions/${id}/approve`, {})).status).toBe(200);
    expect((await dividends()).items).toMatchObject([{ status: "APPROVED" }]);
    await dividends(); // kept, and still the same

    t.clock.set("2025-06-10");
    const failed = await t.as("admin").post(`${API}/distributions/${id}/pay`, { batch_reference: "NS20250610", failures: [{ household_id: household, reason: "账户已销户" }] }, key());
    expect(failed.status, JSON.stringify(failed.body)).toBe(200);
    expect((await dividends()).items).toMatchObject([{ status: "FAILED", paid_on: null }]);
    const paid = await t.as("admin").post(`${API}/distributions/${id}/pay`, { batch_reference: "NS20250610-2", payments: [{ household_id: household, bank_reference: "NS20250610-2-0001" }] }, key());
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await dividends()).items).toMatchObject([{ status: "PAID", paid_on: "2025-06-10" }]);

    expect((await t.as("admin").patch(`${API}/assets/${asset.id}`, { reason: "更名", name: "新市村光伏电站（一期）" })).status).toBe(200);
    expect((await dividends()).items[0].assets).toMatchObject([{ name: "新市村光伏电站（一期）" }]);

    expect((await t.as("regulator").post(`${API}/distributions/${id}/reverse`, { reason: "受益户名单有误，冲正后重新分配" }, key())).status).toBe(200);
    expect((await dividends()).items).toMatchObject([{ status: "REVERSED" }]);
  });

  it("moves the version on with every write of what the answer is made of, and not with an asset's other changes", async () => {
    class Rollback extends Error {}
    const moved = async (write: (trx: Knex.Transaction) => Promise<unknown>): Promise<number> => {
      let by = 0;
      await t.db
        .transaction(async (trx) => {
          const version = async () => Number((await trx("dividend_versions").where({ county_code: "469030" }).first<{ version: string }>())!.version);
          const before = await version();
          await write(trx);
          by = (await version()) - before;
          throw new Rollback();
        })
        .catch((e: unknown) => {
          if (!(e instanceof Rollback)) throw e;
        });
      return by;
    };
    const share = () => t.db("distribution_shares").where({ household_id: household });
    expect(await moved((trx) => trx("distribution_shares").where({ household_id: household }).update({ amount: trx.raw("amount") }))).toBe(1);
    const row = await share().first();
    expect(
      await moved(async (trx) => {
        await trx("distribution_shares").where({ household_id: household }).delete();
        await trx("distribution_shares").insert(row);
      }),
    ).toBe(2);
    expect(await moved((trx) => trx("distributions").where({ id: row.distribution_id }).update({ status: trx.raw("status") }))).toBe(1);
    expect(await moved((trx) => trx("distribution_incomes").where({ distribution_id: row.distribution_id }).update({ amount: trx.raw("amount") }))).toBe(1);
    expect(await moved((trx) => trx("assets").where({ id: asset.id }).update({ name: "另一个名称" }))).toBe(1);
    expect(await moved((trx) => trx("assets").where({ id: asset.id }).update({ name: trx.raw("name"), book_value: "1.00" }))).toBe(0);
  });

  it("takes a burst of renames of the county's assets at once: each applied, the version moved on once for each", async () => {
    const assets = [asset, ...(await Promise.all([1, 2, 3, 4, 5].map((k) => createAsset(t, { name: `光伏电站 ${k}` }))))];
    const version = async () => Number((await t.db("dividend_versions").where({ county_code: "469030" }).first<{ version: string }>())!.version);
    const before = await version();
    const renamed = await Promise.all(assets.map((a, k) => t.as("admin").patch(`${API}/assets/${a.id}`, { reason: "同时更名", name: `同时更名 ${k}` })));
    expect(renamed.map((r) => r.status)).toEqual(assets.map(() => 200));
    expect((await version()) - before).toBe(assets.length);
    expect((await dividends()).items[0].assets).toMatchObject([{ name: "同时更名 0" }]);
    expect((await t.as("admin").patch(`${API}/assets/${asset.id}`, { reason: "更名", name: "新市村村级光伏电站" })).status).toBe(200);
  });

  it("is kept indeed: a change that does not move the version is not seen until one does", async () => {
    const before = await dividends();
    // Renamed with the triggers off (as no write of the platform can): the version stays.
    await t.db.transaction(async (trx) => {
      await trx.raw("SET LOCAL session_replication_role = replica");
      await trx("assets").where({ id: asset.id }).update({ name: "未经触发器的名称" });
    });
    const hot = await supertest(t.app).get(`${API}/portal/me/dividends`).set("Authorization", `Bearer ${token}`);
    expect(hot.text).toBe(JSON.stringify(before));
    const fresh = await supertest(full).get(`${API}/portal/me/dividends`).set("Authorization", `Bearer ${token}`);
    expect(fresh.body.items[0].assets[0].name).toBe("未经触发器的名称");
    // Any write of the county's dividends moves it on: the next read is afresh.
    expect((await t.as("admin").patch(`${API}/assets/${asset.id}`, { reason: "更名", name: "新市村光伏电站" })).status).toBe(200);
    expect((await dividends()).items[0].assets).toMatchObject([{ name: "新市村光伏电站" }]);
  });
});
