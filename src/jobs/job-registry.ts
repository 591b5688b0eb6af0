import type { JobDefinition, JobStep } from "./types.js";

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
