/** Constants and error codes shared by the stages of a loan's life. */
import type { Knex } from "knex";
import { AppError, invalidState, notFound, registerErrorCodes } from "../../http/errors.js";
import type { Ctx } from "../../lib/context.js";
import { statusLabel } from "../../lib/labels.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import type { LoanStatus } from "./model.js";
import { findLoan, type LoanRow } from "./queries.js";

/** The cap on a household's poverty loans, all members together (docs/DOMAIN.md#credit-line). */
export const HOUSEHOLD_CAP = new D(50000);
export const ELIGIBLE_HOUSEHOLD = ["POOR", "EXITED", "MONITORED"];
export const BANK_STAFF = ["loan_officer", "bank_manager"] as const;
export const LOAN_READERS = ["admin", "regulator", "finance_officer", "village_officer", "loan_officer", "bank_manager"] as const;

registerErrorCodes({
  LOAN_HOUSEHOLD_NOT_ELIGIBLE: {
    status: 422,
    title: { zh: "农户不符合贷款条件", en: "Household not eligible" },
    description: { zh: "农户状态不是贫困户、脱贫户或监测户。", en: "The household is not POOR, EXITED or MONITORED (docs/DOMAIN.md#household-status)." },
  },
  LOAN_BORROWER_NOT_MEMBER: {
    status: 422,
    title: { zh: "借款人不是家庭成员", en: "Borrower not a member" },
    description: { zh: "借款人不是该农户的家庭成员。", en: "The borrower is not a member of the household." },
  },
  LOAN_BORROWER_AGE: {
    status: 422,
    title: { zh: "借款人年龄不符", en: "Borrower age out of range" },
    description: { zh: "申请时借款人须年满 18 周岁且不超过 65 周岁（按身份证出生日期）。", en: "The borrower must be 18 to 65 at application (from the ID birth date)." },
  },
  LOAN_NO_EFFECTIVE_RATING: {
    status: 422,
    title: { zh: "无有效评级", en: "No effective rating" },
    description: { zh: "农户没有授信额度大于零的有效信用评级。", en: "The household has no effective credit rating with a credit line above zero." },
  },
  LOAN_ABOVE_CREDIT_LINE: {
    status: 422,
    title: { zh: "超过授信额度", en: "Above the credit line" },
    description: { zh: "农户未结清和待审批的贷款加上本笔贷款超过授信额度。", en: "The household's outstanding and pending loans plus this one exceed its credit line." },
  },
  LOAN_ABOVE_HOUSEHOLD_CAP: {
    status: 422,
    title: { zh: "超过户均上限", en: "Above the household cap" },
    description: { zh: "农户的扶贫小额信贷合计将超过 5 万元。", en: "The household's poverty loans would exceed 50,000 in total." },
  },
  LOAN_PURPOSE_NOT_ALLOWED: {
    status: 422,
    title: { zh: "贷款用途不允许", en: "Purpose not allowed" },
    description: { zh: "产品不允许此用途（仅限生产经营）。", en: "The product does not allow this purpose (production only)." },
  },
  LOAN_ABOVE_PRODUCT_AMOUNT: {
    status: 422,
    title: { zh: "超过产品金额上限", en: "Above the product's amount" },
    description: { zh: "金额超过产品的最高额度。", en: "The amount exceeds the product's maximum." },
  },
  LOAN_ABOVE_PRODUCT_TERM: {
    status: 422,
    title: { zh: "超过产品期限上限", en: "Above the product's term" },
    description: { zh: "期限超过产品的最长期限。", en: "The term exceeds the product's maximum." },
  },
  LOAN_METHOD_NOT_OFFERED: {
    status: 422,
    title: { zh: "还款方式不提供", en: "Repayment method not offered" },
    description: { zh: "产品不提供此还款方式。", en: "The product does not offer this repayment method." },
  },
  LOAN_PRODUCT_NOT_AVAILABLE: {
    status: 422,
    title: { zh: "产品不可用", en: "Product not available" },
    description: { zh: "产品在该日期未生效，或属于其他银行或县。", en: "The product is not in force on this date, or belongs to another bank or county." },
  },
  LOAN_NO_RATE_TABLE: {
    status: 422,
    title: { zh: "无生效的 LPR", en: "No LPR in force" },
    description: { zh: "定价日当天或之前没有公布的 LPR 利率表。", en: "No LPR rate table is published on or before the pricing date." },
  },
  LOAN_MAKER_CHECKER: {
    status: 422,
    title: { zh: "审贷分离", en: "Maker-checker" },
    description: { zh: "受理申请的信贷员不能审批或拒绝该申请。", en: "The officer who took the application may not approve or reject it." },
  },
  LOAN_OVERPAYMENT: {
    status: 422,
    title: { zh: "还款超额", en: "Overpayment" },
    description: { zh: "还款金额超过结清贷款所需的全部应还金额（见 `payoff_amount`）。", en: "The payment is more than everything owed to close the loan (see `payoff_amount`)." },
  },
  LOAN_PAYOFF_SHORT: {
    status: 422,
    title: { zh: "结清金额不足", en: "Payoff amount short" },
    description: { zh: "还款覆盖了全部本金，但不足以支付结清贷款所需的截至当日利息；请按 `payoff_amount` 还款，或还款少于本金。", en: "The payment covers the whole principal but not the interest to date that closes the loan; pay `payoff_amount` or less than the principal." },
  },
  LOAN_EXTENSION_USED: {
    status: 422,
    title: { zh: "已展期", en: "Already extended" },
    description: { zh: "一笔贷款只能展期一次。", en: "A loan may be extended (展期) once." },
  },
  LOAN_EXTENSION_AFTER_MATURITY: {
    status: 422,
    title: { zh: "到期后展期", en: "Extension after maturity" },
    description: { zh: "展期须在到期日之前办理。", en: "An extension must be made before the maturity date." },
  },
  LOAN_EXTENSION_OVERDUE: {
    status: 422,
    title: { zh: "逾期贷款展期", en: "Extension of an overdue loan" },
    description: { zh: "有逾期金额的贷款不能展期。", en: "A loan with overdue amounts cannot be extended." },
  },
  LOAN_RENEWAL_WINDOW: {
    status: 422,
    title: { zh: "不在续贷期内", en: "Outside the renewal window" },
    description: { zh: "无还本续贷可在到期前 30 天至到期日办理。", en: "Renewal (无还本续贷) is possible from 30 days before maturity through the maturity date." },
  },
  LOAN_RENEWAL_OVERDUE: {
    status: 422,
    title: { zh: "逾期贷款续贷", en: "Renewal of an overdue loan" },
    description: { zh: "有逾期金额的贷款不能续贷。", en: "A loan with overdue amounts cannot be renewed." },
  },
  LOAN_WRITE_OFF_NOT_NPL: {
    status: 422,
    title: { zh: "非不良贷款", en: "Not non-performing" },
    description: { zh: "只有不良贷款（逾期超过 90 天）可以核销。", en: "Only a non-performing loan (DPD > 90) may be written off." },
  },
  VALUE_DATE_IN_FUTURE: {
    status: 422,
    title: { zh: "起息日在未来", en: "Value date in the future" },
    description: { zh: "起息日须为今天或更早。", en: "A value date (起息日) is today or earlier." },
  },
  VALUE_DATE_BEFORE_LATEST: {
    status: 422,
    title: { zh: "起息日早于最近起息日", en: "Value date before the latest" },
    description: { zh: "起息日不能早于贷款上已有的最近起息日：历史不重排（请先冲正再重新录入）。", en: "A value date may not be earlier than the latest value date already on the loan: history is not reordered (correct it by a reversal and a new entry)." },
  },
  VALUE_DATE_TOO_OLD: {
    status: 422,
    title: { zh: "起息日过早", en: "Value date too far back" },
    description: { zh: "起息日早于本县允许的天数（默认 30 天）。", en: "The value date is more days back than the county allows (30 unless set)." },
  },
  VALUE_DATE_NO_HISTORY: {
    status: 422,
    title: { zh: "无可倒起息的历史", en: "No history to back-date over" },
    description: { zh: "贷款在上次日终之前的还款计划未记录（起息日功能之前的贷款）；请以今天为起息日录入。", en: "The loan's schedule before the last close of business was not recorded (a loan from before value dates); enter the payment with today's date." },
  },
  DUPLICATE_BANK_REFERENCE: {
    status: 409,
    title: { zh: "银行流水号已入账", en: "Bank reference already recorded" },
    description: { zh: "该银行流水号已记录在一笔还款上；同一笔款项不会入账两次。", en: "This bank's transaction reference (流水号) is already recorded on a repayment; a payment is never applied twice." },
  },
  REVERSAL_NOT_LATEST: {
    status: 422,
    title: { zh: "不是最近一笔还款", en: "Not the latest repayment" },
    description: { zh: "只能冲正贷款最近一笔未冲正的还款。", en: "Only the latest repayment of a loan that is not already reversed may be reversed." },
  },
  REVERSAL_NOT_ALLOWED: {
    status: 422,
    title: { zh: "该还款不能冲正", en: "Repayment cannot be reversed" },
    description: { zh: "委托经营方的还款或续贷的利息须通过各自的业务冲正，不在此处。", en: "A trustee's payment or a renewal's interest is reversed through its own operation, not here." },
  },
  LOAN_CONTRACT_NO_TAKEN: {
    status: 409,
    title: { zh: "合同号已被使用", en: "Contract number taken" },
    description: { zh: "本行的另一笔贷款已使用此合同号；银行的合同号永久唯一。", en: "Another loan of this bank already has this contract number (合同号); a bank's contract numbers are unique for ever." },
  },
  LOAN_PRODUCT_VERSION_CONFLICT: {
    status: 409,
    title: { zh: "产品版本冲突", en: "Product version conflict" },
    description: { zh: "同时创建了该产品的另一个版本；请重试。", en: "Another version of this product was created at the same time; retry." },
  },
});

