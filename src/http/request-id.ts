import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

const SANE_ID = /^[\w.:-]{1,100}$/;

/** The request id: the client's X-Request-Id when it is sane, or a new one. */
export function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === "string" && SANE_ID.test(given) ? given : randomUUID();
}

/** Takes X-Request-Id from the request when it is sane, or makes one; echoes it on every response. */
export const requestId: RequestHandler = (req, res, next) => {
  req.requestId = requestIdFrom(req.header("x-request-id"));
  res.set("X-Request-Id", req.requestId);
  next();
};
