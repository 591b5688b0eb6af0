import type { RequestHandler } from "express";
import { AppError, type FieldError } from "./errors.js";
import { registry } from "./openapi.js";
import { pathPattern } from "./route-table.js";

/**
 * Query strings are strict: a parameter a route does not take is a 400 naming it (a misspelt
 * filter must not quietly return the unfiltered list), and a scalar parameter given twice
 * (`?status=A&status=B`) is a 400 rather than one of the values picked silently.
 *
 * Express 5 parses query strings with Node's `querystring` ("simple" parser, set explicitly in
 * app.ts): no nesting, so `?status[]=x` or `?a[b]=1` is a parameter literally named `status[]` or
 * `a[b]` (unknown, hence refused), and a repeated name becomes an array of strings.
 */

/** The part of a zod 4 schema's definition this file reads. */
interface SchemaDef {
  type: string;
  shape?: Record<string, SchemaLike>;
  in?: SchemaLike;
  innerType?: SchemaLike;
}
interface SchemaLike {
  _zod: { def: SchemaDef };
}

const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"]);

/** A schema without its optional/default/… wrappers and transforms (a pipe's input). */
function unwrap(schema: SchemaLike): SchemaLike {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const def = s._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) s = def.innerType;
    else if (def.type === "pipe" && def.in) s = def.in;
    else break;
  }
  return s;
}

/** The fields of an object schema (seen through wrappers and transforms), or undefined if it is not one. */
export function queryFields(schema: unknown): Record<string, SchemaLike> | undefined {
  if (typeof schema !== "object" || schema === null || !("_zod" in schema)) return undefined;
  const s = unwrap(schema as SchemaLike);
  return s._zod.def.type === "object" ? s._zod.def.shape : undefined;
}

const plural = (n: number, word: string) => `${word}${n === 1 ? "" : "s"}`;

/**
 * Refuses query parameters `schema` does not name (400 `UNKNOWN_QUERY_PARAMETER`) and repeated
 * values of a parameter that takes one (400 `VALIDATION_FAILED`). Called by `parse(…, "query")`.
 */
export function checkQueryKeys(schema: unknown, query: unknown): void {
  if (typeof query !== "object" || query === null) return;
  const fields = queryFields(schema);
  if (!fields) return;
  const keys = Object.keys(query);
  const unknown = keys.filter((k) => !Object.hasOwn(fields, k));
  if (unknown.length > 0) throw unknownParameters(unknown, Object.keys(fields));
  const repeated: FieldError[] = [];
  for (const k of keys) {
    const v = (query as Record<string, unknown>)[k];
    if (Array.isArray(v) && unwrap(fields[k])._zod.def.type !== "array") {
      repeated.push({ path: `query.${k}`, message: { zh: `只能取一个值，实际给了 ${v.length} 次`, en: `takes one value; it was given ${v.length} times` } });
    }
  }
  if (repeated.length > 0) {
    const paths = repeated.map((e) => e.path).join(", ");
    throw new AppError("VALIDATION_FAILED", { zh: `查询参数无效：${paths}`, en: `Invalid query: ${paths}` }, repeated);
  }
}

function unknownParameters(unknown: string[], known: string[]): AppError {
  const takes = known.length > 0 ? `this route takes ${known.join(", ")}` : "this route takes no query parameters";
  const takesZh = known.length > 0 ? `本接口接受 ${known.join(", ")}` : "本接口不接受查询参数";
  return new AppError(
    "UNKNOWN_QUERY_PARAMETER",
    { zh: `未知的查询参数：${unknown.join(", ")}（${takesZh}）`, en: `Unknown query ${plural(unknown.length, "parameter")}: ${unknown.join(", ")} (${takes})` },
    unknown.map((k) => ({ path: `query.${k}`, message: { zh: `未知的查询参数 "${k}"；${takesZh}`, en: `unknown query parameter "${k}"; ${takes}` } })),
  );
}

interface DocumentedRoute {
  method: string;
  pattern: RegExp;
  takesQuery: boolean;
}

/** Every route documented with `doc()`, as a method and a path pattern under the API's mount point. */
function documentedRoutes(mount: string): DocumentedRoute[] {
  const out: DocumentedRoute[] = [];
  for (const d of registry.definitions) {
    if (d.type !== "route" || !d.route.path.startsWith(`${mount}/`)) continue;
    out.push({ method: d.route.method.toUpperCase(), pattern: pathPattern(d.route.path.slice(mount.length)), takesQuery: d.route.request?.query !== undefined });
  }
  return out;
}

/**
 * For routes whose documentation names no query parameters (they do not parse one), any query
 * parameter is refused. Routes that take a query check it themselves in `parse(…, "query")`;
 * a path documented both ways (`/x/:id` and `/x/summary`) is left to the route.
 */
export function refuseQueryWhereNoneIsTaken(mount = "/api/v1"): RequestHandler {
  let routes: DocumentedRoute[] | undefined;
  return (req, _res, next) => {
    const keys = Object.keys(req.query);
    if (keys.length === 0) return next();
    routes ??= documentedRoutes(mount);
    const method = req.method === "HEAD" ? "GET" : req.method;
    const matches = routes.filter((r) => r.method === method && r.pattern.test(req.path));
    if (matches.length > 0 && matches.every((r) => !r.takesQuery)) throw unknownParameters(keys, []);
    next();
  };
}
