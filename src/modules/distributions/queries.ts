import type { Knex } from "knex";
import { preparedRows } from "../../db/prepared.js";
import type { Actor } from "../../http/auth.js";
import { ACCOUNTS } from "../../lib/ledger.js";
import type { RuleParams } from "./model.js";

type Db = Knex | Knex.Transaction;

export interface DistributionRow {
  id: string;
  county_code: string;
  scope: "ASSET" | "VILLAGE";
  asset_id: string | null;
  village_code: string;
  period: string;
  period_year: number;
  reference_date: string;
  rule_id: string | null;
  rule: RuleParams;
  status: "DRAFT" | "NOTICED" | "APPROVED" | "PAID" | "REVERSED";
  income_total: string;
  retention_amount: string;
  earmarks: { name: string; amount: string }[];
  earmarks_total: string;
  cap_excess: string;
  collective_total: string;
  pool_amount: string;
  shares_total: string;
  household_count: number;
  total_weight: string;
  excluded: Record<string, number>;
  computations: number;
  computed_at: Date;
  notice_date: string | null;
  payable_from: string | null;
  approved_by: string | null;
  approved_at: Date | null;
  paid_total: string;
  returned_total: string;
  paid_on: string | null;
  reversed_at: Date | null;
  reversal_reason: string | null;
  created_by: string;
  version: number;
}

/**
 * Bounds a query on `distributions` (aliased `d`): the actor's counties; a village officer sees
 * the distributions its village runs or shares in.
 */
export function distributionScope(q: Knex.QueryBuilder, actor: Actor, alias = "d"): Knex.QueryBuilder {
  q.whereIn(`${alias}.county_code`, actor.countyCodes);
  if (actor.role === "village_officer") {
    const v = actor.villageCode ?? "";
    q.andWhere((w) =>
      w.where(`${alias}.village_code`, v).orWhereExists(function () {
        this.select(1).from("distribution_shares as vs").whereRaw(`vs.distribution_id = ${alias}.id`).andWhere("vs.village_code", v);
      }),
    );
  }
  return q;
}

