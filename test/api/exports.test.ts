import ExcelJS from "exceljs";
import { beforeAll, describe, expect, it } from "vitest";
import { Money } from "../../src/lib/money.js";
import { COUNTY, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, buildCounty, type County } from "./county-scenario.js";

/**
 * The downloads people take away: the loan book, the register (personal data masked whoever asks)
 * and a distribution's shares — CSV and XLSX from the one writer, each bounded by the caller's
 * jurisdiction, over the county of county-scenario.ts.
 */
const t = useTestApp({ today: "2024-10-08" });
let c: County;

type Who = Parameters<typeof t.as>[0];

async function xlsx(who: Who, path: string) {
  const res = await t.as(who)
    .get(path)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on("data", (b: Buffer) => chunks.push(b));
      r.on("end", () => cb(null, Buffer.concat(chunks)));
    });
  expect(res.status, String(res.body)).toBe(200);
  expect(res.headers["content-type"]).toContain("spreadsheetml");
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(res.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
  const ws = wb.worksheets[0];
  expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
  expect(ws.autoFilter).toBeTruthy();
  const rows: unknown[][] = [];
  ws.eachRow((row, n) => {
    if (n > 1) rows.push((row.values as unknown[]).slice(1));
  });
  return { wb, ws, header: (ws.getRow(1).values as unknown[]).slice(1) as string[], rows, raw: res.body as Buffer };
}

async function csv(who: Who, path: string) {
  const res = await t.as(who).get(path).buffer(true);
  expect(res.status, res.text).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^text\/csv/);
  expect(res.text.charCodeAt(0)).toBe(0xfeff);
  const [header, ...rows] = res.text.slice(1).trim().split(/\r?\n/).map((l) => l.split(","));
  return { header, rows, text: res.text };
}

beforeAll(async () => {
  c = await buildCounty(t);
}, 120_000);

describe("loan book download", () => {
  it("lists every loan of the jurisdiction with units in the headers, as the API has them", async () => {
    const list = (await t.as("regulator").get(`${API}/loans?limit=500`)).body.items as { id: string; outstanding_principal: string; amount: string }[];
    const book = await xlsx("regulator", `${API}/loans/export?format=xlsx`);
    expect(book.header).toEqual(expect.arrayContaining(["贷款编号", "贷款金额（元）", "贷款余额（元）", "年利率（%）", "逾期天数", "不良"]));
    expect(book.rows.map((r) => r[0]).sort()).toEqual(list.map((l) => l.id).sort());
    const out = book.header.indexOf("贷款余额（元）");
    const lb = book.rows.find((r) => r[0] === c.loans.LB)!;
    expect(lb[out]).toBe(20000);
    expect(lb[book.header.indexOf("不良")]).toBe("是");
    expect(lb[book.header.indexOf("年利率（%）")]).toBeCloseTo(0.0345, 10);
    expect(book.ws.getColumn(out + 1).numFmt ?? book.ws.getRow(2).getCell(out + 1).numFmt).toBe("#,##0.00");

    const file = await csv("regulator", `${API}/loans/export?format=csv&status=DISBURSED`);
    const rate = file.header.indexOf("年利率（%）");
    const la = file.rows.find((r) => r[0] === c.loans.LA)!;
    expect(la[file.header.indexOf("贷款余额（元）")]).toBe("30000.00");
    expect(la[rate]).toBe("3.45");
    expect(Money.format(Money.sum(file.rows.map((r) => r[file.header.indexOf("贷款余额（元）")])))).toBe(
      Money.format(Money.sum(list.filter((l) => file.rows.some((r) => r[0] === l.id)).map((l) => l.outstanding_principal))),
    );
  });

  it("is bounded by jurisdiction", async () => {
    expect((await xlsx("village2", `${API}/loans/export`)).rows.map((r) => r[0])).toEqual([c.loans.LD]);
    expect((await csv("otherBankManager", `${API}/loans/export?format=csv`)).rows).toEqual([]);
    expect((await csv("otherRegulator", `${API}/loans/export?format=csv`)).rows).toEqual([]);
    expect((await t.as("operator").get(`${API}/loans/export`)).status).toBe(403);
    expect((await t.as("regulator").get(`${API}/loans/export?format=pdf`)).status).toBe(400);
    expect((await t.as("regulator").get(`${API}/loans/export?limit=5`)).status).toBe(400);
  });
});

