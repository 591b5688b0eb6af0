import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/http/openapi.js";
import { createHousehold } from "../helpers/factories.js";
import { type TestApp, useTestApp } from "../helpers/harness.js";
import type { UserName } from "../helpers/fixture.js";

const t = useTestApp();
const API = "/api/v1";

/** Follows `next_cursor` from the first page to the last and returns every item, in order. */
async function pageThrough(app: TestApp, who: UserName, path: string, limit: number): Promise<{ items: Record<string, unknown>[]; pages: number }> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const res = await app.as(who).get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    pages++;
    expect(pages).toBeLessThan(100);
  } while (cursor);
  return { items, pages };
}

describe("every list that answers next_cursor takes limit and cursor", () => {
  it("is so in the document: no list endpoint without both parameters", () => {
    const doc = openApiDocument(t.app) as {
      paths: Record<string, Record<string, { operationId: string; parameters?: { name?: string }[]; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const lists: string[] = [];
    const missing: string[] = [];
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item)) {
        const ref = op.responses["200"]?.content?.["application/json"]?.schema.$ref;
        const schema = ref ? doc.components.schemas[ref.split("/").pop() ?? ""] : undefined;
        if (!schema?.properties?.next_cursor) continue;
        lists.push(op.operationId);
        const names = (op.parameters ?? []).map((p) => p.name);
        if (!names.includes("limit") || !names.includes("cursor")) missing.push(op.operationId);
      }
    }
    expect(lists.length).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });
});

describe("paging through lists", () => {
  it("household members: one at a time, every member once, in the household's order", async () => {
    const h = await createHousehold(t, { members: [{ relation: "HEAD" }, { relation: "SPOUSE", birth: "1982-03-03" }, { birth: "2010-01-01" }, { birth: "2012-02-02" }] });
    const whole = await t.as("admin").get(`${API}/households/${h.id}/members`);
    expect(whole.body.items).toHaveLength(4);
    expect(whole.body.next_cursor).toBeNull();
    const { items, pages } = await pageThrough(t, "admin", `${API}/households/${h.id}/members`, 1);
    expect(pages).toBe(4);
    expect(items.map((m) => m.id)).toEqual(whole.body.items.map((m: { id: string }) => m.id));
    const byThree = await pageThrough(t, "admin", `${API}/households/${h.id}/members`, 3);
    expect(byThree.pages).toBe(2);
    expect(byThree.items.map((m) => m.id)).toEqual(items.map((m) => m.id));
  });

  it("partners: keyset by client id, every partner once", async () => {
    for (const id of ["pg-a", "pg-b", "pg-c", "pg-d", "pg-e"]) {
      expect((await t.as("admin").post(`${API}/partners`, { client_id: id, name: `伙伴 ${id}`, county_codes: ["469030"] })).status).toBe(201);
    }
    const { items, pages } = await pageThrough(t, "admin", `${API}/partners`, 2);
    const ids = items.map((p) => p.client_id as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(["pg-a", "pg-b", "pg-c", "pg-d", "pg-e"]));
    expect(ids).toEqual([...ids].sort());
    expect(pages).toBe(Math.ceil(ids.length / 2));
    // No secret is shown again in the list.
    expect(JSON.stringify(items)).not.toContain("client_secret");
  });

  it("scorecards: the cursor is honoured (it used to be ignored, every page the first)", async () => {
    const whole = await t.as("admin").get(`${API}/scorecards`);
    expect(whole.status).toBe(200);
    const { items } = await pageThrough(t, "admin", `${API}/scorecards`, 1);
    expect(items.map((s) => s.id)).toEqual(whole.body.items.map((s: { id: string }) => s.id));
  });

  it("refuses a cursor that is not from the list, and a limit out of range", async () => {
    const h = await createHousehold(t);
    const bad = await t.as("admin").get(`${API}/households/${h.id}/members?cursor=${Buffer.from("nope").toString("base64url")}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ detail: "分页游标无效", errors: [{ path: "query.cursor", message: "不是本列表给出的游标" }] });
    const badEn = await t.as("admin").get(`${API}/households/${h.id}/members?cursor=${Buffer.from("nope").toString("base64url")}`).set("Accept-Language", "en");
    expect(badEn.body).toMatchObject({ detail: "Bad cursor", errors: [{ path: "query.cursor", message: "not a cursor from this list" }] });
    const big = await t.as("admin").get(`${API}/households/${h.id}/status-changes?limit=501`);
    expect(big.status).toBe(400);
    expect(big.body.code).toBe("VALIDATION_FAILED");
  });
});
