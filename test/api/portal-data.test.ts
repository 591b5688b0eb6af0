import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { Money } from "../../src/lib/money.js";
import { COUNTY, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { API, buildCounty, type County, interest, RATE } from "./county-scenario.js";

/**
 * A household reads its own money through a partner token: profile, dividends, loans, subsidies
 * reimbursed, entrusted returns and the year's summary, on the county of county-scenario.ts (read on
 * 2025-07-01). Another household's records never show, and its loan answers 404.
 */
const t = useTestApp({ today: "2024-10-08" });
let c: County;
const tokens: Record<string, string> = {};

function portal(who: string) {
  return (path: string) => supertest(t.app).get(`${API}/portal/me${path}`).set("Authorization", `Bearer ${tokens[who]}`);
}
async function read(who: string, path: string) {
  const res = await portal(who)(path);
  expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

beforeAll(async () => {
  c = await buildCounty(t);
  const partner = await t.as("admin").post(`${API}/partners`, { client_id: "qz-village-station", name: "琼中县村级服务站", county_codes: [COUNTY] });
  expect(partner.status, JSON.stringify(partner.body)).toBe(201);
  for (const name of ["A", "C", "D"] as const) {
    const id = c.h[name].id;
    const full = await t.as("village").get(`${API}/households/${id}`);
    const pin = await t.as("village").post(`${API}/households/${id}/portal-pin`);
    expect(pin.status, JSON.stringify(pin.body)).toBe(201);
    const tok = await supertest(t.app)
      .post(`${API}/portal/token`)
      .send({ client_id: partner.body.client_id, client_secret: partner.body.client_secret, id_number: full.body.members[0].id_number, pin: pin.body.pin });
    expect(tok.status, JSON.stringify(tok.body)).toBe(200);
    tokens[name] = tok.body.access_token;
  }
}, 60_000);

describe("a household's own data through the portal", () => {
  it("/portal/me is the household's masked profile", async () => {
    expect(await read("A", "")).toMatchObject({ household_id: c.h.A.id, head_name: "王*国", status: "POOR", county_code: COUNTY, village_code: VILLAGE, village_name: "新市村", member_count: 2, exit_date: null });
    expect(await read("C", "")).toMatchObject({ household_id: c.h.C.id, status: "EXITED", exit_date: "2025-04-28", status_since: "2025-04-28" });
  });

  it("dividends: the amount and why match the household's share of the distribution", async () => {
    const staff = (await t.as("regulator").get(`${API}/distributions/${c.distributionId}`)).body;
    const shareOf = (id: string) => staff.shares.find((s: { household_id: string }) => s.household_id === id);
    // 38,400.00 over weights 1 + 1 + 1 + 1.5 by largest remainder; with the 9,600.00 retained, 48,000.00 in all.
    expect(Money.format(Money.sum(Object.values(c.shares)).plus("9600.00"))).toBe("48000.00");
    const common = { distribution_id: c.distributionId, period: "2024", reference_date: "2025-05-31", village_code: VILLAGE, capped: false, status: "PAID", paid_on: "2025-06-09" };
    const a = (await read("A", "/dividends")).items;
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ ...common, weight: "1", multiplier: "1", members: 2, eligibility: "POOR", multiplier_reason: null, transition_ends: null, why: "贫困户；基础权重；2人", amount: c.shares[c.h.A.id] });
    expect(a[0].assets).toEqual([expect.objectContaining({ id: c.assetId, name: "新市村村级光伏电站", asset_type: "PHOTOVOLTAIC" })]);
    expect([a[0].amount, a[0].weight]).toEqual([shareOf(c.h.A.id).amount, shareOf(c.h.A.id).weight]);
    const d = (await read("D", "/dividends")).items;
    expect(d).toEqual([expect.objectContaining({ ...common, weight: "1.5", multiplier: "1.5", members: 1, eligibility: "MONITORED", multiplier_reason: "NO_LABOUR", why: "监测户；无劳动能力 ×1.5；1人", amount: "12800.00" })]);
    expect(d[0].amount).toBe(c.shares[c.h.D.id]); // 38,400 × 1.5 / 4.5 exactly
    const cc = (await read("C", "/dividends")).items;
    expect(cc).toEqual([
      expect.objectContaining({ ...common, eligibility: "EXITED_IN_TRANSITION", transition_ends: "2026-04-28", why: "脱贫户过渡期内(至2026-04-28前)；基础权重；2人", amount: c.shares[c.h.C.id] }),
    ]);
  });

  it("loans: only the household's own, with what falls due next", async () => {
    const a = await read("A", "/loans");
    expect(a.as_of).toBe("2025-07-01");
    expect(a.items).toEqual([
      {
        id: c.loans.LA,
        bank_name: "测试农商行",
        status: "DISBURSED",
        status_label: "已放款",
        amount: "30000.00",
        outstanding_principal: "30000.00",
        annual_rate: RATE,
        term_months: 12,
        repayment_method: "BULLET_QUARTERLY",
        purpose: "BREEDING",
        applied_on: "2024-10-10",
        disbursed_on: "2024-10-10",
        maturity_date: "2025-10-10",
        closed_on: null,
        days_past_due: 0,
        // Interest of 06-21 .. 09-20 (92 days) on 30,000; the principal is due at maturity.
        next_due: { due_date: "2025-09-20", amount: interest("30000", RATE, 92) },
      },
    ]);
    // C missed the interest due 06-20 (6,000 × 92 days): it is what falls due next, 11 days late on 07-01, as the bank sees it.
    const cl = (await read("C", "/loans")).items;
    expect(cl.map((l: { id: string }) => l.id)).toEqual([c.loans.LC]);
    expect(cl[0]).toMatchObject({ outstanding_principal: "6000.00", days_past_due: 11, next_due: { due_date: "2025-06-20", amount: interest("6000", RATE, 92) } });
    expect((await t.as("officer").get(`${API}/loans/${c.loans.LC}`)).body.dpd).toBe(cl[0].days_past_due);
  });

  it("a loan's schedule, and 404 for another household's loan", async () => {
    const own = await portal("A")(`/loans/${c.loans.LA}/schedule`);
    expect(own.status).toBe(200);
    const other = await portal("A")(`/loans/${c.loans.LC}/schedule`);
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain("6000.00");
    const bank = (await t.as("officer").get(`${API}/loans/${c.loans.LA}/schedule`)).body;
    const periods = (own.body.periods ?? own.body.items) as { due_date: string; interest: string }[];
    expect(periods.map((p) => [p.due_date, p.interest])).toEqual(bank.periods.map((p: { due_date: string; interest: string }) => [p.due_date, p.interest]));
    expect(periods.map((p) => p.interest)).toEqual(["207.00", "258.75", "264.50", "264.50", "54.63"]);
  });

  it("subsidies: the TO_HOUSEHOLD reimbursement reaches the household; a TO_BANK subsidy does not", async () => {
    const a = (await read("A", "/subsidies")).items;
    // 2025Q1: 30,000 × 3.45% × 90 / 360 = 258.75 interest paid on time, reimbursed at 70%: 181.125 → 181.13.
    expect(a).toEqual([{ id: expect.any(String), claim_id: c.hhClaimId, quarter: "2025Q1", periods: 1, amount: "181.13", paid_on: "2025-04-02", reference: "财政拨付 2025-042", bank_name: "测试农商行" }]);
    expect(a[0].amount).toBe(c.seen.laQ1Subsidy);
    expect((await read("C", "/subsidies")).items).toEqual([]);
  });

  it("returns: entrusted installments, one paid late, one in arrears, the rest not yet due", async () => {
    const a = await read("A", "/returns");
    const dues = ["2025-03-01", "2025-06-01", "2025-09-01", "2025-12-01", "2026-03-01", "2026-06-01", "2026-09-01", "2026-12-01"];
    expect(a.items.map((i: Record<string, unknown>) => [i.seq, i.due_date, i.amount, i.paid, i.paid_off_on, i.status])).toEqual(
      dues.map((due, k) => [k + 1, due, "400.00", k === 0 ? "400.00" : "0.00", k === 0 ? "2025-04-10" : null, k === 0 ? "PAID" : k === 1 ? "IN_ARREARS" : "NOT_DUE"]),
    );
    for (const i of a.items) expect(i).toMatchObject({ trusteeship_id: c.trusteeshipId, operator_name: "琼中县绿源种养专业合作社", source: "POVERTY_FUND_SHARE", principal: "20000.00", annual_rate: "0.08" });
    expect((await read("C", "/returns")).items).toEqual([]);
  });

  it("summary: each kind and the total equal what the household received in the year", async () => {
    const [div, sub, ret] = [(await read("A", "/dividends")).items, (await read("A", "/subsidies")).items, (await read("A", "/returns")).items];
    const inYear = (y: string, xs: { paid_on: string | null; amount: string }[]) => Money.format(Money.sum(xs.filter((x) => x.paid_on?.startsWith(y)).map((x) => x.amount)));
    const received = {
      DIVIDENDS: inYear("2025", div),
      SUBSIDIES: inYear("2025", sub),
      TRUSTEE_RETURNS: inYear("2025", ret.map((r: { paid_off_on: string | null; paid: string }) => ({ paid_on: r.paid_off_on, amount: r.paid }))),
    };
    expect(received).toEqual({ DIVIDENDS: c.shares[c.h.A.id], SUBSIDIES: "181.13", TRUSTEE_RETURNS: "400.00" });
    for (const path of ["/summary?year=2025", "/summary"]) {
      const s = await read("A", path);
      expect(s.year).toBe(2025);
      expect(Object.fromEntries(s.items.map((i: { kind: string; amount: string }) => [i.kind, i.amount]))).toEqual(received);
      expect(s.total).toBe(Money.format(Money.sum(Object.values(received))));
    }
    const y2024 = await read("A", "/summary?year=2024");
    expect(y2024.items.map((i: { amount: string }) => i.amount)).toEqual(["0.00", "0.00", "0.00"]);
    expect(y2024.total).toBe("0.00");
    const cs = await read("C", "/summary?year=2025");
    expect(Object.fromEntries(cs.items.map((i: { kind: string; amount: string }) => [i.kind, i.amount]))).toEqual({ DIVIDENDS: c.shares[c.h.C.id], SUBSIDIES: "0.00", TRUSTEE_RETURNS: "0.00" });
  });

  it("nothing of another household shows anywhere", async () => {
    const others = [c.h.B, c.h.C, c.h.D, c.h.E, c.h.F, c.h.G, c.h.H, c.h.X].map((h) => h.id);
    const otherLoans = [c.loans.LB, c.loans.LC, c.loans.LD];
    for (const path of ["", "/dividends", "/loans", "/subsidies", "/returns", "/summary"]) {
      const text = JSON.stringify(await read("A", path));
      for (const id of [...others, ...otherLoans]) expect(text, `${path} shows ${id}`).not.toContain(id);
    }
    // Another household's loan schedule is a 404.
    for (const id of otherLoans) expect((await portal("A")(`/loans/${id}/schedule`)).status).toBe(404);
    // The household's own token reads no staff endpoint.
    expect((await supertest(t.app).get(`${API}/loans/${c.loans.LA}`).set("Authorization", `Bearer ${tokens.A}`)).status).toBe(401);
  });

  it("the hot reads (answered before the Express stack) give each household the same text as the routes", async () => {
    const full = createApp(t.deps, { hotRoutes: false });
    for (const who of ["A", "C", "D"]) {
      for (const path of ["/dividends", "/summary", "/summary?year=2025", "/summary?year=2024"]) {
        const hot = await portal(who)(path);
        const old = await supertest(full).get(`${API}/portal/me${path}`).set("Authorization", `Bearer ${tokens[who]}`);
        expect(hot.status, `${who} ${path}`).toBe(200);
        expect(hot.text, `${who} ${path}`).toBe(old.text);
        expect(hot.headers["content-type"]).toBe(old.headers["content-type"]);
      }
    }
    // The households' answers differ: each reads its own.
    const [a, d] = [await portal("A")("/dividends"), await portal("D")("/dividends")];
    expect(a.body.items[0].why).not.toBe(d.body.items[0].why);
  });
});