export const fmt = (v: Dec | string) => Money.format(v);
export const rateFmt = (v: string | null) => (v === null ? null : Rate.format(v));
export const iso = (d: Date | string) => new Date(d).toISOString();

export async function loadForChange(trx: Knex.Transaction, ctx: Ctx, id: string): Promise<LoanRow> {
  const loan = await findLoan(trx, ctx.actor, id, { forUpdate: true });
  if (!loan) throw notFound("loan");
  return loan;
}

export function expectStatus(loan: LoanRow, ...statuses: LoanStatus[]) {
  if (!statuses.includes(loan.status as LoanStatus)) throw invalidState({
      zh: `贷款状态为${statusLabel("loan", loan.status, "zh")}，此操作需要${statuses.map((s) => statusLabel("loan", s, "zh")).join("或")}`,
      en: `The loan is ${loan.status}; this needs ${statuses.join(" or ")}`,
    });
}

export async function saveLoan(trx: Knex.Transaction, id: string, changes: Record<string, unknown>, now: Date): Promise<LoanRow> {
  const [row] = await trx("loans")
    .where({ id })
    .update({ ...changes, updated_at: now, version: trx.raw("version + 1") })
    .returning<LoanRow[]>("*");
  return row;
}

/** A bank's contract numbers are unique for ever (the unique index says so too; this names the field). */
export async function expectContractNoFree(trx: Knex.Transaction, bankId: string, contractNo: string): Promise<void> {
  const taken = await trx("loans").where({ bank_id: bankId, contract_no: contractNo }).first("id");
  if (taken) throw new AppError(
      "LOAN_CONTRACT_NO_TAKEN",
      { zh: `合同号 ${contractNo} 已被本行另一笔贷款使用`, en: `Contract number ${contractNo} is already used by another loan of this bank` },
      [{ path: "body.contract_no", message: { zh: "已被本行另一笔贷款使用", en: "already used by another loan of this bank" } }],
      409,
    );
}