describe("register download", () => {
  it("masks ID numbers, phones and bank accounts even for the village officer who sees them whole", async () => {
    const members = (await t.as("village").get(`${API}/households/${c.h.A.id}/members`)).body.items as { relation: string; id_number: string }[];
    const whole = members.find((m) => m.relation === "HEAD")!.id_number;
    expect(whole).toMatch(/^\d{17}[\dX]$/);
    const household = (await t.as("village").get(`${API}/households/${c.h.A.id}`)).body as { household_no: string; phone: string | null };

    const book = await xlsx("village", `${API}/households/export`);
    expect(book.header).toEqual(expect.arrayContaining(["户编号", "户主", "户主身份证号（脱敏）", "联系电话（脱敏）", "人口数", "状态"]));
    expect(book.rows).toHaveLength(5); // A B C D G of 新市村
    const a = book.rows.find((r) => r[0] === household.household_no)!;
    expect(a[book.header.indexOf("户主身份证号（脱敏）")]).toBe(`${whole.slice(0, 6)}********${whole.slice(14)}`);
    expect(book.raw.includes(Buffer.from(whole))).toBe(false);
    const text = (await csv("village", `${API}/households/export?format=csv`)).text;
    expect(text).not.toContain(whole);
    if (household.phone) expect(text).not.toContain(household.phone);
    for (const r of book.rows) expect(String(r[book.header.indexOf("户主身份证号（脱敏）")])).toMatch(/^\d{6}\*{8}[\dX]{4}$/);
  });

  it("is bounded by jurisdiction and takes the list's filters", async () => {
    const county = await csv("regulator", `${API}/households/export?format=csv`);
    expect(county.rows).toHaveLength(8); // X is another county's
    expect((await csv("regulator", `${API}/households/export?format=csv&village_code=${VILLAGE_2}&status=POOR`)).rows).toHaveLength(3);
    expect((await csv("village2", `${API}/households/export?format=csv&village_code=${VILLAGE}`)).rows).toEqual([]);
    expect((await csv("otherRegulator", `${API}/households/export?format=csv&county_code=${COUNTY}`)).rows).toEqual([]);
    expect((await t.as("operator").get(`${API}/households/export`)).status).toBe(403);
    expect((await t.as("regulator").get(`${API}/households/export?id_number=1`)).status).toBe(400);
  });
});

describe("a distribution's shares download", () => {
  it("lists every share with masked names, and notes how the income was split", async () => {
    const d = (await t.as("regulator").get(`${API}/distributions/${c.distributionId}?limit=0`)).body;
    const book = await xlsx("regulator", `${API}/distributions/${c.distributionId}/shares`);
    expect(book.header).toEqual(expect.arrayContaining(["户编号", "户主", "户主身份证号（脱敏）", "分红金额（元）", "发放状态"]));
    expect(book.rows).toHaveLength(d.household_count);
    const amount = book.header.indexOf("分红金额（元）");
    expect(Money.format(Money.sum(book.rows.map((r) => String(r[amount]))))).toBe(d.shares_total);
    for (const r of book.rows) expect(String(r[book.header.indexOf("户主")])).toContain("*");
    const notes = book.wb.getWorksheet("说明")!;
    const note = (label: string) => {
      let v: unknown;
      notes.eachRow((row) => {
        if (row.getCell(1).value === label) v = row.getCell(2).value;
      });
      return String(v);
    };
    expect(note("收益总额（元）")).toBe(d.income_total);
    expect(Money.format(Money.sum([note("村集体留存（元）"), note("专项（元）"), note("封顶超出部分（元）"), note("农户分红合计（元）")]))).toBe(d.income_total);

    const file = await csv("village", `${API}/distributions/${c.distributionId}/shares?format=csv`);
    expect(file.rows).toHaveLength(d.household_count);
    expect(Money.format(Money.sum(file.rows.map((r) => r[file.header.indexOf("分红金额（元）")])))).toBe(d.shares_total);
  });

  it("is bounded by jurisdiction", async () => {
    expect((await t.as("village2").get(`${API}/distributions/${c.distributionId}/shares`)).status).toBe(404);
    expect((await t.as("otherRegulator").get(`${API}/distributions/${c.distributionId}/shares`)).status).toBe(404);
    expect((await t.as("officer").get(`${API}/distributions/${c.distributionId}/shares`)).status).toBe(403);
    expect((await t.as("regulator").get(`${API}/distributions/${c.distributionId}/shares?village_code=${VILLAGE_2}&format=csv`)).text.trim().split(/\r?\n/)).toHaveLength(1);
  });
});
