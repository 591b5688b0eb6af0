import ExcelJS from "exceljs";
import { beforeAll, describe, expect, it } from "vitest";
import { D, Money } from "../../src/lib/money.js";
import { BANK, COUNTY, OTHER_BANK, TOWNSHIP, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, buildCounty, type County } from "./county-scenario.js";

/**
 * Figures by township, village and bank over the small county of county-scenario.ts (read on
 * 2025-07-01): the values per village known by hand, every total equal to the sum of its lines and to
 * the county summary where both say the same thing, who sees which lines, and the downloads.
 */
const t = useTestApp({ today: "2024-10-08" });
let c: County;

type Row = Record<string, string | number | null> & { key: string | null; name: string | null };
type Figures = { items: Row[]; total: Row; scope_name: string; bank_name: string | null; as_of: string; by: string };

const AMOUNTS = ["lines_granted_amount", "outstanding_amount", "overdue_amount", "npl_amount", "subsidies_claimed_amount", "subsidies_paid_amount", "dividends_distributed_amount", "dividends_paid_amount"];
const COUNTS = ["eligible_households", "households_with_line", "households_borrowed", "households_with_loan", "loans_active", "dividend_households"];
const ratio = (num: string | number, den: string | number) => (new D(den).isZero() ? "0.0000" : new D(num).div(den).toDecimalPlaces(4, D.ROUND_HALF_UP).toFixed(4));

