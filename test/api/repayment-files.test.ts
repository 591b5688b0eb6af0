import ExcelJS from "exceljs";
import { beforeAll, describe, expect, it } from "vitest";
import { transaction } from "../../src/db/transaction.js";
import { processRepaymentFile } from "../../src/modules/bankfiles/index.js";
import { receiveRepaymentFile, readRepaymentFile } from "../../src/modules/bankfiles/repayment-files.js";
import { USERS } from "../helpers/fixture.js";
import { expectProblem } from "../helpers/expect.js";
import { useTestApp } from "../helpers/harness.js";
import { apply, household, key, product, reconciliationOk, setupRates } from "./loans-helpers.js";

/** A bank's repayment files (还款文件): each row applied with its value date, refused with the API's code, or a duplicate; resumable; downloadable. */
const t = useTestApp({ today: "2025-03-03" });
let productId = "";

beforeAll(async () => {
  await setupRates(t);
  productId = (await product(t, { rate_rule: "FIXED", fixed_rate: "0.043500" })).id;
});

async function loanWithContract(contractNo: string, amount = "10000.00", method = "EQUAL_INSTALLMENT") {
  const a = await apply(t, { product_id: productId, amount, term_months: 12, repayment_method: method, household: await household(t) });
  expect((await t.as("manager").post(`/api/v1/loans/${a.body.id}/approve`, {})).status).toBe(200);
  const d = await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, { contract_no: contractNo }, key());
  expect(d.status, JSON.stringify(d.body)).toBe(200);
  return d.body as { id: string; outstanding_principal: string };
}

const csv = (rows: string[][]) => Buffer.from(["contract_no,value_date,amount,reference", ...rows.map((r) => r.join(","))].join("\n"));

