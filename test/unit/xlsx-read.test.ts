import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ExcelJS from "exceljs";
import { describe, expect, it } from "vitest";
import { readFirstSheet, XlsxReadError } from "../../src/lib/xlsx-read.js";

/** Rows with Chinese text, entities, numbers, booleans, rich text and gaps, as the reader must return them. */
const ROWS: ExcelJS.CellValue[][] = [
  ["户编号", "姓名", "证件号码", "备注"],
  ["4690301002010001", "王大明", "46903019680312131X", "A&B <c> \"d\""],
  [12345678901, { richText: [{ text: "李" }, { text: "秀兰", font: { bold: true } }] }, 469030196803121316, true],
  [],
  ["", "符阿妹", null, 2.5],
];
const EXPECTED = [
  { rowNo: 1, cells: ["户编号", "姓名", "证件号码", "备注"] },
  { rowNo: 2, cells: ["4690301002010001", "王大明", "46903019680312131X", "A&B <c> \"d\""] },
  // A long number has already lost its last digits in Excel: it reads as Excel shows it, not as the ID number.
  { rowNo: 3, cells: ["12345678901", "李秀兰", "4.69030196803121e+17", "是"] },
  { rowNo: 5, cells: ["", "符阿妹", "", "2.5"] },
];

describe("readFirstSheet", () => {
  it("reads a workbook written with shared strings (as Excel writes them)", async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet("建档立卡");
    for (const r of ROWS) ws.addRow(r);
    wb.addWorksheet("说明").addRow(["not this sheet"]);
    const rows = readFirstSheet(Buffer.from(await wb.xlsx.writeBuffer()));
    expect(rows.filter((r) => r.cells.some((c) => c !== ""))).toEqual(EXPECTED);
  });

  it("reads a workbook written with inline strings, and every character of a long sheet whole", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xlsx-read-"));
    try {
      const file = join(dir, "inline.xlsx");
      const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: false });
      const ws = wb.addWorksheet("建档立卡");
      for (const r of ROWS) ws.addRow(r).commit();
      // Enough Chinese text that compressed chunks end inside a character somewhere.
      for (let i = 0; i < 5000; i++) ws.addRow([`户${i}`, "弱劳动力或半劳动力", "患有大病"]).commit();
      ws.commit();
      await wb.commit();
      const rows = readFirstSheet(readFileSync(file));
      expect(rows.slice(0, 4)).toEqual(EXPECTED); // the empty row is not written at all
      expect(rows).toHaveLength(EXPECTED.length + 5000);
      expect(rows.some((r) => r.cells.some((c) => c.includes("\uFFFD")))).toBe(false);
      expect(rows[rows.length - 1].cells).toEqual(["户4999", "弱劳动力或半劳动力", "患有大病"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses what is not an XLSX workbook", () => {
    expect(() => readFirstSheet(Buffer.from("户编号,姓名\n1,王\n"))).toThrow(XlsxReadError);
  });
});
