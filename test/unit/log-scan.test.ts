import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/lib/logger.js";
import { idNumber } from "../helpers/factories.js";
import { PINS_SENT_IN_TESTS, scanAppLogs, scanLogText } from "../helpers/log-scan.js";

const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

describe("the scan of the app's log after a test run", () => {
  it("finds each kind of planted personal data or secret, with its file and line", () => {
    const id = idNumber("1980-05-17");
    const text = [
      `{"level":30,"msg":"request completed","req":{"url":"/api/v1/households?id_number%5B%5D=${id}"}}`,
      `{"level":50,"err":{"message":"Key (phone)=(13812345678) already exists"}}`,
      `{"level":50,"err":{"message":"login failed for password Huinong-2026"}}`,
      `{"level":30,"req":{"url":"/api/v1/portal/token?pin=${PINS_SENT_IN_TESTS[0]}"}}`,
      `{"level":30,"body":{"newPin":"024681"}}`,
      `{"level":30,"headers":{"authorization":"Bearer ${jwt}"}}`,
    ].join("\n");
    const found = scanLogText(text, "w.ndjson").map((f) => [f.line, f.kind, f.text]);
    expect(found).toEqual([
      [1, "id_number", id],
      [2, "phone", "13812345678"],
      [3, "password", "Huinong-2026"],
      [4, "pin", PINS_SENT_IN_TESTS[0]],
      [4, "pin", PINS_SENT_IN_TESTS[0]],
      [5, "pin", "024681"],
      [6, "jwt", jwt],
    ]);
  });

  it("passes redacted lines, ids and numbers that only look alike", () => {
    const id = idNumber("1980-05-17");
    const wrongCheck = id.slice(0, 17) + (id[17] === "1" ? "2" : "1");
    const text = [
      `{"level":30,"req":{"id":"5f0c2a1e-13ab-4c11-9d2e-a13812345678","url":"/api/v1/households?id_number=%5Bredacted%5D&status=POOR"}}`,
      `{"level":30,"time":1764576000000,"responseTime":13,"ref":"${wrongCheck}","masked":"469030********123X","phone":"138****5678"}`,
      `{"level":30,"pin":"[redacted]","n":138123456789,"hash":"f13812345678e"}`,
    ].join("\n");
    expect(scanLogText(text)).toEqual([]);
  });

  it("reads every file of the run's log directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "huinong-logscan-"));
    try {
      writeFileSync(join(dir, "1.ndjson"), `{"msg":"ok"}\n`);
      writeFileSync(join(dir, "2.ndjson"), `{"msg":"ok"}\n{"msg":"call 13912345678"}\n`);
      const r = scanAppLogs(dir);
      expect(r).toMatchObject({ files: 2, lines: 3 });
      expect(r.findings).toEqual([{ file: "2.ndjson", line: 2, kind: "phone", text: "13912345678" }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds nothing in what the app's logger writes, whatever it was given", async () => {
    const id = idNumber("1975-03-08");
    const lines: string[] = [];
    const logger = createLogger("info", { write: (s: string) => void lines.push(s) });
    logger.info({ req: { url: `/api/v1/x/${id}?ID-Number=${id}&mobile=13812345678` }, body: { Pin: PINS_SENT_IN_TESTS[1], client_secret: "s" } }, "request completed");
    logger.error({ err: new Error(`duplicate key value violates unique constraint: Key (phone)=(13812345678) already exists; token ${jwt}`) }, "unexpected error");
    logger.info({ user: { PassWord: "Huinong-2026", bank_account: ["6217001234567890123"] } }, "a careless line");
    expect(lines).toHaveLength(3);
    expect(scanLogText(lines.join(""))).toEqual([]);
    expect(lines.join("")).not.toContain("6217001234567890123");
  });
});