async function send(body: Buffer, who: "officer" | "manager" = "officer") {
  const r = await t.as(who).post("/api/v1/repayment-files").set("Content-Type", "text/csv").set("Idempotency-Key", key()).send(body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return waitDone(r.body.id as string);
}

async function waitDone(id: string) {
  for (let i = 0; i < 400; i++) {
    const r = await t.as("officer").get(`/api/v1/repayment-files/${id}?limit=5000`);
    expect(r.status).toBe(200);
    if (r.body.status === "DONE" || r.body.status === "FAILED") return r.body as { id: string; status: string; applied: number; refused: number; duplicates: number; rows: { line: number; status: string; code: string | null; principal: string | null }[] };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`file ${id} did not finish`);
}

const outcomes = (f: Awaited<ReturnType<typeof waitDone>>) => f.rows.map((r) => `${r.line}:${r.status}${r.code && r.status !== "APPLIED" ? `:${r.code}` : ""}`);
const cash = async () => (await t.db("journal_lines").where({ account_code: "1001" }).sum({ d: "debit", c: "credit" }).first()) as { d: string; c: string };

describe("repayment files", () => {
  it("applies good rows with their value dates, refuses the rest with the API's own codes, reports duplicates; the result downloads", async () => {
    t.clock.set("2025-03-03");
    const a = await loanWithContract("HT-A");
    const b = await loanWithContract("HT-B", "6000.00");
    const closed = await loanWithContract("HT-C", "3000.00");
    t.clock.set("2025-04-10");
    const payoff = (await t.as("officer").get(`/api/v1/loans/${closed.id}`)).body.payoff_amount as string;
    expect((await t.as("officer").post(`/api/v1/loans/${closed.id}/repayments`, { amount: payoff, reference: "SINGLE-1" }, key())).status).toBe(201);
    const before = await cash();
    const f = await send(
      csv([
        ["HT-A", "2025-04-03", "900.00", "F1-001"], // instalment due 4/3, paid on its date
        ["HT-B", "2025-04-05", "600.00", "F1-002"], // two days late, within grace
        ["HT-C", "2025-04-08", "10.00", "F1-003"], // the loan is closed
        ["HT-A", "2025-04-09", "20000.00", "F1-004"], // more than closes it
        ["HT-B", "2025-04-11", "50.00", "F1-005"], // tomorrow
        ["HT-X", "2025-04-09", "50.00", "F1-006"], // unknown contract
        ["HT-B", "2025-04-09", "12.345", "F1-007"], // malformed amount (three decimals)
        ["HT-B", "2025-04-09", "50.00", "F1-002"], // the same reference again in the file
        ["HT-B", "2025-04-09", "50.00", "SINGLE-1"], // a reference recorded by a single repayment
        ["HT-A", "", "100.00", "F1-010"], // no value date: the day the file arrives
      ]),
    );
    expect(f.status).toBe("DONE");
    expect(outcomes(f)).toEqual([
      "1:APPLIED",
      "2:APPLIED",
      "3:REFUSED:INVALID_STATE",
      "4:REFUSED:LOAN_OVERPAYMENT",
      "5:REFUSED:VALUE_DATE_IN_FUTURE",
      "6:REFUSED:NOT_FOUND",
      "7:REFUSED:VALIDATION_FAILED",
      "8:DUPLICATE:DUPLICATE_BANK_REFERENCE",
      "9:DUPLICATE:DUPLICATE_BANK_REFERENCE",
      "10:APPLIED",
    ]);
    expect({ applied: f.applied, refused: f.refused, duplicates: f.duplicates }).toEqual({ applied: 3, refused: 5, duplicates: 2 });
    const reps = await t.db("loan_repayments").whereIn("reference", ["F1-001", "F1-002", "F1-010"]).orderBy("reference").select("reference", "paid_on", "entered_on", "amount");
    expect(reps).toEqual([
      { reference: "F1-001", paid_on: "2025-04-03", entered_on: "2025-04-10", amount: "900.00" },
      { reference: "F1-002", paid_on: "2025-04-05", entered_on: "2025-04-10", amount: "600.00" },
      { reference: "F1-010", paid_on: "2025-04-10", entered_on: "2025-04-10", amount: "100.00" },
    ]);
    const after = await cash();
    expect(Number(after.d) - Number(before.d)).toBeCloseTo(1600, 2);
    expect((await t.as("officer").get(`/api/v1/loans/${a.id}`)).body.outstanding_principal).not.toBe(a.outstanding_principal);
    await reconciliationOk(t);

    // The result, as the bank downloads it.
    const c = await t.as("officer").get(`/api/v1/repayment-files/${f.id}.csv`);
    expect(c.status).toBe(200);
    expect(c.headers["content-type"]).toMatch(/^text\/csv/);
    const lines = c.text.replace(/^\ufeff/, "").trim().split("\n");
    expect(lines[0]).toContain("流水号");
    expect(lines).toHaveLength(11);
    const x = await t.as("officer").get(`/api/v1/repayment-files/${f.id}?format=xlsx`).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => cb(null, Buffer.concat(chunks)));
    });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(x.body as unknown as ArrayBuffer);
    const ws = wb.worksheets[0];
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    expect(ws.getRow(1).getCell(6).value).toBe("银行流水号");
    expect(ws.getRow(4).getCell(8).value).toBe("INVALID_STATE");
    expect(ws.rowCount).toBe(11);

    // The same file again: every payment applied before is a duplicate, nothing moves.
    const again = await send(
      csv([
        ["HT-A", "2025-04-03", "900.00", "F1-001"],
        ["HT-B", "2025-04-05", "600.00", "F1-002"],
        ["HT-A", "", "100.00", "F1-010"],
      ]),
    );
    expect(outcomes(again)).toEqual(["1:DUPLICATE:DUPLICATE_BANK_REFERENCE", "2:DUPLICATE:DUPLICATE_BANK_REFERENCE", "3:DUPLICATE:DUPLICATE_BANK_REFERENCE"]);
    expect(await cash()).toEqual(after);

    // Two files that overlap: the rows both carry move money once.
    const first = await send(csv([["HT-B", "2025-04-10", "10.00", "OV-1"], ["HT-B", "2025-04-10", "11.00", "OV-2"]]));
    const second = await send(csv([["HT-B", "2025-04-10", "11.00", "OV-2"], ["HT-B", "2025-04-10", "12.00", "OV-3"]]));
    expect(outcomes(first)).toEqual(["1:APPLIED", "2:APPLIED"]);
    expect(outcomes(second)).toEqual(["1:DUPLICATE:DUPLICATE_BANK_REFERENCE", "2:APPLIED"]);
    expect(await t.db("loan_repayments").whereIn("reference", ["OV-1", "OV-2", "OV-3"])).toHaveLength(3);
    await reconciliationOk(t);
  });

  it("is bound to the bank: another bank's staff see nothing, its loans are unknown here; a file that cannot be read is refused whole", async () => {
    const f = await send(csv([["HT-A", "2025-04-10", "1.00", "J-1"]]));
    expectProblem(await t.as("otherBankManager").get(`/api/v1/repayment-files/${f.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("village").get(`/api/v1/repayment-files/${f.id}`), 403, "FORBIDDEN");
    const other = await t.as("otherBankManager").post("/api/v1/repayment-files").set("Content-Type", "text/csv").set("Idempotency-Key", key()).send(csv([["HT-A", "2025-04-10", "1.00", "J-2"]]));
    expect(other.status).toBe(202);
    expect(other.body.bank_id).toBe(USERS.otherBankManager.bankId);
    const missing = await t.as("officer").post("/api/v1/repayment-files").set("Content-Type", "text/csv").set("Idempotency-Key", key()).send(Buffer.from("a,b\n1,2\n"));
    expectProblem(missing, 400, "VALIDATION_FAILED");
    expectProblem(await t.as("officer").post("/api/v1/repayment-files", { rows: [{ contract_no: "HT-A", amount: "1.00", reference: "J-3" }] }), 400, "IDEMPOTENCY_KEY_REQUIRED");
  });

  it("a crash in the middle loses only the chunk in flight; resuming applies every row exactly once", async () => {
    t.clock.set("2025-04-10");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(`HT-R${i}`);
    for (const no of ids) await loanWithContract(no, "5000.00", "BULLET_QUARTERLY");
    t.clock.set("2025-04-12");
    const rows = Array.from({ length: 9 }, (_, i) => ({ contract_no: ids[i % 3], value_date: "2025-04-12", amount: "5.00", reference: `R-${i}` }));
    const input = await readRepaymentFile({ format: "json", body: { rows } });
    const ctx = { actor: { kind: "staff" as const, ...USERS.officer }, clock: t.clock, requestId: "test" };
    const file = await transaction(t.db, (trx) => receiveRepaymentFile(trx, ctx as never, input, {}));
    const stopped = await processRepaymentFile({ db: t.db, clock: t.clock }, file.id, { chunk: 4, stopAfterChunks: 1, lanes: 1 });
    expect(stopped).toMatchObject({ status: "PROCESSING", rows_done: 4, applied: 4 });
    expect(await t.db("repayment_file_rows").where({ file_id: file.id, status: "PENDING" })).toHaveLength(5);
    const done = await processRepaymentFile({ db: t.db, clock: t.clock }, file.id, { chunk: 4 });
    expect(done).toMatchObject({ status: "DONE", rows_done: 9, applied: 9, refused: 0, duplicates: 0 });
    const reps = await t.db("loan_repayments").whereIn("reference", rows.map((r) => r.reference));
    expect(reps).toHaveLength(9);
    // A file marked FAILED (a processing error that was not a row's) is taken up again when asked.
    const more = await transaction(t.db, async (trx) =>
      receiveRepaymentFile(trx, ctx as never, await readRepaymentFile({ format: "json", body: { rows: rows.slice(0, 3).map((r, i) => ({ ...r, reference: `RF-${i}` })) } }), {}),
    );
    await processRepaymentFile({ db: t.db, clock: t.clock }, more.id, { chunk: 1, stopAfterChunks: 1, lanes: 1 });
    await t.db("repayment_files").where({ id: more.id }).update({ status: "FAILED", error: "connection lost" });
    expect(await processRepaymentFile({ db: t.db, clock: t.clock }, more.id)).toMatchObject({ status: "DONE", applied: 3, error: null });
    expect(await t.db("loan_repayments").whereIn("reference", ["RF-0", "RF-1", "RF-2"])).toHaveLength(3);
    // Run once more: nothing is left to apply.
    expect(await processRepaymentFile({ db: t.db, clock: t.clock }, file.id)).toMatchObject({ status: "DONE", applied: 9 });
    expect(await t.db("loan_repayments").whereIn("reference", rows.map((r) => r.reference))).toHaveLength(9);
    await reconciliationOk(t);
  });

  it("in two lanes, a loan's rows — named by contract number or by id — stay in one lane and in order: the outcomes are one lane's", async () => {
    t.clock.set("2025-05-06");
    const make = async (prefix: string) => {
      const loans: { id: string; no: string }[] = [];
      for (let i = 0; i < 5; i++) loans.push({ no: `${prefix}-${i}`, id: (await loanWithContract(`${prefix}-${i}`, "8000.00", "EQUAL_INSTALLMENT")).id });
      return loans;
    };
    const one = await make("LN1");
    const two = await make("LN2");
    t.clock.set("2025-06-20");
    // Per loan: by contract, by id, by contract again — a part payment, an instalment's worth, then more than the payoff left after those two (taken in any other order, it would not be refused).
    const rowsOf = (loans: { id: string; no: string }[], ref: string) =>
      loans.flatMap((l, i) => [
        { contract_no: l.no, value_date: "2025-06-20", amount: "100.00", reference: `${ref}-${i}-a` },
        { loan_id: l.id.toUpperCase(), value_date: "2025-06-20", amount: "700.00", reference: `${ref}-${i}-b` },
        { contract_no: l.no, value_date: "2025-06-20", amount: "7500.00", reference: `${ref}-${i}-c` },
      ]);
    const ctx = { actor: { kind: "staff" as const, ...USERS.officer }, clock: t.clock, requestId: "test" };
    const receive = async (rows: Record<string, string | undefined>[]) => transaction(t.db, async (trx) => receiveRepaymentFile(trx, ctx as never, await readRepaymentFile({ format: "json", body: { rows } }), {}));
    const f1 = await receive(rowsOf(one, "L1"));
    const f2 = await receive(rowsOf(two, "L2"));
    expect(await processRepaymentFile({ db: t.db, clock: t.clock }, f1.id, { lanes: 1 })).toMatchObject({ status: "DONE", rows_done: 15 });
    expect(await processRepaymentFile({ db: t.db, clock: t.clock }, f2.id, { lanes: 2, chunk: 2 })).toMatchObject({ status: "DONE", rows_done: 15 });
    // Each loan's three rows share one lane key, however they name it.
    const keys = await t.db("repayment_file_rows").where({ file_id: f2.id }).groupBy("applied_loan_id").select("applied_loan_id", t.db.raw("count(DISTINCT lane_key)::int AS n"));
    expect(keys).toHaveLength(5);
    expect(keys.every((k: { n: number }) => k.n === 1)).toBe(true);
    const outcomes = async (fileId: string) =>
      (await t.db("repayment_file_rows").where({ file_id: fileId }).orderBy("line").select("line", "status", "code", "principal", "interest", "penalty")).map((r) => JSON.stringify(r));
    const o1 = await outcomes(f1.id);
    expect(o1.some((o) => o.includes('"REFUSED"')), "the overpayments are refused").toBe(true);
    expect(await outcomes(f2.id)).toEqual(o1);
    await reconciliationOk(t);
  });

  it("two processors of one file at once (a server and the command line) take its lanes in turns: every row once, the counts whole", async () => {
    t.clock.set("2025-07-01");
    const loans: string[] = [];
    for (let i = 0; i < 6; i++) loans.push((await loanWithContract(`TW-${i}`, "6000.00", "BULLET_QUARTERLY")).id);
    t.clock.set("2025-07-03");
    const rows = Array.from({ length: 36 }, (_, i) => ({ contract_no: `TW-${i % 6}`, value_date: "2025-07-03", amount: "2.00", reference: `TW-R${i}` }));
    const ctx = { actor: { kind: "staff" as const, ...USERS.officer }, clock: t.clock, requestId: "test" };
    const file = await transaction(t.db, async (trx) => receiveRepaymentFile(trx, ctx as never, await readRepaymentFile({ format: "json", body: { rows } }), {}));
    const run = () => processRepaymentFile({ db: t.db, clock: t.clock }, file.id, { chunk: 2, lanes: 2 });
    const [a, b] = await Promise.all([run(), run()]);
    // Whichever finished last saw the file done; the other may have ended while the last chunk was in flight elsewhere.
    expect([a.status, b.status]).toContain("DONE");
    const f = await t.db("repayment_files").where({ id: file.id }).first<{ status: string; rows_done: number; applied: number; duplicates: number; refused: number }>();
    expect(f).toMatchObject({ status: "DONE", rows_done: 36, applied: 36, duplicates: 0, refused: 0 });
    const reps = await t.db("loan_repayments").whereIn("reference", rows.map((r) => r.reference)).select("reference");
    expect(reps).toHaveLength(36);
    expect(await t.db("repayment_file_rows").where({ file_id: file.id, status: "APPLIED" }).count<{ n: number }[]>("* as n").then((r) => Number(r[0].n))).toBe(36);
    expect(await t.db("audit_log").where({ action: "repayment_file.done", entity_id: file.id }).count<{ n: number }[]>("* as n").then((r) => Number(r[0].n))).toBe(1);
    await reconciliationOk(t);
  });
});
