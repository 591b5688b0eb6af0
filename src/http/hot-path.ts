import type { IncomingMessage, ServerResponse } from "node:http";
import type { Express, NextFunction, RequestHandler } from "express";
import type { Logger } from "pino";
import { requestIdFrom } from "./request-id.js";
import { logWhenDone } from "./request-log.js";
import { setSecurityHeaders } from "./security-headers.js";

/** A request on its way to a hot route: it has its request id. */
export type HotRequest = IncomingMessage & { requestId: string };

/** The work that answers a request of a hot route; a rejection is answered as any route's error is. */
export type HotAnswer = (req: HotRequest, res: ServerResponse) => Promise<void>;

/**
 * A route answered before Express: for a request it takes, the work that answers it; undefined for
 * any other, which Express then serves as usual. Deciding has no side effect (nothing counted,
 * nothing written), so a request it leaves gets exactly the answer it always had — every refusal
 * included, since a hot route takes only requests it can answer 200 as they stand.
 */
export type HotRoute = (req: IncomingMessage) => HotAnswer | undefined;

/** Writes a 200 JSON answer the way Express's `res.json` does (same headers), from JSON text. */
export function sendJson(res: ServerResponse, json: string): void {
  res.statusCode = 200;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(json));
  res.end(json);
}

/**
 * Serves `routes` before the app's Express stack. A request one of them takes gets what the global
 * middleware would have given it — request id, its log line, the security headers, `Cache-Control:
 * no-store` (the API's answers are never cached) — and then its answer; if the answer fails, the
 * error goes to the app's error handler through Express (`passErrors` must be the app's first
 * middleware), so it becomes the same problem+json as on any route. Everything else goes to Express.
 *
 * It replaces `app.handle`, which the app itself calls for every request (`app.listen`,
 * `http.createServer(app)` and supertest all reach it), so every server of the app has the hot routes.
 */
export function serveFirst(app: Express, routes: HotRoute[], logger: Logger): RequestHandler {
  const withExpress = app as unknown as { handle: (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void };
  const express = withExpress.handle.bind(app);
  const failed = new WeakMap<IncomingMessage, unknown>();
  withExpress.handle = (req, res, next) => {
    let answer: HotAnswer | undefined;
    try {
      for (let i = 0; i < routes.length && !answer; i++) answer = routes[i](req);
    } catch {
      answer = undefined; // deciding failed: Express serves the request (and meets the same failure in its own checks)
    }
    if (!answer) return express(req, res, next);
    const r = req as HotRequest;
    r.requestId = requestIdFrom(req.headers["x-request-id"]);
    res.setHeader("X-Request-Id", r.requestId);
    logWhenDone(logger, r, res, req.url ?? "/");
    setSecurityHeaders(res);
    res.setHeader("Cache-Control", "no-store");
    answer(r, res).catch((err: unknown) => {
      failed.set(req, err);
      express(req, res, next);
    });
  };
  // The app's first middleware: a hot route's failure goes straight to the error handler.
  return (req, _res, next) => {
    if (!failed.has(req)) return next();
    const err = failed.get(req);
    failed.delete(req);
    next(err);
  };
}
