/**
 * Many repayments at once (a bank's settlement-day file): the same decision as a single repayment
 * (`decideRepayment`: value date, allocation, schedule after it), computed in memory for a chunk
 * of payments, then the chunk written in a few statements — periods in one upsert and one delete,
 * loans in one update, repayments in one insert, journal entries in one set-based posting, audit
 * records in one append. A settlement day's common payment (exactly the interest due on the last
 * closed date by a current loan: `settlementDayPayments`) is written without running the model, in
 * one statement that leaves what the model's writes would (tested against it on twin loans). A
 * payment refused (the API's own code) or a duplicate bank reference moves nothing and does not
 * stop the others. Payments of one loan are applied in the order given (value date, then file
 * order), each over the loan as the one before left it.
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { type Actor } from "../../http/auth.js";
import { type AuditActor, type AuditRecord, appendAudit } from "../../lib/audit.js";
import { AppError } from "../../lib/errors.js";
import { ACCOUNTS, postJournalEntriesFrom } from "../../lib/ledger.js";
import { daysBetween } from "../../lib/dates.js";
import { D } from "../../lib/money.js";
import type { SubsidyTerms } from "./household-interest.js";
import { dpdBucket } from "./model.js";
import { changedPeriods, keptRowsSql, type LoanRow, loanScope, packPeriods, type PeriodRow } from "./queries.js";
import { databaseSources, decideRepayment, type RepaymentSources } from "./repayment.js";
import { fmt } from "./common.js";
import { isActive } from "./standing.js";
import { closedThrough, daysBackOf, type LatestRepayment, latestValueDate, type ScheduleBase } from "./value-dates.js";

export interface BatchPayment {
  /** The caller's name for the payment (a file's line). */
  key: string;
  loanId?: string | null;
  contractNo?: string | null;
  /** 起息日; today when absent. */
  valueDate?: string | null;
  amount: string;
  reference: string;
}

export type BatchOutcome =
  | { key: string; status: "APPLIED"; loanId: string; repaymentId: string; paidOn: string; principal: string; interest: string; penalty: string; outstanding: string }
  | { key: string; status: "REFUSED" | "DUPLICATE"; loanId: string | null; code: string; message: string };

interface LoanState {
  loan: LoanRow;
  stored: PeriodRow[];
  rows: PeriodRow[];
  latest?: LatestRepayment;
  touched: boolean;
}

const PERIOD_COLUMNS = `loan_id, seq, county_code, accrual_start, accrual_end, due_date, overdue_from, days, opening_principal, principal_due, interest_due,
  interest_subsidy, subsidy_forfeited, principal_paid, interest_paid, penalty_accrued, penalty_paid, penalty_through, carried_interest, carried_through,
  frame_days, status, settled_on`;
const PERIOD_UPDATES = PERIOD_COLUMNS.split(",")
  .map((c) => c.trim())
  .filter((c) => !["loan_id", "seq", "county_code"].includes(c))
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(", ");
const REPAYMENT_COLUMNS = `id, loan_id, county_code, bank_id, paid_on, entered_on, schedule_before, amount, penalty, interest, principal, prepayment, kind, source,
  reference, allocation, journal_entry_id, actor_id, created_at`;
// The settlement-day path keeps the schedule as the periods' rows (`schedule_kept`) instead of packed JSON.
const SETTLEMENT_DAY_REPAYMENT_COLUMNS = REPAYMENT_COLUMNS.replace("schedule_before", "schedule_kept");

/** Off: every payment decided by the model (`decideRepayment`), the reference the settlement-day path is tested against. */
export interface BatchOptions {
  settlementDayPath?: boolean;
}

/** What a payment moves, as the journal, the audit record and the outcome state it. */
interface Booked {
  loan: LoanRow;
  after: Pick<LoanRow, "status" | "outstanding_principal" | "dpd">;
  on: string;
  amount: string;
  principal: string;
  interest: string;
  penalty: string;
  repaymentId: string;
  entryId: string;
}

