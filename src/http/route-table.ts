import type { Application, RequestHandler } from "express";

/**
 * The routes an Express app serves, read from its router stack: the one list that the OpenAPI
 * document (Idempotency-Key headers), the 405 answer (which methods a path has) and the test that
 * every served route is documented all read, so none of them can drift from what is served.
 */

export type IdempotencyKey = "required" | "accepted";

const IDEMPOTENCY = Symbol("idempotency-key");

/** Marks a handler as one that reads an Idempotency-Key (done by `command()`). */
export function markIdempotent<H extends RequestHandler>(handler: H, key: IdempotencyKey): H {
  (handler as unknown as Record<symbol, IdempotencyKey>)[IDEMPOTENCY] = key;
  return handler;
}

function idempotencyOf(handler: unknown): IdempotencyKey | undefined {
  return typeof handler === "function" ? (handler as unknown as Record<symbol, IdempotencyKey | undefined>)[IDEMPOTENCY] : undefined;
}

export interface ServedRoute {
  /** Upper case, e.g. `GET`. */
  method: string;
  /** Express-style full path, e.g. `/api/v1/loans/:id`. */
  path: string;
  idempotencyKey?: IdempotencyKey;
}

/** A mount (`app.use(path, …)`) that serves no route of its own: static files and the like. */
export interface ServedMount {
  path: string;
}

/** The part of router 2's Layer and Route this file reads. */
interface Layer {
  rawPath?: unknown;
  handle?: unknown;
  route?: { path: unknown; methods: Record<string, boolean>; stack: { handle?: unknown }[] };
}

const join = (prefix: string, path: string) => (path === "/" ? prefix || "/" : `${prefix}${path}`);

function walk(stack: Layer[], prefix: string, routes: ServedRoute[], mounts: ServedMount[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      const key = layer.route.stack.map((l) => idempotencyOf(l.handle)).find((k) => k !== undefined);
      for (const p of paths) {
        if (typeof p !== "string") continue;
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (!on || method === "_all") continue;
          routes.push({ method: method.toUpperCase(), path: join(prefix, p), ...(key ? { idempotencyKey: key } : {}) });
        }
      }
      continue;
    }
    const path = typeof layer.rawPath === "string" ? layer.rawPath : "/";
    const inner = (layer.handle as { stack?: unknown } | undefined)?.stack;
    if (Array.isArray(inner)) walk(inner as Layer[], join(prefix, path), routes, mounts);
    else if (path !== "/") mounts.push({ path: join(prefix, path) });
  }
}

/** Every method and path the app serves, and the mounts that serve files rather than routes. */
export function servedRoutes(app: Application): { routes: ServedRoute[]; mounts: ServedMount[] } {
  const router = (app as unknown as { router?: { stack?: Layer[] } }).router;
  const routes: ServedRoute[] = [];
  const mounts: ServedMount[] = [];
  walk(router?.stack ?? [], "", routes, mounts);
  return { routes, mounts };
}

const PARAM = /:[A-Za-z_][A-Za-z0-9_]*|\{[^}]+\}/g;

/** A path pattern (`/loans/:id` or `/loans/{id}`) as a regular expression matching request paths. */
export function pathPattern(path: string): RegExp {
  const source = path
    .split(PARAM)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${source}/?$`);
}

/** Whether two path patterns are the same whatever their parameters are called (`/a/:id` and `/a/{loanId}`). */
export function samePath(a: string, b: string): boolean {
  return a.replace(PARAM, "{}") === b.replace(PARAM, "{}");
}
