import { describe, expect, it } from "vitest";
import { evaluateCircuitBreakers } from "../../src/modules/riskfund/service.js";
import { subsidiesOfHousehold } from "../../src/modules/subsidies/service.js";
import "../../src/modules/subsidies/figures.js";
import { figureSources } from "../../src/modules/reports/figures.js";
import { expectProblem } from "../helpers/expect.js";
import { BANK, COUNTY } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, key, product, repay, setupRates } from "./loans-helpers.js";

const t = useTestApp({ today: "2025-01-10" });
const API = "/api/v1";

interface Line {
  id: string;
  loan_id: string;
  seq: number;
  due_date: string;
  mode: string;
  interest: string;
  computed_subsidy: string;
  subsidy: string;
  household_interest: string;
  forfeit_reason: string | null;
  status: string;
  days_in_term: number;
}

const steps = (d: string) => [
  { step: "VILLAGE_PROPOSAL", date: d, by: "村两委" },
  { step: "TOWNSHIP_REVIEW", date: d, by: "营根镇" },
  { step: "COUNTY_APPROVAL", date: d, by: "县乡村振兴局" },
];

describe("interest subsidy claims (docs/DOMAIN.md#interest-subsidy)", () => {
  const loans: Record<string, { id: string; household: string }> = {};
  let claimId = "";

  it("builds a small portfolio: on time, late, misused, removed household, TO_HOUSEHOLD at 70%", async () => {
    await setupRates(t);
    // TO_BANK at the old benchmark rate 4.35%, subsidised up to the LPR (3.45%): the household pays the 0.90% above it.
    const toBank = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435", subsidy: { mode: "TO_BANK", rate_cap: "0.0345" } });
    const toHousehold = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0345", subsidy: { ratio: "0.7", mode: "TO_HOUSEHOLD" } });
    const make = async (name: string, product_id: string, amount: string, method = "BULLET_QUARTERLY", term = 36) => {
      const h = await household(t);
      const l = await disbursedLoan(t, { product_id, amount, repayment_method: method, term_months: term, household: h });
      loans[name] = { id: l.id, household: h.id };
    };
    await make("A", toBank.id, "50000.00");
    await make("B", toBank.id, "30000.00");
    await make("C", toBank.id, "20000.00");
    await make("D", toBank.id, "10000.00");
    await make("E", toHousehold.id, "40000.00");
    await make("F", toHousehold.id, "12000.00", "EQUAL_PRINCIPAL", 12);

    t.clock.set("2025-02-10");
    expect((await repay(t, loans.F.id, "1034.50")).status).toBe(201);
    t.clock.set("2025-03-10");
    expect((await repay(t, loans.F.id, "1031.63")).status).toBe(201);
    t.clock.set("2025-03-20");
    // 70 days: A 50,000 × 4.35% = 422.92 of which 335.42 subsidised; C 169.17 − 134.17; D 84.58 − 67.08; E all of 268.33.
    for (const [name, amount] of [["A", "87.50"], ["C", "35.00"], ["D", "17.50"], ["E", "268.33"]]) {
      const r = await repay(t, loans[name].id, amount);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // B pays nothing by its due date: its subsidy is forfeited.

    t.clock.set("2025-03-28");
    const finding = await t.as("finance").post(`${API}/loans/${loans.C.id}/misuse-findings`, { kind: "HANDED_TO_ENTERPRISE", note: "贷款转入合作社使用（户贷企用）" });
    expect(finding.status, JSON.stringify(finding.body)).toBe(201);
    expectProblem(await t.as("village").post(`${API}/loans/${loans.C.id}/misuse-findings`, { kind: "PURPOSE_VIOLATION", note: "xx" }), 403, "FORBIDDEN");
    expectProblem(await t.as("otherAdmin").post(`${API}/loans/${loans.C.id}/misuse-findings`, { kind: "PURPOSE_VIOLATION", note: "xx" }), 404, "NOT_FOUND");
    const removed = await t.as("admin").post(`${API}/households/${loans.D.household}/status-changes`, { to_status: "REMOVED", effective_date: "2025-03-28", reason: "识别错误，清退", approvals: steps("2025-03-28") });
    expect(removed.status, JSON.stringify(removed.body)).toBe(201);
  });

  it("the subsidy schedule shows the household's own part (TO_BANK: interest − subsidy)", async () => {
    const s = await t.as("officer").get(`${API}/loans/${loans.A.id}/subsidy-schedule`);
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body).toMatchObject({ mode: "TO_BANK", ratio: "1", subsidy_rate: "0.0345", term_end: "2028-01-10" });
    expect(s.body.periods[0]).toMatchObject({ due_date: "2025-03-20", interest: "422.92", subsidy: "335.42", household_interest: "87.50", subsidy_forfeited: null });
    // The loan's own schedule asks the household for its part only.
    const sched = await t.as("officer").get(`${API}/loans/${loans.A.id}/schedule`);
    expect(sched.body.periods[0]).toMatchObject({ interest: "87.50", interest_subsidy: "335.42", interest_paid: "87.50", status: "PAID" });
    expect(sched.body.periods[1]).toMatchObject({ interest: "115.00", interest_subsidy: "440.83" }); // 92 days: 555.83 = 115.00 + 440.83
    // C's misuse finding moved every unsettled share back to C; its settled first period keeps its share (the claim forfeits it).
    const c = await t.as("officer").get(`${API}/loans/${loans.C.id}/schedule`);
    expect(c.body.periods[0]).toMatchObject({ interest: "35.00", interest_subsidy: "134.17", subsidy_forfeited: null });
    expect(c.body.periods[1]).toMatchObject({ interest: "222.33", interest_subsidy: "0.00", subsidy_forfeited: "MISUSE" });
    const e = await t.as("finance").get(`${API}/loans/${loans.E.id}/subsidy-schedule`);
    expect(e.body.periods[0]).toMatchObject({ interest: "268.33", subsidy: "187.83", household_interest: "268.33" });
  });

  it("refuses a claim before the quarter has ended", async () => {
    t.clock.set("2025-03-31");
    expectProblem(await t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" }), 422, "SUBSIDY_QUARTER_NOT_ENDED");
    expectProblem(await t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q5" }), 400, "VALIDATION_FAILED");
  });

  it("generates the quarter's batch with exactly the expected lines and total", async () => {
    t.clock.set("2025-04-01");
    expectProblem(await t.as("village").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" }), 403, "FORBIDDEN");
    expectProblem(await t.as("otherAdmin").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" }), 404, "NOT_FOUND");
    const r = await t.as("officer").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    claimId = r.body.id;
    expect(r.body).toMatchObject({ status: "DRAFT", quarter: "2025Q1", quarter_start: "2025-01-01", quarter_end: "2025-03-31", lines_added: 7 });
    expect(r.body.totals).toMatchObject({ lines: 7, forfeited_lines: 3, rejected_lines: 0, claimed: "569.54", to_bank: "335.42", to_household: "234.12" });

    const got = await t.as("finance").get(`${API}/subsidy-claims/${claimId}`);
    expect(got.status).toBe(200);
    const lines = got.body.lines as Line[];
    const of = (name: string) => lines.filter((l) => l.loan_id === loans[name].id).sort((x, y) => x.seq - y.seq);
    expect(of("A").map((l) => [l.due_date, l.interest, l.subsidy, l.household_interest, l.forfeit_reason, l.status])).toEqual([["2025-03-20", "422.92", "335.42", "87.50", null, "CLAIMED"]]);
    expect(of("B").map((l) => [l.interest, l.computed_subsidy, l.subsidy, l.forfeit_reason, l.status])).toEqual([["253.75", "201.25", "0.00", "LATE_INTEREST", "FORFEITED"]]);
    expect(of("C").map((l) => [l.interest, l.computed_subsidy, l.subsidy, l.forfeit_reason])).toEqual([["169.17", "134.17", "0.00", "MISUSE"]]);
    expect(of("D").map((l) => [l.interest, l.subsidy, l.forfeit_reason])).toEqual([["84.58", "0.00", "HOUSEHOLD_REMOVED"]]);
    expect(of("E").map((l) => [l.mode, l.interest, l.subsidy, l.household_interest])).toEqual([["TO_HOUSEHOLD", "268.33", "187.83", "268.33"]]);
    expect(of("F").map((l) => [l.seq, l.due_date, l.interest, l.subsidy])).toEqual([
      [1, "2025-02-10", "34.50", "24.15"],
      [2, "2025-03-10", "31.63", "22.14"],
    ]);
    // Bank staff of another bank do not see it.
    expect((await t.as("otherBankManager").get(`${API}/subsidy-claims/${claimId}`)).status).toBe(404);
    expect((await t.as("otherAdmin").get(`${API}/subsidy-claims/${claimId}`)).status).toBe(404);
  });

  it("regenerating claims nothing twice, and a period paid late after the batch is not added", async () => {
    const again = await t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: claimId, lines_added: 0, generations: 2, totals: { lines: 7, claimed: "569.54" } });

    t.clock.set("2025-04-02");
    const b = await t.as("officer").get(`${API}/loans/${loans.B.id}`);
    // Paid late, B's share is forfeited: it owes the whole 253.75, and penalty on it.
    expect(b.body.overdue_interest).toBe("253.75");
    const owed = (Number(b.body.overdue_interest) * 100 + Number(b.body.penalty_due) * 100) / 100;
    expect((await repay(t, loans.B.id, owed.toFixed(2))).status).toBe(201);
    const third = await t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" });
    expect(third.body).toMatchObject({ lines_added: 0, totals: { lines: 7, forfeited_lines: 3, claimed: "569.54" } });
    const lines = (await t.as("finance").get(`${API}/subsidy-claims/${claimId}`)).body.lines as Line[];
    expect(lines.find((l) => l.loan_id === loans.B.id)).toMatchObject({ subsidy: "0.00", forfeit_reason: "LATE_INTEREST" });
    const n = await t.db("subsidy_claim_lines").count<{ n: string }[]>("* as n");
    expect(Number(n[0].n)).toBe(7);
  });

  it("the finance officer approves, rejecting a line; the batch is noticed per village with masked names", async () => {
    const lines = (await t.as("finance").get(`${API}/subsidy-claims/${claimId}`)).body.lines as Line[];
    const f2 = lines.find((l) => l.loan_id === loans.F.id && l.seq === 2)!;
    const b = lines.find((l) => l.loan_id === loans.B.id)!;
    expectProblem(await t.as("officer").post(`${API}/subsidy-claims/${claimId}/approve`, {}), 403, "FORBIDDEN");
    expectProblem(await t.as("finance").post(`${API}/subsidy-claims/${claimId}/approve`, { rejected_lines: [{ line_id: b.id, reason: "已作废" }] }), 422, "SUBSIDY_LINE_NOT_CLAIMED");
    expectProblem(await t.as("finance").post(`${API}/subsidy-claims/${claimId}/pay`, {}, key()), 409, "INVALID_STATE");
    const ok = await t.as("finance").post(`${API}/subsidy-claims/${claimId}/approve`, { rejected_lines: [{ line_id: f2.id, reason: "还款凭证缺失" }] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ status: "APPROVED", approved_on: "2025-04-02", notice_start: "2025-04-02", notice_end: "2025-04-09" });
    expect(ok.body.totals).toMatchObject({ claimed: "547.40", to_bank: "335.42", to_household: "211.98", rejected_lines: 1 });
    expectProblem(await t.as("finance").post(`${API}/subsidy-claims/${claimId}/approve`, {}), 409, "INVALID_STATE");
    // Regenerating an approved batch adds nothing.
    const closed = await t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" });
    expect(closed.body).toMatchObject({ status: "APPROVED", lines_added: 0 });

    const notices = await t.as("village").get(`${API}/notices?kind=subsidies&from=2025-04-01&to=2025-04-30`);
    expect(notices.status).toBe(200);
    expect(notices.body.items).toHaveLength(1);
    const n = notices.body.items[0];
    expect(n.title).toContain("2025Q1");
    expect(n.entries).toHaveLength(3); // A, E, F; not the forfeited or rejected ones
    expect(n.entries.map((e: { amount: string }) => e.amount).sort()).toEqual(["187.83", "24.15", "335.42"]);
    for (const e of n.entries) {
      expect(e.name).toBe("王*国");
      expect(e.id_number).toMatch(/^469030\*{8}[0-9X]{4}$/);
    }
  });

  it("pays: the bank receives its part, each TO_HOUSEHOLD household its reimbursement on its record; the ledger reconciles", async () => {
    // Unpaid 30 days after approval: an alert (run by the close of business's last step).
    const unpaidAlerts = () => t.db("alerts").where({ kind: "subsidy_claim.unpaid", entity_id: claimId }).whereNull("cleared_at");
    await evaluateCircuitBreakers(t.db, "2025-05-02");
    expect(await unpaidAlerts()).toHaveLength(0);
    await evaluateCircuitBreakers(t.db, "2025-05-03");
    expect(await unpaidAlerts()).toHaveLength(1);
    expectProblem(await t.as("finance").post(`${API}/subsidy-claims/${claimId}/pay`, {}), 400, "IDEMPOTENCY_KEY_REQUIRED");
    const k = key();
    const paid = await t.as("finance").post(`${API}/subsidy-claims/${claimId}/pay`, { reference: "财政拨付 2025-031" }, k);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "PAID", paid_on: "2025-04-02", totals: { claimed: "547.40" } });
    const replay = await t.as("finance").post(`${API}/subsidy-claims/${claimId}/pay`, { reference: "财政拨付 2025-031" }, k);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toEqual(paid.body);

    await evaluateCircuitBreakers(t.db, "2025-05-04");
    expect(await unpaidAlerts()).toHaveLength(0);
    expect(await subsidiesOfHousehold(t.db, loans.E.household)).toMatchObject([{ quarter: "2025Q1", amount: "187.83", periods: 1, paid_on: "2025-04-02", claim_id: claimId }]);
    expect(await subsidiesOfHousehold(t.db, loans.F.household)).toMatchObject([{ amount: "24.15", periods: 1 }]);
    expect(await subsidiesOfHousehold(t.db, loans.A.household)).toEqual([]); // TO_BANK: paid to the bank

    const entries = await t.db("journal_lines as l").join("journal_entries as e", "e.id", "l.entry_id").where("e.ref_id", claimId).select("e.kind", "l.account_code", "l.debit", "l.credit", "l.party_type");
    const sum = (kind: string, account: string, side: "debit" | "credit") => entries.filter((x) => x.kind === kind && x.account_code === account).reduce((a, x) => a + Number(x[side]) * 100, 0) / 100;
    expect(sum("subsidy.claim_approval", "1311", "debit")).toBe(547.4);
    expect(sum("subsidy.claim_approval", "4001", "credit")).toBe(335.42);
    expect(sum("subsidy.claim_approval", "2201", "credit")).toBe(211.98);
    expect(sum("subsidy.claim_payment", "1001", "debit")).toBe(335.42);
    expect(sum("subsidy.claim_payment", "2201", "debit")).toBe(211.98);
    expect(sum("subsidy.claim_payment", "1311", "credit")).toBe(547.4);

    const rec = await t.as("admin").get(`${API}/ledger/reconciliation`);
    expect(rec.status).toBe(200);
    const check = (rec.body.checks as { name: string; differences: unknown[] }[]).find((c) => c.name === "subsidy_receivable");
    expect(check?.differences).toEqual([]);
    expect(rec.body.trial_balance.balanced).toBe(true);
    // This module's part of the county summary (GET /reports/county-summary runs every source).
    const items = await figureSources().find((x) => x.name === "subsidies")!.compute(t.db, { countyCode: COUNTY, monthStart: "2025-04-01", monthEnd: "2025-04-30" });
    const fig = (k: string) => items.find((i) => i.key === k)?.value;
    expect([fig("subsidies_paid_month"), fig("subsidies_paid_month_to_banks"), fig("subsidies_paid_month_to_households"), fig("subsidies_paid_cumulative"), fig("subsidy_households_reimbursed_cumulative")]).toEqual([
      "547.40",
      "335.42",
      "211.98",
      "547.40",
      2,
    ]);
    const list = await t.as("regulator").get(`${API}/subsidy-claims?quarter=2025Q1`);
    expect(list.body.items.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([[claimId, "PAID"]]);
  });

  it("SQL and the model agree to the fen: a capped, 70%, term-straddling period with a prepayment inside it (2025Q2)", async () => {
    t.clock.set("2025-04-03");
    const capped = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0345", subsidy: { mode: "TO_BANK", ratio: "0.7", rate_cap: "0.03", term_months: 2, principal_cap: "20000.00" } });
    const h = await household(t);
    const g = await disbursedLoan(t, { product_id: capped.id, amount: "30000.00", repayment_method: "BULLET_QUARTERLY", household: h });
    t.clock.set("2025-05-15");
    expect((await repay(t, g.id, "10000.00")).body).toMatchObject({ prepayment: "10000.00" });
    t.clock.set("2025-06-20");
    // 30,000 × 3.45% × 42/360 = 120.75 carried, then 20,000 × 3.45% × 37/360: 191.67 in all, of which
    // the household pays 191.67 − 71.17 (the share below) = 120.50.
    const sg = await t.as("officer").get(`${API}/loans/${g.id}/schedule`);
    expect(sg.body.periods[0]).toMatchObject({ interest: "120.50", interest_subsidy: "71.17" });
    expect(sg.body.periods[1]).toMatchObject({ interest_subsidy: "0.00" }); // after the 2-month subsidy term
    expect((await repay(t, g.id, "120.50")).status).toBe(201);
    t.clock.set("2025-07-01");
    const q2 = await t.as("finance").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter: "2025Q2" });
    expect(q2.status, JSON.stringify(q2.body)).toBe(201);
    const lines = (await t.as("finance").get(`${API}/subsidy-claims/${q2.body.id}`)).body.lines as Line[];
    // (20,000 × 3% × 37/360 + 120.75 × 3%/3.45% × 20,000/30,000) × 0.7 × 61/79 days in term = 71.1666… → 71.17
    expect(lines.find((l) => l.loan_id === g.id)).toMatchObject({ interest: "191.67", computed_subsidy: "71.17", subsidy: "71.17", household_interest: "120.50", days_in_term: 61, status: "CLAIMED" });
    // Every line's SQL computation equals the model's for its period.
    const byLoan = new Map<string, { seq: number; computed_subsidy: string }[]>();
    for (const l of lines) {
      if (!byLoan.has(l.loan_id)) byLoan.set(l.loan_id, (await t.as("finance").get(`${API}/loans/${l.loan_id}/subsidy-schedule`)).body.periods);
      expect([l.loan_id, l.seq, l.computed_subsidy]).toEqual([l.loan_id, l.seq, byLoan.get(l.loan_id)!.find((p) => p.seq === l.seq)!.computed_subsidy]);
    }
    expect(lines.length).toBeGreaterThanOrEqual(7);
  });
});
