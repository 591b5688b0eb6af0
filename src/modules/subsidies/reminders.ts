import type { Knex } from "knex";
import { affectedRows } from "../../db/knex.js";
import { countyClause } from "../../jobs/types.js";
import type { AlertKind } from "../../lib/alerts.js";

/** An approved claim the county's finance bureau has not paid this many days after approval raises an alert. */
export const CLAIM_UNPAID_DAYS = 30;
export const CLAIM_UNPAID_ALERT: AlertKind = "subsidy.claim_unpaid";

/**
 * Claim reminders (贴息拨付提醒), set-based and idempotent for a date: one open
 * `subsidy.claim_unpaid` alert per claim APPROVED more than CLAIM_UNPAID_DAYS days before the date
 * and still unpaid; the alert of a claim since paid is cleared. Returns the alerts raised.
 */
export async function remindUnpaidClaims(trx: Knex.Transaction, businessDate: string, now: Date, countyCodes?: string[]): Promise<{ raised: number; cleared: number }> {
  const ac = countyClause("a.county_code", countyCodes);
  const cc = countyClause("c.county_code", countyCodes);
  const cleared = await trx.raw(
    `UPDATE alerts a SET cleared_at = ?, updated_at = ?
      WHERE a.kind = ? AND a.entity_type = 'subsidy_claim' AND a.cleared_at IS NULL AND ${ac.sql}
        AND NOT EXISTS (SELECT 1 FROM subsidy_claims c WHERE c.id::text = a.entity_id AND c.status = 'APPROVED' AND c.approved_on < ?::date - ${CLAIM_UNPAID_DAYS})`,
    [now, now, CLAIM_UNPAID_ALERT, ...ac.bindings, businessDate],
  );
  const raised = await trx.raw(
    `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, message, details, business_date, raised_at, updated_at)
     SELECT c.county_code, ?, 'WARNING', 'subsidy_claim', c.id::text, c.bank_id,
            format('贴息申领已审批 %s 天未拨付 / subsidy claim %s approved %s days ago and not paid', ?::date - c.approved_on, c.quarter, ?::date - c.approved_on),
            jsonb_build_object('claim_id', c.id, 'quarter', c.quarter, 'approved_on', c.approved_on, 'days', ?::date - c.approved_on),
            ?::date, ?, ?
       FROM subsidy_claims c
      WHERE c.status = 'APPROVED' AND c.approved_on < ?::date - ${CLAIM_UNPAID_DAYS} AND ${cc.sql}
     ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL DO NOTHING`,
    [CLAIM_UNPAID_ALERT, businessDate, businessDate, businessDate, businessDate, now, now, businessDate, ...cc.bindings],
  );
  return { raised: affectedRows(raised), cleared: affectedRows(cleared) };
}
