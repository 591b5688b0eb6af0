/**
 * The bank files module's public face (银行文件对接): its routes, and the processing of repayment
 * files for the server's start and the command line. It owns the balance statements and the
 * repayment files, and reaches loans only through the loans face (`compareBankBalances`,
 * `applyRepaymentBatch`); see CONTEXT.md.
 */
export { bankFileRoutes } from "./routes.js";
export { processInBackground, processRepaymentFile, unfinishedRepaymentFiles } from "./repayment-files.js";
