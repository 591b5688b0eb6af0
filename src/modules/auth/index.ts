/**
 * The auth module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { authRoutes } from "./routes.js";
export { sessionRoutes } from "./session-routes.js";
export { usersRoutes } from "./users-routes.js";
export { type Reservation, type ThrottlePolicy, tooManyAttempts } from "./throttle.js";
export { passwordProblems, weakPassword } from "./password-policy.js";
export { type EndReason, endUserSessions } from "./sessions.js";
