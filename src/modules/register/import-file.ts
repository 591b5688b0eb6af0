import { parse as parseCsv } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { AppError, type Detail } from "../../http/errors.js";
import { readFirstSheet } from "../../lib/xlsx-read.js";
import type { FileRow } from "./import-model.js";

/**
 * Reading a register file (CSV or XLSX) into a header and rows of text, and writing the error
 * workbook a village officer fixes and sends back.
 */
export type FileFormat = "CSV" | "XLSX";

export const XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** XLSX is a ZIP archive (`PK\x03\x04`); anything else is read as CSV. */
export function formatOf(content: Buffer): FileFormat {
  return content.length >= 4 && content.readUInt32BE(0) === 0x504b0304 ? "XLSX" : "CSV";
}

function unreadable(detail: Detail): AppError {
  return new AppError("REGISTER_FILE_UNREADABLE", detail);
}

/** UTF-8 (a BOM is dropped), or GB18030 — what Excel writes for 「CSV」 on a Chinese Windows. */
function decodeText(content: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(content);
  } catch {
    return new TextDecoder("gb18030").decode(content);
  }
}

const isBlank = (cells: string[]) => cells.every((c) => c.trim() === "");

async function readXlsx(content: Buffer): Promise<string[][] & { rowNos: number[] }> {
  const sheet = readFirstSheet(content);
  return Object.assign(
    sheet.map((r) => r.cells),
    { rowNos: sheet.map((r) => r.rowNo) },
  );
}

/** The header (first non-blank row) and the data rows with their row numbers in the sheet. */
export async function readRegisterFile(content: Buffer): Promise<{ format: FileFormat; header: string[]; rows: FileRow[] }> {
  const format = formatOf(content);
  let table: string[][];
  let rowNos: number[];
  try {
    if (format === "XLSX") {
      const x = await readXlsx(content);
      table = x;
      rowNos = x.rowNos;
    } else {
      table = parseCsv(decodeText(content), { relax_column_count: true, bom: true, relax_quotes: true }) as string[][];
      rowNos = table.map((_, i) => i + 1);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw unreadable(
      format === "XLSX"
        ? { zh: "XLSX 文件无法读取，请另存为 .xlsx 或 UTF-8 CSV", en: "The XLSX file could not be read; save it as .xlsx or UTF-8 CSV" }
        : { zh: "CSV 文件无法读取，请检查引号与分隔符", en: "The CSV file could not be read; check its quotes and separators" },
    );
  }
  const first = table.findIndex((r) => !isBlank(r));
  if (first < 0) throw unreadable({ zh: "文件为空", en: "The file is empty" });
  const header = table[first].map((c) => c.trim());
  const rows: FileRow[] = [];
  for (let i = first + 1; i < table.length; i++) {
    if (!isBlank(table[i])) rows.push({ rowNo: rowNos[i], cells: table[i] });
  }
  return { format, header, rows };
}

export interface ErrorRow {
  rowNo: number;
  cells: string[];
  /** Each problem with the index of its column in the file's header, when it names one. */
  problems: { column: string; message: string; index?: number }[];
}

export const ERROR_COLUMN = "错误说明";
export const ROW_NO_COLUMN = "原行号";

/**
 * The rows with problems as a workbook: the file's own columns (so the fixed rows can be sent
 * back as they are), then the row's number in the original file and the problems in words; the
 * header frozen, the cells with a problem filled red.
 */
export async function errorWorkbook(header: string[], rows: ErrorRow[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "huinong";
  const ws = wb.addWorksheet("错误行", { views: [{ state: "frozen", ySplit: 1 }] });
  ws.addRow([...header, ROW_NO_COLUMN, ERROR_COLUMN]);
  ws.getRow(1).font = { bold: true };
  // Every cell is text: an ID number or a village code must not turn into a number on the way back.
  ws.columns = [...header, ROW_NO_COLUMN, ERROR_COLUMN].map((h, i) => ({ key: `c${i}`, width: i === header.length + 1 ? 60 : Math.max(10, h.length * 2 + 4), style: { numFmt: "@" } }));
  for (const r of rows) {
    const padded = header.map((_, i) => r.cells[i] ?? "");
    const row = ws.addRow([...padded, String(r.rowNo), r.problems.map((p) => `${p.column}：${p.message}`).join("；")]);
    for (const p of r.problems) {
      if (p.index !== undefined) row.getCell(p.index + 1).fill = { type: "pattern", pattern: "solid", fgColor: { argb: "FFFFC7CE" } };
    }
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
