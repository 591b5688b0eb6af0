/**
 * Tables people download: the same rows as CSV (UTF-8 with a byte-order mark, so Excel opens the
 * Chinese headers) or as an XLSX workbook with one sheet per table, each with its header row frozen
 * and an autofilter over it. Amounts arrive as decimal strings and are written as numbers with two
 * places in the workbook (so the bank's staff can sum and filter them), as they are in the CSV.
 */
import { stringify } from "csv-stringify/sync";
import ExcelJS from "exceljs";

export type CellValue = string | number | boolean | null;

export interface TableColumn<T> {
  /** Header as people read it (Chinese first). */
  header: string;
  value: (row: T) => CellValue;
  /** A decimal string of yuan: a number with two places in the workbook. */
  money?: boolean;
  width?: number;
}

export interface Sheet<T> {
  name: string;
  columns: TableColumn<T>[];
  rows: T[];
}

export const CSV_TYPE = "text/csv";
export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

export function tableCsv<T>(columns: TableColumn<T>[], rows: T[]): string {
  return "\ufeff" + stringify([columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => c.value(r) ?? ""))]);
}

/** A sheet with its cells computed: the sheets of one workbook have rows of different types. */
export interface SheetCells {
  name: string;
  columns: Pick<TableColumn<unknown>, "header" | "money" | "width">[];
  cells: CellValue[][];
}

export function sheetOf<T>(s: Sheet<T>): SheetCells {
  return { name: s.name, columns: s.columns, cells: s.rows.map((r) => s.columns.map((c) => c.value(r))) };
}

export async function tablesXlsx(sheets: SheetCells[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "Huinong";
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name, { views: [{ state: "frozen", ySplit: 1 }] });
    ws.addRow(s.columns.map((c) => c.header));
    ws.getRow(1).font = { bold: true };
    for (const values of s.cells) {
      const row = ws.addRow(values.map((v, i) => (s.columns[i].money && typeof v === "string" && v !== "" ? Number(v) : v)));
      s.columns.forEach((c, i) => {
        if (c.money) row.getCell(i + 1).numFmt = "#,##0.00";
      });
    }
    ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1 + s.cells.length, column: s.columns.length } };
    s.columns.forEach((c, i) => {
      ws.getColumn(i + 1).width = c.width ?? Math.max(10, c.header.length * 2 + 2);
    });
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
