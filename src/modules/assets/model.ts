import { addMonths, format, parseISO } from "date-fns";
import type { Bilingual } from "../../lib/i18n.js";
import { type Dec, D, Money } from "../../lib/money.js";

/** The period an asset's return is reported and distributed for: a year, half, quarter or month (`2025`, `2025-H1`, `2025-Q3`, `2025-07`). */
export interface ReturnPeriod {
  label: string;
  start: string;
  end: string;
  year: number;
  /** Fraction of a year the period covers (annual rent and minimum rates are pro-rated by it). */
  yearFraction: Dec;
}

const PERIOD_RE = /^(\d{4})(?:-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$/;

/** Parses `2025`, `2025-H1`, `2025-Q3` or `2025-06`; undefined when it is none of them. */
export function parsePeriod(label: string): ReturnPeriod | undefined {
  const m = PERIOD_RE.exec(label);
  if (!m) return undefined;
  const year = Number(m[1]);
  const part = m[2];
  let firstMonth = 1;
  let months = 12;
  if (part?.startsWith("H")) {
    firstMonth = part === "H1" ? 1 : 7;
    months = 6;
  } else if (part?.startsWith("Q")) {
    firstMonth = 1 + (Number(part[1]) - 1) * 3;
    months = 3;
  } else if (part) {
    firstMonth = Number(part);
    months = 1;
  }
  const start = `${year}-${String(firstMonth).padStart(2, "0")}-01`;
  const end = format(addMonths(parseISO(start), months).getTime() - 86_400_000, "yyyy-MM-dd");
  return { label, start, end, year, yearFraction: new D(months).div(12) };
}

/** Pure rules of poverty-alleviation assets (扶贫资产) and their return reports (收益申报). */

export const ASSET_TYPES = ["PHOTOVOLTAIC", "WORKSHOP", "GREENHOUSE", "LIVESTOCK", "COLD_STORAGE", "SHARES", "OTHER"] as const;
export const ASSET_STATUSES = ["IN_OPERATION", "IDLE", "DAMAGED", "DISPOSED"] as const;
export type AssetStatus = (typeof ASSET_STATUSES)[number];
/** The Chinese names of the asset statuses (运营 / 闲置 / 损毁 / 处置), for messages. */
export const ASSET_STATUS_ZH: Record<AssetStatus, string> = { IN_OPERATION: "运营中", IDLE: "闲置", DAMAGED: "损毁", DISPOSED: "已处置" };
export const MANAGEMENT_FORMS = ["LEASE", "CONTRACTING", "SHAREHOLDING"] as const;
export const RETURN_TERMS = ["FIXED_RENT", "NET_INCOME_SHARE"] as const;
export type ReturnTerms = (typeof RETURN_TERMS)[number];
export const INCOME_SCHEMES = ["VILLAGES", "HOUSEHOLDS"] as const;
export const FUNDING_SOURCES = [
  "CENTRAL_FUND", // 中央财政专项扶贫资金
  "PROVINCIAL_FUND", // 省级财政
  "COUNTY_FUND", // 县级财政
  "INTEGRATED_AGRICULTURE_FUND", // 统筹整合涉农资金
  "EAST_WEST_COOPERATION", // 东西部协作
  "PAIRED_ASSISTANCE", // 定点帮扶
  "SOCIAL_DONATION", // 社会捐赠
  "VILLAGE_COLLECTIVE", // 村集体自筹
  "OTHER",
] as const;
export const REPORT_STATUSES = ["SUBMITTED", "CONFIRMED", "DISPUTED"] as const;
/** The Chinese names of the return reports' statuses, for messages. */
export const REPORT_STATUS_ZH: Record<(typeof REPORT_STATUSES)[number], string> = { SUBMITTED: "待确认", CONFIRMED: "已确认", DISPUTED: "有异议" };
export const CHANGE_KINDS = ["CREATED", "STATUS", "OWNERSHIP", "MANAGEMENT", "INCOME_RIGHTS", "OVERSIGHT", "DETAILS"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Status changes an asset may make: DISPOSED (处置) is final. */
export function statusChangeAllowed(from: AssetStatus, to: AssetStatus): boolean {
  return from !== "DISPOSED" && from !== to;
}

export interface ContractTerms {
  returnTerms: ReturnTerms;
  annualRent: string | null;
  netIncomeShare: string | null;
  guaranteedMinRate: string;
  bookValue: string;
}

/**
 * What the operator owes at least for a period under the contract: the fixed rent pro-rated to
 * the period, or the agreed share of a positive net income but never less than the guaranteed
 * minimum rate on the asset's book value pro-rated to the period (保底收益). Half-up to the fen.
 */
export function contractMinimum(c: ContractTerms, period: Pick<ReturnPeriod, "yearFraction">, netIncome: Dec): Dec {
  if (c.returnTerms === "FIXED_RENT") return Money.toFen(new D(c.annualRent ?? 0).times(period.yearFraction));
  const share = Money.toFen(D.max(netIncome, 0).times(c.netIncomeShare ?? 0));
  const guaranteed = Money.toFen(new D(c.bookValue).times(c.guaranteedMinRate).times(period.yearFraction));
  return D.max(share, guaranteed);
}

/** A problem with one field, its message in Chinese and English. */
export interface Problem {
  path: string;
  message: Bilingual;
}

/** Problems with a management contract's terms (empty when they hold). */
export function checkContract(c: ContractTerms & { contractStart: string; contractEnd: string }): Problem[] {
  const problems: Problem[] = [];
  if (c.contractEnd <= c.contractStart) problems.push({ path: "body.management.contract_end", message: { zh: "合同结束日期须晚于开始日期", en: "the contract ends after it starts" } });
  if (c.returnTerms === "FIXED_RENT") {
    if (c.annualRent === null) problems.push({ path: "body.management.annual_rent", message: { zh: "固定租金合同须写明年租金", en: "a fixed-rent contract states its annual rent" } });
    if (c.netIncomeShare !== null) problems.push({ path: "body.management.net_income_share", message: { zh: "仅用于净收益分成（NET_INCOME_SHARE）合同", en: "only for NET_INCOME_SHARE contracts" } });
    const floor = Money.toFen(new D(c.bookValue).times(c.guaranteedMinRate));
    if (c.annualRent !== null && new D(c.annualRent).lt(floor)) {
      problems.push({
        path: "body.management.annual_rent",
        message: { zh: `年租金低于保底收益（每年 ${Money.format(floor)} 元）`, en: `the rent is below the guaranteed minimum (${Money.format(floor)} a year)` },
      });
    }
  } else {
    if (c.netIncomeShare === null) problems.push({ path: "body.management.net_income_share", message: { zh: "净收益分成合同须写明分成比例", en: "a net-income-share contract states its share" } });
    if (c.annualRent !== null) problems.push({ path: "body.management.annual_rent", message: { zh: "仅用于固定租金（FIXED_RENT）合同", en: "only for FIXED_RENT contracts" } });
  }
  return problems;
}

/**
 * The four rights are held by four different parties (四权分置): the village collective owns, an
 * operator manages, households benefit, a department oversees. The holders are of different kinds
 * by construction; what can still go wrong is a name that makes two of them the same party.
 */
export function checkRightsSeparate(holders: { villageName: string; operatorName: string; oversightBody: string }): Problem[] {
  const norm = (s: string) => s.replace(/\s+/g, "");
  const problems: Problem[] = [];
  if (norm(holders.oversightBody) === norm(holders.operatorName)) {
    problems.push({ path: "body.oversight.body", message: { zh: "监管单位不能是经营该资产的经营主体", en: "the oversight body cannot be the operator that manages the asset" } });
  }
  if (norm(holders.oversightBody) === norm(holders.villageName) || /村委|村民委员会|村集体/.test(norm(holders.oversightBody))) {
    problems.push({ path: "body.oversight.body", message: { zh: "监管单位不能是拥有该资产的村集体", en: "the oversight body cannot be the village collective that owns the asset" } });
  }
  if (norm(holders.operatorName) === norm(holders.villageName)) {
    problems.push({ path: "body.management.operator_id", message: { zh: "经营主体不能是拥有该资产的村集体", en: "the operator cannot be the owning village collective" } });
  }
  return problems;
}
