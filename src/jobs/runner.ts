import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Actor } from "../http/auth.js";
import { type AlertKind, clearAlert, raiseAlert } from "../lib/alerts.js";
import { appendAudit } from "../lib/audit.js";
import type { Clock } from "../lib/clock.js";
import type { JobRegistry } from "./registry.js";

/**
 * The daily-job runner. It knows no module's tables: it runs the steps a job's modules registered,
 * in order, for each business date in order, and keeps two records of its own:
 * - `cob_runs`, the per-date ledger (job, scope, business date → status and each step's progress
 *   mark). A step commits in the same transaction as its mark, so a run killed half-way resumes at
 *   the first unmarked step, and a date marked DONE is never run again;
 * - `job_runs`, one row per run (who started it, the dates it closed, the steps as they committed,
 *   its outcome and, when it failed, the error).
 * A run is exclusive per job and scope: a PostgreSQL advisory lock held on a connection of its own
 * for the whole run (several server processes: exactly one runs it; the others skip or wait), and
 * within one process a promise per database (PGlite has one connection and one process).
 */

export type Trigger = "schedule" | "api" | "cli";

export interface StepProgress {
  date: string;
  step: string;
  rows: number;
  ms: number;
  index: number;
  of: number;
}

export interface RunOptions {
  clock?: Clock;
  /** A county code for a county-scoped job; '*' (the default) for the whole database. */
  scope?: string;
  trigger?: Trigger;
  requestId?: string;
  actor?: Actor | null;
  logger?: Logger;
  /** "wait" for a run of the same job and scope in progress elsewhere (the API, the command line), or "skip" (the scheduler). */
  ifBusy?: "wait" | "skip";
  onProgress?: (e: StepProgress) => void;
  /** Tests: stop (as a crash would) right after this step of this date has committed. */
  crashAfter?: { date: string; step: string };
}

export class SimulatedCrash extends Error {}

export interface DateResult {
  business_date: string;
  status: string;
  steps: Record<string, { rows: number; ms: number }>;
  skipped: boolean;
}

export type JobRunResult =
  | { kind: "ran"; runId: string | null; dates: DateResult[] }
  /** The target date is closed already: nothing ran. */
  | { kind: "closed"; date: DateResult }
  /** The target is before the first date this job ever closed, and was never run. */
  | { kind: "before_first" }
  /** Another process is running this job and scope (ifBusy: "skip"). */
  | { kind: "busy" };

interface LedgerRow {
  business_date: string;
  status: string;
  steps: Record<string, { rows: number; ms: number }> | string;
}
const stepsOf = (r: LedgerRow | undefined) => (r ? (typeof r.steps === "string" ? JSON.parse(r.steps) : r.steps) : {}) as Record<string, { rows: number; ms: number }>;

export const JOB_FAILED_ALERT: AlertKind = "job.failed";
const LOCK_CLASS = 7221; // pg advisory lock space of the daily jobs: (7221, hashtext(job:scope))
const onPgServer = (db: Knex) => db.client.config.client === "pg";
const running = new WeakMap<Knex, Map<string, Promise<unknown>>>();

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The last business date this job closed for this scope, or null. */
export async function lastClosedDate(db: Knex, job: string, scope: string): Promise<string | null> {
  const r = await db("cob_runs").where({ job, scope, status: "DONE" }).max<{ d: string | null }>("business_date as d").first();
  return r?.d ?? null;
}

/** Runs a job through `target`, catching up every date after the last closed one, in order. */
export async function runJob(db: Knex, registry: JobRegistry, job: string, target: string, opts: RunOptions = {}): Promise<JobRunResult> {
  const scope = opts.scope ?? "*";
  const key = `${job}:${scope}`;
  let mine = running.get(db);
  if (!mine) running.set(db, (mine = new Map()));
  // One run per job and scope in this process at a time.
  while (mine.has(key)) {
    if (opts.ifBusy === "skip") return { kind: "busy" };
    await mine.get(key)!.catch(() => undefined);
  }
  const run = exclusive(db, key, opts.ifBusy ?? "wait", () => runLocked(db, registry, job, scope, target, opts));
  mine.set(key, run);
  try {
    return await run;
  } finally {
    mine.delete(key);
  }
}

