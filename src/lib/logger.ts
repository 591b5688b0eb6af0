import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Personal data never reaches the logs. Three layers, because one is never enough:
 * - request bodies and headers are not logged at all (src/http/request-log.ts);
 * - these paths are censored by pino wherever they appear in a logged object (fast, exact);
 * - every line is scrubbed once more just before it is written (`scrubLogLine`): values under a
 *   personal or secret key whatever its spelling (`id_number`, `ID-NUMBER`, `idNumber[]`…), and
 *   anything shaped like an ID number, a mobile phone, a bank account or a token wherever it
 *   sits (a URL path, an error message, a PostgreSQL error detail).
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

const REDACTED = "[redacted]";

/** A key name reduced to lower-case letters and digits: `ID-NUMBER`, `idNumber[]`, `id_number` → `idnumber`. */
function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Key names (normalised) whose values are personal data or secrets, contained anywhere in the key. */
const SENSITIVE_KEY_PARTS = ["idnumber", "idno", "idcard", "phone", "mobile", "bankaccount", "bankcard", "cardnumber", "accountnumber", "password", "passwd", "secret", "token", "authorization", "cookie", "apikey"];

/** True for a key whose value must not be logged, however it is spelled (`Phone`, `id-number`, `newPin`…). */
export function isSensitiveKey(key: string): boolean {
  const k = normaliseKey(key);
  if (k.endsWith("pin")) return true; // pin, newpin, portalpin
  return SENSITIVE_KEY_PARTS.some((p) => k.includes(p));
}

/**
 * Values shaped like personal data. A UUID is matched first and kept as it is, so a run of digits
 * inside one (a request id, a record id) is not mistaken for a phone number.
 */
const SHAPES = new RegExp(
  [
    String.raw`(?<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)`,
    String.raw`(?<jwt>eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)`,
    // ID number (18, last may be X), bank account (16-19 digits), mobile phone (11 digits from 13…19).
    String.raw`(?<digits>(?<!\d)(?:\d{17}[\dXx]|\d{16,19}|1[3-9]\d{9})(?![\dXx]))`,
    // PostgreSQL echoes the offending values: `Key (id_number_hash)=(…) already exists`, `Failing row contains (…)`.
    String.raw`(?<pgkey>\bKey \((?:[^()]|\([^()]*\))*\)=\().*?(?=\) (?:already exists|is not present|conflicts with))`,
    String.raw`(?<pgrow>\bFailing row contains \()[^\n]*(?=\))`,
  ].join("|"),
  "g",
);

/** `text` with everything shaped like personal data or a token replaced by `[redacted]`. */
export function scrubText(text: string): string {
  return text.replace(SHAPES, (m: string, ...args: unknown[]) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    if (groups.uuid !== undefined) return m;
    return (groups.pgkey ?? groups.pgrow ?? "") + REDACTED;
  });
}

/** Cheap test: could this line hold anything `scrubLogLine` would change? (pino's `time` is not a phone.) */
const MAYBE_SENSITIVE = /(?<!\d|"time":)\d{11}|eyJ|Key \(|Failing row|pin|phone|mobile|id.?(?:no|number|card)|account|card|passw|secret|token|authori[sz]ation|cookie|api.?key/i;

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return scrubText(value);
  if (typeof value === "number") return scrubText(String(value)) === String(value) ? value : REDACTED;
  if (value === null || typeof value !== "object" || depth > 20) return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[scrubText(k)] = isSensitiveKey(k) && v !== null && v !== REDACTED ? REDACTED : scrubValue(v, depth + 1);
  }
  return out;
}

/**
 * One serialized log line (pino's JSON) with personal data and secrets removed: values under a
 * sensitive key (any spelling, any depth, arrays included) and values shaped like personal data.
 * Lines with nothing suspicious are returned unchanged without being parsed.
 */
export function scrubLogLine(line: string): string {
  if (!MAYBE_SENSITIVE.test(line)) return line;
  const newline = line.endsWith("\n") ? "\n" : "";
  try {
    return JSON.stringify(scrubValue(JSON.parse(line), 0)) + newline;
  } catch {
    return scrubText(line);
  }
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: REDACTED }, hooks: { streamWrite: scrubLogLine } };
  return destination ? pino(options, destination) : pino(options);
}
export type { Logger };

/** Query parameters that carry personal data (e.g. a lookup by ID number): their values are not logged. */
export const REDACT_QUERY_PARAMS = ["id_number", "phone", "bank_account"];

/**
 * The URL as it may be logged: the value of every query parameter with a personal or secret name
 * (any spelling: `id_number`, `ID-Number`, `idNumber[]`…) or with a value shaped like personal data
 * replaced by `[redacted]`, and personal data in the path likewise.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  let decodedPath = path;
  try {
    decodedPath = decodeURIComponent(path);
  } catch {
    // a malformed escape: scrub the path as it was sent
  }
  const safePath = scrubText(decodedPath) === decodedPath ? path : scrubText(decodedPath);
  if (q < 0) return safePath;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  const kept: [string, string][] = [];
  for (const [k, v] of params) {
    const sensitive = isSensitiveKey(k) || REDACT_QUERY_PARAMS.includes(k.toLowerCase());
    const value = sensitive ? REDACTED : scrubText(v);
    const key = scrubText(k);
    if (value !== v || key !== k) changed = true;
    kept.push([key, value]);
  }
  if (!changed) return `${safePath}${url.slice(q)}`;
  return `${safePath}?${new URLSearchParams(kept).toString()}`;
}
