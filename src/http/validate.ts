import type { z } from "zod";
import { AppError, type FieldError } from "./errors.js";
import { checkQueryKeys } from "./query.js";

// A NUL character or half of a surrogate pair cannot be stored in PostgreSQL text or jsonb as it
// was sent (NUL is refused, a lone surrogate silently becomes U+FFFD), so neither is valid input.
const UNSTORABLE = /\u0000|\p{Surrogate}/u;

/**
 * Whether any string or object key inside `data` cannot be stored faithfully: one iterative pass
 * that allocates nothing per value, so a wide body (tens of thousands of items) costs little.
 */
function hasUnstorableText(data: unknown): boolean {
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (UNSTORABLE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (v !== null && typeof v === "object") {
      for (const k of Object.keys(v)) {
        if (UNSTORABLE.test(k)) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

/** The first string (or object key) inside `data` that the database cannot store faithfully, with its path. */
function unstorableText(data: unknown, path: string[]): FieldError | undefined {
  if (typeof data === "string") {
    return UNSTORABLE.test(data) ? { path: path.join("."), message: "contains a NUL character or malformed Unicode" } : undefined;
  }
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const e = unstorableText(data[i], [...path, String(i)]);
      if (e) return e;
    }
    return undefined;
  }
  if (data !== null && typeof data === "object") {
    for (const [k, v] of Object.entries(data)) {
      if (UNSTORABLE.test(k)) return { path: path.join("."), message: "a key contains a NUL character or malformed Unicode" };
      const e = unstorableText(v, [...path, k]);
      if (e) return e;
    }
  }
  return undefined;
}

/**
 * Parses input with a zod schema; a failure is a 400 naming every field. A query is strict: a
 * parameter the schema does not name, or a repeated one that takes a single value, is a 400
 * (see http/query.ts). The body has already been checked for size and depth (http/body.ts), so
 * the walks below are bounded.
 */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where: "body" | "query" | "params" = "body"): z.infer<S> {
  if (where === "query") checkQueryKeys(schema, data);
  const bad = hasUnstorableText(data) ? unstorableText(data, [where]) : undefined;
  if (bad) throw new AppError("VALIDATION_FAILED", `Invalid ${where}: ${bad.path}`, [bad]);
  const r = schema.safeParse(data ?? (where === "body" ? undefined : {}));
  if (r.success) return r.data;
  const errors = r.error.issues.flatMap((i) => {
    const at = [where, ...i.path.map(String)];
    // An unknown field is named by its own path, so a client sees which field to drop.
    if (i.code === "unrecognized_keys") return i.keys.map((k) => ({ path: [...at, k].join("."), message: `unknown field "${k}"` }));
    return [{ path: at.join("."), message: i.message }];
  });
  throw new AppError("VALIDATION_FAILED", `Invalid ${where}: ${errors.map((e) => e.path).join(", ")}`, errors);
}
