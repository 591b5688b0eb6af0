import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkCharacter } from "../../src/lib/id-number.js";
import { DEMO_PASSWORD } from "../../db/seeds/demo.js";
import { TEST_PASSWORD } from "./fixture.js";

/**
 * The app's log for a whole test run: every test app logs at `info` (each request, every error)
 * into one file per worker process here, and the global teardown scans them all
 * (test/helpers/global-setup.ts) and fails the run on any personal data or secret.
 */
export const APP_LOG_DIR = fileURLToPath(new URL("../../test-results/app-log/", import.meta.url));

/** PINs the tests send in places a careless log would catch (URL, body, error messages): never logged. */
export const PINS_SENT_IN_TESTS = ["482913", "739105"];

export interface LogFinding {
  file: string;
  line: number;
  kind: "id_number" | "phone" | "password" | "pin" | "jwt";
  text: string;
}

// Not part of a longer run of letters or digits (a UUID's last group may hold eleven digits).
const ID_NUMBER = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g;
const PHONE = /(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])/g;
const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
// A value next to a PIN-like key, as JSON (`"newPin":"123456"`) or in a URL (`pin=123456`).
const PIN_VALUE = /pin\\?"?\s*[:=]\s*\\?"?(\d{4,8})(?!\d)/gi;

const isIdNumber = (s: string) => checkCharacter(s.slice(0, 17)) === s[17].toUpperCase();

/** Personal data and secrets in a log text (whole ID numbers with a valid check digit, phones, passwords, PINs, JWTs). */
export function scanLogText(text: string, file = "(text)"): LogFinding[] {
  const out: LogFinding[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const hit = (kind: LogFinding["kind"], found: string) => out.push({ file, line: i + 1, kind, text: found });
    for (const m of line.matchAll(ID_NUMBER)) if (isIdNumber(m[0])) hit("id_number", m[0]);
    for (const m of line.matchAll(PHONE)) hit("phone", m[0]);
    for (const m of line.matchAll(JWT)) hit("jwt", m[0]);
    for (const pw of [DEMO_PASSWORD, TEST_PASSWORD]) if (line.includes(pw)) hit("password", pw);
    for (const pin of PINS_SENT_IN_TESTS) if (new RegExp(`(?<!\\d)${pin}(?!\\d)`).test(line)) hit("pin", pin);
    for (const m of line.matchAll(PIN_VALUE)) hit("pin", m[1]);
  }
  return out;
}

/** Every finding in every log file of the run. */
export function scanAppLogs(dir = APP_LOG_DIR): { files: number; lines: number; findings: LogFinding[] } {
  let files = 0;
  let lines = 0;
  const findings: LogFinding[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".ndjson")) continue;
    const text = readFileSync(join(dir, name), "utf8");
    files++;
    lines += text.split("\n").filter(Boolean).length;
    findings.push(...scanLogText(text, name));
  }
  return { files, lines, findings };
}

/** Empties the log directory at the start of a run. */
export function resetAppLogs(dir = APP_LOG_DIR): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
