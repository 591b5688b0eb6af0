import { describe, expect, it } from "vitest";
import { D, type Dec, Money } from "../../src/lib/money.js";
import { buildSchedule, maturityOf } from "../../src/modules/loans/model.js";
import { removeBody } from "../helpers/factories.js";
import { BANK, COUNTY } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, product, reconciliationOk, repay, setupRates } from "./loans-helpers.js";

/**
 * TO_BANK (docs/DOMAIN.md#interest-subsidy): the household owes only interest − subsidy; the bank claims the subsidy. A
 * contract at 4.35% subsidised up to the LPR of 3.45%: the household pays the 0.90% above it.
 */
const t = useTestApp({ today: "2025-01-10" });
const API = "/api/v1";
const fen = (x: Dec) => Money.format(Money.toFen(x));
const span = (principal: string, rate: string, days: number) => fen(new D(principal).mul(rate).mul(days).div(360));

interface Period {
  seq: number;
  accrual_start: string;
  accrual_end: string;
  due_date: string;
  days: number;
  interest: string;
  interest_subsidy: string;
  subsidy_forfeited: string | null;
  interest_paid: string;
  status: string;
}
const periodsOf = async (id: string) => (await t.as("officer").get(`${API}/loans/${id}/schedule`)).body.periods as Period[];

