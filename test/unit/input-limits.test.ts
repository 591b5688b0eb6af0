import fc from "fast-check";
import { describe, expect, it } from "vitest";
import "../../src/app.js"; // registers every route's documentation
import { jsonDepthExceeds } from "../../src/http/body.js";
import { registry } from "../../src/http/openapi.js";
import { checkQueryKeys, queryFields } from "../../src/http/query.js";
import { z } from "../../src/http/zod.js";
import { isSensitiveKey, redactUrl, scrubLogLine, scrubText } from "../../src/lib/logger.js";
import { idNumber } from "../helpers/factories.js";

/** Depth of a JSON value, counted the plain recursive way (the reference for the scanner). */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

describe("JSON nesting depth, counted without parsing", () => {
  it("agrees with the depth of the parsed value for any JSON, strings with brackets and escapes included", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, max) => {
        const text = JSON.stringify(v);
        expect(jsonDepthExceeds(text, max)).toBe(depthOf(v) > max);
        expect(jsonDepthExceeds(Buffer.from(text, "utf8"), max)).toBe(depthOf(v) > max);
      }),
      { numRuns: 300 },
    );
  });

  it("stops at the first level too deep and reads a megabyte of brackets in well under a second", () => {
    expect(jsonDepthExceeds(`{"a":"[[[[\\"[[[[", "b":[[1]]}`, 3)).toBe(false);
    expect(jsonDepthExceeds(`{"a":"\\\\", "b":[[[1]]]}`, 3)).toBe(true);
    const deep = Buffer.from("[".repeat(1_000_000));
    const wide = Buffer.from(`[${"[1,2,3],".repeat(120_000)}[]]`);
    const start = performance.now();
    expect(jsonDepthExceeds(deep, 32)).toBe(true);
    expect(jsonDepthExceeds(wide, 32)).toBe(false);
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe("query parameters", () => {
  it("every documented query schema is an object whose parameters are known", () => {
    const routes = registry.definitions.flatMap((d) => (d.type === "route" && d.route.request?.query ? [d.route] : []));
    expect(routes.length).toBeGreaterThan(20);
    for (const r of routes) expect(queryFields(r.request?.query), `${r.method} ${r.path}`).toBeDefined();
  });

  it("refuses unknown and repeated parameters, through defaults, refinements and transforms", () => {
    const Q = z
      .object({ status: z.enum(["A", "B"]).optional(), limit: z.coerce.number().default(5), tags: z.array(z.string()).optional() })
      .refine(() => true)
      .transform((q) => q);
    expect(() => checkQueryKeys(Q, { status: "A", limit: "3", tags: ["x", "y"] })).not.toThrow();
    expect(() => checkQueryKeys(Q, { stauts: "A", "status[]": "B" })).toThrow(expect.objectContaining({ code: "UNKNOWN_QUERY_PARAMETER", errors: [expect.objectContaining({ path: "query.stauts" }), expect.objectContaining({ path: "query.status[]" })] }));
    expect(() => checkQueryKeys(Q, { status: ["A", "B"] })).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED", errors: [expect.objectContaining({ path: "query.status" })] }));
    expect(() => checkQueryKeys(Q, { limit: ["5"] })).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => checkQueryKeys(Q, Object.assign(Object.create(null), { constructor: "x" }))).toThrow(expect.objectContaining({ code: "UNKNOWN_QUERY_PARAMETER" }));
  });
});

describe("personal data kept out of log lines", () => {
  const id = idNumber("1980-05-17");

  it("knows a personal or secret key however it is spelled", () => {
    for (const k of ["id_number", "idNumber", "ID-NUMBER", "id_number[]", "Phone", "mobile_phone", "bank_account", "BankAccount", "password", "PIN", "new_pin", "client_secret", "access_token", "Authorization", "cookie"]) expect(isSensitiveKey(k), k).toBe(true);
    for (const k of ["status", "county_code", "village_code", "limit", "id", "amount", "pinned", "url"]) expect(isSensitiveKey(k), k).toBe(false);
  });

  it("redacts query values by key spelling and by shape, and the path by shape", () => {
    for (const k of ["id_number", "id_number[]", "ID-NUMBER", "idNumber", "Id_Number[0]"]) {
      const url = redactUrl(`/api/v1/households?${encodeURIComponent(k)}=${id}&status=POOR`);
      expect(url, k).not.toContain(id);
      expect(url).toContain("status=POOR");
    }
    expect(redactUrl(`/api/v1/households?q=${id}`)).not.toContain(id);
    expect(redactUrl(`/api/v1/households?q=%31%33%38%31%32%33%34%35%36%37%38`)).toBe("/api/v1/households?q=%5Bredacted%5D");
    expect(redactUrl(`/api/v1/members/${id}/x?status=POOR`)).toBe("/api/v1/members/[redacted]/x?status=POOR");
    expect(redactUrl("/api/v1/loans?status=ACTIVE&limit=5")).toBe("/api/v1/loans?status=ACTIVE&limit=5");
    expect(redactUrl("/api/v1/loans/0a000000-0000-4000-8000-013812345678")).toBe("/api/v1/loans/0a000000-0000-4000-8000-013812345678");
  });

  it("redacts ID numbers, phones, bank accounts, tokens and PostgreSQL's echoed values in messages", () => {
    expect(scrubText(`Key (id_number_hash)=(9f2c1a) already exists.`)).toBe("Key (id_number_hash)=([redacted]) already exists.");
    expect(scrubText(`Key (county_code, phone)=(469030, 13812345678) already exists.`)).toBe("Key (county_code, phone)=([redacted]) already exists.");
    expect(scrubText(`Failing row contains (7, ${id}, 张三).`)).toBe("Failing row contains ([redacted]).");
    expect(scrubText(`no member ${id.toLowerCase()} or 6217001234567890123 or 13812345678 or eyJa.eyJb.c`)).toBe("no member [redacted] or [redacted] or [redacted] or [redacted]");
    expect(scrubText("amount 12345.67 on 2025-06-02, county 469030")).toBe("amount 12345.67 on 2025-06-02, county 469030");
  });

  it("redacts values under personal keys at any depth and in arrays, leaving the rest as it was", () => {
    const line = JSON.stringify({ level: 50, msg: "x", err: { detail: `Key (phone)=(13812345678) already exists.`, params: { "ID-Number": [id], Mobile: 13812345678 } }, status: "POOR" });
    const out = JSON.parse(scrubLogLine(`${line}\n`));
    expect(out).toEqual({ level: 50, msg: "x", err: { detail: "Key (phone)=([redacted]) already exists.", params: { "ID-Number": "[redacted]", Mobile: "[redacted]" } }, status: "POOR" });
    const plain = `{"level":30,"msg":"request completed","req":{"url":"/api/v1/loans?status=ACTIVE"}}\n`;
    expect(scrubLogLine(plain)).toBe(plain);
  });
});
