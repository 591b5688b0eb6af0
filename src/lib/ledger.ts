import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { AppError, notFound } from "./errors.js";
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
  OPENING_BALANCES: "3101",
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
      throw new AppError("UNBALANCED_ENTRY", { zh: `科目 ${l.account} 的分录行金额须为非负数且精确到分`, en: `line on ${l.account} is not a non-negative amount in fen` });
    }
    if (debit.isZero() && credit.isZero()) continue; // a zero line carries nothing
    if (!debit.isZero() && !credit.isZero()) throw new AppError("UNBALANCED_ENTRY", { zh: `科目 ${l.account} 的分录行同时有借方和贷方金额`, en: `line on ${l.account} has both a debit and a credit` });
    debits = debits.plus(debit);
    credits = credits.plus(credit);
    kept.push({ account: l.account, debit, credit, partyType: l.partyType, partyId: l.partyId });
  }
  if (!debits.eq(credits)) throw new AppError("UNBALANCED_ENTRY", { zh: `借方合计 ${Money.format(debits)} ≠ 贷方合计 ${Money.format(credits)}`, en: `debits ${Money.format(debits)} ≠ credits ${Money.format(credits)}` });
  return { lines: kept, total: debits };
}

/**
 * One balanced entry as SQL to run inside the caller's own statement: two data-modifying CTEs,
 * `journal_entry` (the header, its id assigned here) and `journal_entry_lines`, to follow a `WITH`
 * or a comma. The lines are checked here (`balanceLines`); the database's balance trigger checks
 * them again at the end of the caller's statement. Null when every line is zero (nothing moved).
 * So a business write and its entry go to the database in one round trip (a repayment does).
 */
export function journalEntryCtes(e: JournalEntryInput): { id: string; sql: string; bindings: Knex.RawBinding[] } | null {
  const { lines, total } = balanceLines(e.lines);
  if (total.isZero()) return null;
  const id = randomUUID();
  const values = lines.map(() => "(?::int, ?, ?::text, ?::text, ?::numeric, ?::numeric)").join(", ");
  return {
    id,
    sql: `journal_entry AS (
            INSERT INTO journal_entries (id, county_code, entry_date, kind, ref_type, ref_id, memo, total, reverses_entry_id, actor_id)
            VALUES (?::uuid, ?, ?::date, ?, ?, ?, ?, ?::numeric, ?::uuid, ?::uuid) RETURNING id),
          journal_entry_lines AS (
            INSERT INTO journal_lines (entry_id, account_code, county_code, party_type, party_id, debit, credit)
            SELECT journal_entry.id, v.account_code, ?, v.party_type, v.party_id, v.debit, v.credit
              FROM journal_entry, (VALUES ${values}) AS v(ord, account_code, party_type, party_id, debit, credit)
             ORDER BY v.ord
            RETURNING entry_id)`,
    bindings: [
      id,
      e.countyCode,
      e.entryDate,
      e.kind,
      e.refType ?? null,
      e.refId ?? null,
      e.memo ?? null,
      Money.format(total),
      e.reversesEntryId ?? null,
      e.actorId ?? null,
      e.countyCode,
      ...lines.flatMap((l, k) => [k, l.account, l.partyType ?? null, l.partyId ?? null, Money.format(l.debit), Money.format(l.credit)]),
    ],
  };
}

/** Posts one balanced entry; returns its id, or null when every line is zero (nothing moved). */
export async function postJournalEntry(trx: Knex.Transaction, e: JournalEntryInput): Promise<string | null> {
  const entry = journalEntryCtes(e);
  if (!entry) return null;
  // The header and its lines in one statement; the balance trigger runs at its end and sees both.
  await trx.raw(`WITH ${entry.sql} SELECT count(*) FROM journal_entry_lines`, entry.bindings);
  return entry.id;
}

