import type { JobRegistry } from "../../jobs/job-registry.js";
import type { StepRun } from "../../jobs/types.js";
import { trusteeshipArrears } from "./service.js";

/**
 * Guaranteed returns of entrusted funds fallen due and in arrears, with their alerts: a step of the
 * nightly close of business (all counties), and a county's own daily job at the county's time for
 * the current date, so what falls due today is recognised and alerted the same morning.
 */
export function registerTrusteeshipJobs(registry: JobRegistry): void {
  const run: StepRun = async (trx, { businessDate, countyCodes, now }) => ({
    rows: (await trusteeshipArrears(trx, businessDate, { countyCodes, now })).installments_newly_in_arrears,
  });
  registry.step({ job: "close_of_business", name: "trusteeship_arrears", order: 800, module: "trusteeship", run });
  registry
    .defineJob({ name: "trusteeship_arrears", description: "Entrusted-fund returns fallen due and in arrears, with their alerts (委托经营收益拖欠)", scope: "county", dates: "current", cron: "0 8 * * *" })
    .step({ job: "trusteeship_arrears", name: "trusteeship_arrears", order: 100, module: "trusteeship", run });
}