/** On the PostgreSQL server: holds the job's advisory lock on a connection of its own while `fn` runs on the pool. */
async function exclusive(db: Knex, key: string, ifBusy: "wait" | "skip", fn: () => Promise<JobRunResult>): Promise<JobRunResult> {
  if (!onPgServer(db)) return fn();
  if (db.isTransaction) {
    // Called inside the caller's transaction (the demo seed): the lock lives until that one ends.
    if (ifBusy === "wait") await db.raw("SELECT pg_advisory_xact_lock(?, hashtext(?))", [LOCK_CLASS, key]);
    else if (!(await db.raw<{ rows: { ok: boolean }[] }>("SELECT pg_try_advisory_xact_lock(?, hashtext(?)) AS ok", [LOCK_CLASS, key])).rows[0].ok) return { kind: "busy" };
    return fn();
  }
  const holder = await db.transaction();
  try {
    if (ifBusy === "skip") {
      const r = await holder.raw<{ rows: { ok: boolean }[] }>("SELECT pg_try_advisory_xact_lock(?, hashtext(?)) AS ok", [LOCK_CLASS, key]);
      if (!r.rows[0].ok) return { kind: "busy" };
    } else {
      await holder.raw("SELECT pg_advisory_xact_lock(?, hashtext(?))", [LOCK_CLASS, key]);
    }
    return await fn();
  } finally {
    await holder.commit();
  }
}

async function runLocked(db: Knex, registry: JobRegistry, job: string, scope: string, target: string, opts: RunOptions): Promise<JobRunResult> {
  registry.job(job); // an unknown job is a programming error
  const lastDone = await lastClosedDate(db, job, scope);
  const unfinished = await db("cob_runs").where({ job, scope }).whereNot({ status: "DONE" }).orderBy("business_date").first<LedgerRow | undefined>();
  if (!unfinished && lastDone && target <= lastDone) {
    const done = await db("cob_runs").where({ job, scope, business_date: target }).first<LedgerRow | undefined>();
    if (!done) return { kind: "before_first" };
    return { kind: "closed", date: { business_date: target, status: done.status, steps: stepsOf(done), skipped: true } };
  }
  const dates: string[] = [];
  for (let d = unfinished?.business_date ?? (lastDone ? addDays(lastDone, 1) : target); d <= target; d = addDays(d, 1)) dates.push(d);
  if (dates.length === 0) return { kind: "ran", runId: null, dates: [] };

  // This process holds the job now: a run of it still marked RUNNING was cut short (its process ended).
  await db("job_runs")
    .where({ job, scope, outcome: "RUNNING" })
    .update({ outcome: "ABANDONED", finished_at: db.fn.now(), error: "stopped before it finished (its process ended); a later run resumed it" });
  const [{ id }] = await db("job_runs")
    .insert({ job, scope, county_code: scope === "*" ? null : scope, trigger: opts.trigger ?? "cli", business_dates: JSON.stringify(dates) })
    .returning<{ id: string }[]>("id");
  const runId = String(id);

  const out: DateResult[] = [];
  try {
    for (const date of dates) out.push(await runDate(db, registry, job, scope, date, runId, opts));
  } catch (err) {
    if (err instanceof SimulatedCrash) throw err; // as a kill would: the run stays RUNNING
    const error = describeFailure(err);
    await recordFailure(db, job, scope, runId, dates, error, opts);
    throw err;
  }
  await db("job_runs").where({ id: runId }).update({ outcome: "SUCCEEDED", finished_at: db.fn.now() });
  await clearFailureAlerts(db, job, scope, opts);
  return { kind: "ran", runId, dates: out };
}

