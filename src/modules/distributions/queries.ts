import type { Knex } from "knex";
import { preparedRows } from "../../lib/prepared.js";
import type { Actor } from "../../http/auth.js";
import { ACCOUNTS, postJournalEntryFrom } from "../../lib/ledger.js";
import { type Dec, Money } from "../../lib/money.js";
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

type Bindings = Record<string, string | number | boolean | null>;

interface EligibilityParams {
  countyCode: string;
  beneficiaries: Beneficiaries;
  referenceDate: string;
  rule: RuleParams;
  year: number;
  distributionId: string | null;
}

/** The outcomes that share (the others are counted as excluded). */
const SHARING = `('POOR', 'MONITORED', 'EXITED_IN_TRANSITION')`;

/**
 * The eligibility and weight of every household of the beneficiaries, as CTEs ending in `judged`
 * (one row per household: household_id, village_code, status_at, exit_at, transition_ends,
 * outcome, members, multiplier, multiplier_reason, weight, already_this_year — numbers as numeric,
 * dates as date). Shared by `eligibility` and `writeShares`, so both read the register the same way.
 *
 * Status as of the date: the last change effective on or before it; before the first change, the
 * status that change left; with no history, the current status if it began by then (an exited
 * household without history was poor before its exit date); otherwise not yet registered. A
 * household REMOVED now (registered in error) never shares, whatever the date.
 */
function eligibilityCtes(p: EligibilityParams): { sql: string; bindings: Bindings } {
  const target: { sql: string; bindings: Bindings } =
    "villages" in p.beneficiaries
      ? { sql: `h.village_code IN (SELECT jsonb_array_elements_text(:beneficiaryVillages::jsonb))`, bindings: { beneficiaryVillages: JSON.stringify(p.beneficiaries.villages) } }
      : { sql: `h.id IN (SELECT household_id FROM asset_beneficiary_households WHERE asset_id = :beneficiaryAsset::uuid)`, bindings: { beneficiaryAsset: p.beneficiaries.assetHouseholds } };
  const sql = `
    p AS (
      SELECT :refDate::date AS ref, :transitionMonths::int AS tm, :baseWeight::numeric AS base, :mNoLabour::numeric AS m_nl,
             :mIllness::numeric AS m_ill, :mDibao::numeric AS m_db, :weightBasis::text AS basis, :periodYear::int AS yr,
             :selfId::uuid AS self_id, :capped::boolean AS capped, :county::text AS county
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
      FROM household_members m JOIN target t ON t.id = m.household_id
      GROUP BY m.household_id
    ),
    mult AS (
      SELECT c.id, c.village_code, c.status_at, c.exit_at, c.transition_ends, c.outcome, ci.members,
        CASE WHEN ci.no_labour THEN p.m_nl ELSE 1 END AS x_nl,
        CASE WHEN ci.ill THEN p.m_ill ELSE 1 END AS x_ill,
        CASE WHEN ci.dibao OR c.household_type IN ('DIBAO', 'TEKUN') THEN p.m_db ELSE 1 END AS x_db
      FROM classified c CROSS JOIN p
      LEFT JOIN circ ci ON ci.household_id = c.id AND c.outcome IN ${SHARING}
    ),
    received AS (
      SELECT s.household_id, sum(s.amount) AS amount
      FROM distribution_shares s JOIN distributions d ON d.id = s.distribution_id CROSS JOIN p
      WHERE p.capped AND d.county_code = p.county AND d.period_year = p.yr AND d.status IN ('NOTICED', 'APPROVED', 'PAID')
        AND d.id IS DISTINCT FROM p.self_id AND s.payment_status <> 'RETURNED'
        AND s.household_id IN (SELECT id FROM target)
      GROUP BY s.household_id
    ),
    judged AS (
      SELECT m.id AS household_id, m.village_code, m.status_at, m.exit_at, m.transition_ends, m.outcome, m.members,
        GREATEST(1, m.x_nl, m.x_ill, m.x_db) AS multiplier,
        CASE WHEN GREATEST(1, m.x_nl, m.x_ill, m.x_db) = 1 THEN NULL
             WHEN m.x_nl = GREATEST(m.x_nl, m.x_ill, m.x_db) THEN 'NO_LABOUR'
             WHEN m.x_ill = GREATEST(m.x_nl, m.x_ill, m.x_db) THEN 'SERIOUS_ILLNESS_OR_DISABILITY'
             ELSE 'DIBAO_TEKUN'
        END AS multiplier_reason,
        p.base * (CASE WHEN p.basis = 'MEMBER' THEN GREATEST(coalesce(m.members, 1), 1) ELSE 1 END) * GREATEST(1, m.x_nl, m.x_ill, m.x_db) AS weight,
        coalesce(r.amount, 0) AS already_this_year
      FROM mult m CROSS JOIN p
      LEFT JOIN received r ON r.household_id = m.id
    )`;
  return {
    sql,
    bindings: {
      refDate: p.referenceDate,
      transitionMonths: p.rule.transitionMonths,
      baseWeight: p.rule.baseWeight,
      mNoLabour: p.rule.multiplierNoLabour,
      mIllness: p.rule.multiplierSeriousIllness,
      mDibao: p.rule.multiplierDibaoTekun,
      weightBasis: p.rule.weightBasis,
      periodYear: p.year,
      selfId: p.distributionId,
      capped: p.rule.annualCapPerHousehold !== null,
      county: p.countyCode,
      ...target.bindings,
    },
  };
}

