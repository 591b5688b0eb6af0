/**
 * The risk fund module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
import "./figures.js"; // the fund's figures of the county summary
export { riskFundRoutes } from "./routes.js";
export { evaluateCircuitBreakers } from "./service.js";
export { registerRiskFundJobs } from "./jobs.js";
