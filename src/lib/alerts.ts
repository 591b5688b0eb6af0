import type { Knex } from "knex";
import { type Bilingual, type Lang, textIn } from "./i18n.js";
import { statusLabel } from "./labels.js";

export type Severity = "INFO" | "WARNING" | "CRITICAL";

/**
 * Every kind of alert the platform raises, in one style (lowercase, dotted: `subject.condition`,
 * e.g. `loan.overdue.dpd_31_90`, `trustee.return_arrears`), with its name in Chinese and English
 * (the answer's `kind_label`, and the message's English when an alert's message is Chinese only).
 * A module raises only kinds listed here (`raiseAlert` takes an `AlertKind`; set-based SQL binds
 * the module's constants, which are typed as `AlertKind`).
 */
export const ALERT_KINDS = {
  "loan.overdue.dpd_1_30": { zh: "贷款逾期 1-30 天", en: "Loan 1-30 days past due" },
  "loan.overdue.dpd_31_90": { zh: "贷款逾期 31-90 天", en: "Loan 31-90 days past due" },
  "loan.overdue.dpd_91_180": { zh: "贷款逾期 91-180 天（不良）", en: "Loan 91-180 days past due (non-performing)" },
  "loan.overdue.dpd_181_plus": { zh: "贷款逾期 180 天以上（不良）", en: "Loan over 180 days past due (non-performing)" },
  "loan.trustee_arrears": { zh: "贷款风险：委托经营方拖欠收益", en: "Loan at risk: its trusteeship operator is in arrears" },
  "trustee.return_arrears": { zh: "委托经营收益拖欠", en: "Trustee return in arrears" },
  "operator.exposure_over_limit": { zh: "经营主体委托额度超限", en: "Operator exposure over its limit" },
  "asset.return_report_missing": { zh: "资产收益申报逾期", en: "Asset return report missing" },
  "asset.idle": { zh: "扶贫资产闲置", en: "Poverty-alleviation asset idle" },
  "distribution.unpaid": { zh: "收益分配已审批未兑付", en: "Approved distribution not paid" },
  "subsidy.claim_unpaid": { zh: "贴息申领已审批未拨付", en: "Approved subsidy claim not paid" },
  "compensation.unpaid": { zh: "风险补偿逾期未拨付", en: "Approved compensation not paid" },
  "circuit_breaker.tripped": { zh: "熔断：新增放款已暂停", en: "Circuit breaker tripped: new disbursements stopped" },
  "circuit_breaker.npl_near": { zh: "不良率接近熔断线", en: "NPL ratio near the circuit-breaker threshold" },
  "job.failed": { zh: "每日作业失败", en: "Daily job failed" },
  "audit.seal_refused": { zh: "审计日志校验失败，未封存", en: "Audit log does not verify and was not sealed" },
} as const satisfies Record<string, Bilingual>;

export type AlertKind = keyof typeof ALERT_KINDS;

/** The one style of alert kinds: lowercase words joined by dots. */
export const ALERT_KIND_STYLE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;

export const isAlertKind = (kind: string): kind is AlertKind => Object.hasOwn(ALERT_KINDS, kind);

export interface AlertInput {
  countyCode: string;
  kind: AlertKind;
  severity: Severity;
  entityType: string;
  entityId: string;
  message: string;
  details?: Record<string, unknown>;
  businessDate?: string;
  bankId?: string | null;
  operatorId?: string | null;
  villageCode?: string | null;
}

/** Raises an alert, or refreshes the open one of the same kind for the same entity. */
export async function raiseAlert(db: Knex | Knex.Transaction, a: AlertInput, now: Date): Promise<void> {
  await db.raw(
    `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, operator_id, village_code, message, details, business_date, raised_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
     DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message, details = EXCLUDED.details,
                   business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
    [
      a.countyCode,
      a.kind,
      a.severity,
      a.entityType,
      a.entityId,
      a.bankId ?? null,
      a.operatorId ?? null,
      a.villageCode ?? null,
      a.message,
      JSON.stringify(a.details ?? {}),
      a.businessDate ?? null,
      now,
      now,
    ],
  );
}

/** Clears the open alert of a kind for an entity (the condition no longer holds). */
export async function clearAlert(db: Knex | Knex.Transaction, kind: AlertKind, entityType: string, entityId: string, now: Date): Promise<void> {
  await db("alerts").where({ kind, entity_type: entityType, entity_id: entityId }).whereNull("cleared_at").update({ cleared_at: now, updated_at: now });
}

/**
 * An alert as people read it, in a language: the message in that language (messages are written
 * "中文 / English"; one in Chinese only reads as the kind's English name in English), the kind's and
 * the severity's names beside their codes.
 */
export function alertInLanguage<T extends { kind?: unknown; severity?: unknown; message?: unknown }>(a: T, lang: Lang): T {
  const kind = typeof a.kind === "string" ? a.kind : "";
  const name = isAlertKind(kind) ? ALERT_KINDS[kind] : undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    out[k] = k === "message" && typeof v === "string" ? textIn(v, lang, name) : v;
    if (k === "kind") out.kind_label = name?.[lang] ?? kind;
    if (k === "severity" && typeof v === "string") out.severity_label = statusLabel("alert_severity", v, lang);
  }
  return out as T;
}
