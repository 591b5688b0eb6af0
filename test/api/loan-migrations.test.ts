import ExcelJS from "exceljs";
import { readFileSync } from "node:fs";
import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { loansOfCsv, loansOfJson } from "../../src/modules/loans/migration-file.js";
import { LoanMigrationCreate } from "../../src/modules/loans/schemas.js";
import { expectProblem } from "../helpers/expect.js";
import { createHousehold, idNumber } from "../helpers/factories.js";
import { useTestApp } from "../helpers/harness.js";
import { disbursedLoan, household, key, product, reconciliationOk, schedule, setupRates } from "./loans-helpers.js";

const TODAY = "2025-06-10";
const t = useTestApp({ today: TODAY });
const API = "/api/v1";
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

type Problem = { sheet: string; row: number; column: string; code: string; message: string };
type Result = {
  dry_run: boolean;
  migrated: number;
  to_migrate: number;
  already_present: number;
  outstanding_principal: string;
  problem_count: number;
  problems: Problem[];
  results: { row: number; contract_no: string; outcome: string; loan_id: string | null; status: string; outstanding_principal: string; dpd: number; penalty_due: string; repayments: number }[];
};

const fixed = { code: "", id: "" };
const people = { a: { id: "", idNumber: "" }, b: { id: "", no: "" }, c: { idNumber: "" } };

/** With an Idempotency-Key unless `k` is null. */
const migrate = (body: object, query = "", k: string | null = key()) => t.as("manager").post(`${API}/loan-migrations${query}`, body, k ?? undefined);
const postFile = (type: string, body: string | Buffer, query: string, k = key()) =>
  supertest(t.app).post(`${API}/loan-migrations${query}`).set("Authorization", `Bearer ${t.token("manager")}`).set("Content-Type", type).set("Idempotency-Key", k).send(body);

/** Rows a bank's system would write: good ones first. */
function goodLoans() {
  return [
    {
      contract_no: "QY-2025-001",
      borrower_id_number: people.a.idNumber,
      product_code: fixed.code,
      amount: "20000.00",
      annual_rate: "0.0435",
      repayment_method: "EQUAL_INSTALLMENT",
      term_months: 12,
      disbursed_on: "2025-01-15",
      purpose: "养殖",
      repayments: [
        { value_date: "2025-03-15", amount: "1800.00", reference: "LS-0002" },
        { value_date: "2025-02-15", amount: "1800.00", reference: "LS-0001" },
      ],
    },
    // Never repaid: the December and March interest are overdue, with penalty.
    { contract_no: "QY-2024-088", household_no: people.b.no, product_code: fixed.code, amount: 10000, annual_rate: 0.0435, repayment_method: "到期还本按季结息", term_months: 24, disbursed_on: "2024-12-01" },
  ];
}

async function loanByContract(no: string) {
  const r = await t.as("manager").get(`${API}/loans?contract_no=${no}`);
  expect(r.status).toBe(200);
  return r.body.items as { id: string; status: string; outstanding_principal: string; dpd: number; penalty_due: string; disbursed_on: string; maturity_date: string; annual_rate: string }[];
}

async function counts() {
  const n = async (table: string) => Number((await t.db(table).count<{ count: string }[]>("* as count"))[0].count);
  return { loans: await n("loans"), periods: await n("loan_schedule_periods"), repayments: await n("loan_repayments"), entries: await n("journal_entries"), bases: await n("loan_schedule_bases"), audit: await n("audit_log") };
}

beforeAll(async () => {
  await setupRates(t);
  const p = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435", effective_from: "2024-01-01", max_term_months: 36 });
  fixed.code = p.code;
  fixed.id = p.id;
  people.a.idNumber = idNumber("1979-04-02");
  const a = await createHousehold(t, { members: [{ relation: "HEAD", id_number: people.a.idNumber, birth: "1979-04-02" }] });
  people.a.id = a.id;
  const b = await createHousehold(t);
  people.b.id = b.id;
  people.b.no = (b as unknown as { household_no: string }).household_no;
  people.c.idNumber = idNumber("1985-08-08");
});

