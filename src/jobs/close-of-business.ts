import type { Knex } from "knex";
import { AppError, registerErrorCodes } from "../http/errors.js";
import { CLOSE_OF_BUSINESS, jobRegistry, type JobRegistry } from "./registry.js";
import { runJob, type DateResult, type RunOptions } from "./runner.js";

export { SimulatedCrash } from "./runner.js";

/**
 * Close of business (日终) for a business date: the `close_of_business` job over the whole
 * database, i.e. every step the modules registered for it (src/jobs/registry.ts), in order. A
 * completed date is not run again; a crash resumes at the first unfinished step; asking for a date
 * after a gap first closes each missing date. `npm run cob`, `POST /jobs/close-of-business` and the
 * scheduler (after midnight, for the previous day) all come here.
 */

registerErrorCodes({
  COB_FUTURE_DATE: {
    status: 422,
    title: { zh: "营业日在未来", en: "Business date in the future" },
    description: { zh: "日终处理只能针对今天或更早的日期。", en: "The close of business runs for today or earlier." },
  },
  COB_BEFORE_FIRST: {
    status: 422,
    title: { zh: "早于首次日终", en: "Before the first close" },
    description: { zh: "该日期早于首个已日终的营业日且从未处理过；日终只能向前推进。", en: "The date is before the first closed business date and was never run; closes go forward only." },
  },
});

export interface CobOptions extends Omit<RunOptions, "scope"> {
  registry?: JobRegistry;
}

export interface CobResult {
  business_date: string;
  /** The run record (GET /jobs/{id}); null when nothing ran. */
  run_id: string | null;
  dates: DateResult[];
}

/** Runs the close of business through `target`, catching up every missing date in order. */
export async function runCloseOfBusiness(db: Knex, target: string, opts: CobOptions = {}): Promise<CobResult> {
  if (opts.clock && target > opts.clock.today()) {
    throw new AppError("COB_FUTURE_DATE", { zh: `${target} 晚于今天（${opts.clock.today()}）`, en: `${target} is after today (${opts.clock.today()})` });
  }
  const r = await runJob(db, opts.registry ?? jobRegistry(), CLOSE_OF_BUSINESS, target, { ...opts, ifBusy: opts.ifBusy ?? "wait" });
  switch (r.kind) {
    case "before_first":
      throw new AppError("COB_BEFORE_FIRST", { zh: `${target} 早于首个已日终的营业日，且从未做过日终处理`, en: `${target} is before the first closed date and was never run` });
    case "closed":
      return { business_date: target, run_id: null, dates: [r.date] };
    case "busy":
      return { business_date: target, run_id: null, dates: [] };
    case "ran":
      return { business_date: target, run_id: r.runId, dates: r.dates };
  }
}

/** The close of business's steps as plain functions of a date (tests run one on its own to check it is idempotent). */
export function cobSteps(registry: JobRegistry = jobRegistry()): { name: string; module: string; run(trx: Knex.Transaction, date: string): Promise<number> }[] {
  return registry.steps(CLOSE_OF_BUSINESS).map((s) => ({
    name: s.name,
    module: s.module,
    run: async (trx: Knex.Transaction, date: string) => (await s.run(trx, { businessDate: date, now: new Date() })).rows ?? 0,
  }));
}

export const COB_STEPS = cobSteps();
