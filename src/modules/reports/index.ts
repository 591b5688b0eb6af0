/**
 * The reports module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { reportsRoutes } from "./routes.js";
export { type Figure, type FigureSource, ratioSql, registerFigureSource } from "./figures.js";
export { type BreakdownRow, type BreakdownScope, groupedRows, registerBreakdownSource, scopeSql } from "./breakdown.js";
