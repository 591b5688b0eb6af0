/**
 * The loans module's use cases, one file per stage of a loan's life; routes and jobs of this module
 * reach them through here. Other modules use `index.ts` only.
 *
 * - products.ts       rate tables (LPR), loan products and pricing
 * - origination.ts    application, eligibility, decisions (maker-checker), disbursement
 * - repayment.ts      repayments: allocation, prepayment, payoff
 * - restructuring.ts  extension (展期), renewal (无还本续贷), write-off, collection actions
 * - standing.ts       a loan's schedule state and standing (DPD, overdue) as of a date
 * - views.ts          what readers see: loans, schedules, repayments
 * - preview.ts        the schedule preview (试算) with the annualised rate, and the printable schedule
 * - migration.ts      migration of a bank's existing loans (存量贷款迁移), with migration-file.ts
 *                     (reading the file) and migration-history.ts (replaying each loan's history)
 * - reconciliation.ts the ledger check of principal receivable against outstanding principal
 */
export * from "./origination.js";
export * from "./migration.js";
export * from "./preview.js";
export * from "./products.js";
export * from "./reconciliation.js";
export * from "./repayment.js";
export * from "./restructuring.js";
export * from "./standing.js";
export * from "./views.js";
export { HOUSEHOLD_CAP } from "./common.js";
