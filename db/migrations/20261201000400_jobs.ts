import type { Knex } from "knex";

/**
 * Daily jobs (src/jobs): the per-date progress ledger `cob_runs` now keys every job and scope
 * (a county code, or '*' for the whole database) instead of the close of business alone; each run
 * is recorded in `job_runs`; `job_schedules` holds a county's own cron times (defaults are in code).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE cob_runs ADD COLUMN job text NOT NULL DEFAULT 'close_of_business', ADD COLUMN scope text NOT NULL DEFAULT '*'`);
  await knex.raw(`ALTER TABLE cob_runs DROP CONSTRAINT cob_runs_pkey`);
  await knex.raw(`ALTER TABLE cob_runs ADD CONSTRAINT cob_runs_pkey PRIMARY KEY (job, scope, business_date)`);

  await knex.schema.createTable("job_runs", (t) => {
    t.bigIncrements("id").primary();
    t.text("job").notNullable();
    t.text("scope").notNullable(); // a county code, or '*' for the whole database
    t.string("county_code", 6); // the county of a county-scoped run; NULL for the whole database
    t.text("trigger").notNullable(); // schedule, api, cli
    t.jsonb("business_dates").notNullable().defaultTo("[]"); // the dates this run closes, in order
    t.jsonb("steps").notNullable().defaultTo("[]"); // [{business_date, step, rows, ms}] as each commits
    t.text("outcome").notNullable().defaultTo("RUNNING");
    t.text("error");
    t.timestamp("started_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("finished_at", { useTz: true });
    t.index(["job", "scope", "outcome"]);
    t.index(["county_code", "id"]);
  });
  await knex.raw(`ALTER TABLE job_runs ADD CONSTRAINT job_runs_outcome CHECK (outcome IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'ABANDONED'))`);
  await knex.raw(`ALTER TABLE job_runs ADD CONSTRAINT job_runs_trigger CHECK (trigger IN ('schedule', 'api', 'cli'))`);

  await knex.schema.createTable("job_schedules", (t) => {
    t.text("job").notNullable();
    t.text("scope").notNullable(); // a county code, or '*': the default for every county (or the whole-database job's time)
    t.text("cron").notNullable(); // five or six fields, read in Asia/Shanghai time
    t.boolean("enabled").notNullable().defaultTo(true);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["job", "scope"]);
  });
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
