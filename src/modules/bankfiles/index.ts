/**
 * The bank files module's public face (银行文件对接): its routes. It owns the balance statements and
 * reads loans only through the loans face (`compareBankBalances`); see CONTEXT.md.
 */
export { bankFileRoutes } from "./routes.js";
