import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, type Role, requireRole } from "../../http/auth.js";
import { AppError, invalidState, notFound, registerErrorCodes } from "../../http/errors.js";
import { decodeCursor, encodeCursor, page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, type JournalLine, postJournalEntry, registerPartyBalanceCheck } from "../../lib/ledger.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import { maskName } from "../../lib/pii.js";
import { findLoan, forfeitSubsidyShares, periodsOf, subsidyTermsOf } from "../loans/index.js";
import { type Notice, registerNoticeProvider } from "../notices/index.js";
import { householdInterest, periodSubsidy, quarterBounds, type SubsidyMode, subsidyRate, subsidyTermEnd } from "./model.js";
import { type ClaimRow, claimParties, claimScope, claimTotals, findClaim, insertClaimLines, type LineRow } from "./queries.js";
import type { ClaimApprove, ClaimCreate, ClaimListQuery, ClaimPay, ClaimQuery, MisuseFindingCreate } from "./schemas.js";
import { addDays } from "../../lib/dates.js";
import { statusLabel } from "../../lib/labels.js";

type Db = Knex | Knex.Transaction;
const batchStatus = (s: string) => statusLabel("subsidy_claim", s, "zh");
const loanStatus = (s: string) => statusLabel("loan", s, "zh");

registerErrorCodes({
  SUBSIDY_QUARTER_NOT_ENDED: {
    status: 422,
    title: { zh: "季度未结束", en: "Quarter not ended" },
    description: { zh: "季度贴息申领须在季度最后一天之后生成。", en: "A quarter's subsidy claim is generated after the quarter's last day." },
  },
  SUBSIDY_LINE_NOT_CLAIMED: {
    status: 422,
    title: { zh: "明细不可拒绝", en: "Line not claimable" },
    description: { zh: "被拒绝的明细必须是本批次中已申领（非取消贴息）的明细。", en: "A rejected line must be a claimed (not forfeited) line of this batch." },
  },
  SAME_MAKER_CHECKER: {
    status: 422,
    title: { zh: "审核分离", en: "Maker-checker" },
    description: { zh: "生成公共资金申领（贴息或风险补偿）的人不能审批；须由另一名工作人员审批。", en: "The person who generated a claim on a public fund (subsidy or compensation) may not approve it; another officer must." },
  },
});

/** Days a subsidy batch is publicly noticed (公示) from its approval. */
export const NOTICE_DAYS = 7;
const CLAIM_READERS = ["admin", "finance_officer", "regulator", "loan_officer", "bank_manager"] as const;
/**
 * Who generates a batch, by subsidy mode: the bank claims what it collects (TO_BANK), the county
 * finance bureau what it reimburses to households (TO_HOUSEHOLD). The finance officer approves,
 * never one who generated the batch (maker-checker).
 */
const CLAIM_MAKERS: Record<SubsidyMode, readonly Role[]> = { TO_BANK: ["loan_officer", "bank_manager"], TO_HOUSEHOLD: ["finance_officer"] };

const fmt = (v: Dec | string) => Money.format(v);
const iso = (d: Date | string) => new Date(d).toISOString();

function lineView(l: LineRow) {
  return {
    id: String(l.id),
    loan_id: l.loan_id,
    seq: l.seq,
    household_id: l.household_id,
    village_code: l.village_code,
    mode: l.mode,
    repayment_method: l.repayment_method,
    accrual_start: l.accrual_start,
    accrual_end: l.accrual_end,
    due_date: l.due_date,
    days: l.days,
    days_in_term: l.days_in_term,
    opening_principal: fmt(l.opening_principal),
    principal_base: fmt(l.principal_base),
    contract_rate: Rate.format(l.contract_rate),
    subsidy_rate: Rate.format(l.subsidy_rate),
    ratio: Rate.format(l.ratio),
    interest: fmt(l.interest),
    computed_subsidy: fmt(l.computed_subsidy),
    subsidy: fmt(l.subsidy),
    household_interest: fmt(householdInterest(new D(l.interest), new D(l.subsidy), l.mode)),
    forfeit_reason: l.forfeit_reason as "HOUSEHOLD_REMOVED" | "MISUSE" | "LATE_INTEREST" | null,
    status: l.status,
    reject_reason: l.reject_reason,
  };
}