/** Applies a chunk of a bank's payments inside the caller's transaction; one outcome per payment, in the order given. */
export async function applyRepaymentBatch(
  trx: Knex.Transaction,
  ctx: AuditActor & { actor: Actor; clock: { today(): string; now(): Date } },
  payments: BatchPayment[],
  opts: BatchOptions = {},
): Promise<BatchOutcome[]> {
  const today = ctx.clock.today();
  const now = ctx.clock.now();
  const ids = [...new Set(payments.map((p) => p.loanId).filter((x): x is string => Boolean(x)))];
  const nos = [...new Set(payments.map((p) => p.contractNo).filter((x): x is string => Boolean(x)))];
  const q = trx("loans").where((w) => w.whereIn("loans.id", ids).orWhereIn("loans.contract_no", nos));
  loanScope(q, ctx.actor);
  const loans = await q.orderBy("loans.id").forUpdate().select<LoanRow[]>("loans.*");
  const byNo = new Map(loans.filter((l) => l.contract_no).map((l) => [l.contract_no as string, l]));
  const state = new Map<string, LoanState>();
  for (const l of loans) state.set(l.id, { loan: l, stored: [], rows: [], touched: false });
  const refs = payments.map((p) => p.reference);
  // Each reference looked up in the bank's index (not the bank's every reference read and filtered, as the planner would).
  const probed = await trx.raw<{ rows: { reference: string }[] }>(
    `SELECT x.reference FROM unnest(?::text[]) AS x(reference)
       CROSS JOIN LATERAL (SELECT 1 FROM loan_repayments r WHERE r.bank_id = ? AND r.reference = x.reference AND r.source <> 'TRUSTEE' LIMIT 1) r`,
    [[...new Set(refs)], ctx.actor.bankId ?? "00000000-0000-0000-0000-000000000000"],
  );
  const recorded = new Set(probed.rows.map((r) => r.reference));
  const stateOf = (p: BatchPayment) => (p.loanId ? state.get(p.loanId) : undefined) ?? (p.contractNo ? state.get(byNo.get(p.contractNo)?.id ?? "") : undefined);
  const settled = opts.settlementDayPath === false ? new Map<number, SettlementDue>() : await settlementDayPayments(trx, payments, payments.map((p) => stateOf(p)?.loan), recorded, today);
  // The model's loans: their periods read whole, their sources loaded.
  const modelled = [
    ...new Set(
      payments.flatMap((p, k) => {
        const id = stateOf(p)?.loan.id;
        return id && !settled.has(k) ? [id] : [];
      }),
    ),
  ];
  const periods = modelled.length ? await trx("loan_schedule_periods").whereIn("loan_id", modelled).orderBy(["loan_id", "seq"]).select<PeriodRow[]>() : [];
  for (const p of periods) state.get(p.loan_id)!.stored.push(p);
  for (const s of state.values()) s.rows = s.stored;
  const src = await bulkSources(trx, modelled, payments.some((p, k) => !settled.has(k) && p.valueDate && p.valueDate < today));
  const scheduleOf = new Map<string, PeriodRow[]>();
  const batchSrc: RepaymentSources = {
    ...src,
    latest: async (loan) => state.get(loan.id)?.latest ?? src.latest(loan),
    scheduleBefore: async (id) => scheduleOf.get(id) ?? src.scheduleBefore(id),
  };

  const outcomes: BatchOutcome[] = [];
  const repayments: Record<string, unknown>[] = [];
  const fast: FastWrite[] = [];
  const journal = new Journal();
  const audit: AuditRecord[] = [];
  const book = (p: BatchPayment, b: Booked) => {
    const { loan, entryId } = b;
    journal.entry(entryId, loan, b.on, `repayment ${p.reference}`);
    journal.line(entryId, loan.county_code, ACCOUNTS.CASH, { debit: b.amount, credit: "0.00" }, ["bank", loan.bank_id]);
    journal.line(entryId, loan.county_code, ACCOUNTS.LOAN_PRINCIPAL, { debit: "0.00", credit: b.principal }, ["loan", loan.id]);
    journal.line(entryId, loan.county_code, ACCOUNTS.INTEREST_INCOME, { debit: "0.00", credit: b.interest }, ["loan", loan.id]);
    journal.line(entryId, loan.county_code, ACCOUNTS.PENALTY_INCOME, { debit: "0.00", credit: b.penalty }, ["loan", loan.id]);
    const view = { id: b.repaymentId, paid_on: b.on, amount: b.amount, penalty: b.penalty, interest: b.interest, principal: b.principal, reference: p.reference, loan: { status: b.after.status, outstanding_principal: b.after.outstanding_principal, dpd: b.after.dpd } };
    audit.push({ action: "loan.repayment", entityType: "loan", entityId: loan.id, countyCode: loan.county_code, before: { status: loan.status, outstanding_principal: fmt(loan.outstanding_principal) }, after: view });
    outcomes.push({ key: p.key, status: "APPLIED", loanId: loan.id, repaymentId: b.repaymentId, paidOn: b.on, principal: b.principal, interest: b.interest, penalty: b.penalty, outstanding: fmt(b.after.outstanding_principal) });
  };
  for (const [k, p] of payments.entries()) {
    const s = stateOf(p);
    if (!s) {
      outcomes.push({ key: p.key, status: "REFUSED", loanId: null, code: "NOT_FOUND", message: `未找到该贷款（合同号或贷款编号不属于本行）/ no such loan of this bank: ${p.contractNo ?? p.loanId}` });
      continue;
    }
    if (recorded.has(p.reference)) {
      outcomes.push({ key: p.key, status: "DUPLICATE", loanId: s.loan.id, code: "DUPLICATE_BANK_REFERENCE", message: `银行流水号 ${p.reference} 已入账 / bank reference already recorded` });
      continue;
    }
    const due = settled.get(k);
    if (due) {
      recorded.add(p.reference);
      const b: Booked = { loan: s.loan, after: { status: s.loan.status, outstanding_principal: fmt(s.loan.outstanding_principal), dpd: 0 }, on: due.on, amount: due.amount, principal: "0.00", interest: due.amount, penalty: "0.00", repaymentId: randomUUID(), entryId: randomUUID() };
      fast.push({ loanId: s.loan.id, county: s.loan.county_code, bankId: s.loan.bank_id, seq: due.seq, amount: due.amount, id: b.repaymentId, entryId: b.entryId, reference: p.reference, curStart: due.curStart, curEnd: due.curEnd, curInterest: due.curInterest });
      book(p, b);
      continue;
    }
    let d: Awaited<ReturnType<typeof decideRepayment>>;
    try {
      d = await decideRepayment(batchSrc, s.loan, s.rows, { amount: p.amount, value_date: p.valueDate ?? undefined }, today);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      outcomes.push({ key: p.key, status: "REFUSED", loanId: s.loan.id, code: err.code, message: err.detail ?? err.code });
      continue;
    }
    recorded.add(p.reference);
    const { plan, after, on, amount } = d;
    const loan = s.loan;
    const repaymentId = randomUUID();
    const entryId = randomUUID();
    scheduleOf.set(repaymentId, d.rows);
    s.latest = { id: repaymentId, paid_on: on, amount: fmt(amount), principal: fmt(plan.principal) };
    s.loan = { ...loan, outstanding_principal: fmt(plan.outstanding), ...after.standing, ...(plan.closed ? { status: "REPAID", closed_on: on } : {}) };
    s.rows = after.rows;
    s.touched = true;
    repayments.push({
      id: repaymentId,
      loan_id: loan.id,
      county_code: loan.county_code,
      bank_id: loan.bank_id,
      paid_on: on,
      entered_on: today,
      schedule_before: packPeriods(d.rows),
      amount: fmt(amount),
      penalty: fmt(plan.penalty),
      interest: fmt(plan.interest),
      principal: fmt(plan.principal),
      prepayment: fmt(plan.prepayment),
      kind: "REPAYMENT",
      source: "BORROWER",
      reference: p.reference,
      allocation: plan.allocation.perPeriod.map((a) => ({ seq: a.seq, penalty: fmt(a.penalty), interest: fmt(a.interest), principal: fmt(a.principal) })),
      journal_entry_id: entryId,
      actor_id: ctx.actor.userId,
      created_at: now.toISOString(),
    });
    book(p, { loan, after: s.loan, on, amount: fmt(amount), principal: fmt(plan.principal), interest: fmt(plan.interest), penalty: fmt(plan.penalty), repaymentId, entryId });
  }
  await journal.post(trx, ctx.actor.userId);
  await writeBatch(trx, [...state.values()].filter((s) => s.touched), repayments, now);
  const on = [...settled.values()][0]?.on;
  if (on) await writeSettlementDay(trx, fast, { on, today, actorId: ctx.actor.userId, now });
  if (audit.length > 0) await appendAudit(trx, ctx, audit);
  return outcomes;
}

