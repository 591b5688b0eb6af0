import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { declaredIdempotency, openApiDocument, operationIdOf } from "../../src/http/openapi.js";
import { samePath, servedRoutes } from "../../src/http/route-table.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp();

interface Operation {
  operationId?: string;
  parameters?: { $ref?: string; name?: string; in?: string }[];
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}
type Paths = Record<string, Record<string, Operation>>;
const documentOf = () => openApiDocument(t.app) as { paths: Paths };

/**
 * Served but deliberately outside the API document: pages for people and the files they load.
 * Each has a reason; anything else served must be documented.
 */
const NOT_API: Record<string, string> = {
  "GET /": "redirects a browser to /docs",
  "GET /dashboard": "the regulator dashboard page (HTML for people, reads the documented API)",
  "GET /portal-demo": "the reference household portal page (HTML for people, reads the documented API)",
  "GET /assets/chart.umd.js": "Chart.js's browser build loaded by the dashboard",
  "GET /docs/errors": "the error-code catalogue page (HTML for people; the codes are also in the document's description)",
};
/** Mounts that serve static files (Swagger UI's assets), not routes. */
const STATIC_MOUNTS: Record<string, string> = {
  "/api/v1/register-imports": "the register import's larger JSON body reader (a middleware mount; its routes are documented)",
  "/docs": "Swagger UI: its page and static assets",
};

describe("every served route is documented, and every documented route is served", () => {
  it("matches the Express router stack of the built app with the document's paths, both ways", () => {
    const { routes, mounts } = servedRoutes(t.app);
    const documented = Object.entries(documentOf().paths).flatMap(([path, item]) => Object.keys(item).map((m) => ({ method: m.toUpperCase(), path })));
    expect(routes.length).toBeGreaterThan(100);
    const undocumented = routes
      .filter((r) => !documented.some((d) => d.method === r.method && samePath(d.path, r.path)))
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !(r in NOT_API));
    const unserved = documented.filter((d) => !routes.some((r) => d.method === r.method && samePath(d.path, r.path))).map((d) => `${d.method} ${d.path}`);
    expect(undocumented).toEqual([]);
    expect(unserved).toEqual([]);
    // The allow-list names only what is served (a stale entry would hide nothing, but misleads).
    for (const key of Object.keys(NOT_API)) expect(routes.some((r) => `${r.method} ${r.path}` === key), key).toBe(true);
    expect([...new Set(mounts.map((m) => m.path))]).toEqual(Object.keys(STATIC_MOUNTS));
  });

  it("documents GET /partners, the route that was once served without documentation", () => {
    expect(documentOf().paths["/api/v1/partners"]?.get?.operationId).toBe("listPartners");
  });
});

describe("operation ids", () => {
  it("gives every operation a unique camelCase operationId", () => {
    const ids = Object.values(documentOf().paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids.length).toBeGreaterThan(100);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    const byId = (id: string) => Object.entries(documentOf().paths).flatMap(([p, item]) => Object.entries(item).filter(([, op]) => op.operationId === id).map(([m]) => `${m.toUpperCase()} ${p}`));
    expect(byId("login")).toEqual(["POST /api/v1/auth/token"]);
    expect(byId("listLoans")).toEqual(["GET /api/v1/loans"]);
    expect(byId("createLoanRepayment")).toEqual(["POST /api/v1/loans/{id}/repayments"]);
  });

  it("derives readable names from method and path", () => {
    expect(operationIdOf("get", "/loans")).toBe("listLoans");
    expect(operationIdOf("get", "/loans/:id")).toBe("getLoan");
    expect(operationIdOf("post", "/loans")).toBe("createLoan");
    expect(operationIdOf("post", "/loans/:id/repayments")).toBe("createLoanRepayment");
    expect(operationIdOf("get", "/loans/:id/repayments")).toBe("listLoanRepayments");
    expect(operationIdOf("post", "/loans/:id/write-off")).toBe("writeOffLoan");
    expect(operationIdOf("get", "/households/:id/credit-line")).toBe("getHouseholdCreditLine");
    expect(operationIdOf("patch", "/households/:id")).toBe("updateHousehold");
    expect(operationIdOf("get", "/portal/me/loans")).toBe("listPortalLoans");
    expect(operationIdOf("get", "/subsidy-claims")).toBe("listSubsidyClaims");
    expect(operationIdOf("get", "/ratings/summary")).toBe("getRatingSummary");
    expect(operationIdOf("get", "/balance-statements/:id.csv")).toBe("getBalanceStatementCsv");
    expect(operationIdOf("get", "/balance-statements/:id")).toBe("getBalanceStatement");
  });
});