async function claimView(db: Db, c: ClaimRow, extra: { lines?: LineRow[]; nextLineCursor?: string | null; linesAdded?: number } = {}) {
  const t = await claimTotals(db, c.id);
  return {
    id: c.id,
    county_code: c.county_code,
    bank_id: c.bank_id,
    quarter: c.quarter,
    quarter_start: c.quarter_start,
    quarter_end: c.quarter_end,
    mode: c.mode,
    generated_by: c.generated_by,
    status: c.status,
    generated_on: c.generated_on,
    generations: c.generations,
    ...(extra.linesAdded !== undefined ? { lines_added: extra.linesAdded } : {}),
    approved_on: c.approved_on,
    notice_start: c.notice_start,
    notice_end: c.notice_end,
    paid_on: c.paid_on,
    payment_reference: c.payment_reference,
    totals: { ...t, interest: fmt(t.interest), claimed: fmt(t.claimed), to_bank: fmt(t.to_bank), to_household: fmt(t.to_household) },
    ...(extra.lines ? { lines: extra.lines.map(lineView), next_line_cursor: extra.nextLineCursor ?? null } : {}),
  };
}

// ---------- generation ----------

/**
 * Generates the quarter's batch for a bank in a county, or regenerates a DRAFT batch: the lines are
 * inserted set-based (`insertClaimLines`); a loan-period already in any batch is never added again.
 * An approved or paid batch is closed: generating it again adds nothing.
 */
export async function generateClaim(trx: Knex.Transaction, ctx: Pick<Ctx, "actor" | "requestId" | "clock">, input: z.infer<typeof ClaimCreate>) {
  const mode: SubsidyMode = input.mode ?? (ctx.actor.role === "finance_officer" ? "TO_HOUSEHOLD" : "TO_BANK");
  requireRole(ctx.actor, ...CLAIM_MAKERS[mode]);
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  if ((ctx.actor.role === "loan_officer" || ctx.actor.role === "bank_manager") && ctx.actor.bankId !== input.bank_id) throw notFound("bank");
  if (!(await trx("banks").where({ id: input.bank_id }).first())) throw notFound("bank");
  const q = quarterBounds(input.quarter)!;
  const today = ctx.clock.today();
  if (today <= q.end) {
    throw new AppError("SUBSIDY_QUARTER_NOT_ENDED", {
      zh: `${input.quarter} 于 ${q.end} 结束；该季度的贴息申领自 ${addDays(q.end, 1)} 起生成`,
      en: `${input.quarter} ends on ${q.end}; its claim is generated from ${addDays(q.end, 1)}`,
    });
  }
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [`subsidy_claim:${input.bank_id}:${input.county_code}:${input.quarter}:${mode}`]);
  let claim = await trx("subsidy_claims").where({ bank_id: input.bank_id, county_code: input.county_code, quarter: input.quarter, mode }).forUpdate().first<ClaimRow | undefined>();
  const created = !claim;
  if (claim && claim.status !== "DRAFT") {
    return { created: false, claim: await claimView(trx, claim, { linesAdded: 0 }) };
  }
  if (!claim) {
    [claim] = await trx("subsidy_claims")
      .insert({
        county_code: input.county_code,
        bank_id: input.bank_id,
        quarter: input.quarter,
        mode,
        quarter_start: q.start,
        quarter_end: q.end,
        generated_on: today,
        created_by: ctx.actor.userId,
        generated_by: [ctx.actor.userId],
      })
      .returning<ClaimRow[]>("*");
  } else {
    // Whoever regenerates adds lines: a maker of the batch too.
    [claim] = await trx("subsidy_claims")
      .where({ id: claim.id })
      .update({
        generated_on: today,
        generations: trx.raw("generations + 1"),
        generated_by: trx.raw("CASE WHEN ?::uuid = ANY(generated_by) THEN generated_by ELSE array_append(generated_by, ?::uuid) END", [ctx.actor.userId, ctx.actor.userId]),
        updated_at: ctx.clock.now(),
      })
      .returning<ClaimRow[]>("*");
  }
  const added = await insertClaimLines(trx, { claimId: claim!.id, countyCode: input.county_code, bankId: input.bank_id, mode, quarterStart: q.start, quarterEnd: q.end, today });
  const view = await claimView(trx, claim!, { linesAdded: added });
  await appendAudit(trx, ctx, {
    action: created ? "subsidy_claim.generate" : "subsidy_claim.regenerate",
    entityType: "subsidy_claim",
    entityId: claim!.id,
    countyCode: claim!.county_code,
    after: { quarter: view.quarter, bank_id: view.bank_id, mode, lines_added: added, totals: view.totals },
  });
  return { created, claim: view };
}

