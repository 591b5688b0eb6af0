/**
 * One error type with a stable machine code and an HTTP status. Every code the API can answer is
 * listed here with its meaning; the OpenAPI description is generated from this list.
 */
export const ERROR_CODES = {
  BAD_JSON: { status: 400, title: "Malformed JSON", description: "The body is not valid JSON." },
  BODY_TOO_DEEP: { status: 400, title: "Body nested too deeply", description: "The JSON body nests objects or arrays deeper than the limit (`BODY_MAX_DEPTH`, 32 by default); it is refused before it is parsed." },
  UNKNOWN_QUERY_PARAMETER: { status: 400, title: "Unknown query parameter", description: "The query string has a parameter this route does not take (a misspelt filter is refused, never ignored); `errors` names each one." },
  VALIDATION_FAILED: { status: 400, title: "Invalid input", description: "Fields are missing or malformed; `errors` names each one." },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, title: "Idempotency-Key required", description: "This POST moves money and needs an `Idempotency-Key` header." },
  UNAUTHENTICATED: { status: 401, title: "Not authenticated", description: "No bearer token, or it is invalid or expired." },
  BAD_CREDENTIALS: { status: 401, title: "Wrong username or password", description: "The credentials do not match an active user." },
  FORBIDDEN: { status: 403, title: "Not allowed", description: "Your role may not do this at all." },
  NOT_FOUND: { status: 404, title: "Not found", description: "Unknown, or outside your jurisdiction." },
  METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed", description: "The path exists but does not serve this method; the `Allow` header lists those it serves." },
  CONFLICT: { status: 409, title: "Conflict", description: "The record changed or already exists." },
  INVALID_STATE: { status: 409, title: "Invalid state", description: "The record's state does not allow this action." },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: "Request in progress", description: "A request with this Idempotency-Key is still being processed; retry shortly." },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: "Idempotency-Key reused", description: "This Idempotency-Key was used with a different request body." },
  RULE_VIOLATION: { status: 422, title: "Rule violation", description: "A valid request that breaks a business rule." },
  INVALID_ID_NUMBER: { status: 422, title: "Invalid ID number", description: "The resident ID number fails GB 11643 (format, birth date or check digit)." },
  DUPLICATE_ID_NUMBER: { status: 409, title: "ID number already registered", description: "A member with this ID number is already registered." },
  INVALID_DIVISION: { status: 422, title: "Invalid division", description: "The division code does not fit GB/T 2260 or its parent." },
  INVALID_STATUS_CHANGE: { status: 422, title: "Invalid status change", description: "The change is not allowed from the current status, or misses required approvals." },
  UNBALANCED_ENTRY: { status: 422, title: "Unbalanced journal entry", description: "Debits and credits of a journal entry differ." },
  TOO_MANY_REQUESTS: { status: 429, title: "Too many requests", description: "Throttled; see Retry-After." },
  PAYLOAD_TOO_LARGE: { status: 413, title: "Payload too large", description: "The body exceeds the size limit." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported media type", description: "Send JSON (`Content-Type: application/json`)." },
  SERVICE_UNAVAILABLE: { status: 503, title: "Service unavailable", description: "The database is not reachable." },
  INTERNAL: { status: 500, title: "Internal error", description: "Unexpected; the detail is in the server log under the request id." },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode | string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    status?: number,
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? code);
    const known = (ERROR_CODES as Record<string, { status: number }>)[code];
    this.status = status ?? known?.status ?? 422;
  }
}

export const notFound = (what = "resource") => new AppError("NOT_FOUND", `No such ${what}`);
export const forbidden = (detail = "Your role may not do this") => new AppError("FORBIDDEN", detail);
export const invalidState = (detail: string) => new AppError("INVALID_STATE", detail);
export const ruleViolation = (code: string, detail: string, status = 422) => new AppError(code, detail, undefined, status);

/** Codes added by modules (with their status), so the list in one place stays complete. */
const moduleCodes = new Map<string, { status: number; title: string; description: string }>();
export function registerErrorCodes(codes: Record<string, { status: number; title: string; description: string }>): void {
  for (const [code, spec] of Object.entries(codes)) moduleCodes.set(code, spec);
}
export function allErrorCodes(): Record<string, { status: number; title: string; description: string }> {
  return { ...ERROR_CODES, ...Object.fromEntries(moduleCodes) };
}
export function errorTitle(code: string): string {
  return allErrorCodes()[code]?.title ?? code;
}

/** Unique constraints whose violation has its own code (e.g. a bank reference recorded once), by constraint name. */
const constraintCodes = new Map<string, { code: string; detail: string; status: number }>();

export function registerConstraintCodes(codes: Record<string, { code: string; detail: string; status: number }>): void {
  for (const [name, c] of Object.entries(codes)) constraintCodes.set(name, c);
}

export function constraintError(constraint: string | undefined): AppError | undefined {
  const c = constraint ? constraintCodes.get(constraint) : undefined;
  return c ? new AppError(c.code, c.detail, undefined, c.status) : undefined;
}
