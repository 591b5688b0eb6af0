import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { signStaffToken } from "../../src/http/auth.js";
import { ACCOUNTS, postJournalEntry } from "../../src/lib/ledger.js";
import { creditCodeCheckChar } from "../../src/modules/trusteeship/model.js";
import { trusteeshipArrears } from "../../src/modules/trusteeship/service.js";
import { createHousehold } from "../helpers/factories.js";
import { disbursedLoan, household as borrowerHousehold, product as loanProduct, repay as repayLoan, setupRates } from "./loans-helpers.js";
import { BANK, COUNTY, OPERATOR, VILLAGE_2 } from "../helpers/fixture.js";
import { TEST_JWT, useTestApp } from "../helpers/harness.js";

// Today is 2025-06-02 (a Monday).
const t = useTestApp({ today: "2025-06-02" });
const API = "/api/v1";
const OTHER_OPERATOR = "0c000000-0000-4000-8000-0000000000b2";
let keyNo = 0;
const key = () => `tr-${++keyNo}`;

/** A token for a second operator's staff user (not in the fixture). */
function asOtherOperator() {
  const token = signStaffToken(TEST_JWT, { userId: "0a000000-0000-4000-8000-0000000000b2", role: "operator", countyCodes: [COUNTY], bankId: null, operatorId: OTHER_OPERATOR, villageCode: null });
  return {
    get: (path: string) => supertest(t.app).get(path).set("Authorization", `Bearer ${token}`),
    post: (path: string, body: object, k?: string) => {
      const r = supertest(t.app).post(path).set("Authorization", `Bearer ${token}`);
      if (k) r.set("Idempotency-Key", k);
      return r.send(body);
    },
  };
}

const operatorBody = (over: Record<string, unknown> = {}) => ({
  county_code: COUNTY,
  name: "琼中县绿源种养专业合作社",
  credit_code: "93469030MA5T000105",
  operator_type: "COOPERATIVE",
  legal_representative: "符海南",
  registered_capital: "1000000.00",
  bank_account: "6217001234567890999",
  bank_name: "测试农商银行",
  ...over,
});

let household: { id: string; village_code: string };
let household2: { id: string; village_code: string };

