/**
 * The distributions module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { dividendFiguresBy } from "./figures.js"; // figures by township, village and bank (registered with reports)
export { distributionRoutes } from "./routes.js";
export { dividendsOfHousehold, dividendsVersion } from "./service.js"; // a household's dividends, and the county version they stand at
