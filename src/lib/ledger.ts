import type { Knex } from "knex";
import { AppError } from "../http/errors.js";
import { type Dec, D, Money } from "./money.js";

/**
 * Double-entry journal. Every money movement posts one entry in the same transaction as the
 * business change: Σ debits = Σ credits, checked here and again by the database (a statement
 * trigger), append-only, corrected only by a reversing entry.
 */
export const ACCOUNTS = {
  CASH: "1001",
  LOAN_PRINCIPAL: "1301",
  INTEREST_RECEIVABLE: "1302",
  PENALTY_RECEIVABLE: "1303",
  SUBSIDY_RECEIVABLE: "1311",
  ENTRUSTED_PRINCIPAL: "1401",
  TRUSTEE_RETURN_RECEIVABLE: "1402",
  FUND_CASH: "1501",
  HOUSEHOLDS_PAYABLE: "2201",
  DISTRIBUTION_POOL: "2301",
  FUND_CAPITAL: "3001",
  INTEREST_INCOME: "4001",
  PENALTY_INCOME: "4002",
  ASSET_RETURN_INCOME: "4101",
  LOAN_LOSSES: "5001",
  SUBSIDY_EXPENSE: "5101",
  COLLECTIVE_RETENTION: "5201",
} as const;
export type AccountCode = (typeof ACCOUNTS)[keyof typeof ACCOUNTS];

export interface JournalLine {
  account: AccountCode;
  debit?: Dec | string;
  credit?: Dec | string;
  /** Sub-ledger: the business record this line belongs to (a loan, a fund, a household…). */
  partyType?: string;
  partyId?: string;
}

export interface JournalEntryInput {
  countyCode: string;
  entryDate: string;
  kind: string;
  refType?: string;
  refId?: string;
  memo?: string;
  actorId?: string | null;
  reversesEntryId?: string;
  lines: JournalLine[];
}

/** Checks and normalises lines: each has one positive side in fen, and the entry balances. */
export function balanceLines(lines: JournalLine[]): { lines: { account: AccountCode; debit: Dec; credit: Dec; partyType?: string; partyId?: string }[]; total: Dec } {
  const kept = [];
  let debits = new D(0);
  let credits = new D(0);
  for (const l of lines) {
    const debit = new D(l.debit ?? 0);
    const credit = new D(l.credit ?? 0);
    if (debit.isNeg() || credit.isNeg() || !debit.eq(Money.toFen(debit)) || !credit.eq(Money.toFen(credit))) {
      throw new AppError("UNBALANCED_ENTRY", `line on ${l.account} is not a non-negative amount in fen`);
    }
    if (debit.isZero() && credit.isZero()) continue; // a zero line carries nothing
    if (!debit.isZero() && !credit.isZero()) throw new AppError("UNBALANCED_ENTRY", `line on ${l.account} has both a debit and a credit`);
    debits = debits.plus(debit);
    credits = credits.plus(credit);
    kept.push({ account: l.account, debit, credit, partyType: l.partyType, partyId: l.partyId });
  }
  if (!debits.eq(credits)) throw new AppError("UNBALANCED_ENTRY", `debits ${Money.format(debits)} ≠ credits ${Money.format(credits)}`);
  return { lines: kept, total: debits };
}

/** Posts one balanced entry; returns its id, or null when every line is zero (nothing moved). */
export async function postJournalEntry(trx: Knex.Transaction, e: JournalEntryInput): Promise<string | null> {
  const { lines, total } = balanceLines(e.lines);
  if (total.isZero()) return null;
  const header = trx("journal_entries")
    .insert({
      county_code: e.countyCode,
      entry_date: e.entryDate,
      kind: e.kind,
      ref_type: e.refType ?? null,
      ref_id: e.refId ?? null,
      memo: e.memo ?? null,
      total: Money.format(total),
      reverses_entry_id: e.reversesEntryId ?? null,
      actor_id: e.actorId ?? null,
    })
    .toSQL();
  // The header and its lines in one statement; the balance trigger runs at its end and sees both.
  const values = lines.map(() => "(?::int, ?, ?::text, ?::text, ?::numeric, ?::numeric)").join(", ");
  const bindings = lines.flatMap((l, k) => [k, l.account, l.partyType ?? null, l.partyId ?? null, Money.format(l.debit), Money.format(l.credit)]);
  const { rows } = await trx.raw<{ rows: { entry_id: string }[] }>(
    `WITH entry AS (${header.sql} RETURNING id)
     INSERT INTO journal_lines (entry_id, account_code, county_code, party_type, party_id, debit, credit)
     SELECT entry.id, v.account_code, ?, v.party_type, v.party_id, v.debit, v.credit
       FROM entry, (VALUES ${values}) AS v(ord, account_code, party_type, party_id, debit, credit)
      ORDER BY v.ord
     RETURNING entry_id`,
    [...header.bindings, e.countyCode, ...bindings],
  );
  return rows[0].entry_id;
}

