import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";

type Db = Knex | Knex.Transaction;

export interface ClaimRow {
  id: string;
  county_code: string;
  bank_id: string;
  quarter: string;
  quarter_start: string;
  quarter_end: string;
  mode: "TO_BANK" | "TO_HOUSEHOLD" | null;
  generated_by: string[];
  created_by: string | null;
  status: "DRAFT" | "APPROVED" | "PAID";
  generated_on: string;
  generations: number;
  approved_on: string | null;
  approved_by: string | null;
  notice_start: string | null;
  notice_end: string | null;
  paid_on: string | null;
  paid_by: string | null;
  payment_reference: string | null;
  approval_entry_id: string | null;
  payment_entry_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface LineRow {
  id: string;
  claim_id: string;
  loan_id: string;
  seq: number;
  household_id: string;
  village_code: string;
  borrower_member_id: string;
  mode: "TO_BANK" | "TO_HOUSEHOLD";
  repayment_method: string;
  accrual_start: string;
  accrual_end: string;
  due_date: string;
  days: number;
  days_in_term: number;
  opening_principal: string;
  principal_base: string;
  contract_rate: string;
  subsidy_rate: string;
  ratio: string;
  interest: string;
  computed_subsidy: string;
  subsidy: string;
  forfeit_reason: string | null;
  status: "CLAIMED" | "FORFEITED" | "APPROVED" | "REJECTED";
  reject_reason: string | null;
}

/** Claims visible to an actor: county staff their counties; bank staff their bank in their counties. */
export function claimScope(q: Knex.QueryBuilder, actor: Actor, alias = "subsidy_claims"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "loan_officer" || actor.role === "bank_manager") q.andWhere(`${alias}.bank_id`, actor.bankId ?? "00000000-0000-0000-0000-000000000000");
  return q;
}

