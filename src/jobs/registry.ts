import { registerLoanJobs } from "../modules/loans/index.js";
import { registerOversightJobs } from "../modules/oversight/index.js";
import { registerRiskFundJobs } from "../modules/riskfund/index.js";
import { registerSubsidyJobs } from "../modules/subsidies/index.js";
import { registerTrusteeshipJobs } from "../modules/trusteeship/index.js";
import { registerAuditSealJobs } from "./audit-seal.js";
import { registerHousekeepingJobs } from "./housekeeping.js";
import { CLOSE_OF_BUSINESS, JobRegistry } from "./job-registry.js";

export { CLOSE_OF_BUSINESS, JobRegistry } from "./job-registry.js";

export type RegisterJobs = (registry: JobRegistry) => void;

/**
 * Every module that contributes jobs or steps. A new module adds its `registerJobs` here; the
 * runner and the scheduler do not change.
 */
export const MODULE_JOBS: RegisterJobs[] = [
  (r) =>
    r.defineJob({
      name: CLOSE_OF_BUSINESS,
      description: "Close of business (日终) for each finished business date, the whole database at once",
      scope: "portfolio",
      dates: "previous",
      cron: "30 0 * * *",
      auditAction: "cob.complete",
    }),
  registerLoanJobs,
  registerTrusteeshipJobs,
  registerOversightJobs,
  registerRiskFundJobs,
  registerSubsidyJobs,
  registerHousekeepingJobs,
  registerAuditSealJobs,
];

/** A registry with every module's jobs (tests add their own steps to a fresh one). */
export function createRegistry(registrations: RegisterJobs[] = MODULE_JOBS): JobRegistry {
  const r = new JobRegistry();
  for (const register of registrations) register(r);
  return r;
}

let shared: JobRegistry | undefined;
/** The application's registry, built once. */
export function jobRegistry(): JobRegistry {
  shared ??= createRegistry();
  return shared;
}