/** Posts the mirror image of an entry (debits ↔ credits); an entry is reversed at most once. */
export async function reverseJournalEntry(trx: Knex.Transaction, entryId: string, opts: { entryDate: string; memo?: string; actorId?: string | null }): Promise<string> {
  const entry = await trx("journal_entries").where({ id: entryId }).first();
  if (!entry) throw new AppError("NOT_FOUND", "No such journal entry");
  const lines = await trx("journal_lines").where({ entry_id: entryId }).orderBy("id");
  const id = await postJournalEntry(trx, {
    countyCode: entry.county_code,
    entryDate: opts.entryDate,
    kind: `${entry.kind}.reversal`,
    refType: entry.ref_type ?? undefined,
    refId: entry.ref_id ?? undefined,
    memo: opts.memo ?? `reversal of ${entryId}`,
    actorId: opts.actorId,
    reversesEntryId: entryId,
    lines: lines.map((l: { account_code: AccountCode; debit: string; credit: string; party_type: string | null; party_id: string | null }) => ({
      account: l.account_code,
      debit: l.credit,
      credit: l.debit,
      partyType: l.party_type ?? undefined,
      partyId: l.party_id ?? undefined,
    })),
  });
  return id!;
}

/** Balance (debit − credit) of an account, optionally of one party. */
export async function accountBalance(db: Knex | Knex.Transaction, account: AccountCode, partyId?: string): Promise<Dec> {
  const row = await db("journal_lines")
    .where({ account_code: account })
    .modify((q) => {
      if (partyId) q.andWhere({ party_id: partyId });
    })
    .select(db.raw("coalesce(sum(debit - credit), 0) as balance"))
    .first<{ balance: string }>();
  return new D(row.balance);
}

/** Reconciliation checks registered by modules: each compares ledger balances with business records. */
export interface ReconciliationCheck {
  name: string;
  description: string;
  /** Returns the differences found (empty when the ledger agrees). */
  run(db: Knex | Knex.Transaction, countyCodes: string[]): Promise<{ ref: string; ledger: string; records: string }[]>;
}
const checks: ReconciliationCheck[] = [];
export function registerReconciliationCheck(c: ReconciliationCheck): void {
  if (!checks.some((x) => x.name === c.name)) checks.push(c);
}
export function reconciliationChecks(): readonly ReconciliationCheck[] {
  return checks;
}

/**
 * A reconciliation check of one sub-ledger: for every party of `partyType`, the balance of `account`
 * (debit − credit) must equal the amount its business records say. `recordsSql` selects `id`,
 * `county_code` and `amount` per party; each difference is reported (at most 1,000).
 */
export function registerPartyBalanceCheck(c: { name: string; description: string; account: AccountCode; partyType: string; recordsSql: string }): void {
  registerReconciliationCheck({
    name: c.name,
    description: c.description,
    async run(db, countyCodes) {
      const { rows } = await db.raw<{ rows: { ref: string; ledger: string; records: string }[] }>(
        `WITH ledger AS (
           SELECT party_id, sum(debit - credit) AS balance FROM journal_lines
            WHERE account_code = ? AND party_type = ? AND county_code = ANY(?) GROUP BY party_id),
         records AS (SELECT r.id::text AS id, r.amount FROM (${c.recordsSql}) r WHERE r.county_code = ANY(?))
         SELECT coalesce(r.id, g.party_id) AS ref, coalesce(g.balance, 0)::text AS ledger, coalesce(r.amount, 0)::text AS records
           FROM records r FULL JOIN ledger g ON g.party_id = r.id
          WHERE coalesce(g.balance, 0) <> coalesce(r.amount, 0)
          ORDER BY 1 LIMIT 1000`,
        [c.account, c.partyType, countyCodes, countyCodes],
      );
      return rows.map((r) => ({ ref: `${c.partyType}:${r.ref}`, ledger: Money.format(r.ledger), records: Money.format(r.records) }));
    },
  });
}
