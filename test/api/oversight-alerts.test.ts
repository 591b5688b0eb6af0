import { beforeAll, describe, expect, it } from "vitest";
import { raiseOversightAlerts } from "../../src/modules/oversight/alert-jobs.js";
import { API, confirmedReport, createAsset, registerOperators } from "./assets-helpers.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp({ today: "2025-06-02" });

const open = async (kind: string, entityId: string) => t.db("alerts").where({ kind, entity_id: entityId }).whereNull("cleared_at");

describe("asset oversight alerts", () => {
  let asset: { id: string; version: number };
  beforeAll(async () => {
    t.clock.set("2025-01-02");
    await registerOperators(t);
    asset = await createAsset(t);
    t.clock.set("2025-06-02");
  });

  it("raises a missing return report once, and clears it when the operator reports", async () => {
    // The contract began 2020-01-01 and nothing was ever reported.
    await raiseOversightAlerts(t.db, "2025-06-02", t.clock.now());
    await raiseOversightAlerts(t.db, "2025-06-02", t.clock.now());
    const alerts = await open("asset.return_report_missing", asset.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ county_code: "469030", village_code: "469030100201", severity: "WARNING" });
    // The operator sees it too, the other village's officer does not.
    expect((await t.as("operator").get(`${API}/alerts?kind=asset.return_report_missing`)).body.items).toHaveLength(1);
    expect((await t.as("village2").get(`${API}/alerts?kind=asset.return_report_missing`)).body.items).toHaveLength(0);
    await confirmedReport(t, asset.id, "2024");
    await raiseOversightAlerts(t.db, "2025-06-02", t.clock.now());
    expect(await open("asset.return_report_missing", asset.id)).toHaveLength(0);
  });

  it("raises an idle asset after 90 days idle", async () => {
    const res = await t.as("admin").patch(`${API}/assets/${asset.id}`, { status: "IDLE", reason: "组件损坏待修，暂停发电", effective_date: "2025-03-01" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await raiseOversightAlerts(t.db, "2025-05-30", t.clock.now()); // 90 days idle: not yet
    expect(await open("asset.idle", asset.id)).toHaveLength(0);
    await raiseOversightAlerts(t.db, "2025-05-31", t.clock.now()); // 91 days
    expect(await open("asset.idle", asset.id)).toHaveLength(1);
    const back = await t.as("admin").patch(`${API}/assets/${asset.id}`, { status: "IN_OPERATION", reason: "修复后恢复发电" });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    await raiseOversightAlerts(t.db, "2025-06-02", t.clock.now());
    expect(await open("asset.idle", asset.id)).toHaveLength(0);
  });
});
