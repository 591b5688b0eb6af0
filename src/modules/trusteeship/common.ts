/** Error codes, alert kinds and the roles shared by the trusteeship use cases. */
import { registerErrorCodes } from "../../http/errors.js";


registerErrorCodes({
  INVALID_CREDIT_CODE: { status: 422, title: "Invalid unified social credit code", description: "The operator's unified social credit code fails GB 32100 (length, alphabet or check character)." },
  HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED: {
    status: 422,
    title: "Household loan may not be entrusted (户贷企用)",
    description: "A poverty loan disbursed on or after 2021-03-04 may not be handed to an operator; contracts over older loans can still be recorded.",
  },
  OPERATOR_EXPOSURE_LIMIT: {
    status: 422,
    title: "Operator exposure limit reached",
    description: "The operator's open entrusted principal plus this contract would exceed its limit (10 × registered capital by default, or the county cap).",
  },
  INVALID_LINKED_LOAN: { status: 422, title: "Invalid linked loan", description: "The linked loan is not a disbursed, open loan of the beneficiary household, or is already linked to an open contract." },
  HOUSEHOLD_NOT_ELIGIBLE: { status: 422, title: "Household not eligible", description: "A removed (清退) household cannot be the beneficiary of a new contract." },
  TRUSTEESHIP_OVERPAYMENT: { status: 422, title: "Payment exceeds the returns owed", description: "The payment is more than every unpaid return installment of the contract together." },
  PRINCIPAL_RETURN_BEFORE_END: { status: 422, title: "Principal returned before the end date", description: "The principal is returned on or after the contract's end date." },
  PRINCIPAL_RETURN_MISMATCH: { status: 422, title: "Principal return is not the open principal", description: "The principal is returned whole: the amount must equal the open principal." },
});

export const ALERT_KINDS = {
  ARREARS: "TRUSTEE_RETURN_ARREARS",
  EXPOSURE: "OPERATOR_EXPOSURE_OVER_LIMIT",
  LOAN_AT_RISK: "LOAN_TRUSTEE_ARREARS",
} as const;

export const READERS = ["admin", "regulator", "finance_officer", "village_officer", "operator"] as const;
export const PAYERS = ["operator", "admin"] as const;
