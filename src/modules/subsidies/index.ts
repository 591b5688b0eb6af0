/**
 * The subsidies module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
import "./figures.js"; // the subsidies' figures of the county summary
export { subsidyRoutes } from "./routes.js";
export { quarterBounds, type SubsidyMode } from "./model.js";
export { generateClaim, subsidiesOfHousehold } from "./service.js";
export { registerSubsidyJobs } from "./jobs.js";
