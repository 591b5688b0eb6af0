/**
 * The schedule preview (试算) and the printable schedule: what a disbursement on a date would write,
 * with its totals, the subsidy split of the policy and the annualised rate (年化利率) the People's
 * Bank requires every loan offer to disclose; nothing is stored. The schedule comes from
 * `disbursementSchedule` (origination.ts), the very function a disbursement writes with.
 */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, invalidState, notFound } from "../../http/errors.js";
import type { Ctx } from "../../lib/context.js";
import { escapeHtml, printablePage } from "../../lib/html.js";
import { statusLabel } from "../../lib/labels.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import { maskName } from "../../lib/pii.js";
import { borrowerAndBank } from "../register/index.js";
import { HOUSEHOLD_CAP, LOAN_READERS, fmt, rateFmt } from "./common.js";
import { type PolicyColumns, policyShare, type SplittablePeriod, type SubsidyTerms, subsidyTermsOf, termsFrom } from "./household-interest.js";
import { annualisedRate, type CashFlow, percentLabel } from "./irr.js";
import type { RepaymentMethod } from "./model.js";
import { checkProduct, checkProductLimits, disbursementSchedule } from "./origination.js";
import { priceLoan, productInForce, productScope } from "./products.js";
import { findLoan, periodsOf, productById, type ProductRow } from "./queries.js";
import type { SchedulePreview, SchedulePreviewCreate } from "./schemas.js";
import { subsidyRate } from "./subsidy-split.js";

type Db = Knex | Knex.Transaction;
type PreviewInput = z.infer<typeof SchedulePreviewCreate>;
export type PreviewView = z.infer<typeof SchedulePreview>;

/** The product version a preview names: a version id as it is, or a code's version in force on the date. */
async function previewProduct(db: Db, actor: Actor, input: PreviewInput): Promise<ProductRow | null> {
  const on = input.disbursement_date;
  if (input.product_id) {
    const p = await productScope(db("loan_products").where({ id: input.product_id }), actor).first<ProductRow | undefined>();
    if (!p) throw notFound("loan product");
    return checkProduct(p, { bankId: p.bank_id, countyCode: p.county_code, on });
  }
  if (input.product_code) {
    const bankId = input.bank_id ?? actor.bankId;
    if (!bankId) throw new AppError("VALIDATION_FAILED", { zh: "给出 product_code 时须给出 bank_id", en: "bank_id is required with product_code" }, [{ path: "body.bank_id", message: { zh: "必填", en: "required" } }]);
    const p = await productInForce(db, actor, { bankId, countyCode: input.county_code!, code: input.product_code }, on);
    if (!p) {
      throw new AppError("LOAN_PRODUCT_NOT_AVAILABLE", {
        zh: `产品 ${input.product_code} 在 ${input.county_code} 于 ${on} 没有生效的版本`,
        en: `No version of product ${input.product_code} is in force in ${input.county_code} on ${on}`,
      });
    }
    return p;
  }
  return null;
}

/** A schedule row as a disbursement stores it, or as it is stored. */
interface PlanRow extends SplittablePeriod {
  seq: number;
  due_date: string;
  days: number;
  principal_due: string;
  interest_due: string;
  interest_subsidy?: string;
  subsidy_forfeited?: string | null;
}

/**
 * Periods, totals and annualised rates of a schedule: the contract interest of each period, its
 * subsidy under the policy (the stored share under TO_BANK; under TO_HOUSEHOLD what the county
 * reimburses, counted on the due date), the household's own interest, and the XIRR of the
 * household's flows — the amount on the disbursement date, each period's payment on its due date.
 */