async function figures(who: Parameters<typeof t.as>[0], query: string, status = 200): Promise<Figures> {
  const res = await t.as(who).get(`${API}/reports/figures?${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

/** Every amount and count of the total equals the sum of the lines (where the lines have it). */
function expectTotalsAddUp(f: Figures, keys = [...AMOUNTS, ...COUNTS]) {
  for (const k of keys) {
    if (f.total[k] === null) continue;
    const lines = f.items.map((r) => r[k]).filter((v) => v !== null);
    if (lines.length === 0) continue; // a figure of no bank (dividends) in a bank view: the total only
    if (AMOUNTS.includes(k)) expect(Money.format(Money.sum(lines.map(String))), k).toBe(f.total[k]);
    else expect(lines.reduce((s: number, v) => s + Number(v), 0), k).toBe(f.total[k]);
  }
  expect(f.total.npl_ratio).toBe(ratio(f.total.npl_amount as string, f.total.outstanding_amount as string));
  expect(f.total.overdue_ratio).toBe(ratio(f.total.overdue_amount as string, f.total.outstanding_amount as string));
}

async function download(who: Parameters<typeof t.as>[0], path: string) {
  return t.as(who)
    .get(path)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("end", () => cb(null, Buffer.concat(chunks)));
    });
}

beforeAll(async () => {
  c = await buildCounty(t);
  // A second township with a village and no households: a line of zeros.
  for (const d of [
    { code: "469030101", name: "湾岭镇" },
    { code: "469030101201", name: "鸭坡村" },
  ]) {
    const res = await t.as("admin").post(`${API}/divisions`, d);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
}, 120_000);

describe("figures by village, township and bank", () => {
  it("gives each village its own figures, and a county total that is their sum", async () => {
    const f = await figures("regulator", `by=village&county_code=${COUNTY}`);
    expect(f.as_of).toBe("2025-07-01");
    const by = new Map(f.items.map((r) => [r.key, r]));
    expect([...by.keys()]).toEqual(expect.arrayContaining([VILLAGE, VILLAGE_2, "469030101201"]));
    // 新市村: A B C D eligible (G removed); lines A B C (D rated C); LA 30,000 + LB 20,000 (non-performing) + LC 6,000 (11 days past due).
    expect(by.get(VILLAGE)).toMatchObject({
      name: "新市村",
      eligible_households: 4,
      households_with_line: 3,
      households_borrowed: 3,
      coverage_ratio: ratio(3, 4),
      households_with_loan: 3,
      credit_use_ratio: "1.0000",
      loans_active: 3,
      outstanding_amount: "56000.00",
      overdue_amount: "26000.00",
      npl_amount: "20000.00",
      npl_ratio: ratio(20000, 56000),
      overdue_ratio: ratio(26000, 56000),
    });
    // 百花村: E F H eligible; lines E F; LD 10,000 performing; no dividends (the station is 新市村's).
    expect(by.get(VILLAGE_2)).toMatchObject({
      name: "百花村",
      eligible_households: 3,
      households_with_line: 2,
      households_borrowed: 1,
      coverage_ratio: ratio(1, 3),
      households_with_loan: 1,
      credit_use_ratio: ratio(1, 2),
      outstanding_amount: "10000.00",
      overdue_amount: "0.00",
      npl_amount: "0.00",
      npl_ratio: "0.0000",
      dividends_paid_amount: "0.00",
    });
    expect(by.get("469030101201")).toMatchObject({ name: "鸭坡村", eligible_households: 0, outstanding_amount: "0.00", coverage_ratio: "0.0000", dividends_paid_amount: "0.00" });
    expect(Number(by.get(VILLAGE)!.dividends_paid_amount)).toBeGreaterThan(0);
    expect(Number(f.total.subsidies_paid_amount)).toBeGreaterThan(0);
    expect(f.total).toMatchObject({ key: null, name: "琼中黎族苗族自治县", eligible_households: 7, households_borrowed: 4, outstanding_amount: "66000.00", npl_amount: "20000.00" });
    expectTotalsAddUp(f);
  });

  it("adds up by township too, and the total is the county summary's", async () => {
    const f = await figures("regulator", `by=township&county_code=${COUNTY}`);
    expect(f.items.map((r) => [r.key, r.name])).toEqual(expect.arrayContaining([[TOWNSHIP, "营根镇"], ["469030101", "湾岭镇"]]));
    expectTotalsAddUp(f);
    const byVillage = await figures("regulator", `by=village&county_code=${COUNTY}`);
    expect(f.total).toEqual(byVillage.total);

    const summary = (await t.as("regulator").get(`${API}/reports/county-summary?county_code=${COUNTY}&month=2025-07`)).body;
    const s = Object.fromEntries(summary.items.map((i: { key: string; value: string | number }) => [i.key, i.value]));
    expect({
      outstanding: f.total.outstanding_amount,
      borrowed: f.total.households_borrowed,
      with_line: f.total.households_with_line,
      lines: f.total.lines_granted_amount,
      coverage: f.total.coverage_ratio,
      credit_use: f.total.credit_use_ratio,
      overdue: f.total.overdue_ratio,
      npl: f.total.npl_ratio,
      subsidies_paid: f.total.subsidies_paid_amount,
      dividends_paid: f.total.dividends_paid_amount,
      reached: f.total.dividend_households,
    }).toEqual({
      outstanding: s.loans_outstanding_amount,
      borrowed: s.households_borrowed_cumulative,
      with_line: s.households_with_line,
      lines: s.lines_granted_amount,
      coverage: s.coverage_ratio,
      credit_use: s.credit_use_ratio,
      overdue: s.overdue_ratio,
      npl: s.npl_ratio,
      subsidies_paid: s.subsidies_paid_cumulative,
      dividends_paid: s.dividends_paid_amount_cumulative,
      reached: s.dividend_households_reached,
    });
  });

  it("drills down: a township's villages, a village's banks", async () => {
    const township = await figures("regulator", `by=village&county_code=${COUNTY}&township_code=${TOWNSHIP}`);
    expect(township.scope_name).toBe("营根镇");
    expect(township.items.map((r) => r.key).sort()).toEqual([VILLAGE, VILLAGE_2]);
    expectTotalsAddUp(township);
    const village = await figures("regulator", `by=bank&county_code=${COUNTY}&village_code=${VILLAGE}`);
    expect(village.scope_name).toBe("新市村");
    expect(village.items).toHaveLength(1);
    expect(village.items[0]).toMatchObject({ key: BANK, name: "测试农商行", outstanding_amount: "56000.00", eligible_households: null, dividends_paid_amount: null, coverage_ratio: ratio(3, 4) });
    expect(village.total.eligible_households).toBe(4);
  });

  it("breaks the county down by bank: every bank-owned figure adds up, dividends belong to no bank", async () => {
    const f = await figures("regulator", `by=bank&county_code=${COUNTY}`);
    expect(f.items.map((r) => r.key)).toEqual([BANK]);
    const row = f.items[0];
    for (const k of ["lines_granted_amount", "outstanding_amount", "overdue_amount", "npl_amount", "subsidies_claimed_amount", "subsidies_paid_amount", "households_borrowed", "households_with_line", "loans_active"]) expect(row[k], k).toEqual(f.total[k]);
    expect(row).toMatchObject({ eligible_households: null, dividends_distributed_amount: null, dividends_paid_amount: null, coverage_ratio: f.total.coverage_ratio });
    expect(Number(f.total.dividends_paid_amount)).toBeGreaterThan(0);
    expectTotalsAddUp(f);
  });

  it("shows a village officer only its village and a bank only its own figures", async () => {
    const own = await figures("village", `by=village&county_code=${COUNTY}`);
    expect(own.items.map((r) => r.key)).toEqual([VILLAGE]);
    expect(own.total).toMatchObject({ name: "新市村", outstanding_amount: "56000.00", eligible_households: 4 });
    const township = await figures("village", `by=township&county_code=${COUNTY}`);
    expect(township.items.map((r) => r.key)).toEqual([TOWNSHIP]);
    expect(township.items[0].outstanding_amount).toBe("56000.00");
    const other = await figures("village2", `by=village&county_code=${COUNTY}`);
    expect(other.items.map((r) => [r.key, r.outstanding_amount])).toEqual([[VILLAGE_2, "10000.00"]]);
    await figures("village", `by=bank&county_code=${COUNTY}&village_code=${VILLAGE_2}`, 404);
    await figures("village", `by=village&county_code=${COUNTY}&township_code=469030101`, 404);

    const bank = await figures("manager", `by=village&county_code=${COUNTY}`);
    expect(bank.total).toMatchObject({ outstanding_amount: "66000.00", dividends_paid_amount: null });
    const otherBank = await figures("otherBankManager", `by=bank&county_code=${COUNTY}`);
    expect(otherBank.items).toEqual([expect.objectContaining({ key: OTHER_BANK, outstanding_amount: "0.00", households_with_line: 0 })]);
    expect(otherBank.total.outstanding_amount).toBe("0.00");
    await figures("otherBankManager", `by=bank&county_code=${COUNTY}&bank_id=${BANK}`, 404);
    expect((await figures("regulator", `by=village&county_code=${COUNTY}&bank_id=${BANK}`)).bank_name).toBe("测试农商行");
    await figures("regulator", `by=village&county_code=${COUNTY}&bank_id=0b000000-0000-4000-8000-0000000000ff`, 404);

    await figures("otherRegulator", `by=village&county_code=${COUNTY}`, 404);
    await figures("regulator", `by=village&county_code=${COUNTY}&township_code=469025100`, 404);
    await figures("regulator", `by=village&county_code=${COUNTY}&township_code=469030199`, 404);
    await figures("operator", `by=village&county_code=${COUNTY}`, 403);
    await figures("regulator", `by=district&county_code=${COUNTY}`, 400);
    await figures("regulator", `by=village&county_code=${COUNTY}&month=2025-07`, 400);
    expect((await t.http.get(`${API}/reports/figures?by=village&county_code=${COUNTY}`)).status).toBe(401);
  });

  it("downloads the same table as CSV and XLSX: units in the headers, a frozen header row, an autofilter, the total line", async () => {
    const json = await figures("regulator", `by=village&county_code=${COUNTY}`);
    const csv = await t.as("regulator").get(`${API}/reports/figures?by=village&county_code=${COUNTY}&format=csv`).buffer(true);
    expect(csv.status).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expect(csv.headers["content-disposition"]).toContain("figures-village-469030");
    expect(csv.text.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.text.slice(1).trim().split(/\r?\n/).map((l) => l.split(","));
    expect(lines[0].slice(0, 6)).toEqual(["行政区划代码", "村", "符合条件户数", "授信户数", "授信总额（元）", "累计获贷户数"]);
    expect(lines[0]).toContain("不良率（%）");
    const npl = lines[0].indexOf("不良率（%）");
    const outstanding = lines[0].indexOf("贷款余额（元）");
    const village = lines.find((l) => l[0] === VILLAGE)!;
    expect(village[outstanding]).toBe("56000.00");
    expect(village[npl]).toBe(new D(ratio(20000, 56000)).mul(100).toFixed(2));
    expect(lines[lines.length - 1].slice(0, 2)).toEqual(["合计", "琼中黎族苗族自治县"]);
    expect(lines[lines.length - 1][outstanding]).toBe(json.total.outstanding_amount);

    const xlsx = await download("regulator", `${API}/reports/figures?by=village&county_code=${COUNTY}&format=xlsx`);
    expect(xlsx.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const ws = wb.worksheets[0];
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    expect(ws.autoFilter).toBeTruthy();
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(lines[0]);
    expect(ws.getColumn(outstanding + 1).width).toBeGreaterThanOrEqual(12);
    const rows: unknown[][] = [];
    ws.eachRow((row, n) => {
      if (n > 1) rows.push((row.values as unknown[]).slice(1));
    });
    expect(rows).toHaveLength(json.items.length + 1);
    const x = rows.find((r) => r[0] === VILLAGE)!;
    expect(x[outstanding]).toBe(56000);
    expect(x[npl]).toBeCloseTo(Number(ratio(20000, 56000)), 10);
    expect(ws.getRow(rows.findIndex((r) => r[0] === VILLAGE) + 2).getCell(npl + 1).numFmt).toBe("0.00%");
    expect(rows[rows.length - 1][0]).toBe("合计");
  });

  it("gives the county summary's download the same frozen header and autofilter", async () => {
    const xlsx = await download("regulator", `${API}/reports/county-summary?county_code=${COUNTY}&month=2025-06&format=xlsx`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const ws = wb.worksheets[0];
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    expect(ws.autoFilter).toBeTruthy();
    expect(ws.getColumn(3).width).toBe(48);
  });
});
