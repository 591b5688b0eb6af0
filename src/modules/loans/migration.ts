/**
 * Migration of a bank's existing loans (存量贷款迁移): the loans a bank disbursed before the
 * platform, each with the repayments made to date, created as if they had lived on the platform
 * from their first day (migration-history.ts), checked row by row first, then written all or
 * nothing. A file sent again changes nothing: a contract number already on the platform with the
 * same loan is reported as already present.
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound, registerErrorCodes } from "../../http/errors.js";
import type { Actor } from "../../lib/actor.js";
import { type AuditRecord, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { addDays } from "../../lib/dates.js";
import { splitBilingual } from "../../lib/i18n.js";
import { ACCOUNTS, postJournalEntriesFrom } from "../../lib/ledger.js";
import { D, Rate } from "../../lib/money.js";
import type { Pii } from "../../lib/pii.js";
import { headsByHouseholdNo, type MemberRef, membersByIdNumber } from "../register/index.js";
import { fmt, HOUSEHOLD_CAP } from "./common.js";
import { subsidyTermsOf } from "./household-interest.js";
import { type LoanLine, loansOfCsv, loansOfJson, loansOfXlsx, type MigrationFile, type MigrationProblem, type RepaymentLine } from "./migration-file.js";
import type { Upload } from "../../http/upload.js";
import { parse } from "../../http/validate.js";
import { LoanMigrationCreate } from "./schemas.js";
import { type ReplayedLoan, ReplayRefusal, replayHistory } from "./migration-history.js";
import { maturityOf } from "./model.js";
import { disbursementSchedule } from "./origination.js";
import { priceLoan } from "./products.js";
import { insertPeriods, type LoanRow, type ProductRow, versionsInForce } from "./queries.js";
import { closedThrough, saveScheduleBases } from "./value-dates.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  MIGRATION_FILE_UNREADABLE: {
    status: 400,
    title: { zh: "文件无法读取", en: "File unreadable" },
    description: { zh: "存量贷款迁移文件不是可读取的 CSV 或 XLSX。", en: "The migration file is not a CSV or XLSX that can be read." },
  },
  LOAN_MIGRATION_REJECTED: {
    status: 422,
    title: { zh: "贷款未迁移", en: "Loans not migrated" },
    description: {
      zh: "文件有问题，什么都没有迁移。`errors` 逐条列出每个问题所在的工作表、行、列、代码和说明（试运行列出的相同）。",
      en: "The file has problems; nothing was migrated. `errors` lists each one with its sheet, row, column, code and message (a dry run lists the same).",
    },
  },
  MIGRATION_DUPLICATE_CONTRACT_NO: { status: 422, title: { zh: "文件中合同号重复", en: "Contract number twice in the file" }, description: { zh: "迁移文件中每个合同号只能出现一次。", en: "A migration file names each contract once." } },
  MIGRATION_REPAYMENT_WITHOUT_LOAN: {
    status: 422,
    title: { zh: "还款找不到对应贷款", en: "Repayment of no loan in the file" },
    description: { zh: "还款行的合同号不在文件的贷款中。", en: "A repayment row's contract number is not among the file's loans." },
  },
  MIGRATION_HOUSEHOLD_UNKNOWN: { status: 422, title: { zh: "农户不存在", en: "Household unknown" }, description: { zh: "本县没有这个户编号的农户。", en: "No household of the county has this household number." } },
  MIGRATION_BORROWER_UNKNOWN: { status: 422, title: { zh: "借款人不存在", en: "Borrower unknown" }, description: { zh: "本县没有这个身份证号的家庭成员。", en: "No member of a household of the county has this ID number." } },
  MIGRATION_RATE_NOT_PRODUCT: { status: 422, title: { zh: "利率与产品不符", en: "Rate not the product's" }, description: { zh: "固定利率产品的贷款须按产品的固定利率。", en: "A fixed-rate product's loans carry its fixed rate." } },
  MIGRATION_REPAYMENT_BEFORE_DISBURSEMENT: {
    status: 422,
    title: { zh: "还款早于放款", en: "Repayment before disbursement" },
    description: { zh: "还款的起息日早于贷款的放款日。", en: "A repayment's value date is before the loan's disbursement date." },
  },
  MIGRATION_REPAYMENT_AFTER_PAYOFF: {
    status: 422,
    title: { zh: "结清后仍有还款", en: "Repayment after payoff" },
    description: { zh: "文件中更早的还款已经结清了这笔贷款。", en: "An earlier repayment of the file already paid the loan off." },
  },
});

/** The file of a migration from a JSON body (`loans`, repayments nested) or a CSV or XLSX one. */
export async function readMigrationFile(upload: Upload): Promise<MigrationFile & { format: Upload["format"] }> {
  if (upload.format === "json") return { ...loansOfJson(parse(LoanMigrationCreate, upload.body).loans), format: "json" };
  return { ...(upload.format === "csv" ? loansOfCsv(upload.bytes) : await loansOfXlsx(upload.bytes)), format: upload.format };
}