async function contract(body: Record<string, unknown>, who: "admin" = "admin") {
  const res = await t.as(who).post(`${API}/trusteeships`, { household_id: household.id, operator_id: OPERATOR, source: "POVERTY_FUND_SHARE", principal: "50000.00", ...body }, key());
  if (res.status !== 201) throw new Error(`contract not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; schedule: { seq: number; due_date: string; amount_due: string; status: string }[] };
}

async function openAlerts(kind: string, entityId: string) {
  return t.db("alerts").where({ kind, entity_id: entityId }).whereNull("cleared_at");
}

/**
 * A disbursed loan written straight into the loans table, with its disbursement posted to the
 * ledger so the loans reconciliation still agrees (for rules that only read the loan's dates).
 */
async function historicLoan(h: { id: string; village_code: string; members: { id: string }[] }, disbursedOn: string) {
  return t.db.transaction(async (trx) => {
    const [loan] = await trx("loans")
      .insert({
        county_code: COUNTY,
        village_code: h.village_code,
        bank_id: BANK,
        household_id: h.id,
        borrower_member_id: h.members[0].id,
        status: "DISBURSED",
        amount: "50000.00",
        outstanding_principal: "50000.00",
        annual_rate: "0.0435",
        term_months: 36,
        repayment_method: "BULLET_QUARTERLY",
        purpose: "BREEDING",
        applied_on: disbursedOn,
        disbursed_on: disbursedOn,
        maturity_date: `${Number(disbursedOn.slice(0, 4)) + 3}${disbursedOn.slice(4)}`,
        officer_id: "0a000000-0000-4000-8000-000000000004",
      })
      .returning<{ id: string }[]>("id");
    await postJournalEntry(trx, {
      countyCode: COUNTY,
      entryDate: disbursedOn,
      kind: "loan.disbursement",
      refType: "loan",
      refId: loan.id,
      lines: [
        { account: ACCOUNTS.LOAN_PRINCIPAL, debit: "50000.00", partyType: "loan", partyId: loan.id },
        { account: ACCOUNTS.CASH, credit: "50000.00", partyType: "bank", partyId: BANK },
      ],
    });
    return loan;
  });
}

beforeAll(async () => {
  const op = await t.as("admin").post(`${API}/operators`, operatorBody({ id: OPERATOR }));
  if (op.status !== 201) throw new Error(JSON.stringify(op.body));
  const other = await t.as("admin").post(`${API}/operators`, operatorBody({ id: OTHER_OPERATOR, name: "琼中县农业投资有限公司", credit_code: "91469030MA5T2XQ38F", operator_type: "RURAL_INVESTMENT_COMPANY" }));
  if (other.status !== 201) throw new Error(JSON.stringify(other.body));
  household = await createHousehold(t);
  household2 = await createHousehold(t, { village: VILLAGE_2 });
});

describe("operators", () => {
  it("validates the unified social credit code with its own error code", async () => {
    const wrongCheck = await t.as("admin").post(`${API}/operators`, operatorBody({ credit_code: "93469030MA5T000106" }));
    expect(wrongCheck.status).toBe(422);
    expect(wrongCheck.body.code).toBe("INVALID_CREDIT_CODE");
    expect(wrongCheck.body.errors[0].path).toBe("body.credit_code");
    const forbiddenLetter = await t.as("admin").post(`${API}/operators`, operatorBody({ credit_code: "93469030MA5T0001O5" }));
    expect(forbiddenLetter.body.code).toBe("INVALID_CREDIT_CODE");
    expect(forbiddenLetter.body.detail).toBe("统一社会信用代码：只能使用数字 0-9 和除 I、O、Z、S、V 以外的大写字母 A-Y（GB 32100）");
    const inEnglish = await t.as("admin").post(`${API}/operators`, operatorBody({ credit_code: "93469030MA5T0001O5" })).set("Accept-Language", "en");
    expect(inEnglish.body.detail).toMatch(/I, O, Z, S, V/);
    expect(inEnglish.body.errors[0].message).toBe("only 0-9 and A-Y without I, O, Z, S, V may appear (GB 32100)");
    const dup = await t.as("admin").post(`${API}/operators`, operatorBody());
    expect(dup.status).toBe(409);
  });

  it("401 without a token, 403 for other roles, 400 for bad input, 404 outside the county", async () => {
    expect((await supertest(t.app).post(`${API}/operators`).send(operatorBody())).status).toBe(401);
    expect((await supertest(t.app).get(`${API}/trusteeships`)).status).toBe(401);
    expect((await t.as("regulator").post(`${API}/operators`, operatorBody({ credit_code: "52469030MJY000123L" }))).status).toBe(403);
    const bad = await t.as("admin").post(`${API}/operators`, operatorBody({ operator_type: "BANK", registered_capital: "lots" }));
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["body.operator_type", "body.registered_capital"]);
    expect((await t.as("otherAdmin").get(`${API}/operators/${OPERATOR}`)).status).toBe(404);
    expect((await t.as("officer").get(`${API}/operators`)).status).toBe(403);
  });

  it("masks the bank account except for the county admin and the operator itself", async () => {
    expect((await t.as("admin").get(`${API}/operators/${OPERATOR}`)).body.bank_account).toBe("6217001234567890999");
    expect((await t.as("operator").get(`${API}/operators/${OPERATOR}`)).body.bank_account).toBe("6217001234567890999");
    expect((await t.as("regulator").get(`${API}/operators/${OPERATOR}`)).body.bank_account).toBe("6217***********0999");
    // An operator sees only itself.
    expect((await t.as("operator").get(`${API}/operators/${OTHER_OPERATOR}`)).status).toBe(404);
    expect((await t.as("operator").get(`${API}/operators`)).body.items.map((o: { id: string }) => o.id)).toEqual([OPERATOR]);
  });
});

describe("contracts", () => {
  it("generates the schedule: 环江's 8% on 50,000 is 4,000 a year", async () => {
    const c = await contract({ start_date: "2025-05-10", end_date: "2028-05-10", frequency: "ANNUAL" });
    expect(c.schedule.map((s) => [s.due_date, s.amount_due, s.status])).toEqual([
      ["2026-05-10", "4000.00", "NOT_DUE"],
      ["2027-05-10", "4000.00", "NOT_DUE"],
      ["2028-05-10", "4000.00", "NOT_DUE"],
    ]);
    const got = await t.as("regulator").get(`${API}/trusteeships/${c.id}`);
    expect(got.body).toMatchObject({ annual_rate: "0.08", principal: "50000.00", open_principal: "50000.00", scheduled_returns: "12000.00", returns_paid: "0.00", status: "ACTIVE" });
    expect(got.body.arrears).toEqual({ amount: "0.00", installments: 0, days: 0, since: null });
  });

  it("pro-rates a short first period by actual days / 365", async () => {
    const c = await contract({ start_date: "2025-02-10", end_date: "2026-03-31", first_due_date: "2025-03-31", frequency: "QUARTERLY", principal: "20000.00" });
    expect(c.schedule[0]).toMatchObject({ due_date: "2025-03-31", days: 49, pro_rated: true, amount_due: "214.79" }); // 20,000 × 8% × 49 / 365 = 214.794
    expect(c.schedule[1]).toMatchObject({ due_date: "2025-06-30", amount_due: "400.00" });
    expect(c.schedule).toHaveLength(5);
  });

  it("requires an Idempotency-Key, an admin, and valid dates", async () => {
    const body = { household_id: household.id, operator_id: OPERATOR, source: "LAND_SHARE", principal: "1000.00", start_date: "2025-01-01", end_date: "2026-01-01" };
    const noKey = await t.as("admin").post(`${API}/trusteeships`, body);
    expect(noKey.status).toBe(400);
    expect(noKey.body.code).toBe("IDEMPOTENCY_KEY_REQUIRED");
    expect((await t.as("operator").post(`${API}/trusteeships`, body, key())).status).toBe(403);
    expect((await t.as("regulator").post(`${API}/trusteeships`, body, key())).status).toBe(403);
    const dates = await t.as("admin").post(`${API}/trusteeships`, { ...body, end_date: "2024-12-01" }, key());
    expect(dates.status).toBe(400);
    expect(dates.body.errors[0].path).toBe("body.end_date");
    const shape = await t.as("admin").post(`${API}/trusteeships`, { ...body, principal: "-5", frequency: "MONTHLY" }, key());
    expect(shape.status).toBe(400);
    expect(shape.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["body.frequency", "body.principal"]);
    expect((await t.as("otherAdmin").post(`${API}/trusteeships`, body, key())).status).toBe(404);
  });

  it("refuses household loans disbursed from 2021-03-04 (户贷企用) with its own code; older ones are recorded", async () => {
    const body = { household_id: household.id, operator_id: OPERATOR, source: "HOUSEHOLD_LOAN", principal: "30000.00", start_date: "2021-04-01", end_date: "2024-04-01" };
    const banned = await t.as("admin").post(`${API}/trusteeships`, { ...body, loan_disbursed_on: "2021-03-04" }, key());
    expect(banned.status).toBe(422);
    expect(banned.body.code).toBe("HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED");
    const old = await t.as("admin").post(`${API}/trusteeships`, { ...body, start_date: "2020-04-01", end_date: "2023-04-01", loan_disbursed_on: "2020-03-20" }, key());
    expect(old.status).toBe(201);
    expect(old.body.loan_disbursed_on).toBe("2020-03-20");
    // A source other than a loan names no loan; a loan source names one.
    expect((await t.as("admin").post(`${API}/trusteeships`, { ...body, source: "IN_KIND", loan_disbursed_on: "2020-03-20" }, key())).status).toBe(400);
    expect((await t.as("admin").post(`${API}/trusteeships`, body, key())).status).toBe(400);
  });

  it("refuses a linked loan disbursed after the ban, read from the loan itself", async () => {
    const h = await createHousehold(t);
    const loan = await historicLoan(h, "2023-05-10");
    const res = await t.as("admin").post(
      `${API}/trusteeships`,
      { household_id: h.id, operator_id: OPERATOR, source: "HOUSEHOLD_LOAN", principal: "50000.00", start_date: "2023-05-10", end_date: "2026-05-10", linked_loan_id: loan.id },
      key(),
    );
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED");
    expect(res.body.detail).toContain("2023-05-10");
    const notHers = await t.as("admin").post(
      `${API}/trusteeships`,
      { household_id: household.id, operator_id: OPERATOR, source: "HOUSEHOLD_LOAN", principal: "50000.00", start_date: "2023-05-10", end_date: "2026-05-10", linked_loan_id: loan.id },
      key(),
    );
    expect(notHers.body.code).toBe("INVALID_LINKED_LOAN");
  });
});

describe("jurisdiction", () => {
  let mine: string;
  let theirs: string;
  beforeAll(async () => {
    mine = (await contract({ start_date: "2025-01-15", end_date: "2026-01-15" })).id;
    theirs = (await contract({ operator_id: OTHER_OPERATOR, household_id: household2.id, start_date: "2025-01-15", end_date: "2026-01-15" })).id;
  });

  it("an operator sees only its own contracts; another's answer 404, also when paying", async () => {
    expect((await t.as("operator").get(`${API}/trusteeships/${mine}`)).status).toBe(200);
    expect((await t.as("operator").get(`${API}/trusteeships/${theirs}`)).status).toBe(404);
    const list = await t.as("operator").get(`${API}/trusteeships?limit=500`);
    expect(list.body.items.length).toBeGreaterThan(0);
    expect(list.body.items.every((c: { operator_id: string }) => c.operator_id === OPERATOR)).toBe(true);
    const pay = await t.as("operator").post(`${API}/trusteeships/${theirs}/payments`, { amount: "10.00" }, key());
    expect(pay.status).toBe(404);
    expect((await asOtherOperator().get(`${API}/trusteeships/${theirs}`)).status).toBe(200);
    expect((await asOtherOperator().get(`${API}/trusteeships/${mine}`)).status).toBe(404);
  });

  it("county staff see all of their counties; village officers their village's households; others nothing", async () => {
    for (const who of ["admin", "regulator", "finance"] as const) {
      expect((await t.as(who).get(`${API}/trusteeships/${theirs}`)).status).toBe(200);
    }
    expect((await t.as("village2").get(`${API}/trusteeships/${theirs}`)).status).toBe(200);
    expect((await t.as("village2").get(`${API}/trusteeships/${mine}`)).status).toBe(404);
    const villageList = await t.as("village2").get(`${API}/trusteeships`);
    expect(villageList.body.items.map((c: { id: string }) => c.id)).toEqual([theirs]);
    expect((await t.as("otherRegulator").get(`${API}/trusteeships/${mine}`)).status).toBe(404);
    expect((await t.as("otherRegulator").get(`${API}/trusteeships`)).body.items).toEqual([]);
    expect((await t.as("officer").get(`${API}/trusteeships/${mine}`)).status).toBe(403);
    expect((await t.as("admin").get(`${API}/trusteeships/not-a-uuid`)).status).toBe(400);
  });
});

describe("payments", () => {
  let id: string;
  beforeAll(async () => {
    // Quarterly from 2024-09-01: 1,000 due on 2024-12-01, 2025-03-01, 2025-06-01, ...
    id = (await contract({ start_date: "2024-09-01", end_date: "2026-09-01", frequency: "QUARTERLY" })).id;
  });

  it("a payment replayed with the same key is applied once; the same key with another body is refused", async () => {
    const k = key();
    const first = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "600.00", reference: "HX20250602001" }, k);
    expect(first.status).toBe(201);
    const again = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "600.00", reference: "HX20250602001" }, k);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body.payment.id).toBe(first.body.payment.id);
    const other = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "700.00" }, k);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const c = await t.as("operator").get(`${API}/trusteeships/${id}`);
    expect(c.body.returns_paid).toBe("600.00");
    expect(c.body.payments).toHaveLength(1);
    expect(await t.db("journal_entries").where({ ref_id: id, kind: "trusteeship.return_payment" })).toHaveLength(1);
    const noKey = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "1.00" });
    expect(noKey.body.code).toBe("IDEMPOTENCY_KEY_REQUIRED");
  });

  it("partial then full payment, oldest installment first; more than is owed is refused", async () => {
    const partial = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "1000.00" }, key());
    expect(partial.body.payment.allocation).toEqual([
      { seq: 1, amount: "400.00" },
      { seq: 2, amount: "600.00" },
    ]);
    let s = partial.body.trusteeship.schedule;
    expect([s[0].status, s[0].amount_paid, s[1].status, s[1].amount_paid]).toEqual(["PAID", "1000.00", "IN_ARREARS", "600.00"]);
    const full = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "1400.00" }, key());
    s = full.body.trusteeship.schedule;
    expect(s.slice(0, 3).map((i: { status: string }) => i.status)).toEqual(["PAID", "PAID", "PAID"]);
    expect(full.body.trusteeship.arrears.amount).toBe("0.00");
    expect(full.body.trusteeship.returns_paid).toBe("3000.00");
    const over = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "5000.01" }, key());
    expect(over.status).toBe(422);
    expect(over.body.code).toBe("TRUSTEESHIP_OVERPAYMENT");
    const future = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "10.00", paid_on: "2025-06-03" }, key());
    expect(future.status).toBe(400);
    expect((await t.as("regulator").post(`${API}/trusteeships/${id}/payments`, { amount: "10.00" }, key())).status).toBe(403);
  });
});

describe("arrears", () => {
  let id: string;
  let loanId: string;
  beforeAll(async () => {
    // An old contract over a 2020 household loan: annual 4,000 due every 1 May; 10 grace days.
    const h = await createHousehold(t);
    const loan = await historicLoan(h, "2020-05-01");
    loanId = loan.id;
    const res = await t.as("admin").post(
      `${API}/trusteeships`,
      { household_id: h.id, operator_id: OPERATOR, source: "HOUSEHOLD_LOAN", principal: "50000.00", start_date: "2022-05-01", end_date: "2025-05-01", grace_days: 10, linked_loan_id: loan.id },
      key(),
    );
    expect(res.status).toBe(201);
    id = res.body.id;
    // The first two years were paid on time.
    await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "8000.00", paid_on: "2024-04-30" }, key());
  });

  it("the arrears job (a step of the close of business) marks arrears after due + grace and raises the contract and loan alerts; payment clears them", async () => {
    // 2025-05-11 is the last day of grace: nothing yet.
    let run = await t.as("admin").post(`${API}/jobs/trusteeship-arrears`, { business_date: "2025-05-11" });
    expect(run.status).toBe(200);
    expect(await openAlerts("trustee.return_arrears", id)).toHaveLength(0);
    // The close of business runs the same job as one of its steps.
    run = await t.as("admin").post(`${API}/jobs/close-of-business`, { business_date: "2025-06-02" });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(JSON.stringify(run.body)).toContain("trusteeship_arrears");
    const alerts = await openAlerts("trustee.return_arrears", id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ county_code: COUNTY, operator_id: OPERATOR, severity: "WARNING" });
    expect(alerts[0].details).toMatchObject({ amount: "4000.00", installments: 1, days: 22, since: "2025-05-12" });
    const loanAlert = await openAlerts("loan.trustee_arrears", loanId);
    expect(loanAlert).toHaveLength(1);
    expect(loanAlert[0].bank_id).toBe(BANK);
    // Idempotent for the date: still one open alert each.
    await t.as("admin").post(`${API}/jobs/trusteeship-arrears`, { business_date: "2025-06-02" });
    expect(await openAlerts("trustee.return_arrears", id)).toHaveLength(1);

    const c = await t.as("village").get(`${API}/trusteeships?in_arrears=true`);
    expect(c.body.items.map((x: { id: string }) => x.id)).toContain(id);
    const dash = await t.as("operator").get(`${API}/operators/${OPERATOR}/dashboard`);
    expect(dash.status).toBe(200);
    expect(dash.body.overdue.items.some((l: { trusteeship_id: string; days_in_arrears: number }) => l.trusteeship_id === id && l.days_in_arrears === 22)).toBe(true);
    expect(dash.body.principal_due.some((p: { trusteeship_id: string }) => p.trusteeship_id === id)).toBe(true);
    const op = await t.as("regulator").get(`${API}/operators/${OPERATOR}`);
    expect(op.body.payment_record.in_arrears).toBeGreaterThanOrEqual(1);

    // A partial payment leaves the alert open; paying the rest clears both.
    await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "1500.00" }, key());
    expect(await openAlerts("trustee.return_arrears", id)).toHaveLength(1);
    const rest = await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "2500.00" }, key());
    expect(rest.body.trusteeship.arrears.amount).toBe("0.00");
    expect(await openAlerts("trustee.return_arrears", id)).toHaveLength(0);
    expect(await openAlerts("loan.trustee_arrears", loanId)).toHaveLength(0);
    const reco = await t.as("admin").get(`${API}/ledger/reconciliation`);
    expect(reco.body.checks.filter((x: { name: string }) => x.name.startsWith("trusteeship.")).every((x: { ok: boolean }) => x.ok)).toBe(true);
  });
});

describe("principal return", () => {
  it("returns the whole principal on or after the end date and closes the contract; the ledger reconciles", async () => {
    const c = await contract({ household_id: household2.id, start_date: "2023-03-01", end_date: "2025-03-01", principal: "30000.00" });
    const early = await contract({ start_date: "2025-01-01", end_date: "2027-01-01", principal: "10000.00" });
    const before = await t.as("operator").post(`${API}/trusteeships/${early.id}/principal-return`, { amount: "10000.00" }, key());
    expect(before.body.code).toBe("PRINCIPAL_RETURN_BEFORE_END");
    const wrong = await t.as("operator").post(`${API}/trusteeships/${c.id}/principal-return`, { amount: "20000.00" }, key());
    expect(wrong.body.code).toBe("PRINCIPAL_RETURN_MISMATCH");
    // Run the job so the returns due are recognised, then pay them and return the principal.
    await trusteeshipArrears(t.db, "2025-06-02", { countyCodes: [COUNTY], now: t.clock.now() });
    const pay = await t.as("operator").post(`${API}/trusteeships/${c.id}/payments`, { amount: "4800.00" }, key());
    expect(pay.status).toBe(201);
    const ret = await t.as("operator").post(`${API}/trusteeships/${c.id}/principal-return`, { amount: "30000.00", returned_on: "2025-03-05", reference: "HX-P-1" }, key());
    expect(ret.status).toBe(201);
    expect(ret.body.trusteeship).toMatchObject({ status: "CLOSED", open_principal: "0.00", principal_returned_on: "2025-03-05" });
    const again = await t.as("operator").post(`${API}/trusteeships/${c.id}/payments`, { amount: "1.00" }, key());
    expect(again.status).toBe(409);
    const reco = await t.as("admin").get(`${API}/ledger/reconciliation`);
    expect(reco.body.trial_balance.balanced).toBe(true);
    for (const name of ["trusteeship.entrusted_principal", "trusteeship.return_receivable"]) {
      expect(reco.body.checks.find((x: { name: string }) => x.name === name)).toMatchObject({ ok: true, differences: [] });
    }
    // 1401 for the contract is back to zero; every return recognised was paid.
    const bal = (await t.db("journal_lines").where({ party_id: c.id }).select("account_code").sum({ d: "debit", c: "credit" }).groupBy("account_code")) as { account_code: string; d: string; c: string }[];
    const byAccount = Object.fromEntries(bal.map((b) => [b.account_code, Number(b.d) - Number(b.c)]));
    expect(byAccount["1401"]).toBe(0);
    expect(byAccount["1402"]).toBe(0);
    const audit = await t.as("admin").get(`${API}/audit-log?entity_type=trusteeship&entity_id=${c.id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(["trusteeship.create", "trusteeship.payment", "trusteeship.principal_return"]);
  });
});

