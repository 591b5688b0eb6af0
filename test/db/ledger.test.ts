import { describe, expect, it } from "vitest";
import { AppError, fromPostgres } from "../../src/http/errors.js";
import { ACCOUNTS, accountBalance, balanceLines, type JournalEntryInput, postJournalEntry, reconciliationChecks, registerPartyBalanceCheck, reverseJournalEntry } from "../../src/lib/ledger.js";
import { COUNTY } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp();
const LOAN = "7a000000-0000-4000-8000-000000000001";

const disbursement = (amount: string, over: Partial<JournalEntryInput> = {}): JournalEntryInput => ({
  countyCode: COUNTY,
  entryDate: "2025-06-02",
  kind: "loan.disbursement",
  refType: "loan",
  refId: LOAN,
  lines: [
    { account: ACCOUNTS.LOAN_PRINCIPAL, debit: amount, partyType: "loan", partyId: LOAN },
    { account: ACCOUNTS.CASH, credit: amount },
  ],
  ...over,
});

async function entryCount(): Promise<{ entries: number; lines: number }> {
  const e = await t.db("journal_entries").count<{ n: string }[]>("* as n");
  const l = await t.db("journal_lines").count<{ n: string }[]>("* as n");
  return { entries: Number(e[0].n), lines: Number(l[0].n) };
}

async function sqlError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: String((err as { code?: unknown }).code), message: String((err as { message?: unknown }).message) };
  }
  throw new Error("expected the statement to fail");
}

describe("balanceLines (in code)", () => {
  it("refuses an unbalanced entry, a negative amount, fractions of a fen and a two-sided line", () => {
    const code = (lines: Parameters<typeof balanceLines>[0]) => {
      try {
        balanceLines(lines);
        return "ok";
      } catch (e) {
        return e instanceof AppError ? `${e.code}: ${e.detail}` : String(e);
      }
    };
    expect(code([{ account: ACCOUNTS.LOAN_PRINCIPAL, debit: "50000.00" }, { account: ACCOUNTS.CASH, credit: "49999.99" }])).toBe("UNBALANCED_ENTRY: 借方合计 50000.00 ≠ 贷方合计 49999.99 / debits 50000.00 ≠ credits 49999.99");
    expect(code([{ account: ACCOUNTS.LOAN_PRINCIPAL, debit: "-1.00" }, { account: ACCOUNTS.CASH, credit: "-1.00" }])).toBe("UNBALANCED_ENTRY: 科目 1301 的分录行金额须为非负数且精确到分 / line on 1301 is not a non-negative amount in fen");
    expect(code([{ account: ACCOUNTS.LOAN_PRINCIPAL, debit: "0.001" }, { account: ACCOUNTS.CASH, credit: "0.001" }])).toMatch(/^UNBALANCED_ENTRY/);
    expect(code([{ account: ACCOUNTS.LOAN_PRINCIPAL, debit: "1.00", credit: "1.00" }])).toBe("UNBALANCED_ENTRY: 科目 1301 的分录行同时有借方和贷方金额 / line on 1301 has both a debit and a credit");
    const ok = balanceLines([
      { account: ACCOUNTS.CASH, debit: "1484.00" },
      { account: ACCOUNTS.LOAN_PRINCIPAL, credit: "1302.75" },
      { account: ACCOUNTS.INTEREST_RECEIVABLE, credit: "181.25" },
      { account: ACCOUNTS.PENALTY_RECEIVABLE, credit: "0" },
    ]);
    expect(ok.total.toFixed(2)).toBe("1484.00");
    expect(ok.lines).toHaveLength(3); // the zero line carries nothing
  });
});

