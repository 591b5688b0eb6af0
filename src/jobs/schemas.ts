import { CountyCode, IsoDate, ListQuery, z } from "../http/zod.js";

const StepMarks = z.record(z.string(), z.object({ rows: z.number().int(), ms: z.number() }));

export const CobRequest = z.object({ business_date: IsoDate }).strict().openapi("CloseOfBusinessRequest");
export const CobResult = z
  .object({
    business_date: z.string(),
    run_id: z.string().nullable().openapi({ description: "The run record (GET /jobs/{id}); null when nothing ran (the date was closed already)" }),
    dates: z.array(z.object({ business_date: z.string(), status: z.string(), steps: StepMarks, skipped: z.boolean() })),
  })
  .openapi("CloseOfBusinessResult");

const Outcome = z.enum(["RUNNING", "SUCCEEDED", "FAILED", "ABANDONED"]).openapi({
  description: "RUNNING while it runs; SUCCEEDED; FAILED (see error; an alert `job.failed` is raised); ABANDONED: its process ended before it finished and a later run resumed it",
});

export const JobRunQuery = ListQuery.extend({
  job: z.string().max(100).optional(),
  outcome: Outcome.optional(),
  county_code: CountyCode.optional().openapi({ description: "Only this county's runs (county jobs); runs over the whole database are left out" }),
  business_date: IsoDate.optional().openapi({ description: "Only runs that closed this business date" }),
  trigger: z.enum(["schedule", "api", "cli"]).optional(),
});

export const JobRunSummary = z
  .object({
    id: z.string().openapi({ example: "42" }),
    job: z.string().openapi({ example: "close_of_business" }),
    scope: z.string().openapi({ description: "'*' for the whole database, else the county code" }),
    county_code: z.string().nullable(),
    trigger: z.enum(["schedule", "api", "cli"]),
    business_dates: z.array(z.string()).openapi({ description: "The business dates this run closes, in order" }),
    outcome: Outcome,
    error: z.string().nullable().openapi({ description: "Why it failed: SQLSTATE and message, long digit runs masked; no personal data" }),
    started_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi("JobRunSummary");

export const JobRun = JobRunSummary.extend({
  steps: z
    .array(z.object({ business_date: z.string(), step: z.string(), rows: z.number().int(), ms: z.number() }))
    .openapi({ description: "Each step as it committed, with the rows it changed and how long it took" }),
}).openapi("JobRun");

export const JobRunList = z.object({ items: z.array(JobRunSummary), next_cursor: z.string().nullable() }).openapi("JobRunList");
export const JobRunParams = z.object({ id: z.string().regex(/^\d{1,18}$/, "a run id") });

export const JobScheduleList = z
  .object({
    items: z.array(
      z.object({
        job: z.string(),
        description: z.string(),
        scope: z.string(),
        cron: z.string().openapi({ description: "Cron expression in Asia/Shanghai time", example: "30 0 * * *" }),
        enabled: z.boolean(),
        source: z.enum(["default", "county", "all_counties"]),
        last_closed_date: z.string().nullable(),
        steps: z.array(z.object({ name: z.string(), order: z.number().int(), module: z.string() })),
      }),
    ),
  })
  .openapi("JobScheduleList");