// ---------- reads ----------

export async function getClaim(db: Db, actor: Actor, id: string, q: z.infer<typeof ClaimQuery>) {
  requireRole(actor, ...CLAIM_READERS);
  const claim = await findClaim(db, actor, id);
  if (!claim) throw notFound("subsidy claim");
  const after = decodeCursor(q.line_cursor);
  const query = db("subsidy_claim_lines").where({ claim_id: id });
  if (after !== undefined) {
    if (!/^\d{1,18}$/.test(after)) {
      throw new AppError("VALIDATION_FAILED", { zh: "游标无效", en: "Bad cursor" }, [{ path: "query.line_cursor", message: { zh: "不是本列表返回的游标", en: "not a cursor from this list" } }]);
    }
    query.andWhere("id", ">", after);
  }
  const rows = await query.orderBy("id").limit(q.line_limit + 1).select<LineRow[]>();
  const more = rows.length > q.line_limit;
  const lines = more ? rows.slice(0, q.line_limit) : rows;
  return claimView(db, claim, { lines, nextLineCursor: more ? encodeCursor(String(lines[lines.length - 1].id)) : null });
}

export async function listClaims(db: Db, actor: Actor, q: z.infer<typeof ClaimListQuery>) {
  requireRole(actor, ...CLAIM_READERS);
  const query = claimScope(db("subsidy_claims").select("*"), actor);
  for (const k of ["quarter", "bank_id", "county_code", "status", "mode"] as const) if (q[k]) query.andWhere(k, q[k]);
  const { rows, next_cursor } = await page<ClaimRow & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  const items = [];
  for (const r of rows) items.push(await claimView(db, r));
  return { items, next_cursor };
}

// ---------- approval and payment ----------

async function loadForChange(trx: Knex.Transaction, ctx: Ctx, id: string): Promise<ClaimRow> {
  requireRole(ctx.actor, "finance_officer");
  const claim = await findClaim(trx, ctx.actor, id, { forUpdate: true });
  if (!claim) throw notFound("subsidy claim");
  return claim;
}

/**
 * The finance officer (县财政局) approves the batch: the named lines are rejected with a reason,
 * every other claimed line is approved, the batch is publicly noticed per village from today for
 * NOTICE_DAYS, and the approved amount becomes receivable from finance: Dr 1311 (party claim) /
 * Cr 4001 interest income (TO_BANK, party loan) and Cr 2201 households payable (TO_HOUSEHOLD,
 * party household).
 */