describe("postJournalEntry", () => {
  it("posts a balanced entry whose lines move the sub-ledger balance", async () => {
    const id = await t.db.transaction((trx) => postJournalEntry(trx, disbursement("50000.00")));
    expect(id).toEqual(expect.any(String));
    const entry = await t.db("journal_entries").where({ id }).first();
    expect(entry).toMatchObject({ county_code: COUNTY, entry_date: "2025-06-02", kind: "loan.disbursement", total: "50000.00", ref_id: LOAN });
    const lines = await t.db("journal_lines").where({ entry_id: id }).orderBy("id");
    expect(lines.map((l) => [l.account_code, l.debit, l.credit, l.party_id])).toEqual([
      ["1301", "50000.00", "0.00", LOAN],
      ["1001", "0.00", "50000.00", null],
    ]);
    expect((await accountBalance(t.db, ACCOUNTS.LOAN_PRINCIPAL, LOAN)).toFixed(2)).toBe("50000.00");
  });

  it("refuses an unbalanced entry in code and writes nothing", async () => {
    const before = await entryCount();
    const unbalanced = disbursement("50000.00", {
      lines: [
        { account: ACCOUNTS.LOAN_PRINCIPAL, debit: "50000.00" },
        { account: ACCOUNTS.CASH, credit: "5000.00" },
      ],
    });
    await expect(t.db.transaction((trx) => postJournalEntry(trx, unbalanced))).rejects.toMatchObject({ code: "UNBALANCED_ENTRY", status: 422 });
    expect(await entryCount()).toEqual(before);
  });

  it("posts nothing when every line is zero", async () => {
    const before = await entryCount();
    expect(await t.db.transaction((trx) => postJournalEntry(trx, disbursement("0.00")))).toBeNull();
    expect(await entryCount()).toEqual(before);
  });

  it("reverses an entry with its mirror image, once", async () => {
    const other = "7a000000-0000-4000-8000-000000000002";
    const id = await t.db.transaction((trx) =>
      postJournalEntry(trx, {
        ...disbursement("30000.00"),
        refId: other,
        lines: [
          { account: ACCOUNTS.LOAN_PRINCIPAL, debit: "30000.00", partyType: "loan", partyId: other },
          { account: ACCOUNTS.CASH, credit: "30000.00" },
        ],
      }),
    );
    const cashBefore = await accountBalance(t.db, ACCOUNTS.CASH);
    const rev = await t.db.transaction((trx) => reverseJournalEntry(trx, id!, { entryDate: "2025-06-03", memo: "录入错误冲正" }));
    const entry = await t.db("journal_entries").where({ id: rev }).first();
    expect(entry).toMatchObject({ kind: "loan.disbursement.reversal", reverses_entry_id: id, total: "30000.00", entry_date: "2025-06-03", memo: "录入错误冲正" });
    const lines = await t.db("journal_lines").where({ entry_id: rev }).orderBy("id");
    expect(lines.map((l) => [l.account_code, l.debit, l.credit, l.party_id])).toEqual([
      ["1301", "0.00", "30000.00", other],
      ["1001", "30000.00", "0.00", null],
    ]);
    expect((await accountBalance(t.db, ACCOUNTS.LOAN_PRINCIPAL, other)).toFixed(2)).toBe("0.00");
    expect((await accountBalance(t.db, ACCOUNTS.CASH)).minus(cashBefore).toFixed(2)).toBe("30000.00");
    // The original stays; a second reversal is refused (one reversal per entry).
    expect(await t.db("journal_entries").where({ id }).first()).toBeDefined();
    const again = await sqlError(t.db.transaction((trx) => reverseJournalEntry(trx, id!, { entryDate: "2025-06-04" })));
    expect(again.code).toBe("23505");
  });
});

