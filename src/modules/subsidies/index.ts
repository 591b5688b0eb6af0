/**
 * The subsidies module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { subsidyFiguresBy } from "./figures.js"; // its figures of the county summary and by township, village and bank
export { subsidyRoutes } from "./routes.js";
export { quarterBounds, type SubsidyMode } from "./model.js";
export { generateClaim, subsidiesOfHousehold } from "./service.js";
export { registerSubsidyJobs } from "./jobs.js";
