/** Constants and error codes shared by the stages of a loan's life. */
import type { Knex } from "knex";
import { AppError, invalidState, notFound, registerErrorCodes } from "../../http/errors.js";
import type { Ctx } from "../../lib/context.js";
import { type Dec, D, Money, Rate } from "../../lib/money.js";
import type { LoanStatus } from "./model.js";
import { findLoan, type LoanRow } from "./queries.js";

/** The cap on a household's poverty loans, all members together (docs/DOMAIN.md#credit-line). */
export const HOUSEHOLD_CAP = new D(50000);
export const ELIGIBLE_HOUSEHOLD = ["POOR", "EXITED", "MONITORED"];
export const BANK_STAFF = ["loan_officer", "bank_manager"] as const;
export const LOAN_READERS = ["admin", "regulator", "finance_officer", "village_officer", "loan_officer", "bank_manager"] as const;

registerErrorCodes({
  LOAN_HOUSEHOLD_NOT_ELIGIBLE: { status: 422, title: "Household not eligible", description: "The household is not POOR, EXITED or MONITORED (docs/DOMAIN.md#household-status)." },
  LOAN_BORROWER_NOT_MEMBER: { status: 422, title: "Borrower not a member", description: "The borrower is not a member of the household." },
  LOAN_BORROWER_AGE: { status: 422, title: "Borrower age out of range", description: "The borrower must be 18 to 65 at application (from the ID birth date)." },
  LOAN_NO_EFFECTIVE_RATING: { status: 422, title: "No effective rating", description: "The household has no effective credit rating with a credit line above zero." },
  LOAN_ABOVE_CREDIT_LINE: { status: 422, title: "Above the credit line", description: "The household's outstanding and pending loans plus this one exceed its credit line." },
  LOAN_ABOVE_HOUSEHOLD_CAP: { status: 422, title: "Above the household cap", description: "The household's poverty loans would exceed 50,000 in total." },
  LOAN_PURPOSE_NOT_ALLOWED: { status: 422, title: "Purpose not allowed", description: "The product does not allow this purpose (production only)." },
  LOAN_ABOVE_PRODUCT_AMOUNT: { status: 422, title: "Above the product's amount", description: "The amount exceeds the product's maximum." },
  LOAN_ABOVE_PRODUCT_TERM: { status: 422, title: "Above the product's term", description: "The term exceeds the product's maximum." },
  LOAN_METHOD_NOT_OFFERED: { status: 422, title: "Repayment method not offered", description: "The product does not offer this repayment method." },
  LOAN_PRODUCT_NOT_AVAILABLE: { status: 422, title: "Product not available", description: "The product is not in force on this date, or belongs to another bank or county." },
  LOAN_NO_RATE_TABLE: { status: 422, title: "No LPR in force", description: "No LPR rate table is published on or before the pricing date." },
  LOAN_MAKER_CHECKER: { status: 422, title: "Maker-checker", description: "The officer who took the application may not approve or reject it." },
  LOAN_OVERPAYMENT: { status: 422, title: "Overpayment", description: "The payment is more than everything owed to close the loan (see `payoff_amount`)." },
  LOAN_PAYOFF_SHORT: { status: 422, title: "Payoff amount short", description: "The payment covers the whole principal but not the interest to date that closes the loan; pay `payoff_amount` or less than the principal." },
  LOAN_EXTENSION_USED: { status: 422, title: "Already extended", description: "A loan may be extended (展期) once." },
  LOAN_EXTENSION_AFTER_MATURITY: { status: 422, title: "Extension after maturity", description: "An extension must be made before the maturity date." },
  LOAN_EXTENSION_OVERDUE: { status: 422, title: "Extension of an overdue loan", description: "A loan with overdue amounts cannot be extended." },
  LOAN_RENEWAL_WINDOW: { status: 422, title: "Outside the renewal window", description: "Renewal (无还本续贷) is possible from 30 days before maturity through the maturity date." },
  LOAN_RENEWAL_OVERDUE: { status: 422, title: "Renewal of an overdue loan", description: "A loan with overdue amounts cannot be renewed." },
  LOAN_WRITE_OFF_NOT_NPL: { status: 422, title: "Not non-performing", description: "Only a non-performing loan (DPD > 90) may be written off." },
  VALUE_DATE_IN_FUTURE: { status: 422, title: "Value date in the future", description: "A value date (起息日) is today or earlier." },
  VALUE_DATE_BEFORE_LATEST: { status: 422, title: "Value date before the latest", description: "A value date may not be earlier than the latest value date already on the loan: history is not reordered (correct it by a reversal and a new entry)." },
  VALUE_DATE_TOO_OLD: { status: 422, title: "Value date too far back", description: "The value date is more days back than the county allows (30 unless set)." },
  VALUE_DATE_NO_HISTORY: { status: 422, title: "No history to back-date over", description: "The loan's schedule before the last close of business was not recorded (a loan from before value dates); enter the payment with today's date." },
  DUPLICATE_BANK_REFERENCE: { status: 409, title: "Bank reference already recorded", description: "This bank's transaction reference (流水号) is already recorded on a repayment; a payment is never applied twice." },
  REVERSAL_NOT_LATEST: { status: 422, title: "Not the latest repayment", description: "Only the latest repayment of a loan that is not already reversed may be reversed." },
  REVERSAL_NOT_ALLOWED: { status: 422, title: "Repayment cannot be reversed", description: "A trustee's payment or a renewal's interest is reversed through its own operation, not here." },
  LOAN_CONTRACT_NO_TAKEN: { status: 409, title: "Contract number taken", description: "Another loan of this bank already has this contract number (合同号); a bank's contract numbers are unique for ever." },
  LOAN_PRODUCT_VERSION_CONFLICT: { status: 409, title: "Product version conflict", description: "Another version of this product was created at the same time; retry." },
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
  if (!statuses.includes(loan.status as LoanStatus)) throw invalidState(`The loan is ${loan.status}; this needs ${statuses.join(" or ")}`);
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
  if (taken) throw new AppError("LOAN_CONTRACT_NO_TAKEN", `Contract number ${contractNo} is already used by another loan of this bank`, [{ path: "body.contract_no", message: "already used by another loan of this bank" }], 409);
}
