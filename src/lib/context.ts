import type { Actor } from "./actor.js";
import type { Clock } from "./clock.js";

/** What a use case needs to know about the request it serves. */
export interface Ctx {
  actor: Actor;
  requestId: string;
  clock: Clock;
}
