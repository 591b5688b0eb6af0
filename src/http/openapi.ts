import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import type { ZodType } from "zod";
import { allErrorCodes } from "./errors.js";
import { Problem } from "./zod.js";

export const registry = new OpenAPIRegistry();
registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", bearerFormat: "JWT" });

const problemContent = { "application/problem+json": { schema: Problem } };
const STANDARD_ERRORS: Record<number, string> = {
  400: "Invalid input (problem+json with `errors`)",
  401: "No or bad token",
  403: "Role may not do this",
  404: "Unknown or outside your jurisdiction",
  409: "State conflict",
  422: "Breaks a business rule",
};

export interface RouteDoc {
  method: "get" | "post" | "patch" | "put" | "delete";
  /** Express-style path under /api/v1, e.g. `/households/:id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  params?: ZodType;
  query?: ZodType;
  body?: ZodType;
  response?: ZodType;
  status?: number;
  /** Who may call it. */
  roles?: string;
  /** "none": a POST that takes no Idempotency-Key (e.g. one answering a fresh credential). */
  idempotent?: "required" | "accepted" | "none";
  public?: boolean;
  errors?: number[];
  /** The answer can also be a download: `text/csv` and XLSX (`?format=csv|xlsx` or the Accept header). */
  downloads?: boolean;
}

const DOWNLOADS = {
  "text/csv": { schema: { type: "string" as const, description: "UTF-8 with a byte-order mark; units in the headers (元, %)" } },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
    schema: { type: "string" as const, format: "binary", description: "Frozen header row, autofilter, column widths, units in the headers (元, %)" },
  },
};

/** Documents one route; the schemas are the same objects the handler validates with. */
export function doc(d: RouteDoc): void {
  const path = `/api/v1${d.path.replace(/:([a-zA-Z_]+)/g, "{$1}")}`;
  const responses: RouteConfig["responses"] = {
    [d.status ?? 200]: {
      description: "Success",
      ...(d.response || d.downloads ? { content: { ...(d.response ? { "application/json": { schema: d.response } } : {}), ...(d.downloads ? DOWNLOADS : {}) } } : {}),
    },
  };
  const errs = d.errors ?? (d.public ? [400] : [400, 401, 403, 404, ...(d.method === "get" ? [] : [409, 422])]);
  for (const s of errs) responses[s] = { description: STANDARD_ERRORS[s] ?? "Error", content: problemContent };
  const notes = [
    d.description,
    d.roles ? `**Roles:** ${d.roles}.` : undefined,
    d.idempotent === "required" ? "**Idempotency-Key header required** (moves money); a retry replays the first answer." : undefined,
    d.idempotent === "accepted" || (d.method === "post" && !d.idempotent && !d.public) ? "Accepts an `Idempotency-Key` header." : undefined,
  ].filter(Boolean);
  registry.registerPath({
    method: d.method,
    path,
    tags: [d.tag],
    summary: d.summary,
    description: notes.join("\n\n") || undefined,
    security: d.public ? [] : [{ bearer: [] }],
    request: {
      ...(d.params ? { params: d.params as never } : {}),
      ...(d.query ? { query: d.query as never } : {}),
      ...(d.body ? { body: { content: { "application/json": { schema: d.body } }, required: true } } : {}),
    },
    responses,
  });
}

let cached: object | undefined;
export function openApiDocument(): object {
  if (cached) return cached;
  cached = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Huinong API (惠农)",
      version: "1.0.0",
      description: [
        "Poverty-alleviation microcredit, trusteeship and asset-income platform for a county.",
        "Money is a decimal string with two places (`\"50000.00\"`), rates decimal strings (`\"0.0345\"`), dates `YYYY-MM-DD` (Asia/Shanghai).",
        "Query parameters are strict: one a route does not list is refused with 400 `UNKNOWN_QUERY_PARAMETER` naming it (a misspelt filter never returns the unfiltered list), and a parameter that takes one value may be given once (`?status=A&status=B` is 400). JSON bodies are limited in size (413 `PAYLOAD_TOO_LARGE`) and in nesting depth (400 `BODY_TOO_DEEP`, 32 levels by default).",
        `Errors are RFC 9457 \`application/problem+json\` with a stable \`code\`: the ${Object.keys(allErrorCodes()).length} codes, their status and meaning are listed on [/docs/errors](/docs/errors).`,
      ].join("\n\n"),
    },
    servers: [{ url: "/" }],
  });
  return cached;
}