/**
 * Every household of the beneficiaries with its status as of the reference date (from the status
 * history), whether it shares and why, its members and circumstances, and its weight — in one
 * set-based statement, ordered by household id (see `eligibilityCtes`).
 */
export async function eligibility(db: Db, p: EligibilityParams): Promise<EligibilityRow[]> {
  const { sql, bindings } = eligibilityCtes(p);
  const { rows } = await db.raw<{ rows: EligibilityRow[] }>(
    `WITH ${sql}
     SELECT household_id, village_code, status_at, exit_at::text AS exit_at, transition_ends::text AS transition_ends, outcome, members,
            multiplier::text AS multiplier, multiplier_reason, weight::text AS weight, already_this_year::text AS already_this_year
     FROM judged ORDER BY household_id`,
    bindings,
  );
  return rows;
}

/**
 * The largest-remainder allocation (`allocateLargestRemainder` and `applyAnnualCap` in model.ts)
 * as CTEs over `eligible(household_id uuid, weight numeric, already_this_year numeric, …)` and
 * `alloc_p(pool_fen numeric, cap numeric)`, ending in `capped` (… uncapped, amount, is_capped), in
 * household id order.
 *
 * Exact: `div` and `mod` of numerics are exact, so floor(pool × w / W) and its remainder are the
 * model's integers divided by one power of ten, and compare the same way. The fens left over go one
 * each to the largest remainders, ties to the lower household id (uuid order is the order of its
 * text). Rather than sort every household by (remainder, id) — weights take few values, so the
 * remainders tie by the thousand — the remainders are counted by value: every household whose
 * remainder is above the last level reached gets a fen, and at that level the first k by household
 * id, where k is what is left of the fens. The cap: at most cap − what the household already has
 * this year, never below zero.
 */
const ALLOCATION_CTES = `
    floored AS (
      SELECT e.*, div(a.pool_fen * e.weight, t.w) AS floor_fen, mod(a.pool_fen * e.weight, t.w) AS remainder
      FROM eligible e CROSS JOIN alloc_p a CROSS JOIN (SELECT sum(weight) AS w FROM eligible) t
    ),
    last_level AS (
      SELECT l.remainder, l.fens - (l.through - l.n) AS k
      FROM (
        SELECT c.remainder, c.n, sum(c.n) OVER (ORDER BY c.remainder DESC) AS through, a.pool_fen - sum(c.floors) OVER () AS fens
        FROM (SELECT remainder, count(*) AS n, sum(floor_fen) AS floors FROM floored GROUP BY remainder) c CROSS JOIN alloc_p a
      ) l
      WHERE l.through - l.n < l.fens AND l.fens <= l.through
    ),
    placed AS (
      SELECT f.*, ll.remainder AS last_remainder, ll.k AS last_k,
        count(*) FILTER (WHERE f.remainder = ll.remainder) OVER (ORDER BY f.household_id ROWS UNBOUNDED PRECEDING) AS position_at_last
      FROM floored f LEFT JOIN last_level ll ON true
    ),
    allocated AS (
      SELECT x.*,
        (x.floor_fen + CASE WHEN x.remainder > x.last_remainder OR (x.remainder = x.last_remainder AND x.position_at_last <= x.last_k) THEN 1 ELSE 0 END) * 0.01 AS uncapped
      FROM placed x
    ),
    capped AS (
      SELECT x.*, y.amount, y.amount < x.uncapped AS is_capped
      FROM allocated x CROSS JOIN alloc_p a
      CROSS JOIN LATERAL (SELECT CASE WHEN a.cap IS NULL THEN x.uncapped ELSE least(x.uncapped, greatest(0, a.cap - x.already_this_year)) END AS amount) y
    )`;

