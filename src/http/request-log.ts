import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import type { Logger } from "pino";
import { redactUrl } from "../lib/logger.js";

/**
 * Writes the request's log line once its answer has been sent (or the client went away): request
 * id, method, URL (as received) with personal query values redacted, status and milliseconds. Never
 * headers or bodies. 5xx answers are logged at error, aborted requests at warn, the rest at info.
 * Nothing is set up when the logger writes nothing at any of these levels.
 */
export function logWhenDone(logger: Logger, req: IncomingMessage & { requestId: string }, res: ServerResponse, url: string): void {
  if (!logger.isLevelEnabled("error") && !logger.isLevelEnabled("warn") && !logger.isLevelEnabled("info")) return;
  const start = performance.now();
  const done = () => {
    res.removeListener("finish", done);
    res.removeListener("close", done);
    const aborted = !res.writableFinished;
    const level = aborted ? "warn" : res.statusCode >= 500 ? "error" : "info";
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        req: { id: req.requestId, method: req.method, url: redactUrl(url) },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - start),
      },
      aborted ? "request aborted" : "request completed",
    );
  };
  res.on("finish", done);
  res.on("close", done);
}

/** One log line per request when its answer has been sent (`logWhenDone`); `/healthz` is not logged. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.url !== "/healthz") logWhenDone(logger, req, res, req.originalUrl);
    next();
  };
}
