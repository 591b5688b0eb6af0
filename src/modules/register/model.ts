import { differenceInCalendarDays, parseISO } from "date-fns";
import type { Bilingual } from "../../lib/i18n.js";
import { statusLabel } from "../../lib/labels.js";
import { D, Money } from "../../lib/money.js";

export const HOUSEHOLD_STATUSES = ["POOR", "EXITED", "MONITORED", "REMOVED"] as const;
export type HouseholdStatus = (typeof HOUSEHOLD_STATUSES)[number];
export const HOUSEHOLD_TYPES = ["GENERAL", "DIBAO", "TEKUN", "MONITORED"] as const;
export const POVERTY_CAUSES = [
  "ILLNESS",
  "DISABILITY",
  "SCHOOLING",
  "DISASTER",
  "LACK_OF_LAND",
  "LACK_OF_WATER",
  "LACK_OF_SKILLS",
  "LACK_OF_LABOUR",
  "LACK_OF_CAPITAL",
  "TRANSPORT",
  "LACK_OF_MOTIVATION",
  "OTHER",
] as const;
export const RELATIONS = ["HEAD", "SPOUSE", "CHILD", "PARENT", "GRANDCHILD", "SIBLING", "OTHER"] as const;
export const HEALTH = ["HEALTHY", "CHRONIC", "SERIOUS", "DISABLED"] as const;
export const LABOUR = ["ORDINARY", "SKILLED", "WEAK", "NONE"] as const;
export const SCHOOLING = ["NONE", "PRESCHOOL", "PRIMARY", "JUNIOR", "SENIOR", "VOCATIONAL", "COLLEGE", "NOT_IN_SCHOOL"] as const;
export const HOUSING = ["SAFE", "RENOVATED", "UNSAFE"] as const;

/** Steps of the approval process a status change goes through, in the order they happen. */
export const APPROVAL_STEPS = [
  "VILLAGE_PROPOSAL", // 村级提名/评议
  "DEMOCRATIC_REVIEW", // 民主评议
  "HOUSEHOLD_SIGNATURE", // 农户签字认可
  "PUBLIC_NOTICE", // 公示
  "TOWNSHIP_REVIEW", // 乡镇审核
  "COUNTY_APPROVAL", // 县级审定
] as const;
export type ApprovalStep = (typeof APPROVAL_STEPS)[number];

/** The Chinese names of the approval steps, for messages. */
export const APPROVAL_STEP_ZH: Record<ApprovalStep, string> = {
  VILLAGE_PROPOSAL: "村级提名评议",
  DEMOCRATIC_REVIEW: "民主评议",
  HOUSEHOLD_SIGNATURE: "农户签字认可",
  PUBLIC_NOTICE: "公示",
  TOWNSHIP_REVIEW: "乡镇审核",
  COUNTY_APPROVAL: "县级审定",
};

export interface Approval {
  step: ApprovalStep;
  date: string;
  by: string;
  note?: string;
}

/** Minimum days between the start and the end of a public notice (公示期不少于7天). */
export const MIN_NOTICE_DAYS = 7;

/**
 * Which changes are allowed and the approvals each must show. Exit is the full process of the
 * poverty-exit rules (退出程序); monitoring, return to poverty and removal need the village, the
 * township and the county. REMOVED is final.
 */
