import { existsSync, readdirSync, readFileSync } from "node:fs";
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import type { Application } from "express";
import { z, type ZodType } from "zod";
import { allErrorCodes } from "./errors.js";
import { samePath, servedRoutes, type ServedRoute } from "./route-table.js";
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
  429: "Too many attempts; wait the number of seconds in `Retry-After`",
  503: "Not ready (database unreachable or not migrated)",
};

/** Media types an answer can take besides JSON (content negotiation or a `format` parameter). */
export const MEDIA = {
  csv: "text/csv",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  html: "text/html",
} as const;
const MEDIA_SCHEMAS: Record<keyof typeof MEDIA, ZodType> = {
  csv: z.string().openapi({ description: "UTF-8 CSV with a header row" }),
  xlsx: z.string().openapi({ format: "binary", description: "An Excel workbook (Chinese headers)" }),
  html: z.string().openapi({ description: "A printable HTML page" }),
};

export interface RouteDoc {
  method: "get" | "post" | "patch" | "put" | "delete";
  /** Express-style path under /api/v1, e.g. `/households/:id` (from the root with `root`). */
  path: string;
  /** The path is not under /api/v1 (health checks, the document itself). */
  root?: boolean;
  /**
   * The operation's name for code generators, camelCase and unique. Leave it out to take the name
   * derived from the method and path (`operationIdOf`); give it where that name reads badly.
   */
  operationId?: string;
  tag: string;
  summary: string;
  description?: string;
  params?: ZodType;
  query?: ZodType;
  body?: ZodType;
  response?: ZodType;
  status?: number;
  /** Other media types of the success answer (the JSON one is `response`). */
  produces?: (keyof typeof MEDIA)[];
  /** Who may call it. */
  roles?: string;
  /**
   * Optional, and never needed: the document reads the Idempotency-Key rule from the handler
   * (`command()`, `requireKey`). Where given it is checked against the handler (see
   * `declaredIdempotency`): "none" for a POST whose handler is not a `command()`.
   */
  idempotent?: "required" | "accepted" | "none";
  public?: boolean;
  errors?: number[];
  /** The success answer may also be a printable HTML page (`?format=html` or `Accept: text/html`). */
  html?: boolean;
  /** The body may also be a CSV (`text/csv`) or XLSX file instead of the JSON `body` (see http/upload.ts). */
  files?: { description: string };
}

// ---------- operation ids ----------

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const pascal = (s: string) => (s ? s[0].toUpperCase() + camel(s).slice(1) : s);
const INVARIANT = /(ss|us|is|data|me|series|summary|news)$/;
function singular(word: string): string {
  if (INVARIANT.test(word)) return word;
  if (word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.endsWith("s")) return word.slice(0, -1);
  return word;
}
const isPlural = (word: string) => singular(word) !== word;

/**
 * The name derived from method and path: `GET /loans` listLoans, `GET /statements/:id.csv` getStatementCsv, `GET /loans/:id` getLoan,
 * `POST /loans` createLoan, `POST /loans/:id/repayments` createLoanRepayment, `GET /loans/:id/repayments`
 * listLoanRepayments, `POST /loans/:id/approve` approveLoan (a last segment that is not a plural noun is
 * read as a verb), `PATCH /users/:id` updateUser, `DELETE /x/:id` deleteX.
 */
export function operationIdOf(method: RouteDoc["method"], path: string): string {
  const parts = path.split("/").filter(Boolean);
  const endsWithParam = parts.length > 0 && parts[parts.length - 1].startsWith(":");
  // A file form of a resource (`/statements/:id.csv`): getStatementCsv beside getStatement.
  const format = endsWithParam ? pascal(/\.([A-Za-z0-9]+)$/.exec(parts[parts.length - 1])?.[1] ?? "") : "";
  const words = parts.filter((p) => !p.startsWith(":") && p !== "me"); // `/portal/me/loans`: listPortalLoans
  if (words.length === 0) return method;
  const last = words[words.length - 1];
  const before = words.slice(0, -1).map((w) => pascal(singular(w))).join("");
  if (endsWithParam) {
    const noun = before + pascal(singular(last));
    return { get: "get", post: "create", patch: "update", put: "replace", delete: "delete" }[method] + noun + format;
  }
  switch (method) {
    case "get":
      return isPlural(last) ? `list${before}${pascal(last)}` : `get${before}${pascal(last)}`;
    case "post":
      return isPlural(last) || words.length === 1 ? `create${before}${pascal(singular(last))}` : `${camel(last)}${before}`;
    case "patch":
      return `update${before}${pascal(singular(last))}`;
    case "put":
      return `replace${before}${pascal(singular(last))}`;
    case "delete":
      return `delete${before}${pascal(singular(last))}`;
  }
}