/** Problems listed in an answer at most (the detail says how many there were). */
export const MAX_PROBLEMS = 1000;

export type MigrationOutcome = "MIGRATED" | "TO_MIGRATE" | "ALREADY_PRESENT";

export interface MigratedLoanView {
  row: number;
  contract_no: string;
  outcome: MigrationOutcome;
  loan_id: string | null;
  status: string;
  outstanding_principal: string;
  dpd: number;
  penalty_due: string;
  repayments: number;
}

interface Prepared {
  line: LoanLine;
  loan: LoanRow;
  schedule: ReturnType<typeof disbursementSchedule>["rows"];
  history: ReplayedLoan;
  repayments: RepaymentLine[];
}

/** The bank and county of a migration: the manager's bank, and the county given or the manager's only one. */
function scopeOf(actor: Actor, countyCode: string | undefined): { bankId: string; countyCode: string } {
  requireRole(actor, "bank_manager");
  if (!actor.bankId) throw new AppError("FORBIDDEN", { zh: "您的账号未绑定银行", en: "Your account is not bound to a bank" });
  if (countyCode === undefined) {
    if (actor.countyCodes.length !== 1) {
      throw new AppError("VALIDATION_FAILED", { zh: "您在多个县工作：请指明县", en: "You work in several counties: name the county" }, [
        { path: "query.county_code", message: { zh: "必填：您所在的县之一", en: "required: one of your counties" } },
      ]);
    }
    return { bankId: actor.bankId, countyCode: actor.countyCodes[0] };
  }
  if (!actor.countyCodes.includes(countyCode)) throw notFound("county");
  return { bankId: actor.bankId, countyCode };
}

interface ExistingLoan {
  id: string;
  contract_no: string;
  household_id: string;
  borrower_member_id: string;
  product_code: string | null;
  amount: string;
  annual_rate: string | null;
  repayment_method: string;
  term_months: number;
  disbursed_on: string | null;
  status: string;
  outstanding_principal: string;
  dpd: number;
  penalty_due: string;
}

async function existingLoans(db: Db, bankId: string, contractNos: string[]): Promise<Map<string, ExistingLoan & { repayments: { paid_on: string; amount: string; reference: string | null }[] }>> {
  const out = new Map<string, ExistingLoan & { repayments: { paid_on: string; amount: string; reference: string | null }[] }>();
  for (let i = 0; i < contractNos.length; i += 1000) {
    const loans = await db("loans as l")
      .leftJoin("loan_products as p", "p.id", "l.product_id")
      .where("l.bank_id", bankId)
      .whereIn("l.contract_no", contractNos.slice(i, i + 1000))
      .select<ExistingLoan[]>(
        "l.id", "l.contract_no", "l.household_id", "l.borrower_member_id", "p.code as product_code", "l.amount", "l.annual_rate", "l.repayment_method",
        "l.term_months", db.raw("l.disbursed_on::text AS disbursed_on"), "l.status", "l.outstanding_principal", "l.dpd", "l.penalty_due",
      );
    if (loans.length === 0) continue;
    const reps = await db("loan_repayments")
      .whereIn("loan_id", loans.map((l) => l.id))
      .whereNull("reversed_at")
      .orderBy(["loan_id", "paid_on", "created_at"])
      .select<{ loan_id: string; paid_on: string; amount: string; reference: string | null }[]>("loan_id", db.raw("paid_on::text AS paid_on"), "amount", "reference");
    for (const l of loans) out.set(l.contract_no, { ...l, repayments: reps.filter((r) => r.loan_id === l.id) });
  }
  return out;
}

