/**
 * The ratings module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { ratingFiguresBy } from "./figures.js"; // figures by township, village and bank (registered with reports)
export { ratingsRoutes } from "./routes.js";
export { creditLineOf } from "./service.js";
export { type RatingDue, type RatingsWorklist, worklistOf } from "./worklist.js";
