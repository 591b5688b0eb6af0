import ExcelJS from "exceljs";
import { beforeAll, describe, expect, it } from "vitest";
import { D, Money } from "../../src/lib/money.js";
import { COUNTY } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, buildCounty, type County, interest, RATE } from "./county-scenario.js";

/**
 * Every figure of the county summary checked against a small county built through the API with
 * numbers known by hand (see county-scenario.ts for the households, loans and money movements).
 * The expected maps list every key: a figure added to the summary without a check here fails.
 */
const t = useTestApp({ today: "2024-10-08" });
let c: County;

type Item = { key: string; label_zh: string; label: string; unit: string; value: number | string };
const ratio = (num: string | number, den: string | number) => new D(num).div(den).toDecimalPlaces(4, D.ROUND_HALF_UP).toFixed(4);
const yuan = (v: string | number) => Money.format(new D(v));

async function summary(month: string): Promise<{ as_of: string; items: Item[] }> {
  const res = await t.as("regulator").get(`${API}/reports/county-summary?county_code=${COUNTY}&month=${month}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

beforeAll(async () => {
  c = await buildCounty(t);
}, 60_000);

describe("county summary against a county built by hand (#8)", () => {
  it("cross-checks the modules' own answers the figures rest on", async () => {
    // Read on 2025-07-01. LB never paid: its oldest unpaid interest fell due 2024-12-20, 193 days ago (192 at the close of 06-30).
    const lb = (await t.as("officer").get(`${API}/loans/${c.loans.LB}`)).body;
    expect(lb).toMatchObject({ dpd: 193, non_performing: true, outstanding_principal: "20000.00" });
    // LC missed the interest due 2025-06-20 (6,000 × 92 days): 11 days past due (10 at the close of 06-30), not non-performing.
    const lc = (await t.as("officer").get(`${API}/loans/${c.loans.LC}`)).body;
    expect(lc).toMatchObject({ dpd: 11, non_performing: false, outstanding_principal: "6000.00", overdue_interest: interest("6000", RATE, 92) });
    const la = (await t.as("officer").get(`${API}/loans/${c.loans.LA}`)).body;
    expect(la).toMatchObject({ dpd: 0, outstanding_principal: "30000.00" });
    const fund = (await t.as("finance").get(`${API}/risk-funds/${c.fundId}`)).body;
    expect(fund).toMatchObject({ balance: "15000.00", outstanding: "66000.00", leverage: "4.4000" });
    const breakers = (await t.as("regulator").get(`${API}/circuit-breakers`)).body.items;
    expect(breakers).toHaveLength(1);
    expect(breakers[0]).toMatchObject({ status: "TRIPPED", reason: "NPL_RATIO", tripped_on: "2025-06-30", outstanding_principal: "66000.00", npl_principal: "20000.00" });
    const trust = (await t.as("regulator").get(`${API}/trusteeships/${c.trusteeshipId}`)).body;
    expect(trust).toMatchObject({ returns_paid: "400.00", open_principal: "20000.00", arrears: { amount: "400.00", installments: 1 } });
    const claim = (await t.as("finance").get(`${API}/subsidy-claims/${c.claimId}`)).body;
    expect(claim).toMatchObject({ status: "PAID", paid_on: "2025-04-02", mode: "TO_BANK", totals: { claimed: "42.50", to_bank: "42.50", to_household: "0.00" } });
    const hhClaim = (await t.as("finance").get(`${API}/subsidy-claims/${c.hhClaimId}`)).body;
    expect(hhClaim).toMatchObject({ status: "PAID", paid_on: "2025-04-02", mode: "TO_HOUSEHOLD", totals: { claimed: "181.13", to_bank: "0.00", to_household: "181.13" } });
    const daily = await t.db("loan_portfolio_daily").where({ business_date: "2025-06-30", county_code: COUNTY }).first();
    expect([daily.outstanding_principal, daily.npl_principal, daily.overdue_loans]).toEqual(["66000.00", "20000.00", 2]);
    const dist = (await t.as("regulator").get(`${API}/distributions/${c.distributionId}`)).body;
    expect(dist).toMatchObject({ status: "PAID", paid_total: "38400.00", household_count: 4 });
  });

  it("June 2025 (the report month): every figure", async () => {
    const s = await summary("2025-06");
    expect(s.as_of).toBe("2025-06-30");
    const outstanding = Money.sum(["30000.00", "20000.00", "6000.00", "10000.00"]); // LA, LB, LC after 4,000 prepaid, LD
    const expected: Record<string, number | string> = {
      // Register as of 06-30: POOR A(2) B(3) E(2) F(1) H(1); C exited 04-28; D monitored; G removed 05-20. X is another county's.
      households_poor: 5,
      people_poor: 9,
      households_exited: 1,
      people_exited: 2,
      households_monitored: 1,
      people_monitored: 1,
      households_removed: 1,
      people_removed: 2,
      // Eligible A B C D E F H (7); rated A B C D F and E (rated in May); lines 50,000 + 30,000 + 50,000 + 0 + 10,000 + 50,000.
      households_rated: 6,
      households_with_line: 5,
      lines_granted_amount: "190000.00",
      rated_share: ratio(6, 7),
      loans_disbursed_count: 1, // LD on 06-05
      loans_disbursed_amount: "10000.00",
      loans_disbursed_count_cumulative: 4,
      loans_disbursed_amount_cumulative: "70000.00",
      households_borrowed_cumulative: 4, // A B C E
      coverage_ratio: ratio(4, 7),
      credit_use_ratio: ratio(4, 5), // A B C E with a loan outstanding, of the five with a line (F has none outstanding)
      loans_outstanding_amount: yuan(outstanding.toString()),
      // Close of business 06-30: LB (192 days) and LC (10 days) are overdue, LB is non-performing.
      overdue_ratio: ratio(20000 + 6000, outstanding.toString()),
      npl_ratio: ratio(20000, outstanding.toString()),
      // Trusteeship: 400.00 paid on 04-10; the 06-01 installment (400.00) unpaid at the month's end.
      trustee_returns_paid_amount: "0.00",
      trustee_returns_paid_amount_cumulative: "400.00",
      trustee_returns_arrears_amount: "400.00",
      trusteeships_in_arrears: 1,
      entrusted_principal_open: "20000.00",
      // Assets: the station (2019) and the greenhouse (built 05-15) in operation, the cold store idle.
      assets_in_operation: 2,
      assets_idle: 1,
      assets_damaged: 0,
      assets_disposed: 0,
      assets_book_value: "920000.00",
      // Dividends: 38,400.00 paid 06-09 to A, B, C, D.
      dividends_paid_amount: "38400.00",
      dividends_paid_amount_cumulative: "38400.00",
      dividend_households_reached: 4,
      dividend_average_per_household: yuan(new D(38400).div(4).toString()),
      // Subsidies: the 2025Q1 batch paid in April.
      subsidies_paid_month: "0.00",
      subsidies_paid_month_to_banks: "0.00",
      subsidies_paid_month_to_households: "0.00",
      subsidies_paid_cumulative: Money.format(Money.sum([c.seen.laQ1Subsidy, c.seen.lcQ1Subsidy])),
      subsidy_households_reimbursed_cumulative: 1,
      // Risk fund: 10,000 + 5,000; the bank's outstanding 66,000 → leverage 4.4; the breaker tripped 06-30.
      risk_fund_balance: "15000.00",
      risk_fund_covered_outstanding: yuan(outstanding.toString()),
      risk_fund_leverage: ratio(outstanding.toString(), 15000),
      risk_fund_compensation_month: "0.00",
      risk_fund_compensation_cumulative: "0.00",
      circuit_breakers_open: 1,
    };
    expect(Object.fromEntries(s.items.map((i) => [i.key, i.value]))).toEqual(expected);
    expect(s.items.map((i) => i.key).sort()).toEqual(Object.keys(expected).sort());
    expect([expected.rated_share, expected.coverage_ratio, expected.credit_use_ratio, expected.overdue_ratio, expected.npl_ratio, expected.risk_fund_leverage]).toEqual([
      "0.8571",
      "0.5714",
      "0.8000",
      "0.3939",
      "0.3030",
      "4.4000",
    ]);
    expect(expected.subsidies_paid_cumulative).toBe("223.63");
    for (const i of s.items) {
      expect(i.label_zh.length, i.key).toBeGreaterThan(0);
      expect(i.label.length, i.key).toBeGreaterThan(0);
      if (i.unit === "yuan") expect(i.value, i.key).toMatch(/^-?\d+\.\d{2}$/);
      else if (i.unit === "ratio") expect(i.value, i.key).toMatch(/^\d+\.\d{4}$/);
      else expect(Number.isInteger(i.value), i.key).toBe(true);
    }
  });

  it("April 2025 (an earlier month): every figure as of 04-30", async () => {
    const s = await summary("2025-04");
    expect(s.as_of).toBe("2025-04-30");
    const expected: Record<string, number | string> = {
      // G is still POOR (removed in May); C exited on 04-28.
      households_poor: 6,
      people_poor: 11,
      households_exited: 1,
      people_exited: 2,
      households_monitored: 1,
      people_monitored: 1,
      households_removed: 0,
      people_removed: 0,
      // Eligible A B C D E F G H (8); E is not rated yet.
      households_rated: 5,
      households_with_line: 4,
      lines_granted_amount: "180000.00",
      rated_share: ratio(5, 8),
      loans_disbursed_count: 0,
      loans_disbursed_amount: "0.00",
      loans_disbursed_count_cumulative: 3,
      loans_disbursed_amount_cumulative: "60000.00",
      households_borrowed_cumulative: 3,
      coverage_ratio: ratio(3, 8),
      credit_use_ratio: ratio(3, 4),
      loans_outstanding_amount: "56000.00",
      // No close of business ran on or before 04-30: no snapshot, no ratio.
      overdue_ratio: "0.0000",
      npl_ratio: "0.0000",
      trustee_returns_paid_amount: "400.00",
      trustee_returns_paid_amount_cumulative: "400.00",
      trustee_returns_arrears_amount: "0.00", // the 03-01 installment was paid off 04-10
      trusteeships_in_arrears: 0,
      entrusted_principal_open: "20000.00",
      assets_in_operation: 1, // the greenhouse was built in May
      assets_idle: 1,
      assets_damaged: 0,
      assets_disposed: 0,
      assets_book_value: "800000.00",
      dividends_paid_amount: "0.00",
      dividends_paid_amount_cumulative: "0.00",
      dividend_households_reached: 0,
      dividend_average_per_household: "0.00",
      subsidies_paid_month: "223.63",
      subsidies_paid_month_to_banks: c.seen.lcQ1Subsidy,
      subsidies_paid_month_to_households: c.seen.laQ1Subsidy,
      subsidies_paid_cumulative: "223.63",
      subsidy_households_reimbursed_cumulative: 1,
      risk_fund_balance: "10000.00",
      risk_fund_covered_outstanding: "56000.00",
      risk_fund_leverage: ratio(56000, 10000),
      risk_fund_compensation_month: "0.00",
      risk_fund_compensation_cumulative: "0.00",
      circuit_breakers_open: 0,
    };
    expect(Object.fromEntries(s.items.map((i) => [i.key, i.value]))).toEqual(expected);
    expect(s.items.map((i) => i.key).sort()).toEqual(Object.keys(expected).sort());
    expect([expected.rated_share, expected.coverage_ratio, expected.credit_use_ratio, expected.risk_fund_leverage]).toEqual(["0.6250", "0.3750", "0.7500", "5.6000"]);
  });

  it("exports the same figures as CSV and XLSX", async () => {
    for (const month of ["2025-06", "2025-04"]) {
      const json = await summary(month);
      const csv = await t.as("regulator").get(`${API}/reports/county-summary?county_code=${COUNTY}&month=${month}&format=csv`).buffer(true);
      expect(csv.status).toBe(200);
      expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
      expect(csv.text.charCodeAt(0)).toBe(0xfeff);
      const lines = csv.text.slice(1).trim().split(/\r?\n/);
      expect(lines[0]).toBe("指标代码,指标,英文名称,单位,数值");
      const fromCsv = lines.slice(1).map((l) => {
        const cells = l.split(",");
        return [cells[0], cells[cells.length - 1]];
      });
      expect(fromCsv).toEqual(json.items.map((i) => [i.key, String(i.value)]));

      const xlsx = await t.as("regulator")
        .get(`${API}/reports/county-summary?county_code=${COUNTY}&month=${month}&format=xlsx`)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on("data", (b: Buffer) => chunks.push(b));
          res.on("end", () => cb(null, Buffer.concat(chunks)));
        });
      expect(xlsx.status).toBe(200);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(xlsx.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
      const ws = wb.worksheets[0];
      expect(ws.getRow(1).values).toEqual([undefined, "指标代码", "指标", "英文名称", "单位", "数值"]);
      const rows: [string, string, number][] = [];
      ws.eachRow((row, n) => {
        if (n > 1) rows.push([String(row.getCell(1).value), String(row.getCell(2).value), row.getCell(5).value as number]);
      });
      expect(rows).toEqual(json.items.map((i) => [i.key, i.label_zh, Number(i.value)]));
      const meta = wb.getWorksheet("说明")!;
      expect(meta.getRow(4).values).toEqual([undefined, "统计截至", json.as_of]);
    }
  });
});
