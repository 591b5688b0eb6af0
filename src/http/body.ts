import type { IncomingMessage } from "node:http";
import express, { type RequestHandler } from "express";

/** Default for `BODY_MAX_DEPTH`: no request of this API nests deeper than a handful of levels. */
export const DEFAULT_BODY_MAX_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when JSON text nests objects and arrays deeper than `max` levels. One pass over the
 * characters with a counter (no recursion, no allocation), skipping string contents, so it costs
 * no more than reading the body and stops at the first level too deep. It does not validate the
 * JSON: a malformed body is left for the parser to refuse.
 */
export function jsonDepthExceeds(text: Uint8Array | string, max: number): boolean {
  const at = typeof text === "string" ? (i: number) => text.charCodeAt(i) : (i: number) => text[i];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** The error the body parser passes on (its `type` is mapped to `BODY_TOO_DEEP` in http/problem.ts). */
class BodyTooDeep extends Error {
  readonly type = "entity.too.deep";
}

/**
 * Reads JSON bodies up to `limit` bytes (413 beyond) and refuses those nested deeper than `maxDepth`
 * (400 `BODY_TOO_DEEP`) before they are parsed: everything after the parser (the storable-text
 * check in `parse`, zod, the idempotency hash's canonical JSON) walks the body recursively, and a
 * body of ten thousand `[` would overflow the stack or hold the event loop for seconds.
 */
export function jsonBody(opts: { limit: string; maxDepth?: number }): RequestHandler {
  const max = opts.maxDepth ?? DEFAULT_BODY_MAX_DEPTH;
  return express.json({
    limit: opts.limit,
    strict: false,
    verify: (_req: IncomingMessage, _res, buf: Buffer, encoding: string) => {
      // In UTF-8 every byte of a multi-byte character is ≥ 0x80, so the bytes can be scanned as
      // they are; another charset (UTF-16) is decoded first.
      const utf8 = /^utf-?8$/i.test(encoding ?? "utf-8");
      let text: Uint8Array | string = buf;
      if (!utf8) {
        try {
          text = new TextDecoder(encoding).decode(buf);
        } catch {
          throw Object.assign(new Error(`unsupported charset ${encoding}`), { type: "charset.unsupported" });
        }
      }
      if (jsonDepthExceeds(text, max)) throw new BodyTooDeep(`nested deeper than ${max} levels`);
    },
  });
}
