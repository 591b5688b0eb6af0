import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import "../../src/app.js"; // registers every route's documentation
import { EXAMPLES_DIR, registry } from "../../src/http/openapi.js";

/**
 * The example answers in src/http/examples/ were captured from the demo county by
 * scripts/openapi-examples.ts. Each must still be an answer its operation can give: it is checked
 * against the operation's response schema (the one the document shows), so an example cannot go stale
 * silently when a schema changes — rerun the script.
 */
const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith(".json"));
const MOST_USED = [
  "login",
  "listHouseholds",
  "getHousehold",
  "listLoans",
  "getLoan",
  "createLoanRepayment",
  "listDistributions",
  "getDistribution",
  "portalLogin",
  "getPortalProfile",
  "listPortalLoans",
  "listPortalDividends",
];

interface RouteDefinition {
  type: string;
  route: { operationId?: string; responses: Record<string, { content?: Record<string, { schema: ZodType }> }> };
}

function successSchema(operationId: string): ZodType | undefined {
  const d = (registry.definitions as unknown as RouteDefinition[]).find((x) => x.type === "route" && x.route.operationId === operationId);
  if (!d) return undefined;
  const success = Object.entries(d.route.responses).find(([s]) => s.startsWith("2"))?.[1];
  return success?.content?.["application/json"]?.schema;
}

describe("example answers", () => {
  it("cover the most used operations", () => {
    expect(files.map((f) => f.slice(0, -5))).toEqual(expect.arrayContaining(MOST_USED));
  });

  it.each(files)("%s is an answer of its operation's schema", (file) => {
    const schema = successSchema(file.slice(0, -5));
    expect(schema, `no operation ${file.slice(0, -5)} with a JSON answer`).toBeDefined();
    const example: unknown = JSON.parse(readFileSync(new URL(file, EXAMPLES_DIR), "utf8"));
    const parsed = schema!.safeParse(example);
    expect(parsed.success ? [] : parsed.error.issues.slice(0, 5)).toEqual([]);
  });
});