const MOUNT = "/api/v1";
const operationIds = new Map<string, string>();
const declared: { method: string; path: string; idempotent: NonNullable<RouteDoc["idempotent"]> }[] = [];

/** The Idempotency-Key rules that `doc()` calls state, for the test that checks them against the handlers. */
export function declaredIdempotency(): readonly { method: string; path: string; idempotent: NonNullable<RouteDoc["idempotent"]> }[] {
  return declared;
}

const DOWNLOADS = {
  "text/csv": { schema: { type: "string" as const, description: "UTF-8 with a byte-order mark; units in the headers (元, %)" } },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
    schema: { type: "string" as const, format: "binary", description: "Frozen header row, autofilter, column widths, units in the headers (元, %)" },
  },
};

/** Documents one route; the schemas are the same objects the handler validates with. */
export function doc(d: RouteDoc): void {
  const path = `${d.root ? "" : MOUNT}${d.path.replace(/:([a-zA-Z_]+)/g, "{$1}")}`;
  const operationId = d.operationId ?? operationIdOf(d.method, d.path);
  const taken = operationIds.get(operationId);
  if (taken) throw new Error(`operationId ${operationId} of ${d.method.toUpperCase()} ${d.path} is already that of ${taken}: give one of them an explicit operationId`);
  operationIds.set(operationId, `${d.method.toUpperCase()} ${d.path}`);
  if (d.idempotent) declared.push({ method: d.method.toUpperCase(), path, idempotent: d.idempotent });
  const success = d.status ?? 200;
  const content: Record<string, { schema: ZodType }> = {};
  if (d.response) content["application/json"] = { schema: d.response };
  for (const m of [...(d.produces ?? []), ...(d.html ? (["html"] as const) : [])]) content[MEDIA[m]] = { schema: MEDIA_SCHEMAS[m] };
  const responses: RouteConfig["responses"] = {
    [success]: { description: success === 204 ? "Done; no body" : "Success", ...(Object.keys(content).length > 0 ? { content } : {}) },
  };
  const errs = d.errors ?? (d.public ? [400] : [400, 401, 403, 404, ...(d.method === "get" ? [] : [409, 422])]);
  for (const s of errs) responses[s] = { description: STANDARD_ERRORS[s] ?? "Error", content: problemContent };
  const notes = [d.description, d.roles ? `**Roles:** ${d.roles}.` : undefined].filter(Boolean);
  registry.registerPath({
    method: d.method,
    path,
    operationId,
    tags: [d.tag],
    summary: d.summary,
    description: notes.join("\n\n") || undefined,
    security: d.public ? [] : [{ bearer: [] }],
    request: {
      ...(d.params ? { params: d.params as never } : {}),
      ...(d.query ? { query: d.query as never } : {}),
      ...(d.body
        ? {
            body: {
              content: {
                "application/json": { schema: d.body },
                ...(d.files
                  ? {
                      "text/csv": { schema: { type: "string", description: d.files.description } },
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { schema: { type: "string", format: "binary", description: d.files.description } },
                    }
                  : {}),
              },
              required: true,
            },
          }
        : {}),
    },
    responses,
  });
}

// ---------- the document ----------

/** Example answers captured from the demo county (`scripts/openapi-examples.ts`), one file per operationId. */
export const EXAMPLES_DIR = new URL("./examples/", import.meta.url);

function examples(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!existsSync(EXAMPLES_DIR)) return out;
  for (const f of readdirSync(EXAMPLES_DIR)) {
    if (f.endsWith(".json")) out.set(f.slice(0, -5), JSON.parse(readFileSync(new URL(f, EXAMPLES_DIR), "utf8")));
  }
  return out;
}

const PARAMETERS = {
  AcceptLanguage: {
    name: "Accept-Language",
    in: "header",
    required: false,
    description:
      "Language of what people read (`title`, `detail` and field messages of errors, `status_label`, alerts' `message` and labels): Chinese (`zh-CN`, the default) or English (`en`, or any `en-*` preferred over Chinese). The answer's `Content-Language` says which.",
    schema: { type: "string", enum: ["zh-CN", "en"], default: "zh-CN" },
  },
  IdempotencyKeyRequired: {
    name: "Idempotency-Key",
    in: "header",
    required: true,
    description: "Required (this request moves money): a unique key per intended request, e.g. a UUID, reused on retries. A retry with the same key and body replays the first answer (`Idempotent-Replayed: true`) for 24 hours; the same key with another body is 422 `IDEMPOTENCY_KEY_REUSED`.",
    schema: { type: "string", minLength: 1, maxLength: 200 },
  },
  IdempotencyKeyAccepted: {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description: "Optional: with it, a retry with the same key and body replays the first answer (`Idempotent-Replayed: true`) for 24 hours instead of acting twice.",
    schema: { type: "string", minLength: 1, maxLength: 200 },
  },
} as const;
const HEADERS = {
  RetryAfter: { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 1 } },
  IdempotentReplayed: { description: "`true` when this answer is the stored answer to an earlier request with the same Idempotency-Key", schema: { type: "string", enum: ["true"] } },
} as const;