export async function approveClaim(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ClaimApprove>) {
  const claim = await loadForChange(trx, ctx, id);
  if (claim.status !== "DRAFT") throw invalidState({ zh: `申领批次状态为${batchStatus(claim.status)}；只有${batchStatus("DRAFT")}的批次才能审批`, en: `The batch is ${claim.status}; only a DRAFT batch is approved` });
  if (claim.created_by === ctx.actor.userId || claim.generated_by.includes(ctx.actor.userId)) {
    throw new AppError("SAME_MAKER_CHECKER", { zh: "这批贴息申领由您生成；须由财政局另一名工作人员审批（审核分离）", en: "You generated this claim batch; another finance officer must approve it (maker-checker)" });
  }
  const today = ctx.clock.today();
  for (const r of input.rejected_lines) {
    const n = await trx("subsidy_claim_lines")
      .where({ claim_id: id, id: r.line_id, status: "CLAIMED" })
      .update({ status: "REJECTED", subsidy: "0.00", reject_reason: r.reason });
    if (n !== 1) {
      throw new AppError("SUBSIDY_LINE_NOT_CLAIMED", { zh: `明细 ${r.line_id} 不是本批次中已申领的明细`, en: `Line ${r.line_id} is not a claimed line of this batch` }, [
        { path: "body.rejected_lines", message: { zh: `明细 ${r.line_id}`, en: `line ${r.line_id}` } },
      ]);
    }
  }
  await trx("subsidy_claim_lines").where({ claim_id: id, status: "CLAIMED" }).update({ status: "APPROVED" });
  const parties = await claimParties(trx, id);
  const total = Money.sum(parties.map((p) => p.amount));
  const lines: JournalLine[] = [{ account: ACCOUNTS.SUBSIDY_RECEIVABLE, debit: fmt(total), partyType: "subsidy_claim", partyId: id }];
  const byHousehold = new Map<string, Dec>();
  for (const p of parties) {
    if (p.mode === "TO_BANK") lines.push({ account: ACCOUNTS.INTEREST_INCOME, credit: fmt(p.amount), partyType: "loan", partyId: p.loan_id });
    else byHousehold.set(p.household_id, (byHousehold.get(p.household_id) ?? new D(0)).plus(p.amount));
  }
  for (const [hh, amount] of byHousehold) lines.push({ account: ACCOUNTS.HOUSEHOLDS_PAYABLE, credit: fmt(amount), partyType: "household", partyId: hh });
  const entryId = await postJournalEntry(trx, { countyCode: claim.county_code, entryDate: today, kind: "subsidy.claim_approval", refType: "subsidy_claim", refId: id, memo: `${claim.quarter} interest subsidy approved`, actorId: ctx.actor.userId, lines });
  const [row] = await trx("subsidy_claims")
    .where({ id })
    .update({ status: "APPROVED", approved_on: today, approved_by: ctx.actor.userId, notice_start: today, notice_end: addDays(today, NOTICE_DAYS), approval_entry_id: entryId, updated_at: ctx.clock.now() })
    .returning<ClaimRow[]>("*");
  const view = await claimView(trx, row);
  await appendAudit(trx, ctx, {
    action: "subsidy_claim.approve",
    entityType: "subsidy_claim",
    entityId: id,
    countyCode: claim.county_code,
    before: { status: claim.status },
    after: { status: view.status, rejected_lines: input.rejected_lines, note: input.note ?? null, totals: view.totals },
  });
  return view;
}

/**
 * Pays an approved batch: finance pays the claimed total (Cr 1311, party claim); the TO_BANK part
 * reaches the bank's settlement account (Dr 1001, party bank) and each TO_HOUSEHOLD household its
 * reimbursement (Dr 2201, party household), recorded as a household subsidy payment the portal shows.
 */
