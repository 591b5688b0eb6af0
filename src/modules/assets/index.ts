/**
 * The assets module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { assetRoutes } from "./routes.js";
export { type ReturnPeriod, parsePeriod } from "./model.js";
export { findAsset } from "./queries.js";
export { PeriodStr } from "./schemas.js";
