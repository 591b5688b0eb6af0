import type { JobRegistry } from "../../jobs/job-registry.js";
import type { StepRun } from "../../jobs/types.js";
import { raiseOversightAlerts } from "./alert-jobs.js";

/**
 * Asset-income oversight alerts (missing return reports, idle assets, approved distributions left
 * unpaid): a step of the nightly close of business, and a county's own daily job at its time.
 */
export function registerOversightJobs(registry: JobRegistry): void {
  const run: StepRun = async (trx, { businessDate, countyCodes, now }) => ({
    rows: (await raiseOversightAlerts(trx, businessDate, now, countyCodes)).raised,
  });
  registry.step({ job: "close_of_business", name: "oversight_alerts", order: 900, module: "oversight", run });
  registry
    .defineJob({ name: "oversight_alerts", description: "Asset-income oversight alerts: missing return reports, idle assets, unpaid distributions", scope: "county", dates: "current", cron: "0 8 * * *" })
    .step({ job: "oversight_alerts", name: "oversight_alerts", order: 100, module: "oversight", run });
}