async function recordedReferences(db: Db, bankId: string, references: string[]): Promise<Map<string, { loan_id: string; paid_on: string }>> {
  const out = new Map<string, { loan_id: string; paid_on: string }>();
  for (let i = 0; i < references.length; i += 1000) {
    const rows = await db("loan_repayments")
      .where({ bank_id: bankId })
      .whereNot("source", "TRUSTEE")
      .whereIn("reference", references.slice(i, i + 1000))
      .select<{ reference: string; loan_id: string; paid_on: string }[]>("reference", "loan_id", db.raw("paid_on::text AS paid_on"));
    for (const r of rows) out.set(r.reference, r);
  }
  return out;
}

/** The first field in which the file's loan differs from the one on the platform under its contract number, or null when it is the same loan. */
function firstDifference(line: LoanLine, who: MemberRef | undefined, e: ExistingLoan & { repayments: { paid_on: string; amount: string; reference: string | null }[] }, reps: RepaymentLine[]): string | null {
  if (who && (who.household_id !== e.household_id || who.member_id !== e.borrower_member_id)) return line.borrower_id_number ? "borrower_id_number" : "household_no";
  if (e.product_code !== line.product_code) return "product_code";
  if (!new D(e.amount).eq(line.amount)) return "amount";
  if (e.annual_rate === null || !new D(e.annual_rate).eq(line.annual_rate)) return "annual_rate";
  if (e.repayment_method !== line.repayment_method) return "repayment_method";
  if (e.term_months !== line.term_months) return "term_months";
  if (e.disbursed_on !== line.disbursed_on) return "disbursed_on";
  if (reps.length > e.repayments.length) return "repayments";
  const same = reps.every((r, k) => r.value_date === e.repayments[k].paid_on && new D(r.amount).eq(e.repayments[k].amount) && (r.reference ?? null) === (e.repayments[k].reference ?? null));
  return same ? null : "repayments";
}

type AddProblem = (at: ReturnType<LoanLine["where"]>, code: string, message: string) => void;

/** Who borrowed: the member of the ID number, or the head of the household number; both given must agree. */
function borrowerOf(line: LoanLine, members: Map<string, MemberRef>, heads: Map<string, MemberRef>, add: AddProblem): MemberRef | undefined {
  const at = line.where;
  let who: MemberRef | undefined;
  if (line.borrower_id_number) {
    who = members.get(line.borrower_id_number);
    if (!who) add(at("borrower_id_number"), "MIGRATION_BORROWER_UNKNOWN", "本县登记的农户中没有此身份证号的成员 / no member of a household of the county has this ID number");
  }
  if (line.household_no) {
    const head = heads.get(line.household_no);
    if (!head) add(at("household_no"), "MIGRATION_HOUSEHOLD_UNKNOWN", `本县没有户编号为 ${line.household_no} 的农户 / no household of the county has this number`);
    else if (who && who.household_id !== head.household_id) add(at("borrower_id_number"), "LOAN_BORROWER_NOT_MEMBER", `借款人不是户 ${line.household_no} 的成员 / the borrower is not a member of household ${line.household_no}`);
    else if (!who && !line.borrower_id_number) {
      if (!head.member_id) add(at("household_no"), "LOAN_BORROWER_NOT_MEMBER", "该户没有登记户主，请填借款人身份证号 / the household has no head: give the borrower's ID number");
      else who = head;
    }
  }
  return who;
}

/** The loan within the product version's rules and the caps (50,000; 36 months); a fixed-rate product's loans carry its rate. */
function checkAgainstProduct(line: LoanLine, product: ProductRow, add: AddProblem): void {
  const at = line.where;
  const amount = new D(line.amount);
  if (amount.gt(HOUSEHOLD_CAP)) add(at("amount"), "LOAN_ABOVE_HOUSEHOLD_CAP", `贷款金额 ${line.amount} 超过 50,000 元上限 / the amount is above the cap of 50,000`);
  else if (amount.gt(product.max_amount)) add(at("amount"), "LOAN_ABOVE_PRODUCT_AMOUNT", `贷款金额 ${line.amount} 超过产品上限 ${fmt(product.max_amount)} / above the product's maximum`);
  if (line.term_months > 36 || line.term_months > product.max_term_months) {
    add(at("term_months"), "LOAN_ABOVE_PRODUCT_TERM", `期限 ${line.term_months} 个月超过${line.term_months > 36 ? " 36 个月上限" : `产品上限 ${product.max_term_months} 个月`} / the term is above ${Math.min(36, product.max_term_months)} months`);
  }
  if (!product.repayment_methods.includes(line.repayment_method)) add(at("repayment_method"), "LOAN_METHOD_NOT_OFFERED", `产品不提供此还款方式（可选 ${product.repayment_methods.join("、")}） / the product offers ${product.repayment_methods.join(", ")}`);
  if (line.purpose && !product.allowed_purposes.includes(line.purpose)) add(at("purpose"), "LOAN_PURPOSE_NOT_ALLOWED", `产品不允许此用途（可选 ${product.allowed_purposes.join("、")}） / the product allows ${product.allowed_purposes.join(", ")}`);
  if (product.rate_rule === "FIXED" && !new D(product.fixed_rate!).eq(line.annual_rate)) {
    add(at("annual_rate"), "MIGRATION_RATE_NOT_PRODUCT", `固定利率产品的利率为 ${Rate.format(product.fixed_rate!)}，本行为 ${line.annual_rate} / the product's fixed rate is ${Rate.format(product.fixed_rate!)}`);
  }
}

