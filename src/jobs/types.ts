import type { Knex } from "knex";

/** What a step is given: the business date it closes, the counties it is limited to (all when absent), and now. */
export interface StepContext {
  businessDate: string;
  /** The counties a county-scoped run covers; absent when the run covers the whole database. */
  countyCodes?: string[];
  /** The clock's now (wall-clock facts a step writes, such as when an alert was raised). */
  now: Date;
}

/**
 * One step of a daily job, contributed by the module that owns the tables it touches (as Fineract's
 * `COBBusinessStep`): a set-based statement over every row of the date, committed in its own
 * transaction together with its progress mark (`cob_runs.steps[name]`), so a crash resumes at the
 * first step without a mark. Running a step twice for a date must change nothing.
 */
export interface JobStep {
  job: string;
  /** Unique within the job; also the step's progress mark in the ledger. */
  name: string;
  /** Steps run in ascending order; leave gaps (100, 200, …) so a module can slot one in. */
  order: number;
  /** The module that contributed it (shown in docs and logs). */
  module: string;
  run: StepRun;
}

/**
 * A daily job: its steps come from the modules. `scope` says whether one run covers the whole
 * database ("portfolio") or one county at a time ("county", at that county's own time). `dates`
 * says which business date a firing closes: the day before ("previous", e.g. the close of
 * business after midnight) or the day it fires on ("current").
 */
export interface JobDefinition {
  name: string;
  description: string;
  scope: "portfolio" | "county";
  dates: "previous" | "current";
  /** Default cron expression in Asia/Shanghai time; a county's row in `job_schedules` overrides it. */
  cron: string;
  /** An audit action recorded when a date completes (the close of business: `cob.complete`). */
  auditAction?: string;
}

/** `column IN (…)` for a step's county list; TRUE when the run covers the whole database. */
export function countyClause(column: string, countyCodes: string[] | undefined): { sql: string; bindings: string[] } {
  if (!countyCodes) return { sql: "TRUE", bindings: [] };
  if (countyCodes.length === 0) return { sql: "FALSE", bindings: [] };
  return { sql: `${column} IN (${countyCodes.map(() => "?").join(", ")})`, bindings: countyCodes };
}

/** A step's statement: `(trx, {businessDate, countyCodes?, now}) => {rows}` (rows changed, for the progress line). */
export type StepRun = (trx: Knex.Transaction, ctx: StepContext) => Promise<{ rows?: number }>;