export function planOf(rows: readonly PlanRow[], terms: SubsidyTerms | null, amount: Dec, disbursedOn: string) {
  const contractFlows: CashFlow[] = [{ date: disbursedOn, amount }];
  const householdFlows: CashFlow[] = [{ date: disbursedOn, amount }];
  const periods = rows.map((r) => {
    const stored = new D(r.interest_subsidy ?? 0);
    const interest = new D(r.interest_due).plus(stored);
    const subsidy = terms?.mode === "TO_BANK" ? stored : r.subsidy_forfeited ? new D(0) : policyShare(terms, r, interest);
    const principal = new D(r.principal_due);
    contractFlows.push({ date: r.due_date, amount: principal.plus(interest).neg() });
    householdFlows.push({ date: r.due_date, amount: principal.plus(interest).minus(subsidy).neg() });
    return {
      seq: r.seq,
      accrual_start: r.accrual_start,
      accrual_end: r.accrual_end,
      due_date: r.due_date,
      days: r.days,
      opening_principal: fmt(r.opening_principal),
      principal: fmt(principal),
      interest: fmt(interest),
      interest_subsidy: fmt(subsidy),
      household_interest: fmt(interest.minus(subsidy)),
      interest_due: fmt(r.interest_due),
      payment: fmt(principal.plus(r.interest_due)),
    };
  });
  const sum = (k: "principal" | "interest" | "interest_subsidy" | "household_interest" | "interest_due" | "payment") => fmt(Money.sum(periods.map((p) => p[k])));
  return {
    periods,
    totals: {
      principal: sum("principal"),
      interest: sum("interest"),
      interest_subsidy: sum("interest_subsidy"),
      household_interest: sum("household_interest"),
      interest_due: sum("interest_due"),
      payment: sum("payment"),
      days: periods.reduce((a, p) => a + p.days, 0),
    },
    annualised_rate: { contract: annualisedRate(contractFlows).toFixed(4), household: annualisedRate(householdFlows).toFixed(4) },
  };
}

function subsidyView(terms: SubsidyTerms | null) {
  if (!terms) return null;
  const p = terms.policy;
  return { mode: p.mode, ratio: Rate.format(p.ratio), rate_cap: p.rateCap === null ? null : Rate.format(p.rateCap), rate: Rate.format(subsidyRate(terms.loan, p)), term_months: p.termMonths, principal_cap: fmt(p.principalCap) };
}

/**
 * 试算: the schedule a disbursement on `disbursement_date` would write for a product version (or the
 * version of a code in force on that date) or an explicit rate, refused with the codes an application
 * and a disbursement use (amount, term, method, purpose, product in force, household cap). The rate of
 * a product is priced on the LPR in force on the disbursement date.
 */
export async function previewSchedule(db: Db, actor: Actor, input: PreviewInput): Promise<PreviewView> {
  requireRole(actor, ...LOAN_READERS);
  const on = input.disbursement_date;
  const amount = new D(input.amount);
  const product = await previewProduct(db, actor, input);
  let method: RepaymentMethod;
  let price: { rate: string; basis: string; lprDate: string | null; lpr: string | null };
  let policy: PolicyColumns | null;
  if (product) {
    method = input.repayment_method ?? product.repayment_methods[0];
    checkProductLimits(product, amount, input.term_months, method, input.purpose);
    price = await priceLoan(db, product, input.term_months, on);
    policy = product;
  } else {
    if (amount.gt(HOUSEHOLD_CAP)) {
      throw new AppError("LOAN_ABOVE_HOUSEHOLD_CAP", { zh: `金额 ${fmt(amount)} 超过每户上限 ${fmt(HOUSEHOLD_CAP)}`, en: `The amount ${fmt(amount)} is above the household cap of ${fmt(HOUSEHOLD_CAP)}` });
    }
    method = input.repayment_method ?? "BULLET_QUARTERLY";
    price = { rate: Rate.format(input.annual_rate!), basis: "FIXED", lprDate: null, lpr: null };
    const s = input.subsidy;
    policy = s ? { subsidy_ratio: s.ratio, subsidy_rate_cap: s.rate_cap, subsidy_term_months: s.term_months, subsidy_principal_cap: s.principal_cap, subsidy_mode: s.mode } : null;
  }
  const annualRate = new D(price.rate);
  const terms = policy && termsFrom(policy, { method, annualRate, pricedLpr: price.lpr === null ? null : new D(price.lpr), disbursedOn: on, amount });
  const loan = { id: "", county_code: product?.county_code ?? "", grace_days: product?.grace_days ?? 0, amount: fmt(amount), repayment_method: method, term_months: input.term_months, annual_rate: price.rate };
  const { maturity, rows } = disbursementSchedule(loan, terms, on);
  return {
    product: product ? { id: product.id, code: product.code, version: product.version, name: product.name, effective_from: product.effective_from } : null,
    amount: fmt(amount),
    term_months: input.term_months,
    repayment_method: method,
    annual_rate: price.rate,
    rate_basis: price.basis,
    lpr_date: price.lprDate,
    disbursement_date: on,
    maturity_date: maturity,
    subsidy: subsidyView(terms),
    ...planOf(rows, terms, amount, on),
  };
}