describe("POST /loan-migrations", () => {
  it("a dry run answers every row's problems, and stores nothing", async () => {
    // A loan on the platform already under a contract number the file reuses for another loan.
    t.clock.set("2025-05-02");
    const h = await household(t);
    const live = await disbursedLoan(t, { product_id: fixed.id, amount: "8000.00", term_months: 12, household: h });
    await t.db("loans").where({ id: live.id }).update({ contract_no: "QY-LIVE-1" });
    t.clock.set(TODAY);
    const before = await counts();
    const good = goodLoans();
    const bad = [
      { ...good[1], contract_no: "B-01", household_no: undefined, borrower_id_number: people.c.idNumber }, // row 3: not registered
      { ...good[1], contract_no: "B-02", product_code: "NOPE" }, // row 4
      { ...good[1], contract_no: "B-03", amount: "60000.00" }, // row 5
      { ...good[1], contract_no: "B-04", term_months: 48 }, // row 6
      { ...good[1], contract_no: "B-05", repayments: [{ value_date: "2024-11-30", amount: "10.00" }] }, // row 7
      { ...good[1], contract_no: "B-06", repayments: [{ value_date: "2025-06-11", amount: "10.00" }] }, // row 8
      { ...good[1], contract_no: "B-07", repayments: [{ value_date: "2025-01-02", amount: "99999.00" }] }, // row 9
      { ...good[1], contract_no: "B-03" }, // row 10: the same contract twice
      { ...good[1], contract_no: "B-09", repayments: [{ value_date: "2025-01-02", amount: "10.00", reference: "LS-0001" }] }, // row 11
      { ...good[1], contract_no: "QY-LIVE-1" }, // row 12: another loan under a number the platform has
      { ...good[1], contract_no: "B-11", annual_rate: "0.05" }, // row 13
      { ...good[1], contract_no: "B-12", repayment_method: "MONTHLY", disbursed_on: "2025-02-30" }, // row 14
      { ...good[1], contract_no: "B-13", disbursed_on: "2023-06-01" }, // row 15: before the product
      { ...good[1], contract_no: "B-14", household_no: undefined, borrower_id_number: `${people.c.idNumber.slice(0, 17)}${people.c.idNumber.endsWith("1") ? "2" : "1"}` }, // row 16: check digit
    ];
    const r = await migrate({ loans: [...good, ...bad] }, "?dry_run=true", null);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const body = r.body as Result;
    expect(body.problems.map((p) => [p.row, p.column, p.code])).toEqual([
      [3, "borrower_id_number", "MIGRATION_BORROWER_UNKNOWN"],
      [4, "product_code", "LOAN_PRODUCT_NOT_AVAILABLE"],
      [5, "amount", "LOAN_ABOVE_HOUSEHOLD_CAP"],
      [6, "term_months", "LOAN_ABOVE_PRODUCT_TERM"],
      [10, "contract_no", "MIGRATION_DUPLICATE_CONTRACT_NO"],
      [12, "household_no", "LOAN_CONTRACT_NO_TAKEN"],
      [13, "annual_rate", "MIGRATION_RATE_NOT_PRODUCT"],
      [14, "repayment_method", "VALIDATION_FAILED"],
      [14, "disbursed_on", "VALIDATION_FAILED"],
      [15, "product_code", "LOAN_PRODUCT_NOT_AVAILABLE"],
      [16, "borrower_id_number", "INVALID_ID_NUMBER"],
      [7, "repayments[0].value_date", "MIGRATION_REPAYMENT_BEFORE_DISBURSEMENT"],
      [8, "repayments[0].value_date", "VALUE_DATE_IN_FUTURE"],
      [9, "repayments[0].amount", "LOAN_OVERPAYMENT"],
      [11, "repayments[0].reference", "DUPLICATE_BANK_REFERENCE"],
    ]);
    expect(body.problem_count).toBe(15);
    // An ID number is never echoed back.
    expect(JSON.stringify(body)).not.toContain(people.c.idNumber.slice(0, 17));
    for (const p of body.problems) expect(p.message).toMatch(/^[\u3400-\u9fff（]/);
    // What would be migrated: the two good loans (the rows with problems are not).
    expect(body.to_migrate).toBe(2);
    expect(body.results.map((x) => [x.row, x.outcome, x.loan_id])).toEqual([
      [1, "TO_MIGRATE", null],
      [2, "TO_MIGRATE", null],
    ]);
    expect(await counts()).toEqual(before);
    // An apply of the same file is refused whole, with the same problems.
    const refused = await migrate({ loans: [...good, ...bad] });
    expectProblem(refused, 422, "LOAN_MIGRATION_REJECTED");
    expect((refused.body.errors as Problem[]).map((p) => p.code)).toEqual(body.problems.map((p) => p.code));
    expect(await counts()).toEqual(before);
  });

  it("apply migrates each loan as it would stand had it lived on the platform; the ledger reconciles", async () => {
    const r = await migrate({ loans: goodLoans() });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const body = r.body as Result;
    expect(body.migrated).toBe(2);
    const [l1] = await loanByContract("QY-2025-001");
    expect(l1).toMatchObject({ status: "DISBURSED", migrated_on: TODAY, disbursed_on: "2025-01-15", maturity_date: "2026-01-15", annual_rate: "0.0435", dpd: 55 });
    const s1 = await schedule(t, l1.id);
    expect(s1.periods).toHaveLength(12);
    // Two instalments paid on their due dates (a little more: prepaid), none since: April's and May's
    // are overdue as the close of business of each day since would have made them (55 days on 2025-06-09).
    expect(s1.periods.slice(0, 5).map((p) => p.status)).toEqual(["PAID", "PAID", "OVERDUE", "OVERDUE", "PENDING"]);
    const reps = await t.as("manager").get(`${API}/loans/${l1.id}/repayments`);
    expect(reps.body.items.map((x: { paid_on: string; reference: string }) => [x.paid_on, x.reference]).sort()).toEqual([
      ["2025-02-15", "LS-0001"],
      ["2025-03-15", "LS-0002"],
    ]);
    const paidPrincipal = s1.periods.reduce((a, p) => a + Number(p.principal_paid), 0);
    expect(Number(l1.outstanding_principal)).toBeCloseTo(20000 - paidPrincipal, 2);

    const [l2] = await loanByContract("QY-2024-088");
    // Interest due 2024-12-20 and 2025-03-20 unpaid: 172 days past due on 2025-06-09 (the last day brought to).
    expect(l2).toMatchObject({ status: "DISBURSED", outstanding_principal: "10000.00", dpd: 171 });
    expect(Number(l2.penalty_due)).toBeGreaterThan(0);
    expect(body.results.find((x) => x.contract_no === "QY-2024-088")).toMatchObject({ outcome: "MIGRATED", loan_id: l2.id, dpd: 171 });
    // The opening balance: Dr 1301 / Cr 3101 of the outstanding principal.
    const entry = await t.db("journal_entries").where({ ref_type: "loan", ref_id: l2.id }).first();
    expect(entry).toMatchObject({ kind: "loan.migration", entry_date: TODAY, total: "10000.00" });
    await reconciliationOk(t);
  });

  it("a loan its repayments paid off arrives REPAID, with no principal to open; a repayment after the payoff is a problem", async () => {
    // Every instalment paid on its due date, as the schedule a disbursement on that date writes (试算).
    const preview = await t.as("manager").post(`${API}/loans/schedule-preview`, { product_code: fixed.code, county_code: "469030", amount: "3000.00", term_months: 3, repayment_method: "EQUAL_PRINCIPAL", disbursement_date: "2025-01-10" });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    const paid = (preview.body.periods as { due_date: string; payment: string }[]).map((p, k) => ({ value_date: p.due_date, amount: p.payment, reference: `PO-${k}` }));
    const row = { contract_no: "QY-PAID-1", borrower_id_number: people.a.idNumber, product_code: fixed.code, amount: "3000.00", annual_rate: "0.0435", repayment_method: "EQUAL_PRINCIPAL", term_months: 3, disbursed_on: "2025-01-10" };
    const late = await migrate({ loans: [{ ...row, repayments: [...paid, { value_date: "2025-04-15", amount: "10.00", reference: "PO-9" }] }] }, "?dry_run=true", null);
    expect(late.body.problems.map((p: Problem) => [p.row, p.column, p.code])).toEqual([[1, "repayments[3].value_date", "MIGRATION_REPAYMENT_AFTER_PAYOFF"]]);
    const r = await migrate({ loans: [{ ...row, repayments: paid }] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const [l] = await loanByContract("QY-PAID-1");
    expect(l).toMatchObject({ status: "REPAID", outstanding_principal: "0.00", dpd: 0 });
    expect((l as unknown as { closed_on: string }).closed_on).toBe("2025-04-10");
    expect((await schedule(t, l.id)).periods.map((p) => p.status)).toEqual(["PAID", "PAID", "PAID"]);
    expect(Number((await t.db("journal_entries").where({ ref_type: "loan", ref_id: l.id }).count<{ count: string }[]>("* as count"))[0].count)).toBe(0);
    await reconciliationOk(t);
  });

  it("the same file again changes nothing: its loans are already present", async () => {
    const before = await counts();
    const r = await migrate({ loans: goodLoans() });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ migrated: 0, already_present: 2, problem_count: 0 });
    expect(await counts()).toEqual(before);
    // The same Idempotency-Key replays the first answer.
    const k = key();
    const first = await migrate({ loans: goodLoans() }, "", k);
    const again = await migrate({ loans: goodLoans() }, "", k);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    // A changed repayment under a migrated contract is a problem.
    const changed = goodLoans();
    changed[0].repayments![0].amount = "1799.00";
    expectProblem(await migrate({ loans: changed }), 422, "LOAN_MIGRATION_REJECTED");
  });

  it("a migrated loan takes a back-dated repayment and a reversal like any other", async () => {
    const [l1] = await loanByContract("QY-2025-001");
    const rep = await t.as("officer").post(`${API}/loans/${l1.id}/repayments`, { amount: "1706.00", value_date: "2025-06-03", reference: "LS-0010" }, key());
    expect(rep.status, JSON.stringify(rep.body)).toBe(201);
    const rev = await t.as("manager").post(`${API}/loans/${l1.id}/repayments/${rep.body.id}/reversal`, { reason: "录入有误" }, key());
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    // And the migrated repayment before it, now the latest: its principal goes back against the opening balance.
    const reps = await t.as("manager").get(`${API}/loans/${l1.id}/repayments`);
    const migrated = (reps.body.items as { id: string; paid_on: string; principal: string; reversed_at: string | null }[]).find((x) => x.paid_on === "2025-03-15")!;
    const before = (await loanByContract("QY-2025-001"))[0].outstanding_principal;
    const rev2 = await t.as("manager").post(`${API}/loans/${l1.id}/repayments/${migrated.id}/reversal`, { reason: "迁移数据有误" }, key());
    expect(rev2.status, JSON.stringify(rev2.body)).toBe(200);
    expect(Number((await loanByContract("QY-2025-001"))[0].outstanding_principal)).toBeCloseTo(Number(before) + Number(migrated.principal), 2);
    await reconciliationOk(t);
  });

  it("reads the same loans from a CSV (two sections) and an XLSX (two sheets)", async () => {
    const csv = [
      "合同号,借款人身份证号,户编号,产品代码,贷款金额,年利率,还款方式,期限,放款日,用途",
      `QY-CSV-1,${people.a.idNumber},,${fixed.code},5000.00,0.0435,等额本金,6,2025-03-01,种植`,
      "",
      "合同号,还款日,还款金额,银行流水号",
      "QY-CSV-1,2025-04-01,500.00,LS-CSV-1",
      "QY-NONE,2025-04-01,500.00,LS-CSV-2",
    ].join("\n");
    const dry = await postFile("text/csv", csv, "?dry_run=true");
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.problems.map((p: Problem) => [p.sheet, p.row, p.column, p.code])).toEqual([["repayments", 6, "contract_no", "MIGRATION_REPAYMENT_WITHOUT_LOAN"]]);
    expect(dry.body.results[0]).toMatchObject({ row: 2, outcome: "TO_MIGRATE", repayments: 1 });

    const wb = new ExcelJS.Workbook();
    const loans = wb.addWorksheet("贷款");
    loans.addRow(["合同号", "借款人身份证号", "产品代码", "贷款金额", "年利率", "还款方式", "期限", "放款日"]);
    loans.addRow(["QY-XLSX-1", people.a.idNumber, fixed.code, 5000, 0.0435, "EQUAL_PRINCIPAL", 6, new Date(Date.UTC(2025, 2, 1))]);
    const reps = wb.addWorksheet("还款");
    reps.addRow(["合同号", "还款日", "还款金额", "银行流水号"]);
    reps.addRow(["QY-XLSX-1", "2025-04-01", 500, "LS-XLSX-1"]);
    const applied = await postFile(XLSX, Buffer.from(await wb.xlsx.writeBuffer()), "");
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body).toMatchObject({ source_format: "xlsx", migrated: 1, problem_count: 0 });
    const [l] = await loanByContract("QY-XLSX-1");
    expect(l).toMatchObject({ status: "DISBURSED", disbursed_on: "2025-03-01" });
    await reconciliationOk(t);
  });

  it("the example files read without a problem of shape, and agree", () => {
    const csv = loansOfCsv(readFileSync("docs/examples/loan-migration.csv"));
    expect(csv.problems).toEqual([]);
    expect(csv.loans.length).toBeGreaterThan(1);
    expect(csv.loans.some((l) => l.repayments.length > 1)).toBe(true);
    const json = loansOfJson(LoanMigrationCreate.parse(JSON.parse(readFileSync("docs/examples/loan-migration.json", "utf8"))).loans);
    expect(json.problems).toEqual([]);
    const plain = (f: typeof json) => f.loans.map(({ where: _w, repayments, ...l }) => ({ ...l, repayments: repayments.map(({ where: _r, ...r }) => r) }));
    expect(plain(json)).toEqual(plain(csv).slice(0, json.loans.length));
  });

  it("a migrated TO_BANK loan's subsidy is claimed from the quarter of its migration on; earlier quarters were the bank's own claims", async () => {
    const toBank = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435", effective_from: "2024-01-01", subsidy: { mode: "TO_BANK", ratio: "1", rate_cap: "0.0345" } });
    const row = { contract_no: "QY-TB-1", household_no: people.b.no, product_code: toBank.code, amount: "10000.00", annual_rate: "0.0435", repayment_method: "BULLET_QUARTERLY", term_months: 12, disbursed_on: "2024-12-01" };
    const reps = [
      { value_date: "2024-12-20", amount: "100.00", reference: "TB-1" },
      { value_date: "2025-03-20", amount: "100.00", reference: "TB-2" },
    ];
    expect((await migrate({ loans: [{ ...row, repayments: reps }] })).status).toBe(200);
    const [l] = await loanByContract("QY-TB-1");
    // Its June interest is paid on the platform, on time.
    t.clock.set("2025-06-20");
    expect((await t.as("officer").post(`${API}/loans/${l.id}/repayments`, { amount: "100.00", reference: "TB-3" }, key())).status).toBe(201);
    t.clock.set("2025-07-05");
    try {
      const lines = async (quarter: string) => {
        const c = await t.as("officer").post(`${API}/subsidy-claims`, { bank_id: "0b000000-0000-4000-8000-00000000000a", county_code: "469030", quarter });
        expect(c.status, JSON.stringify(c.body)).toBe(201);
        const got = await t.as("officer").get(`${API}/subsidy-claims/${c.body.id}`);
        return (got.body.lines as { loan_id: string; due_date: string; status: string }[]).filter((x) => x.loan_id === l.id).map((x) => [x.due_date, x.status]);
      };
      expect(await lines("2025Q1")).toEqual([]);
      expect(await lines("2025Q2")).toEqual([["2025-06-20", "CLAIMED"]]);
    } finally {
      t.clock.set(TODAY);
    }
  });

  it("refuses what it cannot read, and is documented with its file bodies", async () => {
    const before = await counts();
    expectProblem(await postFile("text/plain", "合同号\n", ""), 415, "UNSUPPORTED_MEDIA_TYPE");
    expectProblem(await postFile(XLSX, Buffer.from("not a workbook"), ""), 400, "MIGRATION_FILE_UNREADABLE");
    expectProblem(await postFile("text/csv", "合同号,贷款金额\nX,1\n", "?dry_run=true"), 400, "VALIDATION_FAILED", "file.loans.header");
    expectProblem(await migrate({ loans: goodLoans() }, "?dryrun=true"), 400, "UNKNOWN_QUERY_PARAMETER");
    expectProblem(await migrate({ loans: [{ ...goodLoans()[1], colour: "red" }] }, "?dry_run=true"), 400, "VALIDATION_FAILED");
    expect(await counts()).toEqual(before);
    const doc = (await t.http.get("/openapi.json")).body;
    const op = doc.paths["/api/v1/loan-migrations"].post;
    expect(Object.keys(op.requestBody.content).sort()).toEqual(["application/json", "text/csv", XLSX].sort());
    expect(op.description).toContain("dry_run");
  });

  it("is a bank manager's, for their own counties; an apply needs an Idempotency-Key", async () => {
    expectProblem(await t.as("officer").post(`${API}/loan-migrations`, { loans: goodLoans() }, key()), 403, "FORBIDDEN");
    expectProblem(await t.as("officer").post(`${API}/loan-migrations`, { loans: "not a list" }, key()), 403, "FORBIDDEN");
    expectProblem(await migrate({ loans: goodLoans() }, "?county_code=469025"), 404, "NOT_FOUND");
    expectProblem(await migrate({ loans: goodLoans() }, "", null), 400, "IDEMPOTENCY_KEY_REQUIRED");
    expectProblem(await migrate({ loans: goodLoans() }, "?dry_run=maybe"), 400, "VALIDATION_FAILED");
    expectProblem(await t.http.post(`${API}/loan-migrations`).send({ loans: [] }), 401, "UNAUTHENTICATED");
  });
});