/** Repayments in value-date order (the file's order within a date). */
const inValueDateOrder = (reps: RepaymentLine[]) => reps.map((r, k) => ({ r, k })).sort((a, b) => (a.r.value_date < b.r.value_date ? -1 : a.r.value_date > b.r.value_date ? 1 : a.k - b.k)).map((x) => x.r);

/**
 * Checks every loan of the file against the platform and replays its history; with `dryRun`, or
 * when any row has a problem, nothing is written (a dry run answers the problems, an apply refuses
 * with them: 422 LOAN_MIGRATION_REJECTED). Otherwise every new loan is written in the caller's
 * transaction. `onProgress` is told after each loan checked and each loan written.
 */
export async function migrateLoans(
  trx: Knex.Transaction,
  ctx: Ctx,
  pii: Pii,
  file: MigrationFile,
  opts: { dryRun: boolean; countyCode?: string; format: Upload["format"]; onProgress?: (stage: "check" | "write", done: number, total: number) => void },
) {
  const scope = scopeOf(ctx.actor, opts.countyCode);
  const today = ctx.clock.today();
  // The loans are brought to the last closed business date; before the platform's first close, to yesterday's end.
  const through = (await closedThrough(trx)) ?? addDays(today, -1);
  const problems: MigrationProblem[] = [...file.problems];
  const add: AddProblem = (at, code, message) => void problems.push({ ...at, code, message });

  const members = await membersByIdNumber(trx, pii, file.loans.flatMap((l) => (l.borrower_id_number ? [l.borrower_id_number] : [])), [scope.countyCode]);
  const heads = await headsByHouseholdNo(trx, file.loans.flatMap((l) => (l.household_no ? [l.household_no] : [])), [scope.countyCode]);
  const existing = await existingLoans(trx, scope.bankId, file.loans.map((l) => l.contract_no));
  const references = await recordedReferences(trx, scope.bankId, file.loans.flatMap((l) => l.repayments.flatMap((r) => (r.reference ? [r.reference] : []))));
  const products = new Map<string, ProductRow | undefined>();
  const productOn = async (code: string, on: string) => {
    const k = `${code}|${on}`;
    if (!products.has(k)) products.set(k, await versionsInForce(trx, { bankId: scope.bankId, countyCode: scope.countyCode, code }, on).first<ProductRow | undefined>());
    return products.get(k);
  };

  const results: MigratedLoanView[] = [];
  const prepared: Prepared[] = [];
  const seenReferences = new Map<string, number>();
  for (const [n, line] of file.loans.entries()) {
    opts.onProgress?.("check", n + 1, file.loans.length);
    const before = problems.length;
    const at = line.where;
    const row = at("contract_no").row;
    const who = borrowerOf(line, members, heads, add);
    const found = existing.get(line.contract_no);
    const reps = inValueDateOrder(line.repayments);
    if (found) {
      const diff = problems.length > before ? null : firstDifference(line, who, found, reps);
      if (diff) {
        add(at(diff === "repayments" ? "contract_no" : diff), "LOAN_CONTRACT_NO_TAKEN", `合同号 ${line.contract_no} 已有另一笔贷款，与本行不同（${diff}） / contract number ${line.contract_no} is already used by a loan that differs in ${diff}`);
      } else if (problems.length === before) {
        results.push({ row, contract_no: line.contract_no, outcome: "ALREADY_PRESENT", loan_id: found.id, status: found.status, outstanding_principal: fmt(found.outstanding_principal), dpd: found.dpd, penalty_due: fmt(found.penalty_due), repayments: found.repayments.length });
      }
      continue;
    }

    if (line.disbursed_on > today) add(at("disbursed_on"), "VALUE_DATE_IN_FUTURE", `放款日 ${line.disbursed_on} 晚于今天 ${today} / the disbursement date is after today`);
    for (const r of reps) {
      if (r.value_date < line.disbursed_on) add(r.where("value_date"), "MIGRATION_REPAYMENT_BEFORE_DISBURSEMENT", `还款日 ${r.value_date} 早于放款日 ${line.disbursed_on} / the value date is before the disbursement`);
      else if (r.value_date > today) add(r.where("value_date"), "VALUE_DATE_IN_FUTURE", `还款日 ${r.value_date} 晚于今天 ${today} / the value date is after today`);
      if (!r.reference) continue;
      const first = seenReferences.get(r.reference);
      const taken = references.get(r.reference);
      if (first !== undefined) add(r.where("reference"), "DUPLICATE_BANK_REFERENCE", `银行流水号 ${r.reference} 在文件中重复（第 ${first} 行已有） / the bank reference appears twice in the file`);
      else if (taken) add(r.where("reference"), "DUPLICATE_BANK_REFERENCE", `银行流水号 ${r.reference} 已于 ${taken.paid_on} 入账 / the bank reference is already recorded (value date ${taken.paid_on})`);
      else seenReferences.set(r.reference, r.where("reference").row);
    }

    // The product version in force on the disbursement date, and the loan within its rules and the caps.
    const product = await productOn(line.product_code, line.disbursed_on);
    if (!product) {
      add(at("product_code"), "LOAN_PRODUCT_NOT_AVAILABLE", `本行在本县没有 ${line.disbursed_on} 有效的产品 ${line.product_code} / no version of product ${line.product_code} of your bank in the county is in force on ${line.disbursed_on}`);
      continue;
    }
    checkAgainstProduct(line, product, add);
    let price: Awaited<ReturnType<typeof priceLoan>> | null = null;
    try {
      price = await priceLoan(trx, product, line.term_months, line.disbursed_on);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      add(at("disbursed_on"), e.code, e.code === "LOAN_NO_RATE_TABLE" ? `${line.disbursed_on} 及以前没有公布的 LPR，请先由管理员录入 / no LPR is published on or before the disbursement date` : (e.detail ?? e.code));
    }
    if (problems.length > before || !who || !price) continue;

    const id = randomUUID();
    const loan: LoanRow = {
      id,
      county_code: scope.countyCode,
      village_code: who.village_code,
      bank_id: scope.bankId,
      household_id: who.household_id,
      borrower_member_id: who.member_id,
      product_id: product.id,
      contract_no: line.contract_no,
      migrated_on: today,
      status: "DISBURSED",
      amount: fmt(line.amount),
      outstanding_principal: fmt(line.amount),
      annual_rate: Rate.format(line.annual_rate),
      rate_basis: price.basis,
      lpr_date: price.lprDate,
      term_months: line.term_months,
      repayment_method: line.repayment_method,
      purpose: line.purpose ?? product.allowed_purposes[0],
      purpose_detail: null,
      penalty_markup: product.penalty_markup,
      grace_days: product.grace_days,
      rating_id: null,
      applied_on: line.disbursed_on,
      decided_on: line.disbursed_on,
      disbursed_on: line.disbursed_on,
      maturity_date: maturityOf(line.disbursed_on, line.term_months),
      original_maturity_date: maturityOf(line.disbursed_on, line.term_months),
      extended_on: null,
      extension_months: null,
      closed_on: null,
      officer_id: ctx.actor.userId,
      approver_id: ctx.actor.userId,
      decision_note: "存量贷款迁移 / migrated",
      renewed_from_loan_id: null,
      renewed_to_loan_id: null,
      written_off_principal: "0.00",
      dpd: 0,
      dpd_bucket: "CURRENT",
      overdue_principal: "0.00",
      overdue_interest: "0.00",
      penalty_due: "0.00",
      cur_period_start: null,
      cur_period_end: null,
      cur_period_interest: null,
      standing_date: null,
      version: 1,
      created_at: ctx.clock.now(),
      updated_at: ctx.clock.now(),
    };
    const terms = await subsidyTermsOf(trx, loan);
    const { rows: schedule } = disbursementSchedule({ ...loan, annual_rate: loan.annual_rate! }, terms, line.disbursed_on);
    const removed = who.household_status === "REMOVED";
    let history: ReplayedLoan;
    try {
      history = replayHistory(loan, schedule, reps, through, terms, () => (removed ? "HOUSEHOLD_REMOVED" : null));
    } catch (e) {
      if (!(e instanceof ReplayRefusal)) throw e;
      const r = reps[e.index];
      add(r.where(e.code === "MIGRATION_REPAYMENT_AFTER_PAYOFF" ? "value_date" : "amount"), e.code, replayMessage(e, r));
      continue;
    }
    prepared.push({ line, loan, schedule, history, repayments: reps });
    results.push({
      row,
      contract_no: line.contract_no,
      outcome: opts.dryRun ? "TO_MIGRATE" : "MIGRATED",
      loan_id: opts.dryRun ? null : id,
      status: history.status,
      outstanding_principal: fmt(history.outstanding),
      dpd: history.standing.dpd,
      penalty_due: history.standing.penalty_due,
      repayments: reps.length,
    });
  }

  problems.sort((a, b) => (a.sheet === b.sheet ? a.row - b.row : a.sheet === "loans" ? -1 : 1));
  const listed = problems.slice(0, MAX_PROBLEMS);
  if (problems.length > 0 && !opts.dryRun) {
    const more = problems.length > MAX_PROBLEMS ? `（列出前 ${MAX_PROBLEMS} 个）` : "";
    throw new AppError("LOAN_MIGRATION_REJECTED", `文件有 ${problems.length} 个问题${more}，未迁移任何贷款 / ${problems.length} problems in the file; nothing was migrated`, listed);
  }
  if (!opts.dryRun) await writeLoans(trx, ctx, prepared, today, (done) => opts.onProgress?.("write", done, prepared.length));
  const count = (o: MigrationOutcome) => results.filter((r) => r.outcome === o).length;
  return {
    dry_run: opts.dryRun,
    county_code: scope.countyCode,
    bank_id: scope.bankId,
    source_format: opts.format,
    brought_to: through,
    loans: file.counts.loans,
    repayments: file.counts.repayments,
    migrated: count("MIGRATED"),
    to_migrate: count("TO_MIGRATE"),
    already_present: count("ALREADY_PRESENT"),
    outstanding_principal: fmt(prepared.reduce((s, p) => s.plus(p.history.outstanding), new D(0))),
    problem_count: problems.length,
    problems: listed,
    results: results.sort((a, b) => a.row - b.row),
  };
}