async function writeBatch(trx: Knex.Transaction, touched: LoanState[], repayments: Record<string, unknown>[], now: Date): Promise<void> {
  if (touched.length === 0) return;
  // The rows arrive as JSON, which the planner guesses at 100 rows: with a chunk's thousands it would
  // join them by nested loops; hash joins are what these statements need.
  await trx.raw("SET LOCAL enable_nestloop = off");
  const writes = touched.flatMap((s) => changedPeriods(s.stored, s.rows));
  const ends = touched.filter((s) => s.stored.some((r) => r.seq > (s.rows[s.rows.length - 1]?.seq ?? 0))).map((s) => ({ loan_id: s.loan.id, last: s.rows[s.rows.length - 1]?.seq ?? 0 }));
  if (ends.length > 0) {
    await trx.raw(`DELETE FROM loan_schedule_periods p USING json_to_recordset(?::json) AS v(loan_id uuid, last int) WHERE p.loan_id = v.loan_id AND p.seq > v.last`, [JSON.stringify(ends)]);
  }
  if (writes.length > 0) {
    await trx.raw(
      `INSERT INTO loan_schedule_periods (${PERIOD_COLUMNS})
       SELECT ${PERIOD_COLUMNS} FROM json_populate_recordset(NULL::loan_schedule_periods, ?::json)
       ON CONFLICT (loan_id, seq) DO UPDATE SET ${PERIOD_UPDATES}`,
      [JSON.stringify(writes)],
    );
  }
  const loanRows = touched.map(({ loan: l }) => ({
    id: l.id,
    outstanding_principal: l.outstanding_principal,
    dpd: l.dpd,
    dpd_bucket: l.dpd_bucket,
    overdue_principal: l.overdue_principal,
    overdue_interest: l.overdue_interest,
    penalty_due: l.penalty_due,
    cur_period_start: l.cur_period_start,
    cur_period_end: l.cur_period_end,
    cur_period_interest: l.cur_period_interest,
    standing_date: l.standing_date,
    status: l.status,
    closed_on: l.closed_on,
  }));
  await trx.raw(
    `UPDATE loans l SET outstanding_principal = v.outstanding_principal, dpd = v.dpd, dpd_bucket = v.dpd_bucket, overdue_principal = v.overdue_principal,
            overdue_interest = v.overdue_interest, penalty_due = v.penalty_due, cur_period_start = v.cur_period_start, cur_period_end = v.cur_period_end,
            cur_period_interest = v.cur_period_interest, standing_date = v.standing_date, status = v.status, closed_on = v.closed_on,
            updated_at = ?::timestamptz, version = l.version + 1
       FROM json_to_recordset(?::json) AS v(id uuid, outstanding_principal numeric, dpd int, dpd_bucket text, overdue_principal numeric, overdue_interest numeric,
            penalty_due numeric, cur_period_start date, cur_period_end date, cur_period_interest numeric, standing_date date, status text, closed_on date)
      WHERE l.id = v.id`,
    [now.toISOString(), JSON.stringify(loanRows)],
  );
  await trx.raw(`INSERT INTO loan_repayments (${REPAYMENT_COLUMNS}) SELECT ${REPAYMENT_COLUMNS} FROM json_populate_recordset(NULL::loan_repayments, ?::json)`, [JSON.stringify(repayments)]);
  await trx.raw("RESET enable_nestloop");
}