export async function payClaim(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ClaimPay>) {
  const claim = await loadForChange(trx, ctx, id);
  if (claim.status !== "APPROVED") throw invalidState({ zh: `申领批次状态为${batchStatus(claim.status)}；只有${batchStatus("APPROVED")}的批次才能拨付`, en: `The batch is ${claim.status}; only an APPROVED batch is paid` });
  const paidOn = input.paid_on ?? ctx.clock.today();
  if (paidOn < claim.approved_on! || paidOn > ctx.clock.today()) {
    throw new AppError("VALIDATION_FAILED", { zh: "拨付日期 paid_on 须在审批日期与今天之间", en: "paid_on is between the approval date and today" }, [
      { path: "body.paid_on", message: { zh: `${claim.approved_on} 至 ${ctx.clock.today()}`, en: `from ${claim.approved_on} to ${ctx.clock.today()}` } },
    ]);
  }
  const parties = await claimParties(trx, id);
  const total = Money.sum(parties.map((p) => p.amount));
  const toBank = Money.sum(parties.filter((p) => p.mode === "TO_BANK").map((p) => p.amount));
  const households = new Map<string, { amount: Dec; periods: number }>();
  for (const p of parties.filter((x) => x.mode === "TO_HOUSEHOLD")) {
    const h = households.get(p.household_id) ?? { amount: new D(0), periods: 0 };
    households.set(p.household_id, { amount: h.amount.plus(p.amount), periods: h.periods + p.periods });
  }
  const lines: JournalLine[] = [
    { account: ACCOUNTS.CASH, debit: fmt(toBank), partyType: "bank", partyId: claim.bank_id },
    ...[...households].map(([hh, h]) => ({ account: ACCOUNTS.HOUSEHOLDS_PAYABLE, debit: fmt(h.amount), partyType: "household", partyId: hh })),
    { account: ACCOUNTS.SUBSIDY_RECEIVABLE, credit: fmt(total), partyType: "subsidy_claim", partyId: id },
  ];
  const entryId = await postJournalEntry(trx, {
    countyCode: claim.county_code,
    entryDate: paidOn,
    kind: "subsidy.claim_payment",
    refType: "subsidy_claim",
    refId: id,
    memo: `${claim.quarter} interest subsidy paid${input.reference ? ` ${input.reference}` : ""}`,
    actorId: ctx.actor.userId,
    lines,
  });
  if (households.size > 0) {
    await trx("household_subsidy_payments").insert(
      [...households].map(([hh, h]) => ({ county_code: claim.county_code, household_id: hh, claim_id: id, quarter: claim.quarter, periods: h.periods, amount: fmt(h.amount), paid_on: paidOn, reference: input.reference ?? null, journal_entry_id: entryId })),
    );
  }
  const [row] = await trx("subsidy_claims")
    .where({ id })
    .update({ status: "PAID", paid_on: paidOn, paid_by: ctx.actor.userId, payment_reference: input.reference ?? null, payment_entry_id: entryId, updated_at: ctx.clock.now() })
    .returning<ClaimRow[]>("*");
  const view = await claimView(trx, row);
  await appendAudit(trx, ctx, {
    action: "subsidy_claim.pay",
    entityType: "subsidy_claim",
    entityId: id,
    countyCode: claim.county_code,
    before: { status: claim.status },
    after: { status: view.status, paid_on: paidOn, to_bank: fmt(toBank), to_households: households.size, total: fmt(total) },
  });
  return view;
}

// ---------- misuse findings ----------

/**
 * Records a misuse finding on a loan (违规使用: purpose violation, handed on to an enterprise, false
 * information). The loan's periods not yet claimed are forfeited when claimed, and its lines still
 * in a DRAFT batch are forfeited now; under TO_BANK the subsidy share of every period not yet
 * settled moves back to the household at once. Approved or paid subsidies are not clawed back here.
 */
export async function addMisuseFinding(trx: Knex.Transaction, ctx: Ctx, loanId: string, input: z.infer<typeof MisuseFindingCreate>) {
  requireRole(ctx.actor, "admin", "finance_officer", "regulator", "loan_officer", "bank_manager");
  const loan = await findLoan(trx, ctx.actor, loanId);
  if (!loan) throw notFound("loan");
  if (!loan.disbursed_on) throw invalidState({ zh: `贷款状态为${loanStatus(loan.status)}；只能对已放款的贷款认定违规使用`, en: `The loan is ${loan.status}; a misuse finding is on a disbursed loan` });
  const findingDate = input.finding_date ?? ctx.clock.today();
  if (findingDate > ctx.clock.today() || findingDate < loan.disbursed_on) {
    throw new AppError("VALIDATION_FAILED", { zh: "认定日期 finding_date 须在放款日与今天之间", en: "finding_date is between the disbursement and today" }, [
      { path: "body.finding_date", message: { zh: `${loan.disbursed_on} 至 ${ctx.clock.today()}`, en: `from ${loan.disbursed_on} to ${ctx.clock.today()}` } },
    ]);
  }
  const [row] = await trx("loan_misuse_findings")
    .insert({ loan_id: loanId, county_code: loan.county_code, bank_id: loan.bank_id, finding_date: findingDate, kind: input.kind, note: input.note, actor_id: ctx.actor.userId })
    .returning<{ id: string; county_code: string; kind: string; finding_date: string; note: string; created_at: Date }[]>("*");
  const forfeited = await trx("subsidy_claim_lines")
    .where({ loan_id: loanId, status: "CLAIMED" })
    .whereIn("claim_id", trx("subsidy_claims").where({ status: "DRAFT" }).select("id"))
    .update({ status: "FORFEITED", forfeit_reason: "MISUSE", subsidy: "0.00" });
  const sharesForfeited = await forfeitSubsidyShares(trx, ctx.clock.today(), loanId);
  const view = { id: row.id, loan_id: loanId, county_code: row.county_code, kind: row.kind, finding_date: row.finding_date, note: row.note, forfeited_draft_lines: forfeited, forfeited_shares: sharesForfeited, created_at: iso(row.created_at) };
  await appendAudit(trx, ctx, { action: "loan.misuse_finding", entityType: "loan", entityId: loanId, countyCode: loan.county_code, after: view });
  return view;
}