function replayMessage(e: ReplayRefusal, r: RepaymentLine): string {
  // The plan's refusal is "中文 / English"; the row's message keeps its own Chinese and the plan's English.
  const en = splitBilingual(e.detail)?.en ?? e.detail;
  if (e.code === "LOAN_OVERPAYMENT") return `还款 ${r.amount} 超过 ${r.value_date} 结清贷款所需金额 / ${en}`;
  if (e.code === "LOAN_PAYOFF_SHORT") return `还款 ${r.amount} 已够全部本金，但不够结清当日应付利息 / ${en}`;
  return e.detail;
}

/** Loans written per round of statements. */
const WRITE_CHUNK = 500;

/**
 * Writes the checked loans, set-based, a chunk at a time: the loan rows with their standing, their
 * periods, their schedule bases (the schedule right after the disbursement, so a later back-dated
 * entry or a reversal starts from the history), the repayments with the schedule each was
 * allocated over, and one opening entry per loan with principal outstanding (Dr 1301 / Cr 3101);
 * last, the audit records.
 */
async function writeLoans(trx: Knex.Transaction, ctx: Ctx, prepared: Prepared[], today: string, progress: (done: number) => void): Promise<void> {
  const audits: AuditRecord[] = [];
  for (let i = 0; i < prepared.length; i += WRITE_CHUNK) {
    const chunk = prepared.slice(i, i + WRITE_CHUNK);
    await trx("loans").insert(
      chunk.map(({ loan, history }) => {
        const { created_at: _c, updated_at: _u, version: _v, ...columns } = loan;
        return { ...columns, status: history.status, outstanding_principal: fmt(history.outstanding), closed_on: history.closedOn, ...history.standing };
      }),
    );
    await insertPeriods(trx, chunk.flatMap((p) => p.history.rows));
    await saveScheduleBases(trx, chunk.map((p) => ({ loan: p.loan, valueDate: p.loan.disbursed_on!, event: "MIGRATION", periods: p.schedule })));
    const repayments = chunk.flatMap((p) => repaymentRows(ctx, p, today));
    for (let k = 0; k < repayments.length; k += WRITE_CHUNK) await trx("loan_repayments").insert(repayments.slice(k, k + WRITE_CHUNK));
    await postOpeningBalances(trx, ctx, chunk.filter((p) => new D(p.history.outstanding).gt(0)), today);
    audits.push(...chunk.map(auditOf));
    progress(i + chunk.length);
  }
  await appendAudit(trx, ctx, audits);
}