async function runDate(db: Knex, registry: JobRegistry, job: string, scope: string, date: string, runId: string, opts: RunOptions): Promise<DateResult> {
  const def = registry.job(job);
  const steps = registry.steps(job);
  const countyCodes = scope === "*" ? undefined : [scope];
  await db.raw(`INSERT INTO cob_runs (job, scope, business_date, status) VALUES (?, ?, ?, 'RUNNING') ON CONFLICT (job, scope, business_date) DO NOTHING`, [job, scope, date]);
  let index = 0;
  for (const step of steps) {
    index += 1;
    const done = await db.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?, hashtext(?))", [LOCK_CLASS + 1, `${job}:${scope}`]);
      const ledger = await trx("cob_runs").where({ job, scope, business_date: date }).forUpdate().first<LedgerRow>();
      if (ledger.status === "DONE" || stepsOf(ledger)[step.name]) return undefined;
      const t0 = performance.now();
      const { rows = 0 } = await step.run(trx, { businessDate: date, countyCodes, now: opts.clock?.now() ?? new Date() });
      const ms = Math.round(performance.now() - t0);
      await trx.raw(`UPDATE cob_runs SET steps = steps || ?::jsonb WHERE job = ? AND scope = ? AND business_date = ?`, [JSON.stringify({ [step.name]: { rows, ms } }), job, scope, date]);
      return { rows, ms };
    });
    if (done) {
      await db.raw(`UPDATE job_runs SET steps = steps || ?::jsonb WHERE id = ?`, [JSON.stringify([{ business_date: date, step: step.name, rows: done.rows, ms: done.ms }]), runId]);
      opts.onProgress?.({ date, step: step.name, rows: done.rows, ms: done.ms, index, of: steps.length });
    }
    if (opts.crashAfter && opts.crashAfter.date === date && opts.crashAfter.step === step.name) throw new SimulatedCrash(`simulated crash after ${step.name} of ${date}`);
  }
  const finished = await db.transaction(async (trx) => {
    const [row] = await trx("cob_runs")
      .where({ job, scope, business_date: date })
      .whereNot({ status: "DONE" })
      .update({ status: "DONE", finished_at: trx.fn.now() })
      .returning<LedgerRow[]>("*");
    if (row && def.auditAction) {
      await appendAudit(trx, { actor: opts.actor ?? null, requestId: opts.requestId ?? "", clock: opts.clock ?? { now: () => new Date(), today: () => date } }, {
        action: def.auditAction,
        entityType: "cob_run",
        entityId: scope === "*" ? date : `${scope}:${date}`,
        countyCode: scope === "*" ? null : scope,
        after: { business_date: date, steps: stepsOf(row) },
      });
    }
    return row ?? (await trx("cob_runs").where({ job, scope, business_date: date }).first<LedgerRow>());
  });
  return { business_date: date, status: finished.status, steps: stepsOf(finished), skipped: false };
}

/**
 * What a failed run records and alerts: the SQLSTATE and the error's message (never a PostgreSQL
 * error's DETAIL, which quotes row values), with runs of eight or more digits (ID numbers, phones,
 * bank accounts) masked, at most 500 characters.
 */
export function describeFailure(err: unknown): string {
  const code = typeof err === "object" && err !== null && "code" in err && typeof (err as { code: unknown }).code === "string" ? (err as { code: string }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const text = `${code && /^[0-9A-Z]{5}$/.test(code) ? `[${code}] ` : ""}${message}`.replace(/\d{8,}[\dXx]?/g, "********");
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** The counties a whole-database job's failure is alerted to (every county of the reference divisions). */
async function countiesFor(db: Knex, scope: string): Promise<string[]> {
  if (scope !== "*") return [scope];
  return db("divisions").where({ level: "COUNTY" }).orderBy("code").pluck("code");
}

async function recordFailure(db: Knex, job: string, scope: string, runId: string, dates: string[], error: string, opts: RunOptions): Promise<void> {
  const now = opts.clock?.now() ?? new Date();
  try {
    await db.transaction(async (trx) => {
      await trx("job_runs").where({ id: runId }).update({ outcome: "FAILED", error, finished_at: trx.fn.now() });
      const pending = await trx("cob_runs").where({ job, scope }).whereNot({ status: "DONE" }).orderBy("business_date").first<LedgerRow | undefined>();
      for (const county of await countiesFor(trx, scope)) {
        await raiseAlert(
          trx,
          {
            countyCode: county,
            kind: JOB_FAILED_ALERT,
            severity: "CRITICAL",
            entityType: "job",
            entityId: `${job}/${county}`,
            message: `每日作业 ${job} 失败${pending ? `（${pending.business_date}）` : ""} / daily job ${job} failed${pending ? ` at ${pending.business_date}` : ""}: ${error}`,
            details: { job, scope, run_id: runId, business_dates: dates, failed_date: pending?.business_date ?? null, error },
            businessDate: pending?.business_date ?? dates[dates.length - 1],
          },
          now,
        );
      }
    });
  } catch (recordErr) {
    opts.logger?.error({ job, scope, run_id: runId, err: describeFailure(recordErr) }, "could not record a failed job run");
  }
  opts.logger?.error({ job, scope, run_id: runId, error }, "daily job failed");
}

async function clearFailureAlerts(db: Knex, job: string, scope: string, opts: RunOptions): Promise<void> {
  const now = opts.clock?.now() ?? new Date();
  for (const county of await countiesFor(db, scope)) await clearAlert(db, JOB_FAILED_ALERT, "job", `${job}/${county}`, now);
}