const poolFen = (pool: Dec): string => {
  if (pool.isNeg() || !pool.eq(Money.toFen(pool))) throw new RangeError("the pool must be a non-negative amount in fen");
  return pool.times(100).toFixed(0);
};

/**
 * The SQL allocation over a given list (no register): the same CTEs `writeShares` runs, so they can
 * be checked against the model on any input. Shares in household id order.
 */
export async function allocateInSql(
  db: Db,
  pool: Dec,
  cap: Dec | null,
  households: readonly { householdId: string; weight: string; alreadyThisYear?: string }[],
): Promise<{ household_id: string; uncapped: string; amount: string; capped: boolean }[]> {
  const { rows } = await db.raw<{ rows: { household_id: string; uncapped: string; amount: string; capped: boolean }[] }>(
    `WITH alloc_p AS (SELECT :poolFen::numeric AS pool_fen, :cap::numeric AS cap),
     eligible AS (
       SELECT r.h AS household_id, r.w AS weight, coalesce(r.a, 0) AS already_this_year
       FROM json_to_recordset(:households::json) AS r(h uuid, w numeric, a numeric)
     ),
     ${ALLOCATION_CTES}
     SELECT household_id::text AS household_id, uncapped::text AS uncapped, amount::text AS amount, is_capped AS capped FROM capped ORDER BY household_id`,
    {
      poolFen: poolFen(pool),
      cap: cap === null ? null : cap.toFixed(2),
      households: JSON.stringify(households.map((h) => ({ h: h.householdId, w: h.weight, a: h.alreadyThisYear ?? null }))),
    },
  );
  return rows;
}

export interface SharesWritten {
  households: number;
  total_weight: string;
  /** Sum of the uncapped shares: the pool, to the fen. */
  allocated: string;
  shares_total: string;
  cap_excess: string;
  /** Households of the beneficiaries that do not share, by outcome. */
  excluded: Record<string, number>;
}

/**
 * Computes and writes a distribution's shares in one statement: eligibility and weights from the
 * register (`eligibilityCtes`), the largest-remainder allocation of the pool to the fen and the
 * annual cap (`ALLOCATION_CTES`), `INSERT … SELECT` into the shares; it returns the totals and the
 * excluded households by outcome. No row travels through Node. The shares it replaces are deleted
 * first (a recomputation).
 */
