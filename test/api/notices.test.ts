import { beforeAll, describe, expect, it } from "vitest";
import { createHousehold, exitApprovals } from "../helpers/factories.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp({ today: "2025-06-02" });

describe("public notices of exits", () => {
  let exitedNo = "";
  beforeAll(async () => {
    t.clock.set("2025-04-01");
    const a = await createHousehold(t, { members: [{ relation: "HEAD", name: "王建国" }] });
    await createHousehold(t, { members: [{ relation: "HEAD", name: "李春花" }] });
    t.clock.set("2025-06-02");
    const res = await t.as("village").post(`/api/v1/households/${a.id}/status-changes`, exitApprovals("2025-05-30"));
    expect(res.status).toBe(201);
    exitedNo = (await t.as("village").get(`/api/v1/households/${a.id}`)).body.household_no;
  });

  it("lists each exit of the village with masked name and ID number", async () => {
    const res = await t.as("village").get("/api/v1/notices?kind=exits&from=2025-05-01&to=2025-06-02");
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    const n = res.body.items[0];
    expect(n).toMatchObject({ kind: "exits", village_code: "469030100201", village_name: "新市村", period_start: "2025-05-10", period_end: "2025-05-17" });
    expect(n.entries).toEqual([{ name: "王*国", id_number: expect.stringMatching(/^469030\*{8}[0-9X]{4}$/), household_no: exitedNo, detail: expect.stringContaining("两不愁三保障") }]);
  });

  it("prints as an HTML page without the full names", async () => {
    const res = await t.as("regulator").get("/api/v1/notices?kind=exits&from=2025-05-01&to=2025-06-02&format=html");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain("新市村 贫困户退出公示");
    expect(res.text).toContain("王*国");
    expect(res.text).not.toContain("王建国");
    expect(res.text).not.toContain("李春花");
  });

  it("is bounded by jurisdiction", async () => {
    expect((await t.as("village2").get("/api/v1/notices?kind=exits&from=2025-05-01")).body.items).toEqual([]);
    expect((await t.as("village2").get("/api/v1/notices?kind=exits&village_code=469030100201&from=2025-05-01")).body.items).toEqual([]);
    expect((await t.as("otherRegulator").get("/api/v1/notices?kind=exits&from=2025-05-01")).body.items).toEqual([]);
    expect((await t.as("operator").get("/api/v1/notices")).status).toBe(403);
    expect((await t.http.get("/api/v1/notices")).status).toBe(401);
    expect((await t.as("regulator").get("/api/v1/notices?kind=loans")).status).toBe(400);
  });
});
