/**
 * The portal module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { portalRoutes, portalStaffRoutes } from "./routes.js";
export { portalHotReads } from "./hot.js";
