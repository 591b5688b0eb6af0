import { purgeExpiredKeys } from "../http/command.js";
import type { StepRun } from "./types.js";
import type { JobRegistry } from "./job-registry.js";

/**
 * Housekeeping: the answers stored for Idempotency-Keys past their lifetime, so the table holds
 * about a day of writes and no older sealed personal data (by the wall clock, as keys expire).
 * The last step of the close of business, and its own job in the small hours of the day.
 */
export function registerHousekeepingJobs(registry: JobRegistry): void {
  const run: StepRun = async (trx) => ({ rows: await purgeExpiredKeys(trx) });
  registry.step({ job: "close_of_business", name: "expired_idempotency_keys", order: 9900, module: "http", run });
  registry
    .defineJob({ name: "housekeeping", description: "Deletes the stored answers of expired Idempotency-Keys", scope: "portfolio", dates: "current", cron: "0 3 * * *" })
    .step({ job: "housekeeping", name: "expired_idempotency_keys", order: 100, module: "http", run });
}
