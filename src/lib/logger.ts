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
