import ExcelJS from "exceljs";
import { parse as parseCsv } from "csv-parse/sync";
import supertest from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { signStaffToken } from "../../src/http/auth.js";
import { D, Money } from "../../src/lib/money.js";
import { expectProblem } from "../helpers/expect.js";
import { OTHER_BANK, USERS } from "../helpers/fixture.js";
import { TEST_JWT, useTestApp } from "../helpers/harness.js";
import { household, key, product, repay, schedule, setupRates } from "./loans-helpers.js";

const TODAY = "2025-06-02";
const t = useTestApp({ today: TODAY });
const API = "/api/v1";
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/** A loan officer of the other bank (the fixture has its manager only). */
const OTHER_OFFICER = `Bearer ${signStaffToken(TEST_JWT, { ...USERS.officer2, bankId: OTHER_BANK })}`;
const OTHER_MANAGER = () => `Bearer ${t.token("otherBankManager")}`;

const L = {} as Record<"A" | "B" | "C" | "G" | "H" | "other", string>;

async function disburseOn(date: string, body: Record<string, unknown>, contractNo?: string) {
  t.clock.set(date);
  const h = await household(t);
  const a = await t.as("officer").post(`${API}/loans`, { household_id: h.id, borrower_member_id: h.member, purpose: "BREEDING", term_months: 24, repayment_method: "BULLET_QUARTERLY", ...body });
  expect(a.status, JSON.stringify(a.body)).toBe(201);
  expect((await t.as("manager").post(`${API}/loans/${a.body.id}/approve`, {})).status).toBe(200);
  const d = await t.as("officer").post(`${API}/loans/${a.body.id}/disburse`, contractNo ? { contract_no: contractNo } : {}, key());
  expect(d.status, JSON.stringify(d.body)).toBe(200);
  expect(d.body.contract_no).toBe(contractNo ?? null);
  return a.body.id as string;
}

async function ok(res: supertest.Response, status = 201) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body as Statement;
}
type Line = { seq: number; outcome: string; file_row: number | null; contract_no: string | null; loan_id: string | null; bank_principal: string | null; platform_principal: string | null; difference: string | null };
type Statement = { id: string; as_of: string; file_rows: number; matched: number; differing: number; unknown: number; missing_from_file: number; bank_total: string; platform_total: string; lines: Line[]; next_cursor: string | null };

const binary = (res: supertest.Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => cb(null, Buffer.concat(chunks)));
};
const postFile = (type: string, body: string | Buffer, query: string, auth = `Bearer ${t.token("officer")}`) =>
  supertest(t.app).post(`${API}/balance-statements${query}`).set("Authorization", auth).set("Content-Type", type).send(body);

