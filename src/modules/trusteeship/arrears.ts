/** The daily arrears step: returns fallen due, arrears marked, alerts to the regulator, the village and the loan. */
import type { Knex } from "knex";
import { affectedRows } from "../../db/knex.js";
import { transaction } from "../../db/transaction.js";
import { requireRole } from "../../http/auth.js";
import { AppError } from "../../http/errors.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntriesFrom } from "../../lib/ledger.js";
import { ALERT_KINDS } from "./common.js";

type Db = Knex | Knex.Transaction;

export function countyClause(column: string, countyCodes: string[] | undefined): { sql: string; bindings: string[] } {
  if (!countyCodes) return { sql: "TRUE", bindings: [] };
  if (countyCodes.length === 0) return { sql: "FALSE", bindings: [] };
  return { sql: `${column} IN (${countyCodes.map(() => "?").join(", ")})`, bindings: countyCodes };
}

export async function rowCount(p: Promise<unknown>): Promise<number> {
  return affectedRows(await p);
}

export interface ArrearsRun {
  business_date: string;
  installments_accrued: number;
  installments_newly_in_arrears: number;
  contracts_in_arrears: number;
  operators_over_limit: number;
  alerts_cleared: number;
}

/**
 * The trusteeship part of the close of business for a business date, in set-based SQL over the
 * whole portfolio (or some counties): (1) recognises the return of every installment that has
 * fallen due (1402 ← 2201, one journal entry per installment, for the part still unpaid);
 * (2) marks unpaid installments past due + grace days as in arrears; (3) raises or refreshes one
 * arrears alert per contract, one per linked loan (the loan at risk) and one per operator over its
 * exposure limit, and clears those whose condition no longer holds. Idempotent for a date; runs in
 * one transaction (reusing the caller's when given one).
 */
