/**
 * The worklist module's public face: its routes. It owns no table; it composes the loans, ratings
 * and register faces (see CONTEXT.md).
 */
export { worklistRoutes } from "./routes.js";
