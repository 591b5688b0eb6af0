import type { Request, Response } from "express";
import { CSV_TYPE, XLSX_TYPE } from "../lib/tables.js";

export type ExportFormat = "json" | "csv" | "xlsx";

/**
 * The format a download asks for: `?format=` when given, otherwise the Accept header
 * (`text/csv`, or the XLSX media type), otherwise JSON — as the county summary does.
 */
export function exportFormat(req: Request, format?: ExportFormat): ExportFormat {
  if (format) return format;
  const best = req.accepts(["application/json", CSV_TYPE, XLSX_TYPE]);
  return best === CSV_TYPE ? "csv" : best === XLSX_TYPE ? "xlsx" : "json";
}

/** Sends a CSV or XLSX download named `<name>.<ext>`. */
export function sendDownload(res: Response, format: "csv" | "xlsx", name: string, body: string | Buffer): void {
  if (format === "csv") res.type(`${CSV_TYPE}; charset=utf-8`).attachment(`${name}.csv`).send(body);
  else res.type(XLSX_TYPE).attachment(`${name}.xlsx`).send(body);
}
