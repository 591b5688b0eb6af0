import express, { type RequestHandler } from "express";
import { CSV_TYPE, XLSX_TYPE } from "../lib/tables.js";
import { registry } from "./openapi.js";

/** Default for `UPLOAD_LIMIT`: a bank's file of 200,000 rows as CSV is about 10 MB. */
export const DEFAULT_UPLOAD_LIMIT = "32mb";

/** The media types a route documented with `files` takes besides JSON. */
export const FILE_TYPES = [CSV_TYPE, XLSX_TYPE] as const;
export type FileFormat = "csv" | "xlsx";

/** What a request carries: JSON (already parsed by the JSON body reader) or a file's bytes. */
export type Upload = { format: "json"; body: unknown } | { format: FileFormat; bytes: Buffer };

interface FileRoute {
  method: string;
  pattern: RegExp;
}
let fileRoutes: FileRoute[] | undefined;

/** Routes whose documentation lists a CSV body (`doc({ files: true })`), as method and path pattern. */
function documentedFileRoutes(): FileRoute[] {
  const out: FileRoute[] = [];
  for (const d of registry.definitions) {
    if (d.type !== "route" || !d.route.request?.body) continue;
    const content = (d.route.request.body as { content?: Record<string, unknown> }).content ?? {};
    if (!(CSV_TYPE in content)) continue;
    const source = d.route.path
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]+");
    out.push({ method: d.route.method.toUpperCase(), pattern: new RegExp(`^${source}/?$`) });
  }
  return out;
}

/** Whether a request may carry a CSV or XLSX body instead of JSON (its route is documented with `files`). */
export function takesFiles(method: string, path: string): boolean {
  fileRoutes ??= documentedFileRoutes();
  return fileRoutes.some((r) => r.method === method && r.pattern.test(path));
}

/**
 * Reads a CSV or XLSX body as bytes, up to `limit` (413 beyond), for one route; a JSON body has been
 * read by the JSON reader already. The route gets `uploadOf(req)`.
 */
export function fileBody(limit = DEFAULT_UPLOAD_LIMIT): RequestHandler {
  return express.raw({ type: [...FILE_TYPES], limit });
}

/** The body of a route that takes JSON or a file. */
export function uploadOf(req: { body: unknown; is(types: string[]): string | false | null }): Upload {
  if (Buffer.isBuffer(req.body)) return { format: req.is([CSV_TYPE]) ? "csv" : "xlsx", bytes: req.body };
  return { format: "json", body: req.body };
}