// ---------- a loan's subsidy schedule ----------

/** A loan's subsidy per schedule period (model.ts), with the household's own part and each period's claim status. */
export async function loanSubsidySchedule(db: Db, actor: Actor, loanId: string) {
  requireRole(actor, "admin", "finance_officer", "regulator", "loan_officer", "bank_manager", "village_officer");
  const loan = await findLoan(db, actor, loanId);
  if (!loan) throw notFound("loan");
  if (!loan.disbursed_on || !loan.product_id) throw invalidState({ zh: `贷款状态为${loanStatus(loan.status)}；尚无还款计划`, en: `The loan is ${loan.status}; it has no schedule yet` });
  const terms = (await subsidyTermsOf(db, loan))!;
  const { mode, policy, loan: subLoan } = terms;
  const claimed = new Map((await db("subsidy_claim_lines").where({ loan_id: loanId }).select<{ seq: number; status: string; subsidy: string }[]>("seq", "status", "subsidy")).map((r) => [r.seq, r]));
  let ti = new D(0);
  let ts = new D(0);
  let th = new D(0);
  const periods = (await periodsOf(db, loanId)).map((p) => {
    // The contract interest: the household's part plus the TO_BANK share the bank claims instead.
    const interest = new D(p.interest_due).plus(p.interest_subsidy);
    const c = periodSubsidy(subLoan, { accrualStart: p.accrual_start, accrualEnd: p.accrual_end, openingPrincipal: new D(p.opening_principal), interest, carriedInterest: p.carried_interest === null ? null : new D(p.carried_interest), carriedThrough: p.carried_through, frameDays: p.frame_days }, policy);
    const line = claimed.get(p.seq);
    const subsidy = line ? new D(line.subsidy) : p.subsidy_forfeited ? new D(0) : c.subsidy;
    // What the household owes: TO_BANK interest − subsidy (all of it once the share is forfeited); TO_HOUSEHOLD all of it.
    const household = mode === "TO_BANK" ? new D(p.interest_due) : householdInterest(interest, c.subsidy, mode);
    ti = ti.plus(interest);
    ts = ts.plus(subsidy);
    th = th.plus(household);
    return {
      seq: p.seq,
      due_date: p.due_date,
      days: p.days,
      days_in_term: c.daysInTerm,
      interest: fmt(interest),
      computed_subsidy: fmt(c.subsidy),
      subsidy: fmt(subsidy),
      household_interest: fmt(household),
      subsidy_forfeited: p.subsidy_forfeited,
      claim_status: line?.status ?? null,
    };
  });
  return {
    loan_id: loanId,
    mode,
    ratio: Rate.format(policy.ratio),
    subsidy_rate: Rate.format(subsidyRate(subLoan, policy)),
    term_end: subsidyTermEnd(loan.disbursed_on, policy.termMonths),
    periods,
    totals: { interest: fmt(ti), subsidy: fmt(ts), household_interest: fmt(th) },
  };
}

// ---------- the household's record ----------

