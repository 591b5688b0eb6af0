import { AppError, constraintError } from "../lib/errors.js";

/** The error type and the catalogue of codes live in lib (every layer throws them); this adds what HTTP needs. */
export * from "../lib/errors.js";

/** PostgreSQL SQLSTATEs that a request can cause, mapped to domain errors (never a 500). */
export function fromPostgres(err: unknown): AppError | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = String((err as { code: unknown }).code);
  const message = "message" in err ? String((err as { message: unknown }).message) : "";
  switch (code) {
    case "23505":
      return constraintError("constraint" in err ? String((err as { constraint: unknown }).constraint) : undefined) ?? new AppError("CONFLICT", "A record with these values already exists");
    case "23503":
      return new AppError("RULE_VIOLATION", "A referenced record does not exist");
    case "23514":
      return message.includes("does not balance")
        ? new AppError("UNBALANCED_ENTRY", message)
        : new AppError("RULE_VIOLATION", "A value breaks a rule of the record");
    case "22003":
    case "22P02":
    case "22007":
    case "22008":
    case "22001":
    case "22021": // character not in repertoire (e.g. NUL in text)
    case "22P05": // untranslatable character (e.g. \u0000 in jsonb)
      return new AppError("RULE_VIOLATION", "A value is out of range or malformed");
    case "40001":
    case "40P01":
      return new AppError("CONFLICT", "Concurrent update; retry the request");
    default:
      return undefined;
  }
}