export async function writeShares(
  trx: Knex.Transaction,
  p: EligibilityParams & { distributionId: string; pool: Dec; cap: Dec | null },
): Promise<SharesWritten> {
  await trx("distribution_shares").where({ distribution_id: p.distributionId }).delete();
  const { sql, bindings } = eligibilityCtes(p);
  // One statement over ~100,000 households: sorts and hashes in memory, and no JIT compilation
  // (a fixed cost of a few hundred milliseconds that this short-running statement never earns back).
  const before = (await trx.raw<{ rows: { work_mem: string; jit: string | null }[] }>(`SELECT current_setting('work_mem') AS work_mem, current_setting('jit', true) AS jit`)).rows[0];
  await trx.raw(`SELECT set_config('work_mem', '64MB', true), CASE WHEN :jit::text IS NOT NULL THEN set_config('jit', 'off', true) END`, { jit: before.jit });
  const { rows } = await trx.raw<{ rows: (Omit<SharesWritten, "excluded" | "households"> & { households: number; excluded: string })[] }>(
    `WITH ${sql},
     eligible AS (SELECT * FROM judged WHERE outcome IN ${SHARING}),
     alloc_p AS (SELECT :poolFen::numeric AS pool_fen, :cap::numeric AS cap),
     ${ALLOCATION_CTES},
     written AS (
       INSERT INTO distribution_shares (distribution_id, household_id, county_code, village_code, status_at_reference, eligibility, exit_date,
         transition_ends, members, multiplier, multiplier_reason, weight, uncapped_amount, amount, capped)
       SELECT :distributionId::uuid, household_id, :county, village_code, status_at, outcome, exit_at,
         transition_ends, coalesce(members, 1), multiplier, multiplier_reason, weight, uncapped, amount, is_capped
       FROM capped
     )
     SELECT t.households, t.total_weight::text AS total_weight, t.allocated::text AS allocated, t.shares_total::text AS shares_total,
            t.cap_excess::text AS cap_excess,
            (SELECT coalesce(json_object_agg(outcome, n), '{}'::json)::text
               FROM (SELECT outcome, count(*)::int AS n FROM classified WHERE outcome NOT IN ${SHARING} GROUP BY outcome ORDER BY outcome) x) AS excluded
     FROM (SELECT count(*)::int AS households, coalesce(sum(weight), 0) AS total_weight, coalesce(sum(uncapped), 0) AS allocated,
                  coalesce(sum(amount), 0) AS shares_total, coalesce(sum(uncapped - amount), 0) AS cap_excess
           FROM capped) t`,
    { ...bindings, distributionId: p.distributionId, poolFen: poolFen(p.pool), cap: p.cap === null ? null : p.cap.toFixed(2) },
  );
  await trx.raw(`SELECT set_config('work_mem', :workMem, true), CASE WHEN :jit::text IS NOT NULL THEN set_config('jit', :jit, true) END`, { workMem: before.work_mem, jit: before.jit });
  const r = rows[0];
  return { ...r, households: Number(r.households), excluded: JSON.parse(r.excluded) as Record<string, number> };
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
  const id = await postJournalEntryFrom(
    trx,
    { countyCode: e.countyCode, entryDate: e.entryDate, kind: "distribution.payment", refType: "distribution", refId: e.distributionId, memo: e.memo, actorId: e.actorId },
    {
      sql: `SELECT ? AS account_code, ? AS county_code, 'distribution' AS party_type, ? AS party_id, ?::numeric AS debit, 0 AS credit
            UNION ALL
            SELECT ?, s.county_code, 'household', s.household_id::text, 0, s.amount
              FROM distribution_shares s WHERE s.payment_batch = ?::uuid AND s.amount > 0`,
      bindings: [ACCOUNTS.DISTRIBUTION_POOL, e.countyCode, e.distributionId, e.total, ACCOUNTS.CASH, e.batchId],
    },
  );
  if (!id) throw new Error(`payment batch ${e.batchId} of distribution ${e.distributionId} posted nothing`);
  return id;
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

/**
 * The version of a county's dividends: moved on, in the writing transaction, by every write that can
 * change a household's dividends (a distribution, its shares or incomes, an asset's name or type;
 * triggers of migration `dividend_versions`); 0 before the first. An answer read after this version
 * was read is at least as new as it, so an answer kept with the version it was read at stands as
 * long as the version has not moved.
 */
export async function dividendsVersion(db: Knex, countyCode: string): Promise<string> {
  const rows = await preparedRows<{ version: string }>(db, "dividends_version", "SELECT version::text AS version FROM dividend_versions WHERE county_code = $1", [countyCode]);
  return rows[0]?.version ?? "0";
}

/** A household's dividends (the portal's hottest read: a prepared statement outside transactions). */
export async function dividendRows(db: Db, householdId: string): Promise<DividendRow[]> {
  if (!db.isTransaction) return preparedRows<DividendRow>(db as Knex, "dividend_rows", DIVIDEND_ROWS_SQL, [householdId]);
  const { rows } = await db.raw<{ rows: DividendRow[] }>(DIVIDEND_ROWS_SQL.replace("$1", "?"), [householdId]);
  return rows;
}
