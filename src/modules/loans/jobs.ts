import type { Knex } from "knex";
import { affectedRows } from "../../db/knex.js";
import type { JobRegistry } from "../../jobs/job-registry.js";
import { forfeitSubsidyShares } from "./household-interest.js";
import { markClosed } from "./value-dates.js";

/**
 * The loans module's steps of the close of business (日终), as set-based SQL over the whole
 * portfolio: one statement per step (or a few), no per-loan round trips. Each is written so that
 * running it twice for a date changes nothing (guards on `penalty_through`, `cur_period_end`,
 * `standing_date`, the open-alert index, the snapshot key). Orders 100–700; other modules' steps follow.
 */

const ACTIVE = `('DISBURSED', 'EXTENDED')`;

interface LoanStep {
  name: string;
  run(trx: Knex.Transaction, date: string): Promise<number>;
}

const LOAN_STEPS: LoanStep[] = [
  {
    // Periods that come due today become DUE; past due date + grace days they are OVERDUE.
    name: "mark_due",
    run: async (trx, d) =>
      affectedRows(
        await trx.raw(
          `UPDATE loan_schedule_periods
              SET status = CASE
                    WHEN principal_paid = principal_due AND interest_paid = interest_due AND round(penalty_accrued, 2) = penalty_paid THEN 'PAID'
                    WHEN overdue_from <= ?::date THEN 'OVERDUE' ELSE 'DUE' END,
                  settled_on = CASE WHEN principal_paid = principal_due AND interest_paid = interest_due AND round(penalty_accrued, 2) = penalty_paid THEN due_date ELSE settled_on END
            WHERE status IN ('PENDING', 'DUE') AND due_date <= ?::date
              AND status IS DISTINCT FROM (CASE
                    WHEN principal_paid = principal_due AND interest_paid = interest_due AND round(penalty_accrued, 2) = penalty_paid THEN 'PAID'
                    WHEN overdue_from <= ?::date THEN 'OVERDUE' ELSE 'DUE' END)`,
          [d, d, d],
        ),
      ),
  },
  {
    // TO_BANK subsidy shares lost (docs/DOMAIN.md#interest-subsidy): the household's part unpaid past due date + grace, a
    // misuse finding, a removed household. The share moves back to the household before penalty accrues on it.
    name: "subsidy_forfeits",
    run: (trx, d) => forfeitSubsidyShares(trx, d),
  },
  {
    // 罚息: overdue principal and interest × contract rate × (1 + markup) / 360 for each day not yet accrued, through today.
    name: "accrue_penalty",
    run: async (trx, d) =>
      affectedRows(
        await trx.raw(
          `UPDATE loan_schedule_periods p
              SET penalty_accrued = p.penalty_accrued + round(
                    (p.principal_due - p.principal_paid + p.interest_due - p.interest_paid) * l.annual_rate * (1 + l.penalty_markup) / 360
                    * (?::date - greatest(coalesce(p.penalty_through, p.overdue_from - 1), p.overdue_from - 1)), 10),
                  penalty_through = ?::date
             FROM loans l
            WHERE l.id = p.loan_id AND l.status IN ${ACTIVE}
              AND p.status = 'OVERDUE' AND p.overdue_from <= ?::date
              AND (p.penalty_through IS NULL OR p.penalty_through < ?::date)`,
          [d, d, d, d],
        ),
      ),
  },
  {
    // The period interest accrues in moves on when the previous one has ended.
    name: "roll_periods",
    run: async (trx, d) =>
      affectedRows(
        await trx.raw(
          `UPDATE loans l
              SET cur_period_start = p.accrual_start, cur_period_end = p.accrual_end, cur_period_interest = p.interest_due
             FROM loan_schedule_periods p
            WHERE l.status IN ${ACTIVE} AND (l.cur_period_end IS NULL OR l.cur_period_end <= ?::date)
              AND p.loan_id = l.id AND p.accrual_start <= ?::date AND p.accrual_end > ?::date`,
          [d, d, d],
        ),
      ),
  },
  {
    // Days past due, buckets and overdue amounts, written only where they change: loans with an
    // overdue period get their figures; loans that were in arrears and no longer are get reset.
    // (Interest accrued in the current period is derived from cur_period_* and the date, not stored.)
    name: "standing",
    run: async (trx, d) => {
      const cleared = await trx.raw(
        `UPDATE loans l
            SET dpd = 0, dpd_bucket = 'CURRENT', overdue_principal = 0, overdue_interest = 0, penalty_due = 0, standing_date = ?::date
          WHERE (l.dpd > 0 OR l.penalty_due > 0) AND l.status IN ${ACTIVE}
            AND NOT EXISTS (SELECT 1 FROM loan_schedule_periods p WHERE p.loan_id = l.id AND p.status = 'OVERDUE')`,
        [d],
      );
      const overdue = await trx.raw(
        `UPDATE loans l
            SET dpd = ?::date - o.oldest,
                dpd_bucket = CASE WHEN ?::date - o.oldest <= 30 THEN 'DPD_1_30' WHEN ?::date - o.oldest <= 90 THEN 'DPD_31_90'
                                  WHEN ?::date - o.oldest <= 180 THEN 'DPD_91_180' ELSE 'DPD_181_PLUS' END,
                overdue_principal = o.op, overdue_interest = o.oi, penalty_due = o.pen, standing_date = ?::date
           FROM (SELECT loan_id, min(due_date) AS oldest, sum(principal_due - principal_paid) AS op, sum(interest_due - interest_paid) AS oi,
                        sum(greatest(round(penalty_accrued, 2) - penalty_paid, 0)) AS pen
                   FROM loan_schedule_periods WHERE status = 'OVERDUE' GROUP BY loan_id) o
          WHERE l.id = o.loan_id AND l.status IN ${ACTIVE}
            AND (l.dpd, l.overdue_principal, l.overdue_interest, l.penalty_due) IS DISTINCT FROM (?::date - o.oldest, o.op, o.oi, o.pen)`,
        [d, d, d, d, d, d],
      );
      return affectedRows(cleared) + affectedRows(overdue);
    },
  },
  {
    // One open alert per loan and bucket (INSERT … SELECT … ON CONFLICT DO NOTHING on the open-alert index); others clear.
    name: "alerts",
    run: async (trx, d) => {
      const cleared = await trx.raw(
        `UPDATE alerts a SET cleared_at = now(), updated_at = now()
           FROM loans l
          WHERE a.cleared_at IS NULL AND a.entity_type = 'loan' AND a.kind LIKE 'loan.overdue.%' AND a.entity_id = l.id::text
            AND (l.status NOT IN ${ACTIVE} OR l.dpd = 0 OR a.kind <> 'loan.overdue.' || lower(l.dpd_bucket))`,
      );
      const raised = await trx.raw(
        `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, village_code, message, details, business_date, raised_at, updated_at)
         SELECT county_code, 'loan.overdue.' || lower(dpd_bucket),
                CASE WHEN dpd > 90 THEN 'CRITICAL' WHEN dpd > 30 THEN 'WARNING' ELSE 'INFO' END,
                'loan', id::text, bank_id, village_code,
                format('贷款逾期 %s 天 / loan %s days past due: overdue principal %s, interest %s', dpd, dpd, overdue_principal, overdue_interest),
                jsonb_build_object('dpd', dpd, 'bucket', dpd_bucket, 'overdue_principal', overdue_principal::text, 'overdue_interest', overdue_interest::text, 'penalty_due', penalty_due::text),
                ?::date, now(), now()
           FROM loans WHERE status IN ${ACTIVE} AND dpd > 0
         ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL DO NOTHING`,
        [d],
      );
      return affectedRows(cleared) + affectedRows(raised);
    },
  },
  {
    // Portfolio figures per date, bank and county (the snapshot key makes a rerun overwrite with the same figures).
    name: "portfolio",
    run: async (trx, d) =>
      affectedRows(
        await trx.raw(
          `INSERT INTO loan_portfolio_daily (business_date, county_code, bank_id, active_loans, households, outstanding_principal, accrued_interest,
                  overdue_loans, overdue_principal, overdue_interest, penalty_due, principal_dpd_1_30, principal_dpd_31_90, principal_dpd_91_180,
                  principal_dpd_181_plus, npl_loans, npl_principal, npl_ratio)
           SELECT ?::date, county_code, bank_id, count(*), count(DISTINCT household_id), sum(outstanding_principal),
                  sum(CASE WHEN cur_period_start <= ?::date AND cur_period_end > ?::date
                           THEN round(cur_period_interest * (?::date + 1 - cur_period_start) / greatest(cur_period_end - cur_period_start, 1), 2) ELSE 0 END),
                  count(*) FILTER (WHERE dpd > 0), sum(overdue_principal), sum(overdue_interest), sum(penalty_due),
                  coalesce(sum(outstanding_principal) FILTER (WHERE dpd_bucket = 'DPD_1_30'), 0),
                  coalesce(sum(outstanding_principal) FILTER (WHERE dpd_bucket = 'DPD_31_90'), 0),
                  coalesce(sum(outstanding_principal) FILTER (WHERE dpd_bucket = 'DPD_91_180'), 0),
                  coalesce(sum(outstanding_principal) FILTER (WHERE dpd_bucket = 'DPD_181_PLUS'), 0),
                  count(*) FILTER (WHERE dpd > 90), coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 90), 0),
                  coalesce(round(coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 90), 0) / nullif(sum(outstanding_principal), 0), 6), 0)
             FROM loans WHERE status IN ${ACTIVE}
            GROUP BY county_code, bank_id
           ON CONFLICT (business_date, county_code, bank_id) DO UPDATE SET
                  active_loans = EXCLUDED.active_loans, households = EXCLUDED.households, outstanding_principal = EXCLUDED.outstanding_principal,
                  accrued_interest = EXCLUDED.accrued_interest, overdue_loans = EXCLUDED.overdue_loans, overdue_principal = EXCLUDED.overdue_principal,
                  overdue_interest = EXCLUDED.overdue_interest, penalty_due = EXCLUDED.penalty_due, principal_dpd_1_30 = EXCLUDED.principal_dpd_1_30,
                  principal_dpd_31_90 = EXCLUDED.principal_dpd_31_90, principal_dpd_91_180 = EXCLUDED.principal_dpd_91_180,
                  principal_dpd_181_plus = EXCLUDED.principal_dpd_181_plus, npl_loans = EXCLUDED.npl_loans, npl_principal = EXCLUDED.npl_principal,
                  npl_ratio = coalesce(EXCLUDED.npl_ratio, 0), computed_at = now()`,
          [d, d, d, d],
        ),
      ),
  },
];

export function registerLoanJobs(registry: JobRegistry): void {
  LOAN_STEPS.forEach((s, i) =>
    registry.step({
      job: "close_of_business",
      name: s.name,
      order: (i + 1) * 100,
      module: "loans",
      run: async (trx, { businessDate }) => ({ rows: await s.run(trx, businessDate) }),
    }),
  );
  // The date the loans' steps have closed, for value-dated operations entered afterwards (value-dates.ts).
  registry.step({ job: "close_of_business", name: "loans_closed_through", order: 750, module: "loans", run: async (trx, { businessDate }) => ({ rows: await markClosed(trx, businessDate) }) });
}
