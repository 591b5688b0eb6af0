/**
 * A bank's work on ratings, for the worklist module: effective ratings about to expire (a rating is
 * valid 12 months, through `valid_until`), and ratings waiting for a bank manager's approval. Bounded
 * by the actor's jurisdiction (`ratingScope`: bank staff see their bank's ratings in their counties).
 */
import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import { addDays, daysBetween } from "../../lib/dates.js";
import { Money } from "../../lib/money.js";
import { ratingScope } from "./queries.js";

type Db = Knex | Knex.Transaction;

export interface RatingDue {
  rating_id: string;
  household_id: string;
  village_code: string;
  grade: string;
  score: number;
  credit_line: string;
  rated_on: string;
  valid_until: string | null;
  /** Days from today to the last valid day (0: expires at the end of today). */
  days_left: number | null;
  /** A new rating of the household by this bank is already waiting for approval. */
  renewal_pending: boolean;
  created_by: string;
}

export interface RatingsWorklist {
  expiring: RatingDue[];
  pending_approval: RatingDue[];
}

const COLUMNS = ["r.id", "r.household_id", "r.village_code", "r.grade", "r.score", "r.credit_line", "r.rated_on", "r.valid_until", "r.created_by"];

function view(r: Record<string, unknown>, today: string): RatingDue {
  const validUntil = r.valid_until === null ? null : String(r.valid_until);
  return {
    rating_id: String(r.id),
    household_id: String(r.household_id),
    village_code: String(r.village_code),
    grade: String(r.grade),
    score: Number(r.score),
    credit_line: Money.format(String(r.credit_line)),
    rated_on: String(r.rated_on),
    valid_until: validUntil,
    days_left: validUntil === null ? null : daysBetween(today, validUntil),
    renewal_pending: Boolean(r.renewal_pending),
    created_by: String(r.created_by),
  };
}

/**
 * Effective ratings whose last valid day falls from today through today + `within` days (soonest
 * first), and — when `withPending` — ratings waiting for approval (oldest first). Two statements.
 */
export async function worklistOf(db: Db, actor: Actor, opts: { today: string; within: number; withPending: boolean }): Promise<RatingsWorklist> {
  const expiring = await ratingScope(
    db("ratings as r")
      .where("r.status", "EFFECTIVE")
      .whereBetween("r.valid_until", [opts.today, addDays(opts.today, opts.within)])
      .orderBy([{ column: "r.valid_until" }, { column: "r.id" }])
      .select(
        ...COLUMNS,
        db.raw(`EXISTS (SELECT 1 FROM ratings n WHERE n.household_id = r.household_id AND n.bank_id = r.bank_id AND n.status = 'PENDING') AS renewal_pending`),
      ),
    actor,
  );
  const pending = opts.withPending
    ? await ratingScope(
        db("ratings as r")
          .where("r.status", "PENDING")
          .orderBy([{ column: "r.rated_on" }, { column: "r.id" }])
          .select(...COLUMNS, db.raw("false AS renewal_pending")),
        actor,
      )
    : [];
  return { expiring: expiring.map((r: Record<string, unknown>) => view(r, opts.today)), pending_approval: pending.map((r: Record<string, unknown>) => view(r, opts.today)) };
}
