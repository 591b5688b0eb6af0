import type { Knex } from "knex";
import { countyClause } from "../../jobs/types.js";
import type { AlertKind } from "../../lib/alerts.js";

/**
 * Oversight alerts of the asset-income side (docs/DOMAIN.md#alerts), raised and cleared for a business date
 * with set-based SQL, as a step of the close of business (idempotent: at most one open alert per
 * kind and entity; an alert whose condition no longer holds is cleared):
 * - `asset.return_report_missing`: an asset in operation under a running management contract whose
 *   latest submitted or confirmed return report ends more than REPORT_MAX_GAP_DAYS before the date
 *   (operators report at least yearly; counting from the contract start when none was ever filed);
 * - `asset.idle`: an asset IDLE for more than IDLE_DAYS;
 * - `distribution.unpaid`: a distribution APPROVED and payable for more than UNPAID_DAYS without
 *   being fully paid.
 */
export const REPORT_MAX_GAP_DAYS = 365 + 30;
export const IDLE_DAYS = 90;
export const UNPAID_DAYS = 30;

interface Rule {
  kind: AlertKind;
  entityType: string;
  severity: "INFO" | "WARNING" | "CRITICAL";
  /** SELECT county_code, entity_id, village_code, operator_id, message, details for the entities in the condition on date ?. */
  select: string;
  bindings: (date: string) => Knex.RawBinding[];
}

const RULES: Rule[] = [
  {
    kind: "asset.return_report_missing",
    entityType: "asset",
    severity: "WARNING",
    select: `SELECT a.county_code, a.id::text AS entity_id, a.village_code, a.operator_id,
                    '资产收益申报逾期：' || a.name || '，最近申报截至 ' || coalesce(r.last_end::text, '无')
                    || ' / return report missing: ' || a.name || ', last report up to ' || coalesce(r.last_end::text, 'none') AS message,
                    jsonb_build_object('asset_id', a.id, 'last_period_end', r.last_end) AS details
               FROM assets a
               LEFT JOIN LATERAL (SELECT max(period_end) AS last_end FROM asset_return_reports x
                                   WHERE x.asset_id = a.id AND x.status IN ('SUBMITTED', 'CONFIRMED')) r ON true
              WHERE a.status = 'IN_OPERATION' AND a.contract_start <= ?::date AND a.contract_end >= ?::date
                AND coalesce(r.last_end, a.contract_start) < ?::date - ${REPORT_MAX_GAP_DAYS}`,
    bindings: (d) => [d, d, d],
  },
  {
    kind: "asset.idle",
    entityType: "asset",
    severity: "WARNING",
    select: `SELECT a.county_code, a.id::text AS entity_id, a.village_code, a.operator_id,
                    '扶贫资产闲置超过 ${IDLE_DAYS} 天：' || a.name || '（自 ' || a.status_since || '）'
                    || ' / asset idle over ${IDLE_DAYS} days: ' || a.name || ' (since ' || a.status_since || ')' AS message,
                    jsonb_build_object('asset_id', a.id, 'idle_since', a.status_since) AS details
               FROM assets a
              WHERE a.status = 'IDLE' AND a.status_since < ?::date - ${IDLE_DAYS}`,
    bindings: (d) => [d],
  },
  {
    kind: "distribution.unpaid",
    entityType: "distribution",
    severity: "CRITICAL",
    select: `SELECT d.county_code, d.id::text AS entity_id, d.village_code, NULL::uuid AS operator_id,
                    '收益分配已审批未兑付：' || d.period || '，应付 ' || d.shares_total || ' 元，已付 ' || d.paid_total || ' 元'
                    || ' / approved distribution not paid: ' || d.period || ', payable ' || d.shares_total || ', paid ' || d.paid_total AS message,
                    jsonb_build_object('distribution_id', d.id, 'payable_from', d.payable_from) AS details
               FROM distributions d
              WHERE d.status = 'APPROVED' AND d.payable_from < ?::date - ${UNPAID_DAYS} AND d.paid_total < d.shares_total`,
    bindings: (d) => [d],
  },
];

export async function raiseOversightAlerts(db: Knex | Knex.Transaction, businessDate: string, now: Date, countyCodes?: string[]): Promise<{ raised: number; cleared: number }> {
  // A county's own run touches only that county's alerts; the close of business passes none (all counties).
  const ac = countyClause("a.county_code", countyCodes);
  const xc = countyClause("x.county_code", countyCodes);
  let raised = 0;
  let cleared = 0;
  for (const r of RULES) {
    const c = await db.raw(
      `UPDATE alerts a SET cleared_at = ?, updated_at = ?
        WHERE a.kind = ? AND a.entity_type = ? AND a.cleared_at IS NULL AND ${ac.sql}
          AND a.entity_id NOT IN (SELECT entity_id FROM (${r.select}) x)`,
      [now, now, r.kind, r.entityType, ...ac.bindings, ...r.bindings(businessDate)] as Knex.RawBinding[],
    );
    cleared += (c as { rowCount?: number }).rowCount ?? 0;
    const i = await db.raw(
      `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, village_code, operator_id, message, details, business_date, raised_at, updated_at)
       SELECT x.county_code, ?, ?, ?, x.entity_id, x.village_code, x.operator_id, x.message, x.details, ?, ?, ?
         FROM (${r.select}) x WHERE ${xc.sql}
       ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL DO NOTHING`,
      [r.kind, r.severity, r.entityType, businessDate, now, now, ...r.bindings(businessDate), ...xc.bindings] as Knex.RawBinding[],
    );
    raised += (i as { rowCount?: number }).rowCount ?? 0;
  }
  return { raised, cleared };
}
