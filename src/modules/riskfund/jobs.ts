import type { JobRegistry } from "../../jobs/job-registry.js";
import { evaluateCircuitBreakers } from "./service.js";

/** The circuit breakers read the standing and portfolio the loans steps just computed: after them in the close of business. */
export function registerRiskFundJobs(registry: JobRegistry): void {
  registry.step({
    job: "close_of_business",
    name: "circuit_breakers",
    order: 1000,
    module: "riskfund",
    run: async (trx, { businessDate, now }) => ({ rows: (await evaluateCircuitBreakers(trx, businessDate, { now })).tripped }),
  });
}
