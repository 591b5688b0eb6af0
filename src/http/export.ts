import { stringify } from "csv-stringify/sync";
import ExcelJS from "exceljs";
import type { Request, Response } from "express";
import { D } from "../lib/money.js";

/**
 * The one writer of every table a user downloads (county summary, figures by township, village and
 * bank, the loan book, the register, a distribution's shares): CSV (UTF-8 with a byte-order mark,
 * so Excel shows the Chinese headers) and XLSX with a frozen header row, an autofilter over the
 * header, column widths, and the unit in each header (元, %).
 */
export type CellKind = "text" | "count" | "yuan" | "ratio" | "date";

export interface ExportColumn<R> {
  /** The header without its unit; the unit is added from the kind (元, %). */
  header: string;
  /** One kind for the column, or a kind per row (a column of mixed figures: no unit in its header). */
  kind: CellKind | ((row: R) => CellKind);
  /** Width in characters (Excel's unit); a default per kind otherwise. */
  width?: number;
  value: (row: R) => string | number | null | undefined;
}

export interface ExportTable<R> {
  /** The worksheet's name (at most 31 characters; Excel refuses more). */
  sheet: string;
  columns: ExportColumn<R>[];
  rows: readonly R[];
  /** Optional second sheet "说明" of label/value pairs (county, date the figures stand at…). */
  notes?: [string, string][];
}

export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
export const EXPORT_FORMATS = ["json", "csv", "xlsx"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** The formats of a route that only downloads (no JSON form: the list endpoints page it). */
export const DOWNLOAD_FORMATS = ["csv", "xlsx"] as const;

const UNIT: Partial<Record<CellKind, string>> = { yuan: "元", ratio: "%" };
const WIDTH: Record<CellKind, number> = { text: 16, count: 10, yuan: 16, ratio: 10, date: 12 };
const NUM_FMT: Partial<Record<CellKind, string>> = { count: "#,##0", yuan: "#,##0.00", ratio: "0.00%" };

/** A header with its unit: "贷款余额（元）", "不良率（%）". */
export function headerOf<R>(c: ExportColumn<R>): string {
  const unit = typeof c.kind === "string" ? UNIT[c.kind] : undefined;
  return unit ? `${c.header}（${unit}）` : c.header;
}

/**
 * CSV keeps the API's decimal strings (no binary floats); a ratio column, headed "%", is written as
 * a percentage with two places ("0.0345" → "3.45"); a column of mixed kinds keeps the API's value.
 */
export function tableCsv<R>(t: ExportTable<R>): string {
  const rows = t.rows.map((r) =>
    t.columns.map((c) => {
      const v = c.value(r);
      if (v === null || v === undefined) return "";
      if (c.kind === "ratio") return new D(v).mul(100).toFixed(2, D.ROUND_HALF_UP);
      return String(v);
    }),
  );
  return "\ufeff" + stringify([t.columns.map(headerOf), ...rows]);
}

/** XLSX: numbers as numbers (amounts and ratios formatted, not rounded), text as text. */
export async function tableXlsx<R>(t: ExportTable<R>): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "Huinong";
  const ws = wb.addWorksheet(t.sheet.slice(0, 31), { views: [{ state: "frozen", xSplit: 0, ySplit: 1 }] });
  ws.columns = t.columns.map((c) => ({ header: headerOf(c), width: c.width ?? WIDTH[typeof c.kind === "string" ? c.kind : "yuan"] }));
  ws.getRow(1).font = { bold: true };
  for (const r of t.rows) {
    const row = ws.addRow(
      t.columns.map((c) => {
        const v = c.value(r);
        if (v === null || v === undefined) return null;
        const kind = typeof c.kind === "string" ? c.kind : c.kind(r);
        return kind === "text" || kind === "date" ? String(v) : Number(v);
      }),
    );
    t.columns.forEach((c, i) => {
      const fmt = NUM_FMT[typeof c.kind === "string" ? c.kind : c.kind(r)];
      if (fmt) row.getCell(i + 1).numFmt = fmt;
    });
  }
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: t.columns.length } };
  if (t.notes) {
    const meta = wb.addWorksheet("说明");
    meta.columns = [{ width: 16 }, { width: 40 }];
    meta.addRows(t.notes);
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The format asked for: `?format=` first, else the Accept header (text/csv, the XLSX type), else JSON. */
export function exportFormat(req: Request, explicit: ExportFormat | undefined): ExportFormat {
  if (explicit) return explicit;
  const best = req.accepts(["application/json", "text/csv", XLSX_TYPE]);
  return best === "text/csv" ? "csv" : best === XLSX_TYPE ? "xlsx" : "json";
}

/** Sends the table as a CSV or XLSX download named `<name>.csv|.xlsx`. */
export async function sendTable<R>(res: Response, format: "csv" | "xlsx", name: string, t: ExportTable<R>): Promise<void> {
  if (format === "csv") res.type("text/csv; charset=utf-8").attachment(`${name}.csv`).send(tableCsv(t));
  else res.type(XLSX_TYPE).attachment(`${name}.xlsx`).send(await tableXlsx(t));
}
