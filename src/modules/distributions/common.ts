/** Error codes and the roles shared by the distribution use cases. */
import { AppError, registerErrorCodes } from "../../http/errors.js";
import type { Bilingual } from "../../lib/i18n.js";
import { statusLabel } from "../../lib/labels.js";


registerErrorCodes({
  NO_CONFIRMED_INCOME: {
    status: 422,
    title: { zh: "无已确认收益", en: "No confirmed income" },
    description: { zh: "该资产（或本村资产）在此期间没有已确认的收益申报。", en: "There is no confirmed return report for the asset (or the village's assets) and period." },
  },
  INCOME_ALREADY_DISTRIBUTED: {
    status: 409,
    title: { zh: "收益已分配", en: "Income already distributed" },
    description: { zh: "此期间已确认的收益已被另一次分配使用；一份申报的收益只分配一次。", en: "The confirmed income of this period is already used by another distribution; a report's income is distributed once." },
  },
  NO_BENEFICIARIES: {
    status: 422,
    title: { zh: "无受益农户", en: "No beneficiaries" },
    description: { zh: "基准日没有符合条件的农户。", en: "No household is eligible on the reference date." },
  },
  EARMARKS_EXCEED_INCOME: {
    status: 422,
    title: { zh: "提留超过收益", en: "Earmarks exceed the income" },
    description: { zh: "集体提留和专项提取超过可分配收益。", en: "Collective retention and earmarks take more than the distributable income." },
  },
  NOTICE_PERIOD_NOT_OVER: {
    status: 422,
    title: { zh: "公示期未满", en: "Notice period not over" },
    description: { zh: "公示满 7 天前不得兑付（自公示日 + 7 天起可兑付）。", en: "Nothing is paid before the public notice has run 7 days (payable from notice date + 7)." },
  },
  OPEN_OBJECTIONS: {
    status: 409,
    title: { zh: "有未处理的异议", en: "Open objections" },
    description: { zh: "须先驳回或采纳对公示的异议。", en: "Objections to the notice must be dismissed or upheld first." },
  },
});

export const READERS = ["admin", "regulator", "finance_officer", "village_officer"] as const;
export const RULE_WRITERS = ["admin"] as const;
export const RUNNERS = ["admin", "village_officer"] as const;
export const PAYERS = ["admin"] as const;

export const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** 409 INVALID_STATE: the distribution's status, and what the action needs (`needs`, in both languages). */
export function notInState(status: string, needs: Bilingual): AppError {
  return new AppError("INVALID_STATE", { zh: `收益分配的状态为${statusLabel("distribution", status, "zh")}；${needs.zh}`, en: `The distribution is ${status}; ${needs.en}` });
}