/** The chunk's journal entries (one per payment applied), a column per array, and their lines that move money. */
class Journal {
  readonly entries = { id: [] as string[], county: [] as string[], date: [] as string[], loan: [] as string[], memo: [] as string[] };
  readonly lines = { entry: [] as string[], account: [] as string[], county: [] as string[], partyType: [] as string[], partyId: [] as string[], debit: [] as string[], credit: [] as string[] };

  entry(id: string, loan: Pick<LoanRow, "id" | "county_code">, date: string, memo: string): void {
    const e = this.entries;
    e.id.push(id);
    e.county.push(loan.county_code);
    e.date.push(date);
    e.loan.push(loan.id);
    e.memo.push(memo);
  }

  /** A line of the entry; a zero line carries nothing (the posting leaves it out too). */
  line(entryId: string, county: string, account: string, amounts: { debit: string; credit: string }, party: [string, string]): void {
    if (amounts.debit === "0.00" && amounts.credit === "0.00") return;
    const l = this.lines;
    l.entry.push(entryId);
    l.account.push(account);
    l.county.push(county);
    l.partyType.push(party[0]);
    l.partyId.push(party[1]);
    l.debit.push(amounts.debit);
    l.credit.push(amounts.credit);
  }

  /** Posted in one set-based statement (`postJournalEntriesFrom`), its joins by hashing (nested loops over a chunk's thousands would crawl). */
  async post(trx: Knex.Transaction, actorId: string): Promise<void> {
    const e = this.entries;
    const l = this.lines;
    if (e.id.length === 0) return;
    await trx.raw("SET LOCAL enable_nestloop = off");
    await postJournalEntriesFrom(trx, {
      entriesSql: `SELECT e.id, e.county_code, e.entry_date, 'loan.repayment'::text AS kind, 'loan'::text AS ref_type, e.ref_id, e.memo, ?::uuid AS actor_id, NULL::uuid AS reverses_entry_id
                     FROM unnest(?::uuid[], ?::text[], ?::date[], ?::text[], ?::text[]) AS e(id, county_code, entry_date, ref_id, memo)`,
      linesSql: `SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::numeric[]) AS l(entry_id, account_code, county_code, party_type, party_id, debit, credit)`,
      bindings: [actorId, e.id, e.county, e.date, e.loan, e.memo, l.entry, l.account, l.county, l.partyType, l.partyId, l.debit, l.credit],
      fresh: true, // ids drawn for this chunk
    });
    await trx.raw("RESET enable_nestloop");
  }
}