/** Subsidy reimbursements paid to a household (TO_HOUSEHOLD, 先缴后补), newest first: what the portal shows. */
export async function subsidiesOfHousehold(db: Db, householdId: string) {
  const rows = await db("household_subsidy_payments as p")
    .join("subsidy_claims as c", "c.id", "p.claim_id")
    .join("banks as b", "b.id", "c.bank_id")
    .where("p.household_id", householdId)
    .orderBy([{ column: "p.paid_on", order: "desc" }, { column: "p.created_at", order: "desc" }])
    .select<{ id: string; claim_id: string; quarter: string; periods: number; amount: string; paid_on: string; reference: string | null; bank_name: string }[]>(
      "p.id",
      "p.claim_id",
      "p.quarter",
      "p.periods",
      "p.amount",
      "p.paid_on",
      "p.reference",
      "b.short_name as bank_name",
    );
  return rows.map((r) => ({ id: r.id, claim_id: r.claim_id, quarter: r.quarter, periods: r.periods, amount: fmt(r.amount), paid_on: r.paid_on, reference: r.reference, bank_name: r.bank_name }));
}

// ---------- public notice per village ----------

/** 贴息公示: the approved lines of every batch whose notice began in the range, per village, names and IDs masked. */
registerNoticeProvider("subsidies", async (db, q) => {
  const rows = await db("subsidy_claim_lines as l")
    .join("subsidy_claims as c", "c.id", "l.claim_id")
    .join("households as h", "h.id", "l.household_id")
    .join("household_members as m", "m.id", "l.borrower_member_id")
    .join("divisions as v", "v.code", "l.village_code")
    .join("banks as b", "b.id", "c.bank_id")
    .whereIn("c.status", ["APPROVED", "PAID"])
    .whereIn("c.county_code", q.countyCodes)
    .whereBetween("c.notice_start", [q.from, q.to])
    .andWhere("l.subsidy", ">", 0)
    .modify((b) => {
      if (q.villageCodes) b.whereIn("l.village_code", q.villageCodes);
    })
    .groupBy("c.id", "c.quarter", "c.notice_start", "c.notice_end", "b.short_name", "l.village_code", "v.name", "h.household_no", "m.name", "m.id_number_masked", "l.mode")
    .orderBy([{ column: "l.village_code" }, { column: "c.notice_start" }, { column: "h.household_no" }])
    .select<{ id: string; quarter: string; notice_start: string; notice_end: string; short_name: string; village_code: string; village_name: string; household_no: string; name: string; id_number_masked: string; mode: string; amount: string; periods: number }[]>(
      "c.id",
      "c.quarter",
      "c.notice_start",
      "c.notice_end",
      "b.short_name",
      "l.village_code",
      "v.name as village_name",
      "h.household_no",
      "m.name",
      "m.id_number_masked",
      "l.mode",
      db.raw("sum(l.subsidy)::text AS amount"),
      db.raw("count(*)::int AS periods"),
    );
  const byKey = new Map<string, Notice>();
  for (const r of rows) {
    const key = `${r.id}|${r.village_code}`;
    let n = byKey.get(key);
    if (!n) {
      n = { kind: "subsidies", ref: key, title: `${r.village_name} ${r.quarter} 扶贫小额信贷财政贴息公示（${r.short_name}）`, village_code: r.village_code, village_name: r.village_name, period_start: r.notice_start, period_end: r.notice_end, entries: [] };
      byKey.set(key, n);
    }
    n.entries.push({
      name: maskName(r.name),
      id_number: r.id_number_masked,
      household_no: r.household_no,
      detail: `${r.quarter} 贴息 ${r.periods} 期（${r.mode === "TO_BANK" ? "拨付银行" : "拨付农户"}）`,
      amount: fmt(r.amount),
    });
  }
  return [...byKey.values()];
});

// ---------- reconciliation ----------

registerPartyBalanceCheck({
  name: "subsidy_receivable",
  description: "Each subsidy claim's receivable from finance (account 1311, party = claim) equals its approved total while APPROVED and zero once PAID",
  account: ACCOUNTS.SUBSIDY_RECEIVABLE,
  partyType: "subsidy_claim",
  recordsSql: `SELECT c.id, c.county_code, CASE WHEN c.status = 'APPROVED' THEN coalesce(sum(l.subsidy), 0) ELSE 0 END AS amount
                 FROM subsidy_claims c LEFT JOIN subsidy_claim_lines l ON l.claim_id = c.id GROUP BY c.id, c.county_code, c.status`,
});
