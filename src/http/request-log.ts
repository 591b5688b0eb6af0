import type { RequestHandler } from "express";
import type { Logger } from "pino";
import { redactUrl } from "../lib/logger.js";

/**
 * One log line per request when its answer has been sent (or the client went away): request id,
 * method, URL with personal query values redacted, status and milliseconds. Never headers or
 * bodies. 5xx answers are logged at error, aborted requests at warn, the rest at info;
 * `/healthz` is not logged.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.url === "/healthz") return next();
    const start = performance.now();
    const done = () => {
      res.removeListener("finish", done);
      res.removeListener("close", done);
      const aborted = !res.writableFinished;
      const level = aborted ? "warn" : res.statusCode >= 500 ? "error" : "info";
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id: req.requestId, method: req.method, url: redactUrl(req.originalUrl) },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - start),
        },
        aborted ? "request aborted" : "request completed",
      );
    };
    res.on("finish", done);
    res.on("close", done);
    next();
  };
}