interface Operation {
  operationId?: string;
  description?: string;
  parameters?: unknown[];
  responses?: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { example?: unknown }> }>;
}

/**
 * Adds what the route table knows to the generated operations: the Idempotency-Key header where the
 * handler is a `command()` (required where it moves money), Accept-Language everywhere, response
 * headers, and the captured examples.
 */
function decorate(paths: Record<string, Record<string, Operation>>, served: ServedRoute[]): void {
  const ex = examples();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const route = served.find((r) => r.method === method.toUpperCase() && samePath(r.path, path));
      const params = (op.parameters ??= []);
      if (route?.idempotencyKey) {
        params.push({ $ref: `#/components/parameters/${route.idempotencyKey === "required" ? "IdempotencyKeyRequired" : "IdempotencyKeyAccepted"}` });
        const success = Object.keys(op.responses ?? {}).find((s) => s.startsWith("2"));
        if (success && op.responses) op.responses[success].headers = { ...op.responses[success].headers, "Idempotent-Replayed": { $ref: "#/components/headers/IdempotentReplayed" } };
        if (route.idempotencyKey === "required") op.description = [op.description, "**Idempotency-Key header required** (moves money); a retry replays the first answer."].filter(Boolean).join("\n\n");
      }
      params.push({ $ref: "#/components/parameters/AcceptLanguage" });
      const tooMany = op.responses?.["429"];
      if (tooMany) tooMany.headers = { ...tooMany.headers, "Retry-After": { $ref: "#/components/headers/RetryAfter" } };
      const example = op.operationId ? ex.get(op.operationId) : undefined;
      if (example !== undefined) {
        const success = Object.entries(op.responses ?? {}).find(([s]) => s.startsWith("2"))?.[1];
        const json = success?.content?.["application/json"];
        if (json) json.example = example;
      }
    }
  }
}

const cached = new WeakMap<Application, object>();

/** The OpenAPI 3.1 document of the app (its route table says which operations take an Idempotency-Key). */
export function openApiDocument(app: Application): object {
  const hit = cached.get(app);
  if (hit) return hit;
  const generated = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Huinong API (惠农)",
      version: "1.0.0",
      description: [
        "Poverty-alleviation microcredit, trusteeship and asset-income platform for a county.",
        "Money is a decimal string with two places (`\"50000.00\"`), rates decimal strings (`\"0.0345\"`), dates `YYYY-MM-DD` (Asia/Shanghai).",
        "Query parameters are strict: one a route does not list is refused with 400 `UNKNOWN_QUERY_PARAMETER` naming it (a misspelt filter never returns the unfiltered list), and a parameter that takes one value may be given once (`?status=A&status=B` is 400). JSON bodies are limited in size (413 `PAYLOAD_TOO_LARGE`) and in nesting depth (400 `BODY_TOO_DEEP`, 32 levels by default).",
        "Lists answer `{items, next_cursor}` and take `limit` (1-500, default 50) and `cursor`: pass the `next_cursor` of one page as `cursor` to get the next; `null` means the last page.",
        "A known path called with a method it does not serve answers 405 `METHOD_NOT_ALLOWED` with an `Allow` header.",
        `Errors are RFC 9457 \`application/problem+json\` with a stable \`code\`: the ${Object.keys(allErrorCodes()).length} codes, their status and meaning are listed on [/docs/errors](/docs/errors).`,
        "Language: what people read is Chinese by default and English with `Accept-Language: en` — an error's `title`, `detail` and field messages (a Chinese answer keeps a detail the server wrote in English only under `detail_en`), the `status_label` beside a record's `status` code (codes never change), alerts' `message`, `kind_label` and `severity_label`. `Content-Language` says which.",
      ].join("\n\n"),
    },
    servers: [{ url: "/" }],
  }) as { paths?: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, unknown>> };
  decorate(generated.paths ?? {}, servedRoutes(app).routes);
  generated.components = { ...generated.components, parameters: { ...PARAMETERS }, headers: { ...HEADERS } };
  cached.set(app, generated);
  return generated;
}
