import { beforeAll, describe, expect, it } from "vitest";
import { up as renameAlertKinds } from "../../db/migrations/20261202009000_alert_kinds.js";
import { clearAlert, raiseAlert } from "../../src/lib/alerts.js";
import { BANK, OPERATOR, OTHER_BANK, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp();

describe("alerts", () => {
  beforeAll(async () => {
    const now = t.clock.now();
    await raiseAlert(t.db, { countyCode: "469030", kind: "loan.overdue.dpd_31_90", severity: "WARNING", entityType: "loan", entityId: "L-1", message: "贷款逾期 45 天", bankId: BANK, villageCode: VILLAGE }, now);
    await raiseAlert(t.db, { countyCode: "469030", kind: "loan.overdue.dpd_31_90", severity: "WARNING", entityType: "loan", entityId: "L-2", message: "贷款逾期 40 天", bankId: OTHER_BANK }, now);
    await raiseAlert(t.db, { countyCode: "469030", kind: "trustee.return_arrears", severity: "CRITICAL", entityType: "trusteeship", entityId: "T-1", message: "委托经营收益拖欠", operatorId: OPERATOR }, now);
    await raiseAlert(t.db, { countyCode: "469025", kind: "circuit_breaker.npl_near", severity: "WARNING", entityType: "portfolio", entityId: "P-9", message: "不良率接近熔断线" }, now);
  });

  const kinds = (body: { items: { entity_id: string }[] }) => body.items.map((a) => a.entity_id).sort();

  it("shows each role the alerts of its jurisdiction", async () => {
    expect(kinds((await t.as("regulator").get("/api/v1/alerts")).body)).toEqual(["L-1", "L-2", "T-1"]);
    expect(kinds((await t.as("manager").get("/api/v1/alerts")).body)).toEqual(["L-1"]);
    expect(kinds((await t.as("otherBankManager").get("/api/v1/alerts")).body)).toEqual(["L-2"]);
    expect(kinds((await t.as("operator").get("/api/v1/alerts")).body)).toEqual(["T-1"]);
    expect(kinds((await t.as("village").get("/api/v1/alerts")).body)).toEqual(["L-1"]);
    expect(kinds((await t.as("otherRegulator").get("/api/v1/alerts")).body)).toEqual(["P-9"]);
    const critical = await t.as("regulator").get("/api/v1/alerts?severity=CRITICAL");
    expect(kinds(critical.body)).toEqual(["T-1"]);
    expect((await t.http.get("/api/v1/alerts")).status).toBe(401);
    expect((await t.as("regulator").get("/api/v1/alerts?severity=LOUD")).status).toBe(400);
  });

  it("raising again refreshes the one open alert; clearing closes it", async () => {
    await raiseAlert(t.db, { countyCode: "469030", kind: "loan.overdue.dpd_31_90", severity: "CRITICAL", entityType: "loan", entityId: "L-1", message: "贷款逾期 60 天", bankId: BANK }, t.clock.now());
    const open = await t.db("alerts").where({ entity_id: "L-1" }).whereNull("cleared_at");
    expect(open).toHaveLength(1);
    expect(open[0].message).toBe("贷款逾期 60 天");
    await clearAlert(t.db, "loan.overdue.dpd_31_90", "loan", "L-2", t.clock.now());
    expect(kinds((await t.as("regulator").get("/api/v1/alerts")).body)).toEqual(["L-1", "T-1"]);
    expect(kinds((await t.as("regulator").get("/api/v1/alerts?state=cleared")).body)).toEqual(["L-2"]);
  });

  it("is acknowledged once, by someone who can see it, with an audit record", async () => {
    const list = await t.as("regulator").get("/api/v1/alerts?kind=trustee.return_arrears");
    const id = list.body.items[0].id as string;
    expect((await t.as("manager").post(`/api/v1/alerts/${id}/acknowledge`)).status).toBe(404);
    expect((await t.as("otherRegulator").post(`/api/v1/alerts/${id}/acknowledge`)).status).toBe(404);
    const ack = await t.as("regulator").post(`/api/v1/alerts/${id}/acknowledge`);
    expect(ack.status).toBe(200);
    expect(ack.body.acknowledged_by).toBe("0a000000-0000-4000-8000-000000000010");
    expect(ack.body.acknowledged_at).toBeTruthy();
    const again = await t.as("regulator").post(`/api/v1/alerts/${id}/acknowledge`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "INVALID_STATE", detail: "该预警已被确认" });
    expect((await t.as("regulator").post(`/api/v1/alerts/${id}/acknowledge`).set("Accept-Language", "en")).body.detail).toBe("The alert was already acknowledged");
    const audit = await t.as("regulator").get(`/api/v1/audit-log?entity_type=alert&entity_id=${id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(["alert.acknowledge"]);
    expect(kinds((await t.as("regulator").get("/api/v1/alerts?acknowledged=false")).body)).toEqual(["L-1"]);
  });

  it("the migration renames the upper-case kinds of stored alerts, open ones too, never into a second open one", async () => {
    const row = (kind: string, entityId: string) => ({ county_code: "469030", kind, severity: "WARNING", entity_type: "trusteeship", entity_id: entityId, message: "委托经营收益拖欠 / trustee return in arrears" });
    await t.db("alerts").insert([row("TRUSTEE_RETURN_ARREARS", "M-1"), row("TRUSTEE_RETURN_ARREARS", "M-2"), row("trustee.return_arrears", "M-2"), row("OPERATOR_EXPOSURE_OVER_LIMIT", "M-3")]);
    await renameAlertKinds(t.db);
    const rows = await t.db("alerts").whereIn("entity_id", ["M-1", "M-2", "M-3"]).orderBy(["entity_id", "cleared_at"]).select("entity_id", "kind", "cleared_at");
    expect(rows.map((r) => [r.entity_id, r.kind, r.cleared_at === null])).toEqual([
      ["M-1", "trustee.return_arrears", true],
      ["M-2", "trustee.return_arrears", false],
      ["M-2", "trustee.return_arrears", true],
      ["M-3", "operator.exposure_over_limit", true],
    ]);
    expect(Number((await t.db("alerts").whereIn("kind", ["TRUSTEE_RETURN_ARREARS", "LOAN_TRUSTEE_ARREARS", "OPERATOR_EXPOSURE_OVER_LIMIT"]).count<{ n: string }[]>("* as n"))[0].n)).toBe(0);
  });
});