export const TRANSITIONS: Record<string, ApprovalStep[]> = {
  "POOR->EXITED": ["VILLAGE_PROPOSAL", "DEMOCRATIC_REVIEW", "HOUSEHOLD_SIGNATURE", "PUBLIC_NOTICE", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "POOR->MONITORED": ["VILLAGE_PROPOSAL", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "EXITED->MONITORED": ["VILLAGE_PROPOSAL", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "MONITORED->EXITED": ["VILLAGE_PROPOSAL", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "EXITED->POOR": ["VILLAGE_PROPOSAL", "DEMOCRATIC_REVIEW", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "MONITORED->POOR": ["VILLAGE_PROPOSAL", "DEMOCRATIC_REVIEW", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "POOR->REMOVED": ["VILLAGE_PROPOSAL", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "EXITED->REMOVED": ["VILLAGE_PROPOSAL", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
  "MONITORED->REMOVED": ["VILLAGE_PROPOSAL", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL"],
};

export interface StatusChangeInput {
  from: HouseholdStatus;
  to: HouseholdStatus;
  effectiveDate: string;
  approvals: Approval[];
  noticeStart?: string;
  noticeEnd?: string;
  today: string;
}

/** A problem with one field, its message in Chinese and English. */
export interface Problem {
  path: string;
  message: Bilingual;
}

const stepZh = (step: ApprovalStep) => `${APPROVAL_STEP_ZH[step]}（${step}）`;
const householdStatusZh = (status: HouseholdStatus) => statusLabel("household", status, "zh");

/** Returns the problems with a status change (empty when it may be recorded). */
export function checkStatusChange(c: StatusChangeInput): Problem[] {
  const problems: Problem[] = [];
  const required = TRANSITIONS[`${c.from}->${c.to}`];
  if (!required) {
    return [{ path: "body.to_status", message: { zh: `农户状态不能从${householdStatusZh(c.from)}变为${householdStatusZh(c.to)}`, en: `a household cannot go from ${c.from} to ${c.to}` } }];
  }
  const byStep = new Map(c.approvals.map((a) => [a.step, a]));
  if (byStep.size !== c.approvals.length) problems.push({ path: "body.approvals", message: { zh: "每个审批环节只能出现一次", en: "each step may appear once" } });
  for (const step of required) {
    if (!byStep.has(step)) problems.push({ path: "body.approvals", message: { zh: `缺少审批环节：${stepZh(step)}`, en: `missing approval step ${step}` } });
  }
  // Steps happen in the order of the process.
  const ordered = APPROVAL_STEPS.filter((s) => byStep.has(s)).map((s) => byStep.get(s)!);
  for (let i = 1; i < ordered.length; i++) {
    const [before, step] = [ordered[i - 1], ordered[i]];
    if (step.date < before.date) {
      problems.push({
        path: "body.approvals",
        message: { zh: `${stepZh(step.step)}的日期 ${step.date} 早于${stepZh(before.step)}的日期 ${before.date}`, en: `${step.step} (${step.date}) is dated before ${before.step} (${before.date})` },
      });
    }
  }
  for (const a of c.approvals) {
    if (a.date > c.today) problems.push({ path: "body.approvals", message: { zh: `${stepZh(a.step)}的日期晚于今天`, en: `${a.step} is dated in the future` } });
  }
  if (required.includes("PUBLIC_NOTICE")) {
    if (!c.noticeStart || !c.noticeEnd) {
      problems.push({ path: "body.notice_start", message: { zh: "须填写公示期（notice_start、notice_end）", en: "a public notice period (notice_start, notice_end) is required" } });
    } else {
      const days = differenceInCalendarDays(parseISO(c.noticeEnd), parseISO(c.noticeStart));
      if (days < MIN_NOTICE_DAYS) {
        problems.push({ path: "body.notice_end", message: { zh: `公示期不少于 ${MIN_NOTICE_DAYS} 天（实际 ${days} 天）`, en: `the public notice must run at least ${MIN_NOTICE_DAYS} days (it ran ${days})` } });
      }
      const township = byStep.get("TOWNSHIP_REVIEW");
      if (township && township.date < c.noticeEnd) {
        problems.push({ path: "body.approvals", message: { zh: "乡镇审核须在公示期结束之后", en: "the township review comes after the notice period ends" } });
      }
    }
  }
  const last = byStep.get("COUNTY_APPROVAL");
  if (last && c.effectiveDate < last.date) {
    problems.push({ path: "body.effective_date", message: { zh: "变更的生效日期不能早于县级审定日期", en: "the change takes effect on or after the county approval" } });
  }
  if (c.effectiveDate > c.today) problems.push({ path: "body.effective_date", message: { zh: "生效日期晚于今天", en: "the effective date is in the future" } });
  return problems;
}

/** Per-capita net income: the household's net income over its members, half-up to the fen. */
export function perCapita(netIncome: string, members: number): string {
  if (members <= 0) return Money.format(netIncome);
  return Money.format(Money.toFen(new D(netIncome).div(members)));
}

/** Whole years of age on a date. */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split("-").map(Number);
  const [y, m, d] = on.split("-").map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}