async function xlsxOf(rows: (string | number)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet("余额");
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

beforeAll(async () => {
  await setupRates(t);
  const p = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435" });
  // A: 20,000 from 2025-01-10; 3,000 of principal paid on 2025-03-20 with the quarter's interest, 2,000 on 2025-05-15.
  L.A = await disburseOn("2025-01-10", { product_id: p.id, amount: "20000.00" }, "HT-A");
  const s = await schedule(t, L.A);
  t.clock.set("2025-03-20");
  expect((await repay(t, L.A, Money.format(new D(s.periods[0].interest).plus(3000)))).body).toMatchObject({ principal: "3000.00" });
  t.clock.set("2025-05-15");
  expect((await repay(t, L.A, "2000.00")).body).toMatchObject({ principal: "2000.00", loan: { outstanding_principal: "15000.00" } });
  // B: 10,000, nothing repaid; C: 8,000, the file will lack it; H: 6,000 without a contract number (named by id).
  L.B = await disburseOn("2025-02-01", { product_id: p.id, amount: "10000.00" }, "HT-B");
  L.C = await disburseOn("2025-03-01", { product_id: p.id, amount: "8000.00" }, "HT-C");
  L.H = await disburseOn("2025-02-15", { product_id: p.id, amount: "6000.00" });
  // G: 5,000 from 2025-01-15, paid off on 2025-04-15.
  L.G = await disburseOn("2025-01-15", { product_id: p.id, amount: "5000.00" }, "HT-G");
  t.clock.set("2025-04-15");
  const payoff = (await t.as("officer").get(`${API}/loans/${L.G}`)).body.payoff_amount as string;
  expect((await repay(t, L.G, payoff)).body).toMatchObject({ loan: { status: "REPAID" } });
  // An approved loan not disbursed is no balance of anyone's.
  const h = await household(t);
  const ap = await t.as("officer").post(`${API}/loans`, { household_id: h.id, borrower_member_id: h.member, product_id: p.id, purpose: "BREEDING", amount: "3000.00", term_months: 12, repayment_method: "BULLET_QUARTERLY" });
  expect((await t.as("manager").post(`${API}/loans/${ap.body.id}/approve`, {})).status).toBe(200);

  // The other bank's loan, with its own contract number.
  t.clock.set("2025-02-01");
  const op = await supertest(t.app)
    .post(`${API}/loan-products`)
    .set("Authorization", OTHER_MANAGER())
    .send({ county_code: "469030", code: "OTHER", name: "扶贫小额信贷", effective_from: "2020-01-01", repayment_methods: ["BULLET_QUARTERLY"], subsidy: { mode: "TO_HOUSEHOLD" }, rate_rule: "FIXED", fixed_rate: "0.0400" });
  expect(op.status, JSON.stringify(op.body)).toBe(201);
  const oh = await household(t);
  const oa = await supertest(t.app)
    .post(`${API}/loans`)
    .set("Authorization", OTHER_OFFICER)
    .send({ household_id: oh.id, borrower_member_id: oh.member, product_id: op.body.id, purpose: "BREEDING", amount: "7000.00", term_months: 12, repayment_method: "BULLET_QUARTERLY" });
  expect(oa.status, JSON.stringify(oa.body)).toBe(201);
  expect((await supertest(t.app).post(`${API}/loans/${oa.body.id}/approve`).set("Authorization", OTHER_MANAGER()).send({})).status).toBe(200);
  const od = await supertest(t.app).post(`${API}/loans/${oa.body.id}/disburse`).set("Authorization", OTHER_OFFICER).set("Idempotency-Key", key()).send({ contract_no: "HT-OTHER" });
  expect(od.status, JSON.stringify(od.body)).toBe(200);
  L.other = oa.body.id;
  t.clock.set(TODAY);
}, 120_000);

/** The outcomes of today's file: A matches, B differs by +100, two unknown (one is the other bank's), C missing. */
function expectTodaysOutcome(s: Statement) {
  expect(s).toMatchObject({ as_of: TODAY, file_rows: 5, matched: 2, differing: 1, unknown: 2, missing_from_file: 1, bank_total: "38600.00", platform_total: "39000.00", next_cursor: null });
  expect(s.lines).toEqual([
    { seq: 1, outcome: "DIFFERS", file_row: 2, contract_no: "HT-B", loan_id: L.B, bank_principal: "10100.00", platform_principal: "10000.00", difference: "100.00" },
    { seq: 2, outcome: "UNKNOWN", file_row: 3, contract_no: "HT-NOPE", loan_id: null, bank_principal: "500.00", platform_principal: null, difference: null },
    { seq: 3, outcome: "UNKNOWN", file_row: 4, contract_no: "HT-OTHER", loan_id: null, bank_principal: "7000.00", platform_principal: null, difference: null },
    { seq: 4, outcome: "MISSING_FROM_FILE", file_row: null, contract_no: "HT-C", loan_id: L.C, bank_principal: null, platform_principal: "8000.00", difference: null },
  ]);
}

describe("POST /balance-statements", () => {
  let fromJson: Statement;

  it("JSON: a matching contract, a differing one, one unknown, another bank's, one named by loan id; and the loan the file lacks", async () => {
    fromJson = await ok(
      await t.as("officer").post(`${API}/balance-statements`, {
        as_of: TODAY,
        rows: [
          { contract_no: "HT-A", outstanding_principal: "15000.00" },
          { contract_no: "HT-B", outstanding_principal: "10100" },
          { contract_no: "HT-NOPE", outstanding_principal: "500.00" },
          { contract_no: "HT-OTHER", outstanding_principal: "7000.00" },
          { loan_id: L.H, outstanding_principal: "6000.00" },
        ],
      }),
    );
    expectTodaysOutcome(fromJson);
  });

  it("CSV with Chinese headers and XLSX give the same result; the kept statement reads back and downloads", async () => {
    const csv = "\ufeff合同号,贷款ID,贷款余额\nHT-A,,\"15,000.00\"\nHT-B,,10100.00\nHT-NOPE,,500\nHT-OTHER,,7000.00\n," + L.H + ",6000.00\n";
    const fromCsv = await ok(await postFile("text/csv", csv, `?as_of=${TODAY}`));
    expectTodaysOutcome(fromCsv);
    const xlsx = await xlsxOf([["contract_no", "loan_id", "outstanding_principal"], ["HT-A", "", 15000], ["HT-B", "", 10100], ["HT-NOPE", "", 500], ["HT-OTHER", "", "7000.00"], ["", L.H, 6000]]);
    const fromXlsx = await ok(await postFile(XLSX, xlsx, `?as_of=${TODAY}&county_code=469030`));
    expectTodaysOutcome(fromXlsx);
    expect(new Set([fromJson.id, fromCsv.id, fromXlsx.id]).size).toBe(3);

    const again = await ok(await t.as("manager").get(`${API}/balance-statements/${fromCsv.id}`), 200);
    expectTodaysOutcome(again);
    const page = await ok(await t.as("officer").get(`${API}/balance-statements/${fromCsv.id}?limit=2&outcome=UNKNOWN`), 200);
    expect(page.lines.map((l) => l.contract_no)).toEqual(["HT-NOPE", "HT-OTHER"]);
    const list = await t.as("officer").get(`${API}/balance-statements?as_of=${TODAY}`);
    expect(list.body.items.map((s: Statement) => s.id).sort()).toEqual([fromJson.id, fromCsv.id, fromXlsx.id].sort());

    const dl = await t.as("officer").get(`${API}/balance-statements/${fromCsv.id}.csv`);
    expect(dl.status).toBe(200);
    expect(dl.headers["content-type"]).toContain("text/csv");
    const rows = parseCsv(dl.text, { bom: true }) as string[][];
    expect(rows[0]).toEqual(["结果", "结果代码", "文件行号", "合同号", "贷款ID", "银行余额", "平台余额", "差额(银行-平台)"]);
    expect(rows.slice(1)).toEqual([
      ["余额不符", "DIFFERS", "2", "HT-B", L.B, "10100.00", "10000.00", "100.00"],
      ["平台无此合同", "UNKNOWN", "3", "HT-NOPE", "", "500.00", "", ""],
      ["平台无此合同", "UNKNOWN", "4", "HT-OTHER", "", "7000.00", "", ""],
      ["文件缺少", "MISSING_FROM_FILE", "", "HT-C", L.C, "", "8000.00", ""],
    ]);
    expect((await t.as("officer").get(`${API}/balance-statements/${fromCsv.id}?format=csv`)).text).toBe(dl.text);
    expectProblem(await t.as("officer").get(`${API}/balance-statements/${fromCsv.id}.csv?limit=5`), 400, "UNKNOWN_QUERY_PARAMETER");

    const xl = await t.as("officer").get(`${API}/balance-statements/${fromCsv.id}.xlsx`).buffer(true).parse(binary);
    expect(xl.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xl.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    expect(wb.worksheets.map((w) => w.name)).toEqual(["汇总", "余额不符", "平台无此合同", "文件缺少"]);
    for (const ws of wb.worksheets) {
      expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
      expect(ws.autoFilter).toBeTruthy();
    }
    const differs = wb.getWorksheet("余额不符")!;
    expect((differs.getRow(1).values as unknown[]).slice(1)).toEqual(rows[0]);
    expect((differs.getRow(2).values as unknown[]).slice(1)).toEqual(["余额不符", "DIFFERS", 2, "HT-B", L.B, 10100, 10000, 100]);
    expect(wb.getWorksheet("文件缺少")!.getRow(2).getCell(5).value).toBe(L.C);
    expect(wb.getWorksheet("平台无此合同")!.rowCount).toBe(3);
  });

  it("on an earlier date: the principal repaid after it counts as outstanding; a loan closed by then is no one's lack", async () => {
    const on = async (asOf: string, rows: object[]) => ok(await t.as("officer").post(`${API}/balance-statements`, { as_of: asOf, rows }));
    const april = await on("2025-04-30", [
      { contract_no: "HT-A", outstanding_principal: "17000.00" }, // 20,000 − 3,000 (the 2,000 came on 05-15)
      { contract_no: "HT-B", outstanding_principal: "10000.00" },
      { contract_no: "HT-C", outstanding_principal: "8000.00" },
      { loan_id: L.H, outstanding_principal: "6000.00" },
    ]);
    expect(april).toMatchObject({ matched: 4, differing: 0, unknown: 0, missing_from_file: 0, platform_total: "41000.00", lines: [] });
    const march = await on("2025-03-19", [
      { contract_no: "HT-A", outstanding_principal: "17000.00" }, // the bank is early: on 03-19 it was still 20,000
      { contract_no: "HT-C", outstanding_principal: "8000.00" }, // disbursed 03-01
      { contract_no: "HT-B", outstanding_principal: "10000.00" },
      { loan_id: L.H, outstanding_principal: "6000.00" },
    ]);
    expect(march).toMatchObject({ matched: 3, differing: 1, missing_from_file: 1, platform_total: "49000.00" });
    expect(march.lines).toEqual([
      expect.objectContaining({ outcome: "DIFFERS", contract_no: "HT-A", bank_principal: "17000.00", platform_principal: "20000.00", difference: "-3000.00" }),
      expect.objectContaining({ outcome: "MISSING_FROM_FILE", contract_no: "HT-G", loan_id: L.G, platform_principal: "5000.00" }),
    ]);
    // Before C was disbursed, HT-C is not the platform's yet.
    const feb = await on("2025-02-20", [{ contract_no: "HT-C", outstanding_principal: "8000.00" }]);
    expect(feb.lines.map((l) => [l.outcome, l.contract_no])).toEqual([
      ["UNKNOWN", "HT-C"],
      ["MISSING_FROM_FILE", "HT-A"],
      ["MISSING_FROM_FILE", "HT-B"],
      ["MISSING_FROM_FILE", "HT-G"],
      ["MISSING_FROM_FILE", null],
    ]);
  });

  it("another bank's contract, by number or by id, is unknown to this bank; its statements are not this bank's", async () => {
    const s = await ok(await t.as("officer").post(`${API}/balance-statements`, { as_of: TODAY, rows: [{ loan_id: L.other, outstanding_principal: "7000.00" }, { contract_no: "HT-A", outstanding_principal: "15000.00" }] }));
    expect(s.lines.filter((l) => l.outcome === "UNKNOWN")).toEqual([expect.objectContaining({ file_row: 1, loan_id: L.other, platform_principal: null })]);
    const theirs = await ok(await supertest(t.app).post(`${API}/balance-statements`).set("Authorization", OTHER_OFFICER).send({ as_of: TODAY, rows: [{ contract_no: "HT-OTHER", outstanding_principal: "7000.00" }, { contract_no: "HT-A", outstanding_principal: "15000.00" }] }));
    expect(theirs).toMatchObject({ matched: 1, unknown: 1, missing_from_file: 0, platform_total: "7000.00" });
    expectProblem(await supertest(t.app).get(`${API}/balance-statements/${s.id}`).set("Authorization", OTHER_OFFICER), 404, "NOT_FOUND");
    expectProblem(await supertest(t.app).get(`${API}/balance-statements/${s.id}.xlsx`).set("Authorization", OTHER_MANAGER()), 404, "NOT_FOUND");
    expect((await supertest(t.app).get(`${API}/balance-statements`).set("Authorization", OTHER_OFFICER)).body.items.map((x: Statement) => x.id)).toEqual([theirs.id]);
  });

  it("compares a file of thousands of rows in a handful of statements", async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `HT-X${i},${(i % 97) + 1}.25`).join("\n");
    let queries = 0;
    const count = () => queries++;
    t.db.on("query", count);
    try {
      const s = await ok(await postFile("text/csv", `contract_no,outstanding_principal\nHT-A,15000.00\n${rows}\n`, `?as_of=${TODAY}`));
      expect(s).toMatchObject({ file_rows: 5001, matched: 1, unknown: 5000, missing_from_file: 3 });
      expect(s.lines).toHaveLength(500);
      expect(s.next_cursor).not.toBeNull();
    } finally {
      t.db.removeListener("query", count);
    }
    expect(queries).toBeGreaterThan(2); // the counting sees the statements
    expect(queries).toBeLessThan(25);
  });

  it("a file sent again with its Idempotency-Key replays the first answer; another date with the key is refused", async () => {
    const k = key();
    const csv = "contract_no,outstanding_principal\nHT-A,15000.00\n";
    const statements = async () => Number((await t.db("balance_statements").count<{ count: string }[]>("* as count"))[0].count);
    const before = await statements();
    const first = await ok(await postFile("text/csv", csv, `?as_of=${TODAY}`).set("Idempotency-Key", k));
    const again = await postFile("text/csv", csv, `?as_of=${TODAY}`).set("Idempotency-Key", k);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body.id).toBe(first.id);
    expectProblem(await postFile("text/csv", csv, "?as_of=2025-06-01").set("Idempotency-Key", k), 422, "IDEMPOTENCY_KEY_REUSED");
    expect(await statements()).toBe(before + 1);
  });

  it("refuses bad input whole with problem+json and records nothing", async () => {
    const before = (await t.db("balance_statements").count<{ count: string }[]>("* as count"))[0].count;
    const bad = await postFile("text/csv", "contract_no,outstanding_principal\nHT-A,12.345\n,100.00\nHT-B,-5\nHT-A,1.00\n", `?as_of=${TODAY}`);
    expectProblem(bad, 400, "VALIDATION_FAILED");
    expect(bad.body.detail).toBe("文件有 3 个问题，未记录任何内容");
    expect(bad.body.errors).toEqual([
      { path: "file.row[1].outstanding_principal", message: expect.stringContaining("最多两位小数") },
      { path: "file.row[2].contract_no", message: "须给出合同号或贷款编号" },
      { path: "file.row[3].outstanding_principal", message: expect.stringContaining("不小于 0") },
    ]);
    const badEn = await postFile("text/csv", "contract_no,outstanding_principal\nHT-A,12.345\n,100.00\n", `?as_of=${TODAY}`).set("Accept-Language", "en");
    expect(badEn.body.detail).toBe("2 problems in the file; nothing was recorded");
    expect(badEn.body.errors).toEqual([
      { path: "file.row[1].outstanding_principal", message: expect.stringContaining("two decimals") },
      { path: "file.row[2].contract_no", message: expect.stringContaining("contract number") },
    ]);
    const dupRows = { as_of: TODAY, rows: [{ contract_no: "HT-A", outstanding_principal: "1.00" }, { contract_no: "HT-A", outstanding_principal: "2.00" }] };
    const dup = await t.as("officer").post(`${API}/balance-statements`, dupRows);
    expectProblem(dup, 400, "VALIDATION_FAILED");
    expect(dup.body.errors).toEqual([{ path: "body.rows[1].contract_no", message: "与第 1 行的合同号相同" }]);
    const dupEn = await t.as("officer").post(`${API}/balance-statements`, dupRows).set("Accept-Language", "en");
    expect(dupEn.body.errors).toEqual([{ path: "body.rows[1].contract_no", message: "the same contract_no as row 1" }]);
    expectProblem(await postFile("text/csv", "合同,金额\nHT-A,1.00\n", `?as_of=${TODAY}`), 400, "VALIDATION_FAILED");
    expectProblem(await postFile("text/csv", "contract_no,outstanding_principal\nHT-A,1.00\n", ""), 400, "VALIDATION_FAILED");
    expectProblem(await postFile("text/csv", 'contract_no,outstanding_principal\n"HT-A,1.00\n', `?as_of=${TODAY}`), 400, "BALANCE_FILE_UNREADABLE");
    expectProblem(await postFile(XLSX, Buffer.from("not a workbook"), `?as_of=${TODAY}`), 400, "BALANCE_FILE_UNREADABLE");
    expectProblem(await postFile("text/plain", "contract_no,outstanding_principal\n", `?as_of=${TODAY}`), 415, "UNSUPPORTED_MEDIA_TYPE");
    expectProblem(await t.as("officer").post(`${API}/balance-statements`, { as_of: "2025-06-03", rows: [] }), 422, "BALANCE_AS_OF_FUTURE");
    expectProblem(await t.as("officer").post(`${API}/balance-statements`, { as_of: "2025-02-30", rows: [] }), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").post(`${API}/balance-statements`, { as_of: TODAY, rows: [{ loan_id: "not-an-id", outstanding_principal: "1.00" }] }), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").post(`${API}/balance-statements`, { as_of: TODAY, county_code: "469025", rows: [] }), 404, "NOT_FOUND");
    expectProblem(await t.as("officer").post(`${API}/balance-statements?as_of=${TODAY}`, { as_of: TODAY, rows: [] }), 400, "VALIDATION_FAILED");
    expectProblem(await t.as("regulator").post(`${API}/balance-statements`, { as_of: TODAY, rows: [] }), 403, "FORBIDDEN");
    expectProblem(await t.as("regulator").get(`${API}/balance-statements`), 403, "FORBIDDEN");
    expectProblem(await t.as("officer").get(`${API}/balance-statements/00000000-0000-4000-8000-000000000000`), 404, "NOT_FOUND");
    expect((await t.db("balance_statements").count<{ count: string }[]>("* as count"))[0].count).toBe(before);
  });

  it("a contract number is the bank's for ever: a second loan of the bank may not take it", async () => {
    const p = await product(t, { rate_rule: "FIXED", fixed_rate: "0.0435" });
    const h = await household(t);
    const a = await t.as("officer").post(`${API}/loans`, { household_id: h.id, borrower_member_id: h.member, product_id: p.id, purpose: "BREEDING", amount: "1000.00", term_months: 12, repayment_method: "BULLET_QUARTERLY" });
    expect((await t.as("manager").post(`${API}/loans/${a.body.id}/approve`, {})).status).toBe(200);
    const taken = await t.as("officer").post(`${API}/loans/${a.body.id}/disburse`, { contract_no: "HT-G" }, key());
    expectProblem(taken, 409, "LOAN_CONTRACT_NO_TAKEN");
    expect((await t.as("officer").get(`${API}/loans/${a.body.id}`)).body.status).toBe("APPROVED");
    expect((await t.as("officer").get(`${API}/loans?contract_no=HT-B`)).body.items.map((l: { id: string }) => l.id)).toEqual([L.B]);
    // Another bank may use the same number.
    expect((await t.as("officer").post(`${API}/loans/${a.body.id}/disburse`, { contract_no: "HT-OTHER" }, key())).status).toBe(200);

    // A renewal (无还本续贷) is a new contract: it may carry its own number, under the same rule.
    const short = await disburseOn("2025-05-20", { product_id: p.id, amount: "2000.00", term_months: 1 }, "HT-S");
    t.clock.set(TODAY);
    expectProblem(await t.as("manager").post(`${API}/loans/${short}/renew`, { term_months: 12, reason: "生产周期未结束，续贷", contract_no: "HT-A" }, key()), 409, "LOAN_CONTRACT_NO_TAKEN");
    const renewed = await t.as("manager").post(`${API}/loans/${short}/renew`, { term_months: 12, reason: "生产周期未结束，续贷", contract_no: "HT-S2" }, key());
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(201);
    const newId = renewed.body.new_loan.id;
    expect(renewed.body.new_loan.contract_no).toBe("HT-S2");
    expect((await t.as("officer").get(`${API}/loans?contract_no=HT-S2`)).body.items).toEqual([expect.objectContaining({ id: newId, status: "DISBURSED", amount: "2000.00" })]);
  });
});
