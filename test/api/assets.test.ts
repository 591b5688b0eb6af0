import { beforeAll, describe, expect, it } from "vitest";
import { COUNTY, OPERATOR, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, asOtherOperator, assetBody, createAsset, expectProblem, OTHER_OPERATOR, registerOperators } from "./assets-helpers.js";

const t = useTestApp({ today: "2025-06-02" });
let asset: { id: string; version: number };
let otherAsset: { id: string };

beforeAll(async () => {
  await registerOperators(t);
  asset = await createAsset(t);
  otherAsset = await createAsset(t, {
    name: "百花村冷库",
    asset_type: "COLD_STORAGE",
    village_code: VILLAGE_2,
    management: { operator_id: OTHER_OPERATOR, form: "CONTRACTING", contract_start: "2021-01-01", contract_end: "2030-12-31", return_terms: "FIXED_RENT", annual_rent: "30000.00", guaranteed_min_rate: "0.06" },
    income_rights: { scheme: "VILLAGES", village_codes: [VILLAGE_2] },
    book_value: "300000.00",
  });
});

describe("assets under the four-way split", () => {
  it("shows each of the four rights held by its own party", async () => {
    const res = await t.as("regulator").get(`${API}/assets/${asset.id}`);
    expect(res.status).toBe(200);
    expect(res.body.rights.ownership).toEqual({ holder: "VILLAGE_COLLECTIVE", village_code: VILLAGE, village_name: "新市村" });
    expect(res.body.rights.management).toMatchObject({ holder: "OPERATOR", operator_id: OPERATOR, operator_name: "琼中县绿源种养专业合作社", return_terms: "NET_INCOME_SHARE", net_income_share: "0.6", guaranteed_min_rate: "0.08", annual_rent: null });
    expect(res.body.rights.income).toEqual({ holder: "HOUSEHOLDS", scheme: "VILLAGES", village_codes: [VILLAGE], household_ids: [] });
    expect(res.body.rights.oversight).toEqual({ holder: "DEPARTMENT", body: "琼中县农业农村局", division_code: COUNTY });
    expect(res.body.funding_total).toBe("500000.00");
    expect(res.body.status).toBe("IN_OPERATION");
    expect(res.body.history.map((h: { kind: string }) => h.kind)).toEqual(["CREATED"]);
  });

  it("refuses rights held by the same party, bad contracts and bad input", async () => {
    expectProblem(await t.as("admin").post(`${API}/assets`, assetBody({ oversight: { body: "琼中县绿源种养专业合作社", division_code: COUNTY } })), 422, "RIGHTS_NOT_SEPARATE");
    expectProblem(await t.as("admin").post(`${API}/assets`, assetBody({ oversight: { body: "新市村村民委员会", division_code: COUNTY } })), 422, "RIGHTS_NOT_SEPARATE");
    const lowRent = assetBody({ management: { ...assetBody().management, return_terms: "FIXED_RENT", net_income_share: null, annual_rent: "20000.00" } });
    const contract = await t.as("admin").post(`${API}/assets`, lowRent);
    expectProblem(contract, 422, "INVALID_CONTRACT"); // 8% of 500,000 = 40,000 a year
    expect(contract.body.detail).toBe("年租金低于保底收益（每年 40000.00 元）");
    expect(contract.body.errors).toEqual([{ path: "body.management.annual_rent", message: "年租金低于保底收益（每年 40000.00 元）" }]);
    const contractEn = await t.as("admin").post(`${API}/assets`, lowRent).set("Accept-Language", "en");
    expect(contractEn.body.detail).toBe("the rent is below the guaranteed minimum (40000.00 a year)");
    const unknownOperator = assetBody({ management: { ...assetBody().management, operator_id: "0c000000-0000-4000-8000-0000000000ff" } });
    expectProblem(await t.as("admin").post(`${API}/assets`, unknownOperator), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("admin").post(`${API}/assets`, assetBody({ asset_type: "CASTLE" })), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("admin").post(`${API}/assets`, assetBody({ income_rights: { scheme: "HOUSEHOLDS", village_codes: [] } })), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("village").post(`${API}/assets`, assetBody()), 403, "FORBIDDEN");
    expectProblem(await t.as("otherAdmin").post(`${API}/assets`, assetBody()), 404, "NOT_FOUND");
  });

  it("replays a create with the same Idempotency-Key", async () => {
    const body = assetBody({ name: "新市村扶贫车间" , asset_type: "WORKSHOP" });
    const a = await t.as("admin").post(`${API}/assets`, body, "asset-key-1");
    const b = await t.as("admin").post(`${API}/assets`, body, "asset-key-1");
    expect(a.status).toBe(201);
    expect(b.headers["idempotent-replayed"]).toBe("true");
    expect(b.body.id).toBe(a.body.id);
  });

  it("records every change of a right or the status in the history and the audit log", async () => {
    const res = await t.as("admin").patch(`${API}/assets/${asset.id}`, {
      version: asset.version,
      reason: "原合作社经营不善，经村民代表大会决议更换经营主体",
      effective_date: "2025-06-01",
      management: { operator_id: OTHER_OPERATOR, form: "LEASE", contract_start: "2025-06-01", contract_end: "2030-05-31", return_terms: "FIXED_RENT", annual_rent: "45000.00", guaranteed_min_rate: "0.08" },
      oversight: { body: "营根镇经管站", division_code: "469030100" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rights.management).toMatchObject({ operator_id: OTHER_OPERATOR, return_terms: "FIXED_RENT", annual_rent: "45000.00" });
    const kinds = res.body.history.map((h: { kind: string }) => h.kind);
    expect(kinds).toEqual(["CREATED", "MANAGEMENT", "OVERSIGHT"]);
    const management = res.body.history[1];
    expect(management.before.operator_id).toBe(OPERATOR);
    expect(management.after.operator_id).toBe(OTHER_OPERATOR);
    expect(management.reason).toContain("更换经营主体");
    const audit = await t.db("audit_log").where({ entity_type: "asset", entity_id: asset.id }).orderBy("seq").pluck("action");
    expect(audit).toEqual(["asset.create", "asset.management", "asset.oversight"]);
    // A stale version is a conflict.
    expectProblem(await t.as("admin").patch(`${API}/assets/${asset.id}`, { version: asset.version, reason: "再次修改", name: "x" }), 409, "CONFLICT");
    // Back to the first operator for the rest of the file.
    const back = await t.as("admin").patch(`${API}/assets/${asset.id}`, { reason: "恢复原经营主体", management: assetBody().management, oversight: assetBody().oversight });
    expect(back.status).toBe(200);
  });

  it("moves the status and keeps DISPOSED final", async () => {
    const a = await createAsset(t, { name: "新市村大棚", asset_type: "GREENHOUSE" });
    const idle = await t.as("admin").patch(`${API}/assets/${a.id}`, { reason: "台风损毁", status: "DAMAGED" });
    expect(idle.body.status).toBe("DAMAGED");
    const gone = await t.as("admin").patch(`${API}/assets/${a.id}`, { reason: "报废处置", status: "DISPOSED" });
    expect(gone.body.history.map((h: { kind: string; after: { status?: string } }) => (h.kind === "STATUS" ? h.after.status : h.kind))).toEqual(["CREATED", "DAMAGED", "DISPOSED"]);
    expectProblem(await t.as("admin").patch(`${API}/assets/${a.id}`, { reason: "恢复", status: "IN_OPERATION" }), 409, "INVALID_STATE");
  });

  it("shows operators their own assets only, and nothing outside the jurisdiction", async () => {
    const mine = await t.as("operator").get(`${API}/assets`);
    expect(mine.status).toBe(200);
    expect(mine.body.items.every((a: { rights: { management: { operator_id: string } } }) => a.rights.management.operator_id === OPERATOR)).toBe(true);
    expect((await t.as("operator").get(`${API}/assets/${asset.id}`)).status).toBe(200);
    expectProblem(await t.as("operator").get(`${API}/assets/${otherAsset.id}`), 404, "NOT_FOUND");
    expect((await asOtherOperator(t).get(`${API}/assets/${otherAsset.id}`)).status).toBe(200);
    expectProblem(await t.as("otherRegulator").get(`${API}/assets/${asset.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("village2").get(`${API}/assets/${asset.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("officer").get(`${API}/assets`), 403, "FORBIDDEN");
    expect((await t.http.get(`${API}/assets`)).status).toBe(401);
  });
});

describe("return reports", () => {
  const figures = { revenue: "120000.00", costs: "40000.00", net_income: "80000.00", amount_payable: "48000.00" };

  it("takes the operator's report of an ended period at or above the contract minimum", async () => {
    // 60% of 80,000 = 48,000 ≥ the guaranteed 8% of 500,000 = 40,000.
    const res = await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2024", ...figures, attachments: [{ name: "2024年发电收益结算单.pdf" }] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "SUBMITTED", period_start: "2024-01-01", period_end: "2024-12-31", contract_minimum: "48000.00", amount_payable: "48000.00", distribution_id: null });
    // A loss year still owes the guaranteed minimum, pro-rated to a half year: 20,000.00.
    const loss = { revenue: "10000.00", costs: "30000.00", net_income: "-20000.00" };
    expectProblem(await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2023-H2", ...loss, amount_payable: "19999.99" }), 422, "BELOW_CONTRACT_MINIMUM");
    const ok = await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2023-H2", ...loss, amount_payable: "20000.00" });
    expect(ok.body.contract_minimum).toBe("20000.00");
    expectProblem(await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2024", ...figures }), 409, "REPORT_EXISTS");
    expectProblem(await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2025", ...figures }), 422, "PERIOD_NOT_ENDED");
    expectProblem(await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2022", ...figures, net_income: "70000.00" }), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("operator").post(`${API}/assets/${otherAsset.id}/return-reports`, { period: "2024", ...figures }), 404, "NOT_FOUND");
    expectProblem(await t.as("village").post(`${API}/assets/${asset.id}/return-reports`, { period: "2022", ...figures }), 403, "FORBIDDEN");
  });

  it("lets the owning village confirm or dispute; a disputed report is resubmitted", async () => {
    const r = await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2022", ...figures, amount_payable: "48000.00" });
    expectProblem(await t.as("village2").post(`${API}/return-reports/${r.body.id}/dispute`, { reason: "不是本村" }), 404, "NOT_FOUND");
    expectProblem(await t.as("operator").post(`${API}/return-reports/${r.body.id}/confirm`, {}), 403, "FORBIDDEN");
    const d = await t.as("village").post(`${API}/return-reports/${r.body.id}/dispute`, { reason: "成本中含与电站无关的支出，请核实后重报" });
    expect(d.body).toMatchObject({ status: "DISPUTED", dispute_reason: "成本中含与电站无关的支出，请核实后重报" });
    expectProblem(await t.as("village").post(`${API}/return-reports/${r.body.id}/confirm`, {}), 409, "INVALID_STATE");
    const again = await t.as("operator").post(`${API}/assets/${asset.id}/return-reports`, { period: "2022", revenue: "120000.00", costs: "30000.00", net_income: "90000.00", amount_payable: "54000.00" });
    expect(again.status).toBe(201);
    expect(again.body.resubmits_id).toBe(r.body.id);
    const c = await t.as("village").post(`${API}/return-reports/${again.body.id}/confirm`, {});
    expect(c.body.status).toBe("CONFIRMED");
    const list = await t.as("regulator").get(`${API}/assets/${asset.id}/return-reports?period=2022`);
    expect(list.body.items.map((x: { status: string }) => x.status).sort()).toEqual(["CONFIRMED", "DISPUTED"]);
    const audit = await t.db("audit_log").where({ entity_type: "asset_return_report", entity_id: again.body.id }).pluck("action");
    expect(audit).toEqual(["asset.return_report.submit", "asset.return_report.confirm"]);
  });
});