/**
 * Entries whose lines come from SQL, for batches too large to list in code (a distribution paid
 * to thousands of households, a night's trustee returns falling due). `entriesSql` selects one row
 * per entry: `id` (a uuid the caller assigns, so `linesSql` can name it), `county_code`,
 * `entry_date`, `kind`, `ref_type`, `ref_id`, `memo`, `actor_id`, `reverses_entry_id`;
 * `linesSql` selects `entry_id`, `account_code`, `county_code`, `party_type`, `party_id`,
 * `debit`, `credit`. Both share `bindings` (positional `?`, entries' first).
 *
 * The same rules as `postJournalEntry`, checked in the same statement before anything is written:
 * every line non-negative, in fen, on one side; every entry balanced. An entry whose lines are all
 * zero is not posted (nothing moved), and an entry whose id is already in the journal is skipped,
 * so a batch job that runs again for the same date posts nothing twice — unless `fresh` says the
 * ids were just drawn (random, never posted), which spares each header that probe. Throws UNBALANCED_ENTRY
 * (and writes nothing) when a rule is broken.
 */
export async function postJournalEntriesFrom(
  trx: Knex.Transaction,
  q: { entriesSql: string; linesSql: string; bindings?: readonly Knex.RawBinding[]; fresh?: boolean },
): Promise<{ entries: number; lines: number }> {
  const { rows } = await trx.raw<{ rows: { entries: number; lines: number; broken: { entry_id: string; d: string; c: string }[] | null }[] }>(
    `WITH e AS (${q.entriesSql}),
          l AS (${q.linesSql}),
          t AS (SELECT entry_id, sum(debit) AS d, sum(credit) AS c,
                       bool_and(debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0) AND debit = round(debit, 2) AND credit = round(credit, 2)) AS sides_ok
                  FROM l GROUP BY entry_id),
          broken AS (SELECT entry_id, d, c FROM t WHERE NOT sides_ok OR d <> c),
          hdr AS (INSERT INTO journal_entries (id, county_code, entry_date, kind, ref_type, ref_id, memo, total, actor_id, reverses_entry_id)
                  SELECT e.id, e.county_code, e.entry_date, e.kind, e.ref_type, e.ref_id, e.memo, t.d, e.actor_id, e.reverses_entry_id
                    FROM e JOIN t ON t.entry_id = e.id
                   WHERE t.d > 0 AND NOT EXISTS (SELECT 1 FROM broken)
                  ${q.fresh ? "" : "ON CONFLICT (id) DO NOTHING"}
                  RETURNING id),
          ins AS (INSERT INTO journal_lines (entry_id, account_code, county_code, party_type, party_id, debit, credit)
                  SELECT l.entry_id, l.account_code, l.county_code, l.party_type, l.party_id, l.debit, l.credit
                    FROM l JOIN hdr ON hdr.id = l.entry_id
                   WHERE l.debit <> 0 OR l.credit <> 0
                  RETURNING 1)
     SELECT (SELECT count(*)::int FROM hdr) AS entries, (SELECT count(*)::int FROM ins) AS lines,
            (SELECT json_agg(json_build_object('entry_id', entry_id, 'd', d::text, 'c', c::text)) FROM (SELECT * FROM broken LIMIT 3) b) AS broken`,
    [...(q.bindings ?? [])],
  );
  const r = rows[0];
  if (r.broken?.length) {
    const b = r.broken[0];
    throw new AppError("UNBALANCED_ENTRY", {
      zh: `分录 ${b.entry_id}：借方合计 ${Money.format(b.d)}，贷方合计 ${Money.format(b.c)}，或有分录行为负数、未精确到分或同时有借贷两方金额`,
      en: `entry ${b.entry_id}: debits ${Money.format(b.d)}, credits ${Money.format(b.c)}, or a line that is negative, not in fen or on both sides`,
    });
  }
  return { entries: r.entries, lines: r.lines };
}

/** One entry whose header is known in code and whose lines come from SQL; returns its id, or null when nothing moved. */
export async function postJournalEntryFrom(
  trx: Knex.Transaction,
  e: Omit<JournalEntryInput, "lines">,
  lines: { sql: string; bindings?: readonly Knex.RawBinding[] },
): Promise<string | null> {
  const id = randomUUID();
  const posted = await postJournalEntriesFrom(trx, {
    entriesSql: `SELECT ?::uuid AS id, ?::text AS county_code, ?::date AS entry_date, ?::text AS kind, ?::text AS ref_type, ?::text AS ref_id,
                        ?::text AS memo, ?::uuid AS actor_id, ?::uuid AS reverses_entry_id`,
    linesSql: `SELECT ?::uuid AS entry_id, x.account_code::text AS account_code, x.county_code::text AS county_code, x.party_type::text AS party_type,
                      x.party_id::text AS party_id, x.debit::numeric AS debit, x.credit::numeric AS credit FROM (${lines.sql}) x`,
    bindings: [id, e.countyCode, e.entryDate, e.kind, e.refType ?? null, e.refId ?? null, e.memo ?? null, e.actorId ?? null, e.reversesEntryId ?? null, id, ...(lines.bindings ?? [])],
  });
  return posted.entries === 1 ? id : null;
}

