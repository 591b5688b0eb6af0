/** Error codes, alert kinds and the roles shared by the trusteeship use cases. */
import { registerErrorCodes } from "../../http/errors.js";
import type { AlertKind } from "../../lib/alerts.js";


registerErrorCodes({
  INVALID_CREDIT_CODE: {
    status: 422,
    title: { zh: "统一社会信用代码无效", en: "Invalid unified social credit code" },
    description: { zh: "经营主体的统一社会信用代码不符合 GB 32100（长度、字符集或校验码）。", en: "The operator's unified social credit code fails GB 32100 (length, alphabet or check character)." },
  },
  HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED: {
    status: 422,
    title: { zh: "户贷不得企用", en: "Household loan may not be entrusted (户贷企用)" },
    description: { zh: "2021-03-04 及以后发放的扶贫小额信贷不得交由经营主体使用；更早贷款上的合同仍可登记。", en: "A poverty loan disbursed on or after 2021-03-04 may not be handed to an operator; contracts over older loans can still be recorded." },
  },
  OPERATOR_EXPOSURE_LIMIT: {
    status: 422,
    title: { zh: "经营主体委托额度已满", en: "Operator exposure limit reached" },
    description: { zh: "经营主体未收回的委托本金加上本合同将超过其上限（默认为注册资本的 10 倍，或县级上限）。", en: "The operator's open entrusted principal plus this contract would exceed its limit (10 × registered capital by default, or the county cap)." },
  },
  INVALID_LINKED_LOAN: {
    status: 422,
    title: { zh: "关联贷款无效", en: "Invalid linked loan" },
    description: { zh: "关联贷款不是受益农户已发放且未结清的贷款，或已关联其他未结束的合同。", en: "The linked loan is not a disbursed, open loan of the beneficiary household, or is already linked to an open contract." },
  },
  HOUSEHOLD_NOT_ELIGIBLE: {
    status: 422,
    title: { zh: "农户不符合条件", en: "Household not eligible" },
    description: { zh: "已清退的农户不能成为新合同的受益人。", en: "A removed (清退) household cannot be the beneficiary of a new contract." },
  },
  TRUSTEESHIP_OVERPAYMENT: {
    status: 422,
    title: { zh: "付款超过应付收益", en: "Payment exceeds the returns owed" },
    description: { zh: "付款金额超过合同所有未付收益期次的合计。", en: "The payment is more than every unpaid return installment of the contract together." },
  },
  PRINCIPAL_RETURN_BEFORE_END: {
    status: 422,
    title: { zh: "到期前返还本金", en: "Principal returned before the end date" },
    description: { zh: "本金在合同到期日当天或之后返还。", en: "The principal is returned on or after the contract's end date." },
  },
  PRINCIPAL_RETURN_MISMATCH: {
    status: 422,
    title: { zh: "返还本金与未还本金不符", en: "Principal return is not the open principal" },
    description: { zh: "本金须一次返还：金额必须等于未还本金。", en: "The principal is returned whole: the amount must equal the open principal." },
  },
});

export const ALERT_KINDS = {
  ARREARS: "trustee.return_arrears",
  EXPOSURE: "operator.exposure_over_limit",
  LOAN_AT_RISK: "loan.trustee_arrears",
} as const satisfies Record<string, AlertKind>;

export const READERS = ["admin", "regulator", "finance_officer", "village_officer", "operator"] as const;
export const PAYERS = ["operator", "admin"] as const;