// ---------- printable schedule (还款计划表) ----------

const METHOD_LABELS: Record<string, string> = { BULLET_QUARTERLY: "到期还本、按季结息", EQUAL_INSTALLMENT: "等额本息（按月）", EQUAL_PRINCIPAL: "等额本金（按月）" };
const BASIS_LABELS: Record<string, string> = { LPR_1Y: "一年期LPR", LPR_5Y: "五年期以上LPR", FIXED: "固定利率" };
const MODE_LABELS: Record<string, string> = { TO_BANK: "直接贴息给银行，农户只付自担部分", TO_HOUSEHOLD: "先缴后补，财政补给农户" };

export interface PrintHeader {
  title: string;
  borrower?: { name: string; id_number: string; household_no: string } | null;
  bank?: string | null;
  contract?: string | null;
  note?: string;
}

/** The schedule as an A4 page for the browser's print: Chinese labels, the annualised rates, the borrower's name masked. */
export function scheduleHtml(v: PreviewView, h: PrintHeader): string {
  const e = (s: string | number | null | undefined) => escapeHtml(s === null || s === undefined ? "—" : String(s));
  const facts: [string, string][] = [];
  if (h.borrower) facts.push(["借款人", `${h.borrower.name}（${h.borrower.id_number}）`], ["户编号", h.borrower.household_no]);
  if (h.bank) facts.push(["贷款银行", h.bank]);
  if (h.contract) facts.push(["贷款编号", h.contract]);
  facts.push(
    ["贷款产品", v.product ? `${v.product.name}（${v.product.code} 第${v.product.version}版，${v.product.effective_from}起）` : "—"],
    ["贷款金额", `${v.amount} 元`],
    ["期限", `${v.term_months} 个月`],
    ["还款方式", METHOD_LABELS[v.repayment_method] ?? v.repayment_method],
    ["合同年利率", `${percentLabel(v.annual_rate)}（${BASIS_LABELS[v.rate_basis] ?? v.rate_basis}${v.lpr_date ? `，${v.lpr_date}公布` : ""}）`],
    ["放款日", v.disbursement_date],
    ["到期日", v.maturity_date],
    [
      "贴息政策",
      v.subsidy
        ? `贴息比例 ${percentLabel(v.subsidy.ratio)}，贴息利率 ${percentLabel(v.subsidy.rate)}，贴息期 ${v.subsidy.term_months} 个月，本金上限 ${v.subsidy.principal_cap} 元；${MODE_LABELS[v.subsidy.mode] ?? v.subsidy.mode}`
        : "无",
    ],
    ["年化利率（合同）", percentLabel(v.annualised_rate.contract)],
    ["年化利率（扣除贴息后农户自担）", percentLabel(v.annualised_rate.household)],
  );
  const factRows = facts.map(([k, x]) => `<tr><th>${e(k)}</th><td>${e(x)}</td></tr>`).join("");
  const rows = v.periods
    .map(
      (p) =>
        `<tr><td>${p.seq}</td><td>${e(p.accrual_start)}</td><td>${e(p.accrual_end)}</td><td>${e(p.due_date)}</td><td class="num">${p.days}</td><td class="num">${e(p.opening_principal)}</td><td class="num">${e(p.principal)}</td><td class="num">${e(p.interest)}</td><td class="num">${e(p.interest_subsidy)}</td><td class="num">${e(p.household_interest)}</td><td class="num">${e(p.payment)}</td></tr>`,
    )
    .join("");
  const t = v.totals;
  const body = `<section class="sheet"><h1>${e(h.title)}</h1>
<table class="facts">${factRows}</table>
<table><thead><tr><th>期次</th><th>计息起日</th><th>计息止日（不含）</th><th>还款日</th><th>天数</th><th>期初本金</th><th>应还本金</th><th>合同利息</th><th>贴息</th><th>农户自担利息</th><th>当期应还</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th colspan="4">合计</th><td class="num">${t.days}</td><td></td><td class="num">${e(t.principal)}</td><td class="num">${e(t.interest)}</td><td class="num">${e(t.interest_subsidy)}</td><td class="num">${e(t.household_interest)}</td><td class="num">${e(t.payment)}</td></tr></tfoot></table>
<p class="foot">利息按日计算：本金 × 年利率 ÷ 360 × 天数（算头不算尾），每期四舍五入到分。“当期应还”为还款日应付银行的本息${v.subsidy?.mode === "TO_BANK" ? "（贴息部分由银行向财政申领）" : ""}。
年化利率按中国人民银行公告〔2021〕第3号以内部收益率法（IRR）计算：以放款日收到的贷款金额和各还款日支付的本息为现金流，按实际天数/365复利折算（与电子表格 XIRR 函数一致），四舍五入保留两位小数；“扣除贴息后农户自担”按贴息在还款日抵减计算。${h.note ? e(h.note) : ""}</p></section>`;
  return printablePage(
    h.title,
    body,
    `.sheet{padding:15mm}
h1{text-align:center;font-size:18pt}
table{font-size:9.5pt;margin-bottom:10px}
.facts th{width:30%;text-align:left;background:#f3f3f3}
.foot{font-size:9pt}`,
  );
}

