import ExcelJS from "exceljs";
import { describe, expect, it } from "vitest";
import { type ExportTable, headerOf, tableCsv, tableXlsx } from "../../src/http/export.js";

/** The one CSV/XLSX writer: units in the headers, percentages in CSV, numbers in XLSX, the sheet set up for reading. */
type Row = { name: string; amount: string; ratio: string; n: number; mixed: string; unit: "yuan" | "ratio" };
const table: ExportTable<Row> = {
  sheet: "分村 2025-07-01 一个很长很长很长很长很长很长很长的名字",
  columns: [
    { header: "村", kind: "text", width: 12, value: (r) => r.name },
    { header: "贷款余额", kind: "yuan", value: (r) => r.amount },
    { header: "不良率", kind: "ratio", value: (r) => r.ratio },
    { header: "户数", kind: "count", value: (r) => r.n },
    { header: "数值", kind: (r) => r.unit, value: (r) => r.mixed },
  ],
  rows: [
    { name: "新市村", amount: "56000.00", ratio: "0.3571", n: 4, mixed: "0.0345", unit: "ratio" },
    { name: "百花村, 二组", amount: "0.10", ratio: "0.0000", n: 0, mixed: "1234567.89", unit: "yuan" },
  ],
  notes: [["统计截至", "2025-07-01"]],
};

describe("export writer", () => {
  it("puts the unit in a header from the column's kind, none on a column of mixed kinds", () => {
    expect(table.columns.map(headerOf)).toEqual(["村", "贷款余额（元）", "不良率（%）", "户数", "数值"]);
  });

  it("writes CSV with a byte-order mark, amounts as the API has them, ratio columns as percentages", () => {
    const csv = tableCsv(table);
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv.slice(1).trim().split("\n")).toEqual([
      "村,贷款余额（元）,不良率（%）,户数,数值",
      "新市村,56000.00,35.71,4,0.0345",
      '"百花村, 二组",0.10,0.00,0,1234567.89',
    ]);
  });

  it("writes XLSX with a frozen header, an autofilter over it, widths, number formats and the notes sheet", async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await tableXlsx(table)) as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const ws = wb.worksheets[0];
    expect(ws.name).toHaveLength(31);
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    expect(ws.autoFilter).toBe("A1:E1");
    expect(ws.getColumn(1).width).toBe(12);
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual(["村", "贷款余额（元）", "不良率（%）", "户数", "数值"]);
    expect((ws.getRow(2).values as unknown[]).slice(1)).toEqual(["新市村", 56000, 0.3571, 4, 0.0345]);
    expect([2, 3, 4, 5].map((c) => ws.getRow(2).getCell(c).numFmt)).toEqual(["#,##0.00", "0.00%", "#,##0", "0.00%"]);
    expect(ws.getRow(3).getCell(5).numFmt).toBe("#,##0.00");
    expect((wb.getWorksheet("说明")!.getRow(1).values as unknown[]).slice(1)).toEqual(["统计截至", "2025-07-01"]);
  });
});
