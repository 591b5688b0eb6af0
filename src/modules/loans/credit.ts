import type { Knex } from "knex";
import { creditLineOf } from "../ratings/index.js";

/**
 * The household's credit line (评级授信), owned by the ratings module: the grade and line of the
 * rating in force on a date, the outstanding principal of its active poverty loans (`used`), and
 * what is left. Loans read it through this one seam.
 */
export interface CreditLine {
  grade: string | null;
  line: string;
  used: string;
  available: string;
  valid_until: string | null;
  rating_id: string | null;
}
export type CreditLineOf = (db: Knex | Knex.Transaction, householdId: string, asOfDate: string) => Promise<CreditLine | null>;

let provider: CreditLineOf | undefined;

/** Replaces where credit lines come from (tests); `undefined` restores the ratings module. */
export function setCreditLineProvider(fn: CreditLineOf | undefined): void {
  provider = fn;
}

export async function creditLineFor(db: Knex | Knex.Transaction, householdId: string, asOfDate: string): Promise<CreditLine | null> {
  return (provider ?? creditLineOf)(db, householdId, asOfDate);
}