export async function trusteeshipArrears(db: Db, businessDate: string, opts: { countyCodes?: string[]; now?: Date } = {}): Promise<ArrearsRun> {
  const now = opts.now ?? new Date();
  return transaction(db, async (trx) => {
    const ic = countyClause("i.county_code", opts.countyCodes);
    const tc = countyClause("t.county_code", opts.countyCodes);
    const oc = countyClause("o.county_code", opts.countyCodes);
    const ac = countyClause("a.county_code", opts.countyCodes);
    const bd = businessDate;

    // (1) Recognise what fell due: one entry per installment, ids assigned first so lines can follow.
    const accrued = await rowCount(
      trx.raw(
        `UPDATE trusteeship_installments i
            SET accrued_on = ?::date, accrued_amount = i.amount_due - i.amount_paid,
                accrual_entry_id = CASE WHEN i.amount_due > i.amount_paid THEN gen_random_uuid() END
          WHERE i.accrued_on IS NULL AND i.due_date <= ?::date AND ${ic.sql}`,
        [bd, bd, ...ic.bindings],
      ),
    );
    await postJournalEntriesFrom(trx, {
      entriesSql: `SELECT i.accrual_entry_id AS id, i.county_code, i.due_date AS entry_date, 'trusteeship.return_due' AS kind, 'trusteeship' AS ref_type,
                          i.trusteeship_id::text AS ref_id, 'return installment ' || i.seq || ' due' AS memo, NULL::uuid AS actor_id, NULL::uuid AS reverses_entry_id
                     FROM trusteeship_installments i
                    WHERE i.accrued_on = ?::date AND i.accrual_entry_id IS NOT NULL AND ${ic.sql}`,
      linesSql: `SELECT i.accrual_entry_id AS entry_id, x.account AS account_code, i.county_code, 'trusteeship' AS party_type, i.trusteeship_id::text AS party_id, x.debit, x.credit
                   FROM trusteeship_installments i
                  CROSS JOIN LATERAL (VALUES ('${ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE}', i.accrued_amount, 0::numeric),
                                             ('${ACCOUNTS.HOUSEHOLDS_PAYABLE}', 0::numeric, i.accrued_amount)) AS x(account, debit, credit)
                  WHERE i.accrued_on = ?::date AND i.accrual_entry_id IS NOT NULL AND ${ic.sql}`,
      bindings: [bd, ...ic.bindings, bd, ...ic.bindings],
    });

    // (2) Mark arrears: unpaid after due date + grace days.
    const newlyInArrears = await rowCount(
      trx.raw(
        `UPDATE trusteeship_installments i SET in_arrears = true, arrears_since = coalesce(i.arrears_since, i.arrears_from)
          WHERE NOT i.in_arrears AND i.amount_paid < i.amount_due AND i.arrears_from <= ?::date AND ${ic.sql}`,
        [bd, ...ic.bindings],
      ),
    );

    // (3a) One alert per contract in arrears, to the regulator and the village (village_code set).
    const arrearsSql = `
      SELECT t.id, t.county_code, t.village_code, t.operator_id, t.linked_loan_id,
             sum(i.amount_due - i.amount_paid) AS amount, count(*)::int AS installments,
             (?::date - min(i.arrears_from) + 1) AS days, min(i.arrears_from) AS since
        FROM trusteeships t JOIN trusteeship_installments i ON i.trusteeship_id = t.id
       WHERE i.in_arrears AND t.status = 'ACTIVE' AND ${tc.sql}
       GROUP BY t.id`;
    const contractsInArrears = await rowCount(
      trx.raw(
        `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, operator_id, village_code, message, details, business_date, raised_at, updated_at)
         SELECT c.county_code, ?, CASE WHEN c.days > 90 THEN 'CRITICAL' ELSE 'WARNING' END, 'trusteeship', c.id::text, c.operator_id, c.village_code,
                format('委托经营收益拖欠 %s 元，%s 期，%s 天 / trustee return in arrears: %s yuan, %s installment(s), %s days', c.amount, c.installments, c.days, c.amount, c.installments, c.days),
                jsonb_build_object('amount', c.amount::text, 'installments', c.installments, 'days', c.days, 'since', c.since, 'operator_id', c.operator_id, 'linked_loan_id', c.linked_loan_id),
                ?::date, ?, ?
           FROM (${arrearsSql}) c
         ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
         DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message, details = EXCLUDED.details,
                       business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
        [ALERT_KINDS.ARREARS, bd, now, now, bd, ...tc.bindings],
      ),
    );
    // (3b) The linked loan is at risk: an alert on the loan, for its bank.
    await trx.raw(
      `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, operator_id, village_code, message, details, business_date, raised_at, updated_at)
       SELECT c.county_code, ?, 'WARNING', 'loan', c.linked_loan_id::text, l.bank_id, c.operator_id, c.village_code,
              format('贷款风险：委托经营方拖欠收益 %s 天 / loan at risk: its trusteeship operator is %s days in arrears', c.days, c.days),
              jsonb_build_object('trusteeship_id', c.id, 'operator_id', c.operator_id, 'amount', c.amount::text, 'days', c.days),
              ?::date, ?, ?
         FROM (${arrearsSql}) c JOIN loans l ON l.id = c.linked_loan_id
       ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
       DO UPDATE SET message = EXCLUDED.message, details = EXCLUDED.details, business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
      [ALERT_KINDS.LOAN_AT_RISK, bd, now, now, bd, ...tc.bindings],
    );
    // (3c) Operators over their exposure limit (the county policy in force on the business date).
    const overSql = `
      SELECT o.id, o.county_code, x.open,
             least(round(o.registered_capital * coalesce(p.exposure_multiple, 10), 2), coalesce(p.exposure_cap, round(o.registered_capital * coalesce(p.exposure_multiple, 10), 2))) AS lim
        FROM operators o
        JOIN (SELECT operator_id, sum(principal - principal_returned) AS open FROM trusteeships WHERE status = 'ACTIVE' GROUP BY operator_id) x ON x.operator_id = o.id
        LEFT JOIN LATERAL (SELECT exposure_multiple, exposure_cap FROM trusteeship_policies p
                            WHERE p.county_code = o.county_code AND p.effective_from <= ?::date
                            ORDER BY p.effective_from DESC LIMIT 1) p ON true
       WHERE ${oc.sql}`;
    const operatorsOver = await rowCount(
      trx.raw(
        `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, operator_id, message, details, business_date, raised_at, updated_at)
         SELECT e.county_code, ?, 'CRITICAL', 'operator', e.id::text, e.id,
                format('委托经营方超限：委托本金 %s 元，上限 %s 元 / operator exposure %s yuan over its limit %s', e.open, e.lim, e.open, e.lim),
                jsonb_build_object('exposure', e.open::text, 'limit', e.lim::text), ?::date, ?, ?
           FROM (${overSql}) e WHERE e.open > e.lim
         ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
         DO UPDATE SET message = EXCLUDED.message, details = EXCLUDED.details, business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
        [ALERT_KINDS.EXPOSURE, bd, now, now, bd, ...oc.bindings],
      ),
    );

    // Clear what no longer holds.
    let cleared = await rowCount(
      trx.raw(
        `UPDATE alerts a SET cleared_at = ?, updated_at = ?
          WHERE a.cleared_at IS NULL AND a.kind = ? AND ${ac.sql}
            AND NOT EXISTS (SELECT 1 FROM trusteeship_installments i WHERE i.trusteeship_id::text = a.entity_id AND i.in_arrears)`,
        [now, now, ALERT_KINDS.ARREARS, ...ac.bindings],
      ),
    );
    cleared += await rowCount(
      trx.raw(
        `UPDATE alerts a SET cleared_at = ?, updated_at = ?
          WHERE a.cleared_at IS NULL AND a.kind = ? AND ${ac.sql}
            AND NOT EXISTS (SELECT 1 FROM trusteeships t JOIN trusteeship_installments i ON i.trusteeship_id = t.id
                             WHERE t.linked_loan_id::text = a.entity_id AND i.in_arrears)`,
        [now, now, ALERT_KINDS.LOAN_AT_RISK, ...ac.bindings],
      ),
    );
    cleared += await rowCount(
      trx.raw(
        `UPDATE alerts a SET cleared_at = ?, updated_at = ?
          WHERE a.cleared_at IS NULL AND a.kind = ? AND ${ac.sql}
            AND NOT EXISTS (SELECT 1 FROM (${overSql.replace(`WHERE ${oc.sql}`, "WHERE TRUE")}) e WHERE e.id::text = a.entity_id AND e.open > e.lim)`,
        [now, now, ALERT_KINDS.EXPOSURE, ...ac.bindings, bd],
      ),
    );

    return {
      business_date: bd,
      installments_accrued: accrued,
      installments_newly_in_arrears: newlyInArrears,
      contracts_in_arrears: contractsInArrears,
      operators_over_limit: operatorsOver,
      alerts_cleared: cleared,
    };
  });
}

/** `POST /jobs/trusteeship-arrears`: the job for the caller's counties, audited. */
export async function runArrearsJob(trx: Knex.Transaction, ctx: Ctx, businessDate: string) {
  requireRole(ctx.actor, "admin");
  if (businessDate > ctx.clock.today()) {
    throw new AppError("VALIDATION_FAILED", { zh: "业务日期不能晚于今天", en: "The business date is in the future" }, [{ path: "body.business_date", message: { zh: "不能晚于今天", en: "not after today" } }]);
  }
  const run = await trusteeshipArrears(trx, businessDate, { countyCodes: ctx.actor.countyCodes, now: ctx.clock.now() });
  await appendAudit(
    trx,
    ctx,
    ctx.actor.countyCodes.map((c) => ({ action: "job.trusteeship_arrears", entityType: "job", entityId: `trusteeship-arrears:${businessDate}`, countyCode: c, after: run })),
  );
  return run;
}