/**
 * Posts the mirror image of an entry (debits ↔ credits), its lines copied in the database however
 * many there are; an entry is reversed at most once (a unique index).
 */
export async function reverseJournalEntry(trx: Knex.Transaction, entryId: string, opts: { entryDate: string; memo?: string; actorId?: string | null }): Promise<string> {
  const entry = await trx("journal_entries").where({ id: entryId }).first<{ county_code: string; kind: string; ref_type: string | null; ref_id: string | null } | undefined>();
  if (!entry) throw notFound("journal entry");
  const id = await postJournalEntryFrom(
    trx,
    {
      countyCode: entry.county_code,
      entryDate: opts.entryDate,
      kind: `${entry.kind}.reversal`,
      refType: entry.ref_type ?? undefined,
      refId: entry.ref_id ?? undefined,
      memo: opts.memo ?? `reversal of ${entryId}`,
      actorId: opts.actorId,
      reversesEntryId: entryId,
    },
    { sql: "SELECT account_code, county_code, party_type, party_id, credit AS debit, debit AS credit FROM journal_lines WHERE entry_id = ?::uuid", bindings: [entryId] },
  );
  return id!;
}

/** The entries posted for a business record that are neither reversals nor reversed yet, oldest first. */
export async function unreversedEntriesOf(db: Knex | Knex.Transaction, refType: string, refId: string): Promise<{ id: string; kind: string }[]> {
  return db("journal_entries as e")
    .where({ "e.ref_type": refType, "e.ref_id": refId })
    .whereNull("e.reverses_entry_id")
    .whereNotExists(db("journal_entries as r").whereRaw("r.reverses_entry_id = e.id").select(1))
    .orderBy("e.created_at")
    .select<{ id: string; kind: string }[]>("e.id", "e.kind");
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
 * (debit − credit, or credit − debit for an account whose normal side is credit) must equal the amount its business records say. `recordsSql` selects `id`,
 * `county_code` and `amount` per party; each difference is reported (at most 1,000).
 */
export function registerPartyBalanceCheck(c: {
  name: string;
  description: string;
  account: AccountCode;
  partyType: string;
  recordsSql: string;
  /** The account's normal side: a liability such as a distribution pool holds credits (balance credit − debit). */
  normal?: "debit" | "credit";
}): void {
  const balance = c.normal === "credit" ? "sum(credit - debit)" : "sum(debit - credit)";
  registerReconciliationCheck({
    name: c.name,
    description: c.description,
    async run(db, countyCodes) {
      const { rows } = await db.raw<{ rows: { ref: string; ledger: string; records: string }[] }>(
        `WITH ledger AS (
           SELECT party_id, ${balance} AS balance FROM journal_lines
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

/** The trial balance and every registered check over the given counties: what `GET /ledger/reconciliation` answers. */
export async function reconcile(db: Knex | Knex.Transaction, countyCodes: string[]) {
  const tb = await db("journal_lines")
    .whereIn("county_code", countyCodes)
    .select(db.raw("coalesce(sum(debit), 0) as debits, coalesce(sum(credit), 0) as credits"))
    .first<{ debits: string; credits: string }>();
  const results = [];
  for (const c of checks) {
    const differences = await c.run(db, countyCodes);
    results.push({ name: c.name, description: c.description, ok: differences.length === 0, differences });
  }
  const balanced = Money.of(Money.format(tb.debits)).eq(Money.of(Money.format(tb.credits)));
  return {
    ok: balanced && results.every((c) => c.ok),
    trial_balance: { debits: Money.format(tb.debits), credits: Money.format(tb.credits), balanced },
    checks: results,
  };
}