describe("the database guards the journal too", () => {
  async function header(total: string): Promise<string> {
    const [e] = await t.db("journal_entries").insert({ county_code: COUNTY, entry_date: "2025-06-02", kind: "test.direct", total }).returning<{ id: string }[]>("id");
    return e.id;
  }

  it("refuses unbalanced lines inserted directly (statement trigger)", async () => {
    const id = await header("100.00");
    const err = await sqlError(
      t.db("journal_lines").insert([
        { entry_id: id, account_code: "1001", county_code: COUNTY, debit: "100.00", credit: "0" },
        { entry_id: id, account_code: "4001", county_code: COUNTY, debit: "0", credit: "90.00" },
      ]),
    );
    expect(err.code).toBe("23514");
    expect(err.message).toContain("does not balance");
    expect(fromPostgres(err)).toMatchObject({ code: "UNBALANCED_ENTRY", status: 422 });
    expect(await t.db("journal_lines").where({ entry_id: id })).toEqual([]);
  });

  it("refuses balanced lines that do not add up to the entry's total", async () => {
    const id = await header("100.00");
    const err = await sqlError(
      t.db("journal_lines").insert([
        { entry_id: id, account_code: "1001", county_code: COUNTY, debit: "80.00", credit: "0" },
        { entry_id: id, account_code: "4001", county_code: COUNTY, debit: "0", credit: "80.00" },
      ]),
    );
    expect(err.code).toBe("23514");
  });

  it("checks every entry of a many-entry statement against its own header, and passes a good batch", async () => {
    // 300 entries in one statement; only the 217th header says 50.00 where its lines add up to 40.00.
    const ids: string[] = [];
    for (let k = 0; k < 300; k += 1) ids.push(await header(k === 216 ? "50.00" : "40.00"));
    const lines = ids.flatMap((id) => [
      { entry_id: id, account_code: "1001", county_code: COUNTY, debit: "40.00", credit: "0" },
      { entry_id: id, account_code: "4001", county_code: COUNTY, debit: "0", credit: "40.00" },
    ]);
    const err = await sqlError(t.db("journal_lines").insert(lines));
    expect(err.code).toBe("23514");
    expect(err.message).toContain(ids[216]);
    expect(await t.db("journal_lines").whereIn("entry_id", ids)).toEqual([]);
    // Without that entry the same statement passes.
    await t.db("journal_lines").insert(lines.filter((l) => l.entry_id !== ids[216]));
    expect(await t.db("journal_lines").whereIn("entry_id", ids).pluck("entry_id")).toHaveLength(598);
  });

  it("refuses a line whose entry is not in the journal, or whose account is not in the chart, in a statement of good lines", async () => {
    const good = await header("40.00");
    const lines = [
      { entry_id: good, account_code: "1001", county_code: COUNTY, debit: "40.00", credit: "0" },
      { entry_id: good, account_code: "4001", county_code: COUNTY, debit: "0", credit: "40.00" },
    ];
    const stray = "0e000000-0000-4000-8000-0000000000aa";
    const noEntry = await sqlError(
      t.db("journal_lines").insert([
        ...lines,
        { entry_id: stray, account_code: "1001", county_code: COUNTY, debit: "5.00", credit: "0" },
        { entry_id: stray, account_code: "4001", county_code: COUNTY, debit: "0", credit: "5.00" },
      ]),
    );
    expect(noEntry.code).toBe("23503");
    expect(noEntry.message).toContain(stray);
    expect(fromPostgres(noEntry)).toMatchObject({ code: "RULE_VIOLATION" });
    const noAccount = await sqlError(t.db("journal_lines").insert([lines[0], { ...lines[1], account_code: "9999" }]));
    expect(noAccount.code).toBe("23503");
    expect(noAccount.message).toContain("9999");
    expect(await t.db("journal_lines").where({ entry_id: good })).toEqual([]);
    // Both good lines alone pass.
    await t.db("journal_lines").insert(lines);
    expect(await t.db("journal_lines").where({ entry_id: good }).pluck("account_code")).toHaveLength(2);
  });

  it("keeps the chart's accounts: no account deleted or re-coded, one added", async () => {
    for (const attempt of [t.db("ledger_accounts").where({ code: "1001" }).delete(), t.db("ledger_accounts").where({ code: "1001" }).update({ code: "1009" })]) {
      const err = await sqlError(attempt);
      expect(err.code).toBe("42501");
    }
    await t.db("ledger_accounts").where({ code: "1001" }).update({ name_zh: "银行存款/清算" }) // a name may change (here to itself);
    await t.db("ledger_accounts").insert({ code: "9001", name: "Test", name_zh: "测试", type: "ASSET" });
    expect(await t.db("ledger_accounts").whereIn("code", ["1001", "9001"]).pluck("code")).toHaveLength(2);
  });

  it("refuses a line with both sides or a negative amount", async () => {
    const id = await header("10.00");
    const both = await sqlError(t.db("journal_lines").insert({ entry_id: id, account_code: "1001", county_code: COUNTY, debit: "10.00", credit: "10.00" }));
    expect(both.code).toBe("23514");
    const negative = await sqlError(t.db("journal_lines").insert({ entry_id: id, account_code: "1001", county_code: COUNTY, debit: "-10.00", credit: "0" }));
    expect(negative.code).toBe("23514");
  });

  it("refuses UPDATE and DELETE of journal lines and entries", async () => {
    const id = await t.db.transaction((trx) => postJournalEntry(trx, disbursement("1000.00", { refId: "x" })));
    const line = await t.db("journal_lines").where({ entry_id: id }).first();
    for (const attempt of [
      t.db("journal_lines").where({ id: line.id }).update({ debit: "1.00" }),
      t.db("journal_lines").where({ id: line.id }).delete(),
      t.db("journal_entries").where({ id }).update({ memo: "edited" }),
      t.db("journal_entries").where({ id }).delete(),
    ]) {
      const err = await sqlError(attempt);
      expect(err.code).toBe("42501");
      expect(err.message).toMatch(/append-only/);
    }
    expect((await t.db("journal_lines").where({ id: line.id }).first()).debit).toBe(line.debit);
  });
});

describe("sub-ledger reconciliation check", () => {
  it("names every party whose ledger balance differs from its records, in either direction", async () => {
    registerPartyBalanceCheck({
      name: "test.party_balance",
      description: "test parties",
      account: ACCOUNTS.ENTRUSTED_PRINCIPAL,
      partyType: "test_party",
      recordsSql: `SELECT * FROM (VALUES ('00000000-0000-4000-8000-00000000aaa1'::uuid, '${COUNTY}', 100.00), ('00000000-0000-4000-8000-00000000aaa2'::uuid, '${COUNTY}', 50.00)) v(id, county_code, amount)`,
    });
    const post = (party: string, amount: string) =>
      t.db.transaction((trx) =>
        postJournalEntry(trx, {
          countyCode: COUNTY,
          entryDate: "2025-06-02",
          kind: "test",
          lines: [
            { account: ACCOUNTS.ENTRUSTED_PRINCIPAL, debit: amount, partyType: "test_party", partyId: party },
            { account: ACCOUNTS.CASH, credit: amount },
          ],
        }),
      );
    await post("00000000-0000-4000-8000-00000000aaa1", "60.00"); // short by 40.00
    await post("00000000-0000-4000-8000-00000000aaa2", "50.00"); // agrees
    await post("00000000-0000-4000-8000-00000000aaa3", "7.50"); // in the ledger only
    const check = reconciliationChecks().find((c) => c.name === "test.party_balance")!;
    expect(await check.run(t.db, [COUNTY])).toEqual([
      { ref: "test_party:00000000-0000-4000-8000-00000000aaa1", ledger: "60.00", records: "100.00" },
      { ref: "test_party:00000000-0000-4000-8000-00000000aaa3", ledger: "7.50", records: "0.00" },
    ]);
    expect(await check.run(t.db, ["469025"])).toEqual([]);
  });
});
