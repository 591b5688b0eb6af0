import ExcelJS from "exceljs";
import { beforeAll, describe, expect, it } from "vitest";
import { createHousehold, exitApprovals } from "../helpers/factories.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp({ today: "2025-06-02" });

type Item = { key: string; value: number | string };
const value = (items: Item[], key: string) => items.find((i) => i.key === key)?.value;

/** Parses the CSV the report sends (BOM, quoted fields, header row) back into items. */
function parseCsv(text: string): Item[] {
  expect(text.charCodeAt(0)).toBe(0xfeff);
  const lines = text.slice(1).trim().split(/\r?\n/);
  expect(lines[0]).toBe("指标代码,指标,英文名称,单位,数值");
  return lines.slice(1).map((l) => {
    const cells = l.split(",");
    return { key: cells[0], value: cells[cells.length - 1] };
  });
}

describe("county summary", () => {
  beforeAll(async () => {
    // April: three poor households registered (2 + 3 + 1 members); one exits on 2025-05-30.
    t.clock.set("2025-04-15");
    const a = await createHousehold(t);
    await createHousehold(t, { members: [{ relation: "HEAD" }, { relation: "SPOUSE", birth: "1981-01-01" }, { relation: "CHILD", birth: "2010-02-02" }] });
    await createHousehold(t, { status: "MONITORED", members: [{ relation: "HEAD" }] });
    t.clock.set("2025-06-02");
    const exit = await t.as("village").post(`/api/v1/households/${a.id}/status-changes`, exitApprovals("2025-05-30"));
    expect(exit.status).toBe(201);
  });

  it("counts households and people by status as of each month's end", async () => {
    const april = await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-04");
    expect(april.status).toBe(200);
    expect(april.body.as_of).toBe("2025-04-30");
    expect(value(april.body.items, "households_poor")).toBe(2);
    expect(value(april.body.items, "people_poor")).toBe(5);
    expect(value(april.body.items, "households_monitored")).toBe(1);
    expect(value(april.body.items, "households_exited")).toBe(0);
    const may = await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-05");
    expect(value(may.body.items, "households_poor")).toBe(1);
    expect(value(may.body.items, "households_exited")).toBe(1);
    expect(value(may.body.items, "people_exited")).toBe(2);
    const march = await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-03");
    expect(value(march.body.items, "households_poor")).toBe(0);
  });

  it("exports the same figures as CSV and XLSX", async () => {
    const json = (await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-05")).body;
    const csv = await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-05").set("Accept", "text/csv").buffer(true);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    const fromCsv = parseCsv(csv.text);
    expect(fromCsv.map((i) => i.key)).toEqual(json.items.map((i: Item) => i.key));
    expect(fromCsv.map((i) => String(i.value))).toEqual(json.items.map((i: Item) => String(i.value)));

    const xlsx = await t.as("regulator")
      .get("/api/v1/reports/county-summary?county_code=469030&month=2025-05&format=xlsx")
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => cb(null, Buffer.concat(chunks)));
      });
    expect(xlsx.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const ws = wb.worksheets[0];
    expect(ws.getRow(1).values).toEqual([undefined, "指标代码", "指标", "英文名称", "单位", "数值"]);
    const fromXlsx: Item[] = [];
    ws.eachRow((row, n) => {
      if (n > 1) fromXlsx.push({ key: String(row.getCell(1).value), value: row.getCell(5).value as number });
    });
    expect(fromXlsx.map((i) => i.key)).toEqual(json.items.map((i: Item) => i.key));
    expect(fromXlsx.map((i) => Number(i.value))).toEqual(json.items.map((i: Item) => Number(i.value)));
  });

  it("gives a monthly series for charts", async () => {
    const res = await t.as("regulator").get("/api/v1/reports/county-summary/series?county_code=469030&from=2025-03&to=2025-06");
    expect(res.status).toBe(200);
    expect(res.body.months).toEqual(["2025-03", "2025-04", "2025-05", "2025-06"]);
    expect(res.body.series.households_poor.values).toEqual([0, 2, 1, 1]);
  });

  it("is bounded by jurisdiction and role", async () => {
    expect((await t.as("otherRegulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-05")).status).toBe(404);
    expect((await t.as("officer").get("/api/v1/reports/county-summary?county_code=469030&month=2025-05")).status).toBe(403);
    expect((await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-13")).status).toBe(400);
    const future = await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-08");
    expect(future.status).toBe(422);
    expect(future.body).toMatchObject({ detail: "月份 2025-08 尚未开始", errors: [{ path: "query.month", message: "须为本月或以前的月份" }] });
    const futureEn = await t.as("regulator").get("/api/v1/reports/county-summary?county_code=469030&month=2025-08").set("Accept-Language", "en");
    expect(futureEn.body).toMatchObject({ detail: "Month 2025-08 has not begun", errors: [{ path: "query.month", message: "a month up to the current one" }] });
  });
});
