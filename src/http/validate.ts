import type { z } from "zod";
import { AppError } from "./errors.js";

/** Parses input with a zod schema; a failure is a 400 naming every field. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where: "body" | "query" | "params" = "body"): z.infer<S> {
  const r = schema.safeParse(data ?? (where === "body" ? undefined : {}));
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  throw new AppError("VALIDATION_FAILED", `Invalid ${where}: ${errors.map((e) => e.path).join(", ")}`, errors);
}