/** A settlement-day payment (see `settlementDayPayments`): the period it pays, and the period interest accrues in after it. */
interface SettlementDue {
  on: string;
  /** The payment, formatted: exactly the interest due. */
  amount: string;
  seq: number;
  curStart: string;
  curEnd: string;
  curInterest: string;
}

interface FastWrite {
  loanId: string;
  county: string;
  bankId: string;
  seq: number;
  amount: string;
  id: string;
  entryId: string;
  reference: string;
  curStart: string;
  curEnd: string;
  curInterest: string;
}

const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;

/**
 * The chunk's payments that are a settlement day's common case, by their index, each with what
 * the model would decide for it without running it: a payment with its value date on the last
 * closed date (before today, within the county's days back, not before the loan's latest value
 * date), the only payment of an active loan in the chunk, its bank reference new and once in the
 * chunk, on a loan whose every period due before that date is settled, whose period due that date
 * is DUE with only interest owed and no penalty, whose later periods are PENDING, with no subsidy
 * share and no penalty through that date anywhere — and the amount exactly that interest. The
 * model then takes the interest into that period (PAID that date), leaves the loan current with
 * the next period as the one interest accrues in, and keeps the stored schedule as the one the
 * payment was allocated over (the close of that date only marked the period due). Every other
 * payment goes through `decideRepayment`.
 */