describe("headers", () => {
  it("declares Idempotency-Key where command() reads it: required exactly where it is required", async () => {
    const { routes } = servedRoutes(t.app);
    const paths = documentOf().paths;
    const keyOf = (method: string, path: string) => {
      const entry = Object.entries(paths).find(([p]) => samePath(p, path));
      const refs = (entry?.[1][method.toLowerCase()]?.parameters ?? []).map((p) => p.$ref ?? "");
      return refs.find((r) => r.includes("IdempotencyKeyRequired")) ? "required" : refs.find((r) => r.includes("IdempotencyKeyAccepted")) ? "accepted" : undefined;
    };
    const required = routes.filter((r) => r.idempotencyKey === "required");
    expect(required.length).toBeGreaterThanOrEqual(14);
    for (const r of routes) expect(keyOf(r.method, r.path), `${r.method} ${r.path}`).toBe(r.idempotencyKey);
    // And the requirement is real: without the key the repayment is refused before anything else.
    const res = await t.as("officer").post("/api/v1/loans/00000000-0000-4000-8000-000000000000/repayments", { amount: "1.00" });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("IDEMPOTENCY_KEY_REQUIRED");
    expect(keyOf("POST", "/api/v1/loans/{id}/repayments")).toBe("required");
    // A doc() that states the rule (it need not) states what the handler does.
    for (const d of declaredIdempotency()) {
      const served = routes.find((r) => r.method === d.method && samePath(r.path, d.path));
      expect(served?.idempotencyKey ?? "none", `${d.method} ${d.path}: doc() says ${d.idempotent}`).toBe(d.idempotent);
    }
  });

  it("declares Accept-Language on every operation and Retry-After on every 429", () => {
    const doc = openApiDocument(t.app) as { paths: Paths; components: { parameters: Record<string, { name: string; schema: { enum: string[]; default: string } }> } };
    expect(doc.components.parameters.AcceptLanguage).toMatchObject({ name: "Accept-Language", schema: { enum: ["zh-CN", "en"], default: "zh-CN" } });
    let throttled = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.parameters?.some((p) => p.$ref === "#/components/parameters/AcceptLanguage"), `${method} ${path}`).toBe(true);
        if (op.responses["429"]) {
          throttled++;
          expect(op.responses["429"].headers?.["Retry-After"], `${method} ${path}`).toBeDefined();
        }
      }
    }
    expect(throttled).toBeGreaterThanOrEqual(5);
  });

  it("declares the CSV, XLSX and HTML answers that are produced", () => {
    const paths = documentOf().paths;
    expect(Object.keys(paths["/api/v1/reports/county-summary"].get.responses["200"].content ?? {})).toEqual([
      "application/json",
      "text/csv",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]);
    expect(Object.keys(paths["/api/v1/notices"].get.responses["200"].content ?? {})).toEqual(["application/json", "text/html"]);
    expect(Object.keys(paths["/api/v1/loans"].get.responses["400"].content ?? {})).toEqual(["application/problem+json"]);
    // Every answer with a body says what it is.
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        const [status, success] = Object.entries(op.responses).find(([s]) => s.startsWith("2")) ?? [];
        if (status !== "204") expect(success?.content, `${method} ${path}`).toBeDefined();
      }
    }
    // The example answers captured from the demo county are shown on their operations.
    const example = (paths["/api/v1/loans"].get.responses["200"].content?.["application/json"] as { example?: { items: unknown[] } }).example;
    expect(example?.items.length).toBeGreaterThan(0);
  });
});

describe("a wrong method on a known path", () => {
  it("answers 405 with Allow and problem+json, not 404", async () => {
    const auth = `Bearer ${t.token("admin")}`;
    const res = await t.http.delete("/api/v1/loans").set("Authorization", auth);
    expect(res.status).toBe(405);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.headers.allow).toBe("GET, HEAD, POST");
    expect(res.body).toMatchObject({ status: 405, code: "METHOD_NOT_ALLOWED" });

    const one = await t.http.put("/api/v1/loans/00000000-0000-4000-8000-000000000000").set("Authorization", auth).send({});
    expect(one.status).toBe(405);
    expect(one.headers.allow).toBe("GET, HEAD");

    const health = await t.http.post("/healthz");
    expect(health.status).toBe(405);
    expect(health.headers.allow).toBe("GET, HEAD");
  });

  it("still answers 404 for a path nothing serves", async () => {
    const res = await t.http.get("/api/v1/no-such-thing").set("Authorization", `Bearer ${t.token("admin")}`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("NOT_FOUND");
  });
});

describe("the document", () => {
  it("is a valid OpenAPI 3.1 document, every $ref resolving", async () => {
    const doc = (await t.http.get("/openapi.json")).body as Record<string, unknown>;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does refuse a broken document (a response without its required description).
    const broken = structuredClone(doc) as { paths: Paths };
    delete (broken.paths["/api/v1/loans"].get.responses["200"] as { description?: string }).description;
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
    const refs = new Set<string>();
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) k === "$ref" && typeof x === "string" ? refs.add(x) : collect(x);
    };
    collect(doc);
    expect(refs.size).toBeGreaterThan(20);
    for (const ref of refs) {
      const target = ref.slice(2).split("/").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], doc);
      expect(target, ref).toBeDefined();
    }
  });
});
