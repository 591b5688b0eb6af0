import supertest from "supertest";
import { expect } from "vitest";
import { signStaffToken } from "../../src/http/auth.js";
import { COUNTY, OPERATOR, VILLAGE } from "../helpers/fixture.js";
import { TEST_JWT, type TestApp } from "../helpers/harness.js";

export const API = "/api/v1";
export const OTHER_OPERATOR = "0c000000-0000-4000-8000-0000000000c2";

/** Registers the fixture operator (OPERATOR) and a second one through the trusteeship API. */
export async function registerOperators(t: TestApp): Promise<void> {
  const base = { county_code: COUNTY, operator_type: "COOPERATIVE", legal_representative: "符海南", registered_capital: "1000000.00" };
  const a = await t.as("admin").post(`${API}/operators`, { ...base, id: OPERATOR, name: "琼中县绿源种养专业合作社", credit_code: "93469030MA5T000105" });
  if (a.status !== 201) throw new Error(`operator: ${a.status} ${JSON.stringify(a.body)}`);
  const b = await t.as("admin").post(`${API}/operators`, { ...base, id: OTHER_OPERATOR, name: "琼中县农业投资有限公司", credit_code: "91469030MA5T2XQ38F", operator_type: "RURAL_INVESTMENT_COMPANY" });
  if (b.status !== 201) throw new Error(`operator: ${b.status} ${JSON.stringify(b.body)}`);
}

/** A staff token of the second operator (not in the fixture). */
export function asOtherOperator(t: TestApp) {
  const token = signStaffToken(TEST_JWT, { userId: "0a000000-0000-4000-8000-0000000000c2", role: "operator", countyCodes: [COUNTY], bankId: null, operatorId: OTHER_OPERATOR, villageCode: null });
  return {
    get: (path: string) => supertest(t.app).get(path).set("Authorization", `Bearer ${token}`),
    post: (path: string, body: object) => supertest(t.app).post(path).set("Authorization", `Bearer ${token}`).send(body),
  };
}

/** A photovoltaic station of VILLAGE managed by OPERATOR for 60% of net income, at least 8% a year of 500,000.00. */
export function assetBody(over: Record<string, unknown> = {}) {
  return {
    name: "新市村村级光伏电站",
    asset_type: "PHOTOVOLTAIC",
    village_code: VILLAGE,
    funding_sources: [
      { source: "INTEGRATED_AGRICULTURE_FUND", amount: "400000.00" },
      { source: "EAST_WEST_COOPERATION", amount: "100000.00", note: "东西部协作" },
    ],
    book_value: "500000.00",
    build_date: "2019-06-30",
    management: {
      operator_id: OPERATOR,
      form: "LEASE",
      contract_start: "2020-01-01",
      contract_end: "2029-12-31",
      return_terms: "NET_INCOME_SHARE",
      net_income_share: "0.6",
      guaranteed_min_rate: "0.08",
    },
    income_rights: { scheme: "VILLAGES", village_codes: [VILLAGE] },
    oversight: { body: "琼中县农业农村局", division_code: COUNTY },
    ...over,
  };
}

export async function createAsset(t: TestApp, over: Record<string, unknown> = {}) {
  const res = await t.as("admin").post(`${API}/assets`, assetBody(over));
  if (res.status !== 201) throw new Error(`asset: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; version: number };
}

/** Operator reports a period and the owning village confirms it; returns the report. */
export async function confirmedReport(t: TestApp, assetId: string, period: string, figures = { revenue: "120000.00", costs: "40000.00", net_income: "80000.00", amount_payable: "48000.00" }) {
  const r = await t.as("operator").post(`${API}/assets/${assetId}/return-reports`, { period, ...figures });
  if (r.status !== 201) throw new Error(`report: ${r.status} ${JSON.stringify(r.body)}`);
  const c = await t.as("village").post(`${API}/return-reports/${r.body.id}/confirm`, {});
  if (c.status !== 200) throw new Error(`confirm: ${c.status} ${JSON.stringify(c.body)}`);
  return c.body as { id: string; amount_payable: string };
}

export function expectProblem(res: supertest.Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }, JSON.stringify(res.body)).toEqual({ status, code });
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
}