function repaymentRows(ctx: Ctx, p: Prepared, today: string) {
  const { loan } = p;
  return p.history.repayments.map(({ plan, scheduleBefore }, k) => ({
    loan_id: loan.id,
    county_code: loan.county_code,
    bank_id: loan.bank_id,
    paid_on: plan.on,
    entered_on: today,
    schedule_before: JSON.stringify(scheduleBefore),
    amount: fmt(plan.amount),
    penalty: fmt(plan.penalty),
    interest: fmt(plan.interest),
    principal: fmt(plan.principal),
    prepayment: fmt(plan.prepayment),
    kind: "REPAYMENT",
    source: "BORROWER",
    reference: p.repayments[k].reference,
    allocation: JSON.stringify(plan.allocation.perPeriod.map((a) => ({ seq: a.seq, penalty: fmt(a.penalty), interest: fmt(a.interest), principal: fmt(a.principal) }))),
    journal_entry_id: null,
    actor_id: ctx.actor.userId,
    // Keeps the file's order among repayments of one value date (the latest is found by value date, then entry).
    created_at: new Date(ctx.clock.now().getTime() + k),
  }));
}

/** One entry per loan, Dr 1301 (party = loan) / Cr 3101 (party = bank) of its outstanding principal, in one statement. */
async function postOpeningBalances(trx: Knex.Transaction, ctx: Ctx, chunk: Prepared[], today: string): Promise<void> {
  if (chunk.length === 0) return;
  const arrays = [chunk.map(() => randomUUID()), chunk.map((p) => p.loan.id), chunk.map((p) => p.loan.bank_id), chunk.map((p) => p.history.outstanding), chunk.map((p) => `存量贷款迁移 opening balance ${p.line.contract_no}`)];
  const unnest = `unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::numeric[], ?::text[]) AS x(entry_id, loan_id, bank_id, principal, memo)`;
  const county = chunk[0].loan.county_code;
  await postJournalEntriesFrom(trx, {
    entriesSql: `SELECT x.entry_id AS id, ?::text AS county_code, ?::date AS entry_date, 'loan.migration' AS kind, 'loan' AS ref_type, x.loan_id::text AS ref_id,
                        x.memo, ?::uuid AS actor_id, NULL::uuid AS reverses_entry_id
                   FROM ${unnest}`,
    linesSql: `SELECT x.entry_id, y.account AS account_code, ?::text AS county_code, y.party_type, y.party_id, y.debit, y.credit
                 FROM ${unnest}
                CROSS JOIN LATERAL (VALUES ('${ACCOUNTS.LOAN_PRINCIPAL}', 'loan', x.loan_id::text, x.principal, 0::numeric),
                                           ('${ACCOUNTS.OPENING_BALANCES}', 'bank', x.bank_id::text, 0::numeric, x.principal)) AS y(account, party_type, party_id, debit, credit)`,
    bindings: [county, today, ctx.actor.userId, ...arrays, county, ...arrays],
    fresh: true, // ids drawn for this chunk
  });
}

function auditOf(p: Prepared): AuditRecord {
  const { loan, history } = p;
  return {
    action: "loan.migrate",
    entityType: "loan",
    entityId: loan.id,
    countyCode: loan.county_code,
    after: {
      contract_no: loan.contract_no,
      household_id: loan.household_id,
      borrower_member_id: loan.borrower_member_id,
      product_id: loan.product_id,
      amount: loan.amount,
      annual_rate: loan.annual_rate,
      repayment_method: loan.repayment_method,
      term_months: loan.term_months,
      disbursed_on: loan.disbursed_on,
      status: history.status,
      outstanding_principal: fmt(history.outstanding),
      repayments: history.repayments.map(({ plan }, k) => ({ value_date: plan.on, amount: fmt(plan.amount), reference: p.repayments[k].reference })),
    },
  };
}