export async function findDistribution(db: Db, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<DistributionRow | undefined> {
  const q = distributionScope(db("distributions as d").where("d.id", id).select("d.*"), actor);
  if (opts.forUpdate) q.forUpdate();
  return q.first<DistributionRow | undefined>();
}

/** Who the distribution is for: beneficiary villages, or a named list of households. */
export type Beneficiaries = { villages: string[] } | { assetHouseholds: string };

export interface EligibilityRow {
  household_id: string;
  village_code: string;
  status_at: string | null;
  exit_at: string | null;
  transition_ends: string | null;
  outcome: "POOR" | "MONITORED" | "EXITED_IN_TRANSITION" | "ROLLED_OUT" | "REMOVED" | "NOT_REGISTERED";
  members: number | null;
  multiplier: string;
  multiplier_reason: string | null;
  weight: string;
  already_this_year: string;
}

/**
 * Every household of the beneficiaries with its status as of the reference date (from the status
 * history), whether it shares and why, its members and circumstances, and its weight — in one
 * set-based statement, ordered by household id.
 *
 * Status as of the date: the last change effective on or before it; before the first change, the
 * status that change left; with no history, the current status if it began by then (an exited
 * household without history was poor before its exit date); otherwise not yet registered. A
 * household REMOVED now (registered in error) never shares, whatever the date.
 */
export async function eligibility(
  db: Db,
  p: { countyCode: string; beneficiaries: Beneficiaries; referenceDate: string; rule: RuleParams; year: number; distributionId: string | null },
): Promise<EligibilityRow[]> {
  const target =
    "villages" in p.beneficiaries
      ? { sql: `h.village_code IN (SELECT jsonb_array_elements_text(?::jsonb))`, binding: JSON.stringify(p.beneficiaries.villages) }
      : { sql: `h.id IN (SELECT household_id FROM asset_beneficiary_households WHERE asset_id = ?::uuid)`, binding: p.beneficiaries.assetHouseholds };
  const capped = p.rule.annualCapPerHousehold !== null;
  const { rows } = await db.raw<{ rows: EligibilityRow[] }>(
    `
    WITH p AS (
      SELECT ?::date AS ref, ?::int AS tm, ?::numeric AS base, ?::numeric AS m_nl, ?::numeric AS m_ill, ?::numeric AS m_db,
             ?::text AS basis, ?::int AS yr, ?::uuid AS self_id, ?::boolean AS capped, ?::text AS county
    ),
    target AS (
      SELECT h.id, h.village_code, h.household_type, h.status::text AS status, h.status_since, h.exit_date
      FROM households h
      WHERE h.county_code = (SELECT county FROM p) AND ${target.sql}
    ),
    last_change AS (
      SELECT DISTINCT ON (c.household_id) c.household_id, c.to_status, c.effective_date
      FROM household_status_changes c JOIN target t ON t.id = c.household_id
      WHERE c.effective_date <= (SELECT ref FROM p)
      ORDER BY c.household_id, c.effective_date DESC, c.created_at DESC
    ),
    first_change AS (
      SELECT DISTINCT ON (c.household_id) c.household_id, c.from_status
      FROM household_status_changes c JOIN target t ON t.id = c.household_id
      ORDER BY c.household_id, c.effective_date, c.created_at
    ),
    as_of AS (
      SELECT t.id, t.village_code, t.household_type, t.status AS current_status,
        CASE WHEN lc.household_id IS NOT NULL THEN lc.to_status
             WHEN fc.household_id IS NOT NULL THEN fc.from_status
             WHEN t.status_since <= p.ref THEN t.status
             WHEN t.status = 'EXITED' THEN 'POOR'
        END AS status_at,
        CASE WHEN lc.to_status = 'EXITED' THEN lc.effective_date
             WHEN lc.household_id IS NULL AND fc.household_id IS NULL AND t.status = 'EXITED' AND t.status_since <= p.ref THEN t.exit_date
        END AS exit_at
      FROM target t CROSS JOIN p
      LEFT JOIN last_change lc ON lc.household_id = t.id
      LEFT JOIN first_change fc ON fc.household_id = t.id
    ),
    classified AS (
      SELECT a.*,
        CASE WHEN a.exit_at IS NOT NULL THEN (a.exit_at + make_interval(months => p.tm))::date END AS transition_ends,
        CASE WHEN a.current_status = 'REMOVED' OR a.status_at = 'REMOVED' THEN 'REMOVED'
             WHEN a.status_at IN ('POOR', 'MONITORED') THEN a.status_at
             WHEN a.status_at = 'EXITED' AND a.exit_at IS NOT NULL AND p.ref < (a.exit_at + make_interval(months => p.tm))::date THEN 'EXITED_IN_TRANSITION'
             WHEN a.status_at = 'EXITED' THEN 'ROLLED_OUT'
             ELSE 'NOT_REGISTERED'
        END AS outcome
      FROM as_of a CROSS JOIN p
    ),
    circ AS (
      SELECT m.household_id, count(*)::int AS members,
        bool_and(m.labour_capacity = 'NONE') AS no_labour,
        bool_or(m.health IN ('SERIOUS', 'DISABLED')) AS ill,
        bool_or(m.on_dibao OR m.on_tekun) AS dibao
      FROM household_members m JOIN classified c ON c.id = m.household_id
      WHERE c.outcome IN ('POOR', 'MONITORED', 'EXITED_IN_TRANSITION')
      GROUP BY m.household_id
    ),
    mult AS (
      SELECT c.id, c.village_code, c.status_at, c.exit_at, c.transition_ends, c.outcome, ci.members,
        CASE WHEN ci.no_labour THEN p.m_nl ELSE 1 END AS x_nl,
        CASE WHEN ci.ill THEN p.m_ill ELSE 1 END AS x_ill,
        CASE WHEN ci.dibao OR c.household_type IN ('DIBAO', 'TEKUN') THEN p.m_db ELSE 1 END AS x_db
      FROM classified c CROSS JOIN p
      LEFT JOIN circ ci ON ci.household_id = c.id
    ),
    received AS (
      SELECT s.household_id, sum(s.amount) AS amount
      FROM distribution_shares s JOIN distributions d ON d.id = s.distribution_id CROSS JOIN p
      WHERE p.capped AND d.county_code = p.county AND d.period_year = p.yr AND d.status IN ('NOTICED', 'APPROVED', 'PAID')
        AND d.id IS DISTINCT FROM p.self_id AND s.payment_status <> 'RETURNED'
        AND s.household_id IN (SELECT id FROM target)
      GROUP BY s.household_id
    )
    SELECT m.id AS household_id, m.village_code, m.status_at, m.exit_at::text AS exit_at, m.transition_ends::text AS transition_ends,
      m.outcome, m.members,
      GREATEST(1, m.x_nl, m.x_ill, m.x_db)::text AS multiplier,
      CASE WHEN GREATEST(1, m.x_nl, m.x_ill, m.x_db) = 1 THEN NULL
           WHEN m.x_nl = GREATEST(m.x_nl, m.x_ill, m.x_db) THEN 'NO_LABOUR'
           WHEN m.x_ill = GREATEST(m.x_nl, m.x_ill, m.x_db) THEN 'SERIOUS_ILLNESS_OR_DISABILITY'
           ELSE 'DIBAO_TEKUN'
      END AS multiplier_reason,
      (p.base * (CASE WHEN p.basis = 'MEMBER' THEN GREATEST(coalesce(m.members, 1), 1) ELSE 1 END) * GREATEST(1, m.x_nl, m.x_ill, m.x_db))::text AS weight,
      coalesce(r.amount, 0)::text AS already_this_year
    FROM mult m CROSS JOIN p
    LEFT JOIN received r ON r.household_id = m.id
    ORDER BY m.id`,
    [
      p.referenceDate,
      p.rule.transitionMonths,
      p.rule.baseWeight,
      p.rule.multiplierNoLabour,
      p.rule.multiplierSeriousIllness,
      p.rule.multiplierDibaoTekun,
      p.rule.weightBasis,
      p.year,
      p.distributionId,
      capped,
      p.countyCode,
      target.binding,
    ],
  );
  return rows;
}

export interface ShareInsert {
  household_id: string;
  village_code: string;
  status_at_reference: string;
  eligibility: string;
  exit_date: string | null;
  transition_ends: string | null;
  members: number;
  multiplier: string;
  multiplier_reason: string | null;
  weight: string;
  uncapped_amount: string;
  amount: string;
  capped: boolean;
}

/** Writes a distribution's shares in one statement (a JSON record set), whatever their number. */
export async function insertShares(trx: Knex.Transaction, distributionId: string, countyCode: string, shares: ShareInsert[]): Promise<void> {
  await trx("distribution_shares").where({ distribution_id: distributionId }).delete();
  const chunk = 50_000;
  for (let i = 0; i < shares.length; i += chunk) {
    await trx.raw(
      `INSERT INTO distribution_shares (distribution_id, household_id, county_code, village_code, status_at_reference, eligibility, exit_date,
         transition_ends, members, multiplier, multiplier_reason, weight, uncapped_amount, amount, capped)
       SELECT ?::uuid, r.h, ?, r.v, r.s, r.e, r.x, r.t, r.m, r.mu, r.mr, r.w, r.u, r.a, r.c
       FROM json_to_recordset(?::json) AS r(h uuid, v text, s text, e text, x date, t date, m int, mu numeric, mr text, w numeric, u numeric, a numeric, c boolean)`,
      [
        distributionId,
        countyCode,
        // Short keys: the record set of 100,000 shares is half the size.
        JSON.stringify(
          shares.slice(i, i + chunk).map((r) => ({
            h: r.household_id,
            v: r.village_code,
            s: r.status_at_reference,
            e: r.eligibility,
            x: r.exit_date,
            t: r.transition_ends,
            m: r.members,
            mu: r.multiplier,
            mr: r.multiplier_reason,
            w: r.weight,
            u: r.uncapped_amount,
            a: r.amount,
            c: r.capped,
          })),
        ),
      ],
    );
  }
}

/**
 * Posts one journal entry paying a batch of shares: each paid share leaves the pool (2301, party
 * the distribution) to the bank (1001, party the household). The lines are written by one
 * INSERT … SELECT, so the database's balance check sees the whole entry at once, at any size.
 */
export async function postPaymentBatch(
  trx: Knex.Transaction,
  e: { distributionId: string; countyCode: string; batchId: string; entryDate: string; total: string; actorId: string; memo: string },
): Promise<string> {
  const [entry] = await trx("journal_entries")
    .insert({
      county_code: e.countyCode,
      entry_date: e.entryDate,
      kind: "distribution.payment",
      ref_type: "distribution",
      ref_id: e.distributionId,
      memo: e.memo,
      total: e.total,
      actor_id: e.actorId,
    })
    .returning<{ id: string }[]>("id");
  await trx.raw(
    `INSERT INTO journal_lines (entry_id, account_code, county_code, party_type, party_id, debit, credit)
     SELECT ?::uuid, ?, ?, 'distribution', ?, ?::numeric, 0
     UNION ALL
     SELECT ?::uuid, ?, s.county_code, 'household', s.household_id::text, 0, s.amount
       FROM distribution_shares s WHERE s.payment_batch = ?::uuid AND s.amount > 0`,
    [entry.id, ACCOUNTS.DISTRIBUTION_POOL, e.countyCode, e.distributionId, e.total, entry.id, ACCOUNTS.CASH, e.batchId],
  );
  return entry.id;
}

export interface DividendRow {
  distribution_id: string;
  scope: "ASSET" | "VILLAGE";
  assets: { id: string; name: string; asset_type: string }[] | null;
  village_code: string;
  period: string;
  reference_date: string;
  distribution_status: string;
  weight: string;
  members: number;
  multiplier: string;
  eligibility: "POOR" | "MONITORED" | "EXITED_IN_TRANSITION";
  multiplier_reason: "NO_LABOUR" | "SERIOUS_ILLNESS_OR_DISABILITY" | "DIBAO_TEKUN" | null;
  transition_ends: string | null;
  amount: string;
  capped: boolean;
  payment_status: string;
  paid_on: string | null;
}

/** A household's shares in distributions that left DRAFT (noticed, approved, paid or reversed), newest first. */
const DIVIDEND_ROWS_SQL = `SELECT d.id AS distribution_id, d.scope, d.village_code, d.period, d.reference_date::text AS reference_date, d.status AS distribution_status,
        s.weight::text AS weight, s.members, s.multiplier::text AS multiplier, s.eligibility, s.multiplier_reason,
        s.transition_ends::text AS transition_ends, s.amount::text AS amount, s.capped, s.payment_status, s.paid_on::text AS paid_on,
        (SELECT json_agg(json_build_object('id', a.id, 'name', a.name, 'asset_type', a.asset_type) ORDER BY a.name)
           FROM distribution_incomes di JOIN assets a ON a.id = di.asset_id WHERE di.distribution_id = d.id) AS assets
     FROM distribution_shares s JOIN distributions d ON d.id = s.distribution_id
     WHERE s.household_id = $1 AND d.status <> 'DRAFT'
     ORDER BY d.reference_date DESC, d.period DESC, d.id`;

/** A household's dividends (the portal's hottest read: a prepared statement outside transactions). */
export async function dividendRows(db: Db, householdId: string): Promise<DividendRow[]> {
  if (!db.isTransaction) return preparedRows<DividendRow>(db as Knex, "dividend_rows", DIVIDEND_ROWS_SQL, [householdId]);
  const { rows } = await db.raw<{ rows: DividendRow[] }>(DIVIDEND_ROWS_SQL.replace("$1", "?"), [householdId]);
  return rows;
}