describe("exposure limit", () => {
  it("refuses a contract that would pass the limit with its own code; the job alerts when a lowered cap leaves an operator over", async () => {
    const code17 = "92469030MA5T00009";
    const created = await t.as("admin").post(`${API}/operators`, operatorBody({ name: "种养大户王某", credit_code: code17 + creditCodeCheckChar(code17), operator_type: "LARGE_HOUSEHOLD", registered_capital: "10000.00" }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ exposure: "0.00", exposure_limit: "100000.00", over_limit: false });
    const opId = created.body.id as string;
    const first = await contract({ operator_id: opId, principal: "60000.00", start_date: "2025-01-01", end_date: "2026-01-01" });
    expect(first.id).toBeTruthy();
    const refused = await t.as("admin").post(
      `${API}/trusteeships`,
      { household_id: household.id, operator_id: opId, source: "POVERTY_FUND_SHARE", principal: "40000.01", start_date: "2025-01-01", end_date: "2026-01-01" },
      key(),
    );
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe("OPERATOR_EXPOSURE_LIMIT");
    const exact = await contract({ operator_id: opId, principal: "40000.00", start_date: "2025-01-01", end_date: "2026-01-01" });
    expect(exact.id).toBeTruthy();

    // The county caps any one operator at 80,000: this one is now over, and alerted.
    const policy = await t.as("admin").post(`${API}/trusteeship-policies`, { county_code: COUNTY, effective_from: "2025-06-01", exposure_cap: "80000.00" });
    expect(policy.status).toBe(201);
    expect((await t.as("regulator").get(`${API}/operators/${opId}`)).body).toMatchObject({ exposure: "100000.00", exposure_limit: "80000.00", over_limit: true });
    const run = await t.as("admin").post(`${API}/jobs/trusteeship-arrears`, { business_date: "2025-06-02" });
    expect(run.body.operators_over_limit).toBeGreaterThanOrEqual(1);
    const alert = await openAlerts("operator.exposure_over_limit", opId);
    expect(alert).toHaveLength(1);
    expect(alert[0].details).toEqual({ exposure: "100000.00", limit: "80000.00" });
    const blocked = await t.as("admin").post(
      `${API}/trusteeships`,
      { household_id: household.id, operator_id: opId, source: "IN_KIND", principal: "1.00", start_date: "2025-01-01", end_date: "2026-01-01" },
      key(),
    );
    expect(blocked.body.code).toBe("OPERATOR_EXPOSURE_LIMIT");
    // Lifting the cap clears the alert at the next run.
    await t.as("admin").post(`${API}/trusteeship-policies`, { county_code: COUNTY, effective_from: "2025-06-02", exposure_cap: null });
    await t.as("admin").post(`${API}/jobs/trusteeship-arrears`, { business_date: "2025-06-02" });
    expect(await openAlerts("operator.exposure_over_limit", opId)).toHaveLength(0);
    expect((await t.as("operator").post(`${API}/jobs/trusteeship-arrears`, { business_date: "2025-06-02" })).status).toBe(403);
    expect((await t.as("admin").post(`${API}/jobs/trusteeship-arrears`, { business_date: "2025-13-02" })).status).toBe(400);
  });
});

