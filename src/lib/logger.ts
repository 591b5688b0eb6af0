import { pino, type Logger } from "pino";

/**
 * Personal data never reaches the logs: request bodies are not logged, and these paths are
 * censored wherever they appear in a logged object.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "*.password",
  "*.pin",
  "*.client_secret",
  "*.id_number",
  "*.idNumber",
  "*.phone",
  "*.bank_account",
  "*.bankAccount",
  "*.access_token",
  "body",
  "req.body",
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } });
}
export type { Logger };

/** Query parameters that carry personal data (e.g. a lookup by ID number): their values are not logged. */
export const REDACT_QUERY_PARAMS = ["id_number", "phone", "bank_account"];

/** The URL as it may be logged: values of personal-data query parameters replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const sensitive = [...new Set(params.keys())].filter((k) => REDACT_QUERY_PARAMS.includes(k.toLowerCase()));
  if (sensitive.length === 0) return url;
  for (const k of sensitive) params.set(k, "[redacted]");
  return `${url.slice(0, q)}?${params.toString()}`;
}
