import { Router } from "express";
import type { Knex } from "knex";
import type { Deps } from "../deps.js";
import { type Actor, actorOf, requireRole } from "../http/auth.js";
import { AppError, notFound } from "../http/errors.js";
import { doc } from "../http/openapi.js";
import { decodeCursor, encodeCursor } from "../http/pagination.js";
import { parse } from "../http/validate.js";
import { runCloseOfBusiness } from "./close-of-business.js";
import { CLOSE_OF_BUSINESS, jobRegistry } from "./registry.js";
import { lastClosedDate } from "./runner.js";
import { effectiveSchedules } from "./scheduler.js";
import { CobRequest, CobResult, JobRun, JobRunList, JobRunParams, JobRunQuery, JobScheduleList } from "./schemas.js";

const TAG = "Jobs";
const READERS = "admin, regulator, finance_officer (runs over the whole database, and their counties' runs)";

doc({
  method: "post",
  path: "/jobs/close-of-business",
  operationId: "runCloseOfBusinessJob",
  tag: TAG,
  summary: "Run the close of business (日终) up to a business date",
  description: `Idempotent per date, resumable, dates in order (a gap is caught up date by date). Runs every step the modules registered, in order: ${jobRegistry()
    .steps(CLOSE_OF_BUSINESS)
    .map((s) => `\`${s.name}\` (${s.module})`)
    .join(", ")}. The scheduler runs it by itself after midnight for the previous day; this is for a manual run. Also \`npm run cob -- --date YYYY-MM-DD\`. Recorded as a run (GET /jobs/{id}).`,
  body: CobRequest,
  response: CobResult,
  roles: "admin",
});
doc({
  method: "get",
  path: "/jobs",
  tag: TAG,
  summary: "Runs of the daily jobs, newest first",
  description: "Every run of a daily job (by the scheduler, the API or the command line): the dates it closed, its steps, its outcome and, when it failed, the error.",
  query: JobRunQuery,
  response: JobRunList,
  roles: READERS,
});
doc({
  method: "get",
  path: "/jobs/schedules",
  tag: TAG,
  summary: "The daily jobs, when each runs (cron, Asia/Shanghai) and the last date each closed",
  description: "A county's row in `job_schedules` overrides the all-counties row (scope '*'), which overrides the default in code.",
  response: JobScheduleList,
  roles: READERS,
});
doc({ method: "get", path: "/jobs/:id", tag: TAG, summary: "One run of a daily job, with each step as it committed", params: JobRunParams, response: JobRun, roles: READERS });

interface RunRow {
  id: string | number;
  job: string;
  scope: string;
  county_code: string | null;
  trigger: string;
  business_dates: string[] | string;
  steps?: unknown[] | string;
  outcome: string;
  error: string | null;
  started_at: Date | string;
  finished_at: Date | string | null;
}

const json = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

function view(r: RunRow) {
  return {
    id: String(r.id),
    job: r.job,
    scope: r.scope,
    county_code: r.county_code,
    trigger: r.trigger,
    business_dates: json<string[]>(r.business_dates),
    outcome: r.outcome,
    error: r.error,
    started_at: iso(r.started_at)!,
    finished_at: iso(r.finished_at),
    ...(r.steps !== undefined ? { steps: json<unknown[]>(r.steps) } : {}),
  };
}

/** Runs over the whole database (no county) and those of the actor's counties. */
function visible(q: Knex.QueryBuilder, actor: Actor): Knex.QueryBuilder {
  return q.where((w) => w.whereNull("county_code").orWhereIn("county_code", actor.countyCodes));
}

export function jobRoutes(deps: Deps): Router {
  const { db, clock, logger } = deps;
  const r = Router();

  r.post("/jobs/close-of-business", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin");
    const { business_date } = parse(CobRequest, req.body);
    res.json(await runCloseOfBusiness(db, business_date, { clock, requestId: req.requestId, actor, logger, trigger: "api" }));
  });

  r.get("/jobs", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator", "finance_officer");
    const q = parse(JobRunQuery, req.query, "query");
    const query = visible(db("job_runs"), actor).select("id", "job", "scope", "county_code", "trigger", "business_dates", "outcome", "error", "started_at", "finished_at");
    if (q.job) query.andWhere("job", q.job);
    if (q.outcome) query.andWhere("outcome", q.outcome);
    if (q.trigger) query.andWhere("trigger", q.trigger);
    if (q.county_code) query.andWhere("county_code", q.county_code);
    if (q.business_date) query.andWhereRaw("business_dates @> ?::jsonb", [JSON.stringify([q.business_date])]);
    const after = decodeCursor(q.cursor);
    if (after !== undefined) {
      if (!/^\d{1,18}$/.test(after)) {
        throw new AppError("VALIDATION_FAILED", { zh: "游标无效", en: "Bad cursor" }, [{ path: "query.cursor", message: { zh: "不是本列表返回的游标", en: "not a cursor from this list" } }]);
      }
      query.andWhere("id", "<", after);
    }
    const rows = (await query.orderBy("id", "desc").limit(q.limit + 1)) as RunRow[];
    const more = rows.length > q.limit;
    const kept = more ? rows.slice(0, q.limit) : rows;
    res.json({ items: kept.map(view), next_cursor: more ? encodeCursor(String(kept[kept.length - 1].id)) : null });
  });

  r.get("/jobs/schedules", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator", "finance_officer");
    const registry = jobRegistry();
    const entries = (await effectiveSchedules(db, registry)).filter((e) => e.scope === "*" || actor.countyCodes.includes(e.scope));
    const items = [];
    for (const e of entries) {
      const def = registry.job(e.job);
      items.push({
        ...e,
        description: def.description,
        last_closed_date: await lastClosedDate(db, e.job, e.scope),
        steps: registry.steps(e.job).map((s) => ({ name: s.name, order: s.order, module: s.module })),
      });
    }
    res.json({ items });
  });

  r.get("/jobs/:id", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator", "finance_officer");
    const { id } = parse(JobRunParams, req.params, "params");
    const row = await visible(db("job_runs"), actor).andWhere("id", id).first<RunRow | undefined>();
    if (!row) throw notFound("job run");
    res.json(view(row));
  });
  return r;
}
