/**
 * Many repayments at once (a bank's settlement-day file): the same decision as a single repayment
 * (`decideRepayment`: value date, allocation, schedule after it), computed in memory for a chunk
 * of payments, then the chunk written in a few statements — periods in one upsert and one delete,
 * loans in one update, repayments in one insert, journal entries in one set-based posting, audit
 * records in one append. A payment refused (the API's own code) or a duplicate bank reference
 * moves nothing and does not stop the others. Payments of one loan are applied in the order given
 * (value date, then file order), each over the loan as the one before left it.
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { type Actor } from "../../http/auth.js";
import { type AuditActor, type AuditRecord, appendAudit } from "../../lib/audit.js";
import { AppError } from "../../lib/errors.js";
import { ACCOUNTS, postJournalEntriesFrom } from "../../lib/ledger.js";
import { D } from "../../lib/money.js";
import type { SubsidyTerms } from "./household-interest.js";
import { changedPeriods, type LoanRow, loanScope, packPeriods, type PeriodRow } from "./queries.js";
import { databaseSources, decideRepayment, type RepaymentSources } from "./repayment.js";
import { fmt } from "./common.js";
import type { LatestRepayment, ScheduleBase } from "./value-dates.js";

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

/** Applies a chunk of a bank's payments inside the caller's transaction; one outcome per payment, in the order given. */
export async function applyRepaymentBatch(trx: Knex.Transaction, ctx: AuditActor & { actor: Actor; clock: { today(): string; now(): Date } }, payments: BatchPayment[]): Promise<BatchOutcome[]> {
  const today = ctx.clock.today();
  const now = ctx.clock.now();
  const ids = [...new Set(payments.map((p) => p.loanId).filter((x): x is string => Boolean(x)))];
  const nos = [...new Set(payments.map((p) => p.contractNo).filter((x): x is string => Boolean(x)))];
  const q = trx("loans").where((w) => w.whereIn("loans.id", ids).orWhereIn("loans.contract_no", nos));
  loanScope(q, ctx.actor);
  const loans = await q.orderBy("loans.id").forUpdate().select<LoanRow[]>("loans.*");
  const byId = new Map(loans.map((l) => [l.id, l]));
  const byNo = new Map(loans.filter((l) => l.contract_no).map((l) => [l.contract_no as string, l]));
  const periods = loans.length ? await trx("loan_schedule_periods").whereIn("loan_id", [...byId.keys()]).orderBy(["loan_id", "seq"]).select<PeriodRow[]>() : [];
  const state = new Map<string, LoanState>();
  for (const l of loans) state.set(l.id, { loan: l, stored: [], rows: [], touched: false });
  for (const p of periods) state.get(p.loan_id)!.stored.push(p);
  for (const s of state.values()) s.rows = s.stored;
  const refs = payments.map((p) => p.reference);
  const recorded = new Set(
    (await trx("loan_repayments").where({ bank_id: ctx.actor.bankId ?? "" }).whereIn("reference", refs).whereNot("source", "TRUSTEE").select<{ reference: string }[]>("reference")).map((r) => r.reference),
  );
  const src = await bulkSources(trx, [...byId.keys()], payments.some((p) => p.valueDate && p.valueDate < today));
  const scheduleOf = new Map<string, PeriodRow[]>();
  const batchSrc: RepaymentSources = {
    ...src,
    latest: async (loan) => state.get(loan.id)?.latest ?? src.latest(loan),
    scheduleBefore: async (id) => scheduleOf.get(id) ?? src.scheduleBefore(id),
  };

  const outcomes: BatchOutcome[] = [];
  const repayments: Record<string, unknown>[] = [];
  const entries: Record<string, unknown>[] = [];
  const lines: Record<string, unknown>[] = [];
  const audit: AuditRecord[] = [];
  for (const p of payments) {
    const s = (p.loanId ? state.get(p.loanId) : undefined) ?? (p.contractNo ? state.get(byNo.get(p.contractNo)?.id ?? "") : undefined);
    if (!s) {
      outcomes.push({ key: p.key, status: "REFUSED", loanId: null, code: "NOT_FOUND", message: `未找到该贷款（合同号或贷款编号不属于本行）/ no such loan of this bank: ${p.contractNo ?? p.loanId}` });
      continue;
    }
    if (recorded.has(p.reference)) {
      outcomes.push({ key: p.key, status: "DUPLICATE", loanId: s.loan.id, code: "DUPLICATE_BANK_REFERENCE", message: `银行流水号 ${p.reference} 已入账 / bank reference already recorded` });
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
    const allocation = plan.allocation.perPeriod.map((a) => ({ seq: a.seq, penalty: fmt(a.penalty), interest: fmt(a.interest), principal: fmt(a.principal) }));
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
      allocation,
      journal_entry_id: entryId,
      actor_id: ctx.actor.userId,
      created_at: now.toISOString(),
    });
    entries.push({ id: entryId, county_code: loan.county_code, entry_date: on, kind: "loan.repayment", ref_type: "loan", ref_id: loan.id, memo: `repayment ${p.reference}`, actor_id: ctx.actor.userId });
    const line = (account: string, debit: string, credit: string, partyType: string, partyId: string) => lines.push({ entry_id: entryId, account_code: account, county_code: loan.county_code, party_type: partyType, party_id: partyId, debit, credit });
    line(ACCOUNTS.CASH, fmt(amount), "0", "bank", loan.bank_id);
    line(ACCOUNTS.LOAN_PRINCIPAL, "0", fmt(plan.principal), "loan", loan.id);
    line(ACCOUNTS.INTEREST_INCOME, "0", fmt(plan.interest), "loan", loan.id);
    line(ACCOUNTS.PENALTY_INCOME, "0", fmt(plan.penalty), "loan", loan.id);
    const view = { id: repaymentId, paid_on: on, amount: fmt(amount), penalty: fmt(plan.penalty), interest: fmt(plan.interest), principal: fmt(plan.principal), reference: p.reference, loan: { status: s.loan.status, outstanding_principal: s.loan.outstanding_principal, dpd: s.loan.dpd } };
    audit.push({ action: "loan.repayment", entityType: "loan", entityId: loan.id, countyCode: loan.county_code, before: { status: loan.status, outstanding_principal: fmt(loan.outstanding_principal) }, after: view });
    outcomes.push({ key: p.key, status: "APPLIED", loanId: loan.id, repaymentId, paidOn: on, principal: fmt(plan.principal), interest: fmt(plan.interest), penalty: fmt(plan.penalty), outstanding: fmt(plan.outstanding) });
  }
  await writeBatch(trx, [...state.values()].filter((s) => s.touched), repayments, entries, lines, now);
  if (audit.length > 0) await appendAudit(trx, ctx, audit);
  return outcomes;
}

async function writeBatch(trx: Knex.Transaction, touched: LoanState[], repayments: Record<string, unknown>[], entries: Record<string, unknown>[], lines: Record<string, unknown>[], now: Date): Promise<void> {
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
  await postJournalEntriesFrom(trx, {
    entriesSql: `SELECT id, county_code, entry_date, kind, ref_type, ref_id, memo, actor_id, NULL::uuid AS reverses_entry_id
                   FROM json_to_recordset(?::json) AS e(id uuid, county_code text, entry_date date, kind text, ref_type text, ref_id text, memo text, actor_id uuid)`,
    linesSql: `SELECT entry_id, account_code, county_code, party_type, party_id, debit, credit
                 FROM json_to_recordset(?::json) AS l(entry_id uuid, account_code text, county_code text, party_type text, party_id text, debit numeric, credit numeric)`,
    bindings: [JSON.stringify(entries), JSON.stringify(lines)],
  });
  await trx.raw(`INSERT INTO loan_repayments (${REPAYMENT_COLUMNS}) SELECT ${REPAYMENT_COLUMNS} FROM json_populate_recordset(NULL::loan_repayments, ?::json)`, [JSON.stringify(repayments)]);
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