describe("principal return repaying the linked loan", () => {
  it("repays and closes the household's 2020 loan in the same transaction; the ledger reconciles", async () => {
    t.clock.set("2020-06-01");
    try {
      await setupRates(t);
      const p = await loanProduct(t);
      const hh = await borrowerHousehold(t);
      const loan = await disbursedLoan(t, { product_id: p.id, household: hh, repayment_method: "BULLET_QUARTERLY", term_months: 36, amount: "50000.00" });
      const created = await t.as("admin").post(
        `${API}/trusteeships`,
        { household_id: hh.id, operator_id: OPERATOR, source: "HOUSEHOLD_LOAN", principal: "50000.00", start_date: "2020-06-01", end_date: loan.maturity_date, linked_loan_id: loan.id },
        key(),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id as string;

      t.clock.set(loan.maturity_date);
      // The operator paid its three annual returns; the household paid its loan interest.
      expect((await t.as("operator").post(`${API}/trusteeships/${id}/payments`, { amount: "12000.00" }, key())).status).toBe(201);
      const before = await t.as("officer").get(`${API}/loans/${loan.id}`);
      const interest = (Number(before.body.payoff_amount) - 50000).toFixed(2);
      expect((await repayLoan(t, loan.id, interest)).status).toBe(201);

      const early = await t.as("operator").post(`${API}/trusteeships/${id}/principal-return`, { amount: "50000.00", returned_on: "2020-06-01" }, key());
      expect(early.body.code).toBe("PRINCIPAL_RETURN_BEFORE_END");
      const ret = await t.as("operator").post(`${API}/trusteeships/${id}/principal-return`, { amount: "50000.00", reference: "HX-LOAN-1" }, key());
      expect(ret.status, JSON.stringify(ret.body)).toBe(201);
      expect(ret.body.trusteeship).toMatchObject({ status: "CLOSED", open_principal: "0.00" });
      expect(ret.body.loan_repayment).toMatchObject({ amount: "50000.00", principal: "50000.00", source: "TRUSTEE" });
      const after = await t.as("officer").get(`${API}/loans/${loan.id}`);
      expect(after.body).toMatchObject({ status: "REPAID", outstanding_principal: "0.00" });

      const reco = await t.as("admin").get(`${API}/ledger/reconciliation`);
      expect(reco.body.trial_balance.balanced).toBe(true);
      expect(reco.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
      expect(reco.body.ok).toBe(true);
    } finally {
      t.clock.set("2025-06-02");
    }
  });
});
