import type { Request } from "express";
import type { Clock } from "../lib/clock.js";
import type { Ctx } from "../lib/context.js";
import { actorOf } from "./auth.js";

/** The use-case context of a request: who, which request, which clock. */
export function ctxOf(req: Request, clock: Clock): Ctx {
  return { actor: actorOf(req), requestId: req.requestId, clock };
}
