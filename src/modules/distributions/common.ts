/** Error codes and the roles shared by the distribution use cases. */
import { registerErrorCodes } from "../../http/errors.js";


registerErrorCodes({
  NO_CONFIRMED_INCOME: { status: 422, title: "No confirmed income", description: "There is no confirmed return report for the asset (or the village's assets) and period." },
  INCOME_ALREADY_DISTRIBUTED: { status: 409, title: "Income already distributed", description: "The confirmed income of this period is already used by another distribution; a report's income is distributed once." },
  NO_BENEFICIARIES: { status: 422, title: "No beneficiaries", description: "No household is eligible on the reference date." },
  EARMARKS_EXCEED_INCOME: { status: 422, title: "Earmarks exceed the income", description: "Collective retention and earmarks take more than the distributable income." },
  NOTICE_PERIOD_NOT_OVER: { status: 422, title: "Notice period not over", description: "Nothing is paid before the public notice has run 7 days (payable from notice date + 7)." },
  OPEN_OBJECTIONS: { status: 409, title: "Open objections", description: "Objections to the notice must be dismissed or upheld first." },
});

export const READERS = ["admin", "regulator", "finance_officer", "village_officer"] as const;
export const RULE_WRITERS = ["admin"] as const;
export const RUNNERS = ["admin", "village_officer"] as const;
export const PAYERS = ["admin"] as const;

export const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());