describe("TO_BANK: the household's own part of the interest", () => {
  let productId = "";
  let bullet = "";
  let monthly = "";
  let removed = { loan: "", household: "" };

  it("splits every period: household part + subsidy share = the contract interest, for each method", async () => {
    await setupRates(t);
    productId = (await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435", subsidy: { mode: "TO_BANK", rate_cap: "0.0345" } })).id;
    for (const method of ["BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"] as const) {
      const l = await disbursedLoan(t, { product_id: productId, amount: "10000.00", term_months: 12, repayment_method: method });
      if (method === "BULLET_QUARTERLY") bullet = l.id;
      const contract = buildSchedule({ method, principal: "10000.00", annualRate: "0.0435", disbursedOn: "2025-01-10", maturityDate: maturityOf("2025-01-10", 12) });
      const got = await periodsOf(l.id);
      expect(got).toHaveLength(contract.length);
      got.forEach((p, k) => {
        expect(Money.format(new D(p.interest).plus(p.interest_subsidy)), `${method} ${p.seq}`).toBe(Money.format(contract[k].interest));
        expect(new D(p.interest_subsidy).gt(0)).toBe(true);
        expect(new D(p.interest_subsidy).lte(contract[k].interest)).toBe(true);
      });
      if (method === "BULLET_QUARTERLY") {
        // 01-10 .. 03-20 (through the 20th), 70 days: 84.58 of which 67.08 (3.45%) subsidised; the household owes 17.50.
        expect(got[0]).toMatchObject({ days: 70, interest: "17.50", interest_subsidy: span("10000", "0.0345", 70) });
        expect(span("10000", "0.0435", 70)).toBe("84.58");
      }
    }
  });

  it("a household removed from the register (清退) owes the whole interest from the next close of business", async () => {
    const h = await household(t);
    removed = { loan: (await disbursedLoan(t, { product_id: productId, amount: "10000.00", term_months: 12, household: h })).id, household: h.id };
    expect((await periodsOf(removed.loan))[0]).toMatchObject({ interest: "17.50", interest_subsidy: "67.08" });
  });

  it("a monthly loan paid off mid-month: the cut-short period's share is the month's, pro-rated by its days", async () => {
    const l = await disbursedLoan(t, { product_id: productId, amount: "10000.00", term_months: 12, repayment_method: "EQUAL_INSTALLMENT" });
    monthly = l.id;
    t.clock.set("2025-01-25");
    // 01-10 .. 02-10 is 31 days; 15 of them to 01-25: 10,000 × 4.35% / 12 × 15/31 = 17.54, of which 3.45%: 13.91.
    const share = fen(new D("10000").mul("0.0345").div(12).mul(15).div(31));
    expect([fen(new D("10000").mul("0.0435").div(12).mul(15).div(31)), share]).toEqual(["17.54", "13.91"]);
    expect((await t.as("officer").get(`${API}/loans/${monthly}`)).body.payoff_amount).toBe("10003.63");
    const r = await repay(t, monthly, "10003.63");
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ interest: "3.63", principal: "10000.00", loan: { status: "REPAID" } });
    expect((await periodsOf(monthly))[0]).toMatchObject({ days: 15, interest: "3.63", interest_subsidy: "13.91", status: "PAID" });
  });

  it("pays on time: the household's part settles the period", async () => {
    t.clock.set("2025-03-20");
    const r = await repay(t, bullet, "17.50");
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ interest: "17.50", principal: "0.00", prepayment: "0.00" });
    expect((await periodsOf(bullet))[0]).toMatchObject({ interest_paid: "17.50", status: "PAID", subsidy_forfeited: null });
    // More than what closes the loan is refused as before; the household part is what is due.
    const loan = (await t.as("officer").get(`${API}/loans/${bullet}`)).body;
    expect(loan.payoff_amount).toBe("10000.00");
  });

  it("unpaid past due date + grace: the close of business gives the share back to the household, and penalty runs on all of it", async () => {
    // 03-21 .. 06-20, 92 days: 111.17 of which 88.17 subsidised; the household's 23.00 is not paid.
    expect((await periodsOf(bullet))[1]).toMatchObject({ interest: "23.00", interest_subsidy: "88.17" });
    t.clock.set("2025-06-20");
    const r = await t.as("admin").post(`${API}/households/${removed.household}/status-changes`, removeBody("2025-06-20"));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await t.as("admin").post(`${API}/jobs/close-of-business`, { business_date: "2025-06-20" })).status).toBe(200);
    // Every period of the removed household's loan not settled gives its share back, whatever else applies.
    const contract = buildSchedule({ method: "BULLET_QUARTERLY", principal: "10000.00", annualRate: "0.0435", disbursedOn: "2025-01-10", maturityDate: maturityOf("2025-01-10", 12) });
    const gone = await periodsOf(removed.loan);
    expect(gone.map((p) => [p.interest, p.interest_subsidy, p.subsidy_forfeited])).toEqual(contract.map((c) => [Money.format(c.interest), "0.00", "HOUSEHOLD_REMOVED"]));
    expect((await periodsOf(bullet))[1]).toMatchObject({ interest: "23.00", interest_subsidy: "88.17", subsidy_forfeited: null });
    t.clock.set("2025-06-25");
    expect((await t.as("admin").post(`${API}/jobs/close-of-business`, { business_date: "2025-06-25" })).status).toBe(200);
    expect((await periodsOf(bullet))[1]).toMatchObject({ interest: "111.17", interest_subsidy: "0.00", subsidy_forfeited: "LATE_INTEREST", status: "OVERDUE" });
    const loan = (await t.as("officer").get(`${API}/loans/${bullet}`)).body;
    // Penalty 06-21 .. 06-25 on the whole 111.17 at 4.35% × 1.5 / 360.
    expect(loan).toMatchObject({ dpd: 5, overdue_interest: "111.17", penalty_due: fen(new D("111.17").mul("0.0435").mul("1.5").div(360).mul(5)) });
  });

  it("pays off mid-period: the cut-short period keeps its own subsidy share, and the claims take exactly it", async () => {
    t.clock.set("2025-07-01");
    const loan = (await t.as("officer").get(`${API}/loans/${bullet}`)).body;
    // 06-21 .. 07-01 (exclusive), 10 days: 12.08 of which 9.58 subsidised; the household owes 2.50.
    const penalty = fen(new D("111.17").mul("0.0435").mul("1.5").div(360).mul(10));
    const payoff = Money.format(Money.sum(["111.17", penalty, "10000.00", "2.50"]));
    expect([span("10000", "0.0435", 10), span("10000", "0.0345", 10)]).toEqual(["12.08", "9.58"]);
    expect(loan.payoff_amount).toBe(payoff);
    expect((await repay(t, bullet, Money.format(new D(payoff).plus("0.01")))).status).toBe(422);
    const r = await repay(t, bullet, payoff);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.loan).toMatchObject({ status: "REPAID", outstanding_principal: "0.00" });
    const ps = await periodsOf(bullet);
    expect(ps).toHaveLength(3);
    expect(ps[2]).toMatchObject({ accrual_end: "2025-07-01", days: 10, interest: "2.50", interest_subsidy: "9.58", interest_paid: "2.50", status: "PAID" });

    t.clock.set("2025-10-01");
    for (const quarter of ["2025Q1", "2025Q2", "2025Q3"]) {
      const c = await t.as("officer").post(`${API}/subsidy-claims`, { bank_id: BANK, county_code: COUNTY, quarter });
      expect(c.status, JSON.stringify(c.body)).toBe(201);
      const lines = (await t.as("finance").get(`${API}/subsidy-claims/${c.body.id}`)).body.lines as { loan_id: string; seq: number; interest: string; subsidy: string; household_interest: string; forfeit_reason: string | null }[];
      const mine = lines.filter((l) => l.loan_id === bullet).map((l) => [l.seq, l.interest, l.subsidy, l.household_interest, l.forfeit_reason]);
      if (quarter === "2025Q1") {
        expect(mine).toEqual([[1, "84.58", "67.08", "17.50", null]]);
        const m = lines.filter((x) => x.loan_id === monthly).map((x) => [x.seq, x.interest, x.subsidy, x.household_interest, x.forfeit_reason]);
        expect(m).toEqual([[1, "17.54", "13.91", "3.63", null]]);
      } else if (quarter === "2025Q2") expect(mine).toEqual([[2, "111.17", "0.00", "111.17", "LATE_INTEREST"]]);
      else expect(mine).toEqual([[3, "12.08", "9.58", "2.50", null]]);
      // Every TO_BANK line claimed is exactly the share the household did not pay.
      for (const l of lines.filter((x) => x.forfeit_reason === null)) {
        const p = (await periodsOf(l.loan_id)).find((x) => x.seq === l.seq)!;
        expect([l.loan_id, l.seq, l.subsidy]).toEqual([l.loan_id, l.seq, p.interest_subsidy]);
      }
    }
    await reconciliationOk(t);
  });
});
