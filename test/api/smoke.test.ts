import { describe, expect, it } from "vitest";
import { useTestApp } from "../helpers/harness.js";
import { createHousehold } from "../helpers/factories.js";

const t = useTestApp();

describe("smoke", () => {
  it("serves health and a household", async () => {
    expect((await t.http.get("/healthz")).status).toBe(200);
    expect((await t.http.get("/readyz")).status).toBe(200);
    const h = await createHousehold(t);
    const res = await t.as("village").get(`/api/v1/households/${h.id}`);
    expect(res.status).toBe(200);
    expect(res.body.members).toHaveLength(2);
  });
});
