/**
 * The trusteeship module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { trusteeshipRoutes } from "./routes.js";
export { installmentStatus } from "./model.js";
export { trusteeshipArrears } from "./service.js";
export { registerTrusteeshipJobs } from "./jobs.js";
