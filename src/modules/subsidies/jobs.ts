import type { JobRegistry } from "../../jobs/job-registry.js";
import { remindUnpaidClaims } from "./reminders.js";

/** Claim reminders: each county's own daily job at the county's time (not part of the close of business). */
export function registerSubsidyJobs(registry: JobRegistry): void {
  registry
    .defineJob({ name: "subsidy_claim_reminders", description: "Alerts for interest-subsidy claims approved more than 30 days ago and still unpaid (贴息拨付提醒)", scope: "county", dates: "current", cron: "30 8 * * *" })
    .step({
      job: "subsidy_claim_reminders",
      name: "unpaid_claims",
      order: 100,
      module: "subsidies",
      run: async (trx, { businessDate, countyCodes, now }) => ({ rows: (await remindUnpaidClaims(trx, businessDate, now, countyCodes)).raised }),
    });
}
