import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

/** Takes X-Request-Id from the request when it is sane, or makes one; echoes it on every response. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.header("x-request-id");
  req.requestId = given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
  res.set("X-Request-Id", req.requestId);
  next();
};
