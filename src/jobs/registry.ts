import type { JobDefinition, JobStep } from "./types.js";
import { registerAuditSealJobs } from "./audit-seal.js";
import { registerHousekeepingJobs } from "./housekeeping.js";
import { registerLoanJobs } from "../modules/loans/jobs.js";
import { registerTrusteeshipJobs } from "../modules/trusteeship/jobs.js";
import { registerOversightJobs } from "../modules/oversight/jobs.js";
import { registerRiskFundJobs } from "../modules/riskfund/jobs.js";
import { registerSubsidyJobs } from "../modules/subsidies/jobs.js";

/** The close of business (日终): every module's end-of-day steps for each finished business date. */
export const CLOSE_OF_BUSINESS = "close_of_business";

/** The jobs and the steps modules contribute to them. The runner reads only this. */
export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();
  private readonly stepsByJob = new Map<string, JobStep[]>();

  defineJob(def: JobDefinition): this {
    if (this.jobs.has(def.name)) throw new Error(`job ${def.name} is defined twice`);
    this.jobs.set(def.name, def);
    return this;
  }

  /** Adds a step to a job (defined before or after). */
  step(step: JobStep): this {
    const list = this.stepsByJob.get(step.job) ?? [];
    if (list.some((s) => s.name === step.name)) throw new Error(`step ${step.name} of ${step.job} is registered twice`);
    if (list.some((s) => s.order === step.order)) throw new Error(`step ${step.name} of ${step.job} has the order ${step.order} of another step`);
    list.push(step);
    this.stepsByJob.set(step.job, list);
    return this;
  }

  job(name: string): JobDefinition {
    const def = this.jobs.get(name);
    if (!def) throw new Error(`no job ${name}`);
    return def;
  }

  allJobs(): JobDefinition[] {
    return [...this.jobs.values()];
  }

  /** A job's steps in the order they run. */
  steps(job: string): JobStep[] {
    return [...(this.stepsByJob.get(job) ?? [])].sort((a, b) => a.order - b.order);
  }
}

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