async function settlementDayPayments(trx: Knex.Transaction, payments: BatchPayment[], loans: (LoanRow | undefined)[], recorded: Set<string>, today: string): Promise<Map<number, SettlementDue>> {
  const found = new Map<number, SettlementDue>();
  const closed = await closedThrough(trx);
  if (!closed || closed >= today) return found;
  const perLoan = new Map<string, number>();
  const perRef = new Map<string, number>();
  payments.forEach((p, k) => {
    const id = loans[k]?.id;
    if (id) perLoan.set(id, (perLoan.get(id) ?? 0) + 1);
    perRef.set(p.reference, (perRef.get(p.reference) ?? 0) + 1);
  });
  const candidates = new Map<string, number>();
  payments.forEach((p, k) => {
    const loan = loans[k];
    if (!loan || !isActive(loan) || p.valueDate !== closed || perLoan.get(loan.id) !== 1 || perRef.get(p.reference) !== 1 || recorded.has(p.reference)) return;
    if (!AMOUNT.test(p.amount) || !new D(loan.outstanding_principal).gt(0)) return;
    candidates.set(loan.id, k);
  });
  if (candidates.size === 0) return found;
  const { rows } = await trx.raw<{ rows: { loan_id: string; county_code: string; seq: number; owed: string; cur_start: string; cur_end: string; cur_interest: string; latest: string | null }[] }>(
    // Each loan's periods read once by its key (not every period due that date read and filtered): the period due that
    // date (the one DUE), the first due after it, and how many periods stand in the way.
    `SELECT c.id AS loan_id, g.county_code, g.seq, g.owed, g.cur_start, g.cur_end, g.cur_interest,
            greatest((SELECT b.value_date FROM loan_schedule_bases b WHERE b.loan_id = c.id),
                     (SELECT max(x.paid_on) FROM loan_repayments x WHERE x.loan_id = c.id AND x.reversed_at IS NULL)) AS latest
       FROM unnest(?::uuid[]) AS c(id)
       CROSS JOIN LATERAL (
         SELECT min(p.county_code) AS county_code,
                min(p.seq) FILTER (WHERE p.due) AS seq,
                min((p.interest_due - p.interest_paid)::text) FILTER (WHERE p.due) AS owed,
                (array_agg(p.accrual_start ORDER BY p.seq) FILTER (WHERE p.due_date > p.d0))[1] AS cur_start,
                (array_agg(p.accrual_end ORDER BY p.seq) FILTER (WHERE p.due_date > p.d0))[1] AS cur_end,
                (array_agg(p.interest_due::text ORDER BY p.seq) FILTER (WHERE p.due_date > p.d0))[1] AS cur_interest,
                count(*) FILTER (WHERE p.due AND p.principal_due = p.principal_paid AND p.penalty_accrued = 0 AND p.penalty_paid = 0 AND p.interest_due > p.interest_paid) AS payable,
                count(*) FILTER (WHERE p.interest_subsidy <> 0 OR p.subsidy_forfeited IS NOT NULL OR p.penalty_through >= p.d0
                                    OR (p.due_date > p.d0 AND p.status <> 'PENDING')
                                    OR (p.due_date <= p.d0 AND NOT p.due
                                        AND NOT (p.status IN ('PAID', 'CLOSED') AND p.principal_due = p.principal_paid AND p.interest_due = p.interest_paid
                                                 AND round(p.penalty_accrued, 2) <= p.penalty_paid))) AS blocking
           FROM (SELECT k.*, ?::date AS d0, (k.due_date = ?::date AND k.status = 'DUE') AS due FROM loan_schedule_periods k WHERE k.loan_id = c.id) p
       ) g
      WHERE g.payable = 1 AND g.blocking = 0 AND g.cur_end > ?::date`,
    [[...candidates.keys()], closed, closed, closed],
  );
  const daysBack = new Map<string, number>();
  for (const r of rows) {
    const k = candidates.get(r.loan_id)!;
    const loan = loans[k]!;
    if (!daysBack.has(r.county_code)) daysBack.set(r.county_code, await daysBackOf(trx, r.county_code));
    const latest = latestValueDate(loan, r.latest ? { value_date: r.latest } : undefined, undefined);
    if ((latest && closed < latest) || daysBetween(closed, today) > daysBack.get(r.county_code)!) continue;
    if (!new D(payments[k].amount).eq(r.owed)) continue;
    found.set(k, { on: closed, amount: fmt(r.owed), seq: r.seq, curStart: r.cur_start, curEnd: r.cur_end, curInterest: fmt(r.cur_interest) });
  }
  return found;
}

/**
 * The settlement-day payments written in one statement, as the model's writes would leave them:
 * the repayments (the stored schedule kept as its rows, `keptRowsSql`; the interest allocated to
 * the period due), that period PAID with its interest, the loans current with the next period's interest
 * accruing (version and standing date moved on). Their journal entries are posted before.
 */