export async function findClaim(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<ClaimRow | undefined> {
  const q = claimScope(db("subsidy_claims").where("subsidy_claims.id", id), actor);
  if (opts.forUpdate) q.forUpdate();
  return q.first<ClaimRow | undefined>();
}

/**
 * The subsidy of each period, in SQL, exactly as `periodSubsidy` in model.ts computes it: the
 * period's interest recomputed on min(opening principal, cap) at min(contract rate, cap rate) by the
 * method's convention, × ratio × days in term / days, rounded half-up to the fen once (PostgreSQL's
 * round() on numeric rounds half away from zero: half-up for these non-negative amounts), never
 * above the period's interest. One multiplication chain and one division, so no intermediate
 * rounding can move a half fen.
 */
const SUBSIDY_EXACT = `
  CASE WHEN x.days <= 0 OR x.days_in_term <= 0 OR x.base <= 0 THEN 0 ELSE
    (CASE WHEN l.repayment_method = 'BULLET_QUARTERLY'
          THEN x.base * x.rate * x.span_days * pr.subsidy_ratio * x.days_in_term / (360 * x.days)
          ELSE x.base * x.rate * x.span_days * pr.subsidy_ratio * x.days_in_term / (12 * coalesce(p.frame_days, x.days) * x.days) END)
    + CASE WHEN coalesce(p.carried_interest, 0) > 0
           THEN p.carried_interest * x.rate / l.annual_rate * least(1, pr.subsidy_principal_cap / l.amount) * pr.subsidy_ratio * x.days_in_term / x.days
           ELSE 0 END
  END`;

/**
 * Claim generation, set-based (one INSERT … SELECT): every loan-period of the bank in the county
 * whose due date falls in the quarter — or earlier, when its grace days ran into the quarter — that
 * is settled one way or the other (interest paid, or past due date + grace days), and not already a
 * line of any batch (an anti-join, backed by the unique loan-period key: regeneration claims nothing
 * twice).
 * A forfeited period becomes a line with its reason and zero.
 */
export async function insertClaimLines(
  trx: Knex.Transaction,
  p: { claimId: string; countyCode: string; bankId: string; mode: "TO_BANK" | "TO_HOUSEHOLD"; quarterStart: string; quarterEnd: string; today: string },
): Promise<number> {
  // One big statement: hash in memory, and skip JIT compilation (seconds of it at this size). No
  // nested-loop joins over the table being inserted into: with stale statistics the planner may
  // probe subsidy_claim_lines by a scan per period, and each scan also reads the pages this very
  // statement is filling (quadratic). The LATERAL joins still run as nested loops (nothing else can).
  await trx.raw(`SET LOCAL work_mem = '256MB'`);
  await trx.raw(`SET LOCAL enable_nestloop = off`);
  const jit = await trx.raw<{ rows: { jit: string | null }[] }>(`SELECT current_setting('jit', true) AS jit`);
  if (jit.rows[0]?.jit) await trx.raw(`SET LOCAL jit = off`);
  const r = await trx.raw(
    `WITH need_check AS MATERIALIZED (
       -- periods paid in full but not settled in time as a whole (e.g. interest on time, principal late):
       -- whether the interest came in time is read from the repayments' allocations
       SELECT p.loan_id, p.seq, p.overdue_from
         FROM loan_schedule_periods p
        WHERE p.county_code = :county AND p.due_date <= :qend::date AND p.overdue_from > :qstart::date
          AND p.interest_due > 0 AND p.interest_paid >= p.interest_due
          AND (p.settled_on IS NULL OR p.settled_on >= p.overdue_from)
     ),
     in_time AS (
       -- driven by the (few) periods to check, through the repayments' loan index
       SELECT n.loan_id, n.seq, sum(a.interest) AS interest
         FROM need_check n
         CROSS JOIN LATERAL (
           SELECT (e->>'interest')::numeric AS interest
             FROM loan_repayments r CROSS JOIN LATERAL jsonb_array_elements(r.allocation) e
            WHERE r.loan_id = n.loan_id AND r.paid_on < n.overdue_from AND (e->>'seq')::int = n.seq
         ) a
        GROUP BY n.loan_id, n.seq
     ),
     misused AS (
       SELECT DISTINCT loan_id FROM loan_misuse_findings WHERE county_code = :county AND bank_id = :bank AND finding_date <= :today::date
     ),
     candidates AS (
       SELECT p.loan_id, p.seq, l.household_id, l.village_code, l.borrower_member_id, pr.subsidy_mode AS mode, l.repayment_method,
              p.accrual_start, p.accrual_end, p.due_date, x.days, x.days_in_term, p.opening_principal, x.base, l.annual_rate, x.rate,
              pr.subsidy_ratio, p.interest_due + p.interest_subsidy AS interest,
              least(p.interest_due + p.interest_subsidy, round(${SUBSIDY_EXACT}, 2)) AS computed,
              CASE WHEN h.status = 'REMOVED' THEN 'HOUSEHOLD_REMOVED'
                   WHEN m.loan_id IS NOT NULL THEN 'MISUSE'
                   WHEN NOT (p.interest_due = 0
                             OR (p.interest_paid >= p.interest_due AND p.settled_on IS NOT NULL AND p.settled_on < p.overdue_from)
                             OR coalesce(it.interest, 0) >= p.interest_due) THEN 'LATE_INTEREST'
                   ELSE NULL END AS reason
         FROM loan_schedule_periods p
         JOIN loans l ON l.id = p.loan_id
         JOIN loan_products pr ON pr.id = l.product_id
         JOIN households h ON h.id = l.household_id
         LEFT JOIN rate_tables lpr ON lpr.publication_date = l.lpr_date
         LEFT JOIN misused m ON m.loan_id = p.loan_id
         LEFT JOIN in_time it ON it.loan_id = p.loan_id AND it.seq = p.seq
         CROSS JOIN LATERAL (
           SELECT (p.accrual_end - p.accrual_start) AS days,
                  (p.accrual_end - coalesce(p.carried_through, p.accrual_start)) AS span_days,
                  greatest(0, least(p.accrual_end, (l.disbursed_on + make_interval(months => pr.subsidy_term_months))::date) - p.accrual_start) AS days_in_term,
                  least(p.opening_principal, pr.subsidy_principal_cap) AS base,
                  least(l.annual_rate, coalesce(pr.subsidy_rate_cap,
                        CASE l.rate_basis WHEN 'LPR_1Y' THEN lpr.lpr_1y WHEN 'LPR_5Y' THEN lpr.lpr_5y END, l.annual_rate)) AS rate
         ) x
        WHERE p.county_code = :county AND p.due_date <= :qend::date AND p.overdue_from > :qstart::date
          AND l.county_code = :county AND l.bank_id = :bank AND l.disbursed_on IS NOT NULL AND pr.subsidy_mode = :mode
          -- a migrated loan (存量贷款迁移): quarters ended before its migration were claimed outside the platform
          AND (l.migrated_on IS NULL OR p.due_date >= date_trunc('quarter', l.migrated_on)::date)
          -- not in any batch yet; a concurrent batch claiming the same period (another quarter's, through
          -- the grace-days overlap) fails on the unique (loan_id, seq) key (409, retry adds the rest): a plain INSERT
          -- is much cheaper than ON CONFLICT's speculative insertion at this size
          AND NOT EXISTS (SELECT 1 FROM subsidy_claim_lines x WHERE x.loan_id = p.loan_id AND x.seq = p.seq)
          -- settled one way or the other: interest paid, or past due date + grace days (or closed)
          AND (p.interest_paid >= p.interest_due OR p.overdue_from <= :today::date OR p.status = 'CLOSED')
     )
     INSERT INTO subsidy_claim_lines (claim_id, county_code, bank_id, loan_id, seq, household_id, village_code, borrower_member_id, mode, repayment_method,
                                      accrual_start, accrual_end, due_date, days, days_in_term, opening_principal, principal_base, contract_rate, subsidy_rate,
                                      ratio, interest, computed_subsidy, subsidy, forfeit_reason, status)
     SELECT :claim, :county, :bank, loan_id, seq, household_id, village_code, borrower_member_id, mode, repayment_method,
            accrual_start, accrual_end, due_date, days, days_in_term, opening_principal, base, annual_rate, rate,
            subsidy_ratio, interest, computed, CASE WHEN reason IS NULL THEN computed ELSE 0 END, reason,
            CASE WHEN reason IS NULL THEN 'CLAIMED' ELSE 'FORFEITED' END
       FROM candidates`,
    { claim: p.claimId, county: p.countyCode, bank: p.bankId, mode: p.mode, qstart: p.quarterStart, qend: p.quarterEnd, today: p.today },
  );
  await trx.raw(`SET LOCAL enable_nestloop TO DEFAULT`);
  await trx.raw(`SET LOCAL work_mem TO DEFAULT`);
  if (jit.rows[0]?.jit) await trx.raw(`SET LOCAL jit TO DEFAULT`);
  const added = Number((r as { rowCount?: number }).rowCount ?? 0);
  // A large batch changes the lines table's size by orders of magnitude: refresh its statistics now
  // (autovacuum comes later), or the next generation's anti-join is planned for an empty table.
  if (added > 10_000) await trx.raw("ANALYZE subsidy_claim_lines");
  return added;
}

/** Totals of a claim by line status and mode. */
export async function claimTotals(db: Db, claimId: string) {
  const row = await db("subsidy_claim_lines")
    .where({ claim_id: claimId })
    .select(
      db.raw(`count(*)::int AS lines`),
      db.raw(`count(*) FILTER (WHERE status = 'FORFEITED')::int AS forfeited_lines`),
      db.raw(`count(*) FILTER (WHERE status = 'REJECTED')::int AS rejected_lines`),
      db.raw(`coalesce(sum(interest), 0)::text AS interest`),
      db.raw(`coalesce(sum(subsidy), 0)::text AS claimed`),
      db.raw(`coalesce(sum(subsidy) FILTER (WHERE mode = 'TO_BANK'), 0)::text AS to_bank`),
      db.raw(`coalesce(sum(subsidy) FILTER (WHERE mode = 'TO_HOUSEHOLD'), 0)::text AS to_household`),
    )
    .first<{ lines: number; forfeited_lines: number; rejected_lines: number; interest: string; claimed: string; to_bank: string; to_household: string }>();
  return row;
}

/** Claimed amounts of a claim per loan (TO_BANK) or household (TO_HOUSEHOLD), for the journal lines. */
export async function claimParties(db: Db, claimId: string) {
  return db("subsidy_claim_lines")
    .where({ claim_id: claimId })
    .andWhere("subsidy", ">", 0)
    .groupBy("mode", "loan_id", "household_id")
    .orderBy(["mode", "household_id", "loan_id"])
    .select<{ mode: string; loan_id: string; household_id: string; amount: string; periods: number }[]>("mode", "loan_id", "household_id", db.raw("sum(subsidy)::text AS amount"), db.raw("count(*)::int AS periods"));
}
