import { Cron } from "croner";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { BUSINESS_TZ, businessDate, type Clock } from "../lib/clock.js";
import { type JobRegistry, jobRegistry } from "./registry.js";
import type { JobDefinition } from "./types.js";
import { addDays, describeFailure, lastClosedDate, runJob } from "./runner.js";

/**
 * The scheduler inside the server. Every minute (croner, Asia/Shanghai) it "ticks": for each job
 * and scope (the whole database, or each county for a county job) it finds the latest time the
 * job's cron expression fired at or before now, the business date that firing closes (the day
 * before for the close of business, the day itself otherwise), and runs the job through that date
 * unless the ledger shows it closed. The runner catches up every date missed since the last closed
 * one, in order, so a server that was down for three nights closes them one by one when it starts.
 * Several processes may tick at once: the runner's advisory lock lets exactly one run a job; the
 * others skip it. Tests call `tick()` with an injected clock instead of waiting for cron.
 */

export interface ScheduleEntry {
  job: string;
  /** '*' (the whole database) or a county code. */
  scope: string;
  cron: string;
  enabled: boolean;
  /** Where the expression comes from: the job's default in code, or a row of `job_schedules`. */
  source: "default" | "county" | "all_counties";
}

export interface TickOutcome {
  job: string;
  scope: string;
  /** The business date the latest firing closes. */
  target: string;
  outcome: "closed" | "ran" | "busy" | "failed";
  run_id?: string | null;
  dates?: string[];
  error?: string;
}

interface ScheduleRow {
  job: string;
  scope: string;
  cron: string;
  enabled: boolean;
}

/** The counties county jobs run for: every county of the reference divisions. */
export async function listCounties(db: Knex): Promise<string[]> {
  return db("divisions").where({ level: "COUNTY" }).orderBy("code").pluck("code");
}

/** Each job's schedule per scope: a county's row, else the all-counties row ('*'), else the default in code. */
export async function effectiveSchedules(db: Knex, registry: JobRegistry): Promise<ScheduleEntry[]> {
  const rows = await db("job_schedules").select<ScheduleRow[]>("job", "scope", "cron", "enabled");
  const row = (job: string, scope: string) => rows.find((r) => r.job === job && r.scope === scope);
  const counties = await listCounties(db);
  const entries: ScheduleEntry[] = [];
  for (const def of registry.allJobs()) {
    const all = row(def.name, "*");
    const fallback = (): Omit<ScheduleEntry, "job" | "scope"> => (all ? { cron: all.cron, enabled: all.enabled, source: "all_counties" } : { cron: def.cron, enabled: true, source: "default" });
    if (def.scope === "portfolio") entries.push({ job: def.name, scope: "*", ...fallback() });
    else
      for (const county of counties) {
        const own = row(def.name, county);
        entries.push({ job: def.name, scope: county, ...(own ? { cron: own.cron, enabled: own.enabled, source: "county" as const } : fallback()) });
      }
  }
  return entries;
}

/** Whether a cron expression is one croner reads (five or six fields). */
export function validCron(expr: string): boolean {
  try {
    new Cron(expr, { timezone: BUSINESS_TZ, paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/**
 * The business date the latest firing of `cron` at or before `now` closes, or null if it never
 * fired. The jobs are daily: the expression sets the time of day (a county may also skip days; the
 * runner still closes every date in between when it next fires).
 */
export function targetDate(def: Pick<JobDefinition, "dates">, cron: string, now: Date): string | null {
  const c = new Cron(cron, { timezone: BUSINESS_TZ, paused: true });
  try {
    // previousRuns looks strictly before the reference: a firing exactly at `now` counts.
    const [last] = c.previousRuns(1, new Date(now.getTime() + 1000));
    if (!last) return null;
    const day = businessDate(last);
    return def.dates === "previous" ? addDays(day, -1) : day;
  } finally {
    c.stop();
  }
}

export interface SchedulerOptions {
  db: Knex;
  clock: Clock;
  logger: Logger;
  registry?: JobRegistry;
  /** How often it looks (a cron expression); every minute by default. */
  heartbeat?: string;
}

export class JobScheduler {
  private readonly registry: JobRegistry;
  private cron: Cron | undefined;
  private current: Promise<TickOutcome[]> | undefined;
  private stopping = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.registry = opts.registry ?? jobRegistry();
  }

  /** Starts the heartbeat and ticks once at once (catching up what was missed while the server was down). */
  start(): this {
    this.cron = new Cron(this.opts.heartbeat ?? "* * * * *", { timezone: BUSINESS_TZ, protect: true }, () => {
      void this.tick();
    });
    void this.tick();
    this.opts.logger.info({ jobs: this.registry.allJobs().map((j) => j.name) }, "job scheduler started");
    return this;
  }

  /** Stops the heartbeat and waits for a tick in progress (its current step commits; an unfinished run resumes on the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cron?.stop();
    await this.current?.catch(() => undefined);
  }

  /** One look at every job and scope, with now from the clock. Overlapping calls share the tick in progress. */
  tick(): Promise<TickOutcome[]> {
    if (this.current) return this.current;
    this.current = this.tickOnce().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async tickOnce(): Promise<TickOutcome[]> {
    const { db, clock, logger } = this.opts;
    const now = clock.now();
    const out: TickOutcome[] = [];
    let entries: ScheduleEntry[];
    try {
      entries = await effectiveSchedules(db, this.registry);
    } catch (err) {
      logger.error({ err: describeFailure(err) }, "job scheduler could not read the schedules");
      return out;
    }
    for (const e of entries) {
      if (this.stopping) break;
      if (!e.enabled) continue;
      const def = this.registry.job(e.job);
      let target: string | null;
      try {
        target = targetDate(def, e.cron, now);
      } catch {
        logger.warn({ job: e.job, scope: e.scope, cron: e.cron }, "job schedule has an invalid cron expression; skipped");
        continue;
      }
      if (!target) continue;
      const last = await lastClosedDate(db, e.job, e.scope);
      if (last && last >= target) continue;
      try {
        const r = await runJob(db, this.registry, e.job, target, { scope: e.scope, clock, logger, trigger: "schedule", ifBusy: "skip", requestId: `job-${e.job}-${target}` });
        if (r.kind === "ran") {
          out.push({ job: e.job, scope: e.scope, target, outcome: "ran", run_id: r.runId, dates: r.dates.map((d) => d.business_date) });
          logger.info({ job: e.job, scope: e.scope, run_id: r.runId, dates: r.dates.map((d) => d.business_date) }, "daily job done");
        } else out.push({ job: e.job, scope: e.scope, target, outcome: r.kind === "busy" ? "busy" : "closed" });
      } catch (err) {
        // Recorded in job_runs and alerted by the runner; the other jobs still run.
        out.push({ job: e.job, scope: e.scope, target, outcome: "failed", error: describeFailure(err) });
      }
    }
    return out;
  }
}

/** The server's scheduler on its dependencies. */
export function startJobScheduler(deps: { db: Knex; clock: Clock; logger: Logger }): JobScheduler {
  return new JobScheduler(deps).start();
}