async function writeSettlementDay(trx: Knex.Transaction, fast: FastWrite[], o: { on: string; today: string; actorId: string; now: Date }): Promise<void> {
  if (fast.length === 0) return;
  const col = <K extends keyof FastWrite>(k: K) => fast.map((f) => f[k]);
  await trx.raw(
    `WITH v AS (SELECT * FROM unnest(?::uuid[], ?::text[], ?::uuid[], ?::int[], ?::numeric[], ?::uuid[], ?::uuid[], ?::text[], ?::date[], ?::date[], ?::numeric[])
                  AS v(loan_id, county_code, bank_id, seq, amount, id, entry_id, reference, cur_start, cur_end, cur_interest)),
          rep AS (INSERT INTO loan_repayments (${SETTLEMENT_DAY_REPAYMENT_COLUMNS})
                  SELECT v.id, v.loan_id, v.county_code, v.bank_id, ?::date, ?::date, ${keptRowsSql("v.loan_id")}, v.amount, 0, v.amount, 0, 0, 'REPAYMENT', 'BORROWER',
                         v.reference, jsonb_build_array(jsonb_build_object('seq', v.seq, 'penalty', '0.00', 'interest', v.amount::text, 'principal', '0.00')), v.entry_id, ?::uuid, ?::timestamptz
                    FROM v),
          per AS (UPDATE loan_schedule_periods p SET interest_paid = p.interest_paid + v.amount, status = 'PAID', settled_on = ?::date
                    FROM v WHERE p.loan_id = v.loan_id AND p.seq = v.seq)
     UPDATE loans l SET dpd = 0, dpd_bucket = ?, overdue_principal = 0, overdue_interest = 0, penalty_due = 0, cur_period_start = v.cur_start, cur_period_end = v.cur_end,
            cur_period_interest = v.cur_interest, standing_date = ?::date, updated_at = ?::timestamptz, version = l.version + 1
       FROM v
      WHERE l.id = v.loan_id AND l.id = ANY(?::uuid[])`, // the loans looked up by key, not the table read whole
    [
      ...[col("loanId"), col("county"), col("bankId"), col("seq"), col("amount"), col("id"), col("entryId"), col("reference"), col("curStart"), col("curEnd"), col("curInterest")],
      ...[o.on, o.today, o.actorId, o.now.toISOString(), o.on, dpdBucket(0), o.on, o.now.toISOString(), col("loanId")],
    ],
  );
}

/**
 * The sources of a chunk's decisions: what every late payment needs (the closed date, the
 * counties' days back, the loans' schedule bases and latest repayments) read once for the chunk;
 * what few need (subsidy terms for a payoff, a kept schedule, misuse findings) read when needed.
 */
async function bulkSources(trx: Knex.Transaction, loanIds: string[], anyLate: boolean): Promise<RepaymentSources> {
  const db = databaseSources(trx);
  const bases = new Map<string, ScheduleBase>();
  const latest = new Map<string, LatestRepayment>();
  if (anyLate && loanIds.length > 0) {
    for (const b of await trx("loan_schedule_bases").whereIn("loan_id", loanIds).select<(ScheduleBase & { loan_id: string })[]>("loan_id", trx.raw("value_date::text AS value_date"), "event", "periods")) bases.set(b.loan_id, b);
    const rows = await trx.raw<{ rows: (LatestRepayment & { loan_id: string })[] }>(
      `SELECT DISTINCT ON (loan_id) loan_id, id, paid_on::text AS paid_on, amount::text AS amount, principal::text AS principal
         FROM loan_repayments WHERE loan_id = ANY(?::uuid[]) AND reversed_at IS NULL
        ORDER BY loan_id, paid_on DESC, created_at DESC`,
      [loanIds],
    );
    for (const r of rows.rows) latest.set(r.loan_id, { id: r.id, paid_on: r.paid_on, amount: r.amount, principal: r.principal });
  }
  const days = new Map<string, number>();
  const terms = new Map<string, SubsidyTerms | null>();
  const closed = await db.closedThrough();
  return {
    ...db,
    closedThrough: async () => closed,
    daysBack: async (county) => {
      if (!days.has(county)) days.set(county, await db.daysBack(county));
      return days.get(county)!;
    },
    base: async (loan) => bases.get(loan.id),
    latest: async (loan) => latest.get(loan.id),
    terms: async (loan, cur) => {
      const k = `${loan.id}:${cur && new D(cur.interest_subsidy).gt(0)}`;
      if (!terms.has(k)) terms.set(k, await db.terms(loan, cur));
      return terms.get(k)!;
    },
  };
}