/** The printable schedule of a preview. */
export function previewHtml(v: PreviewView): string {
  return scheduleHtml(v, { title: "贷款还款计划试算表", note: "本表为试算结果，不构成贷款承诺；实际以放款日生成的还款计划为准。" });
}

/**
 * The printable schedule of a disbursed loan as stored (the plan; what has been paid is on
 * `GET /loans/{id}/schedule`), with the annualised rates of that schedule and the borrower's name masked.
 */
export async function loanScheduleHtml(db: Db, ctx: Ctx, id: string): Promise<string> {
  requireRole(ctx.actor, ...LOAN_READERS);
  const loan = await findLoan(db, ctx.actor, id);
  if (!loan) throw notFound("loan");
  if (!loan.disbursed_on || !loan.maturity_date) {
    throw invalidState({
      zh: `贷款状态为${statusLabel("loan", loan.status, "zh")}；还款计划在放款时生成（放款前可用 POST /loans/schedule-preview 试算）`,
      en: `The loan is ${loan.status}; its schedule is written at disbursement (POST /loans/schedule-preview shows it beforehand)`,
    });
  }
  const rows = await periodsOf(db, id);
  const terms = await subsidyTermsOf(db, loan);
  const who = await borrowerAndBank(db, loan.borrower_member_id, loan.bank_id);
  const product = loan.product_id ? await productById(db, loan.product_id) : undefined;
  const amount = new D(loan.amount);
  const view: PreviewView = {
    product: product ? { id: product.id, code: product.code, version: product.version, name: product.name, effective_from: product.effective_from } : null,
    amount: fmt(amount),
    term_months: loan.term_months,
    repayment_method: loan.repayment_method,
    annual_rate: rateFmt(loan.annual_rate) ?? "0",
    rate_basis: loan.rate_basis ?? "FIXED",
    lpr_date: loan.lpr_date,
    disbursement_date: loan.disbursed_on,
    maturity_date: loan.maturity_date,
    subsidy: subsidyView(terms),
    ...planOf(rows, terms, amount, loan.disbursed_on),
  };
  const borrower = { name: who.name ? maskName(who.name) : "—", id_number: who.id_number_masked ?? "—", household_no: who.household_no ?? "—" };
  return scheduleHtml(view, { title: "贷款还款计划表", borrower, bank: who.bank_name, contract: loan.id });
}
