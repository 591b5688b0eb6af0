import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/http/errors.js";
import { ACCOUNTS, accountBalance, postJournalEntriesFrom, postJournalEntry, postJournalEntryFrom, reverseJournalEntry, unreversedEntriesOf } from "../../src/lib/ledger.js";
import { COUNTY } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const t = useTestApp();

/** Entries and lines from a VALUES list, as a batch job would select them from its own table. */
function batch(entries: { id: string; amount: string; debitAmount?: string }[]) {
  const values = entries.map(() => "(?::uuid, ?::numeric, ?::numeric)").join(", ");
  const rows = entries.flatMap((e) => [e.id, e.amount, e.debitAmount ?? e.amount]);
  return {
    entriesSql: `SELECT v.id, ?::text AS county_code, DATE '2025-06-20' AS entry_date, 'test.batch' AS kind, 'test' AS ref_type, v.id::text AS ref_id,
                        'batch' AS memo, NULL::uuid AS actor_id, NULL::uuid AS reverses_entry_id
                   FROM (VALUES ${values}) v(id, amount, debit_amount)`,
    linesSql: `SELECT v.id AS entry_id, x.account AS account_code, ?::text AS county_code, 'test' AS party_type, v.id::text AS party_id, x.debit, x.credit
                 FROM (VALUES ${values}) v(id, amount, debit_amount)
                CROSS JOIN LATERAL (VALUES ('${ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE}', v.debit_amount, 0::numeric),
                                           ('${ACCOUNTS.HOUSEHOLDS_PAYABLE}', 0::numeric, v.amount)) x(account, debit, credit)`,
    bindings: [COUNTY, ...rows, COUNTY, ...rows],
  };
}

async function counts(): Promise<{ entries: number; lines: number }> {
  const e = await t.db("journal_entries").count<{ n: string }[]>("* as n");
  const l = await t.db("journal_lines").count<{ n: string }[]>("* as n");
  return { entries: Number(e[0].n), lines: Number(l[0].n) };
}

describe("set-based posting (postJournalEntriesFrom)", () => {
  it("posts one balanced entry per row with its lines, skips zero entries, and posts nothing twice", async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const q = batch([
      { id: ids[0], amount: "1333.33" },
      { id: ids[1], amount: "0.01" },
      { id: ids[2], amount: "0.00" },
    ]);
    const before = await counts();
    const first = await t.db.transaction((trx) => postJournalEntriesFrom(trx, q));
    expect(first).toEqual({ entries: 2, lines: 4 });
    const totals = await t.db("journal_entries").whereIn("id", ids).orderBy("total", "desc").select("id", "total");
    expect(totals).toEqual([
      { id: ids[0], total: "1333.33" },
      { id: ids[1], total: "0.01" },
    ]);
    expect((await accountBalance(t.db, ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE, ids[0])).toFixed(2)).toBe("1333.33");
    // The same batch again (a job re-run for the same date) finds its entries posted and writes nothing.
    const again = await t.db.transaction((trx) => postJournalEntriesFrom(trx, q));
    expect(again).toEqual({ entries: 0, lines: 0 });
    const after = await counts();
    expect(after).toEqual({ entries: before.entries + 2, lines: before.lines + 4 });
  });

  it("refuses the whole batch when one entry does not balance, or a line is not in fen, and writes nothing", async () => {
    const before = await counts();
    const unbalanced = batch([
      { id: randomUUID(), amount: "10.00" },
      { id: randomUUID(), amount: "10.00", debitAmount: "10.01" },
    ]);
    const err = await t.db.transaction((trx) => postJournalEntriesFrom(trx, unbalanced)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("UNBALANCED_ENTRY");
    const fraction = batch([{ id: randomUUID(), amount: "10.005" }]);
    const err2 = await t.db.transaction((trx) => postJournalEntriesFrom(trx, fraction)).catch((e: unknown) => e);
    expect((err2 as AppError).code).toBe("UNBALANCED_ENTRY");
    expect(await counts()).toEqual(before);
  });
});

describe("one entry with lines from SQL, and its reversal", () => {
  it("posts the header known in code with the selected lines; the reversal mirrors every line and happens once", async () => {
    const party = randomUUID();
    const lines = Array.from({ length: 50 }, (_, k) => ({ household: randomUUID(), amount: `${k + 1}.00` }));
    const values = lines.map(() => "(?::text, ?::numeric)").join(", ");
    const id = await t.db.transaction((trx) =>
      postJournalEntryFrom(
        trx,
        { countyCode: COUNTY, entryDate: "2025-06-20", kind: "test.payment", refType: "test", refId: party },
        {
          sql: `SELECT ? AS account_code, ? AS county_code, 'test' AS party_type, ? AS party_id, ?::numeric AS debit, 0 AS credit
                UNION ALL
                SELECT ?, ?, 'household', v.h, 0, v.a FROM (VALUES ${values}) v(h, a)`,
          bindings: [ACCOUNTS.DISTRIBUTION_POOL, COUNTY, party, "1275.00", ACCOUNTS.CASH, COUNTY, ...lines.flatMap((l) => [l.household, l.amount])],
        },
      ),
    );
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const header = await t.db("journal_entries").where({ id }).first();
    expect(header.total).toBe("1275.00");
    const [{ n }] = await t.db("journal_lines").where({ entry_id: id }).count<{ n: string }[]>("* as n");
    expect(Number(n)).toBe(51);
    expect((await unreversedEntriesOf(t.db, "test", party)).map((e) => e.id)).toEqual([id]);

    const rev = await t.db.transaction((trx) => reverseJournalEntry(trx, id!, { entryDate: "2025-06-21", memo: "冲正" }));
    expect((await accountBalance(t.db, ACCOUNTS.DISTRIBUTION_POOL, party)).toFixed(2)).toBe("0.00");
    const revHeader = await t.db("journal_entries").where({ id: rev }).first();
    expect(revHeader).toMatchObject({ kind: "test.payment.reversal", reverses_entry_id: id, total: "1275.00" });
    expect(await unreversedEntriesOf(t.db, "test", party)).toEqual([]);
    await expect(t.db.transaction((trx) => reverseJournalEntry(trx, id!, { entryDate: "2025-06-22" }))).rejects.toMatchObject({ code: "23505" });
  });

  it("answers null and writes nothing when every selected line is zero", async () => {
    const before = await counts();
    const id = await t.db.transaction((trx) =>
      postJournalEntryFrom(trx, { countyCode: COUNTY, entryDate: "2025-06-20", kind: "test.nothing" }, { sql: `SELECT '1001' AS account_code, ? AS county_code, NULL AS party_type, NULL AS party_id, 0 AS debit, 0 AS credit`, bindings: [COUNTY] }),
    );
    expect(id).toBeNull();
    expect(await counts()).toEqual(before);
  });

  it("keeps the single-entry path and the set-based path to the same rules", async () => {
    const err = await t.db
      .transaction((trx) => postJournalEntry(trx, { countyCode: COUNTY, entryDate: "2025-06-20", kind: "test", lines: [{ account: ACCOUNTS.CASH, debit: "1.00" }, { account: ACCOUNTS.FUND_CASH, credit: "0.99" }] }))
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe("UNBALANCED_ENTRY");
  });
});
