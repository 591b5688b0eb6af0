/**
 * The distributions module's use cases, by stage of a distribution's life; routes of this module
 * reach them through here. Other modules use `index.ts` only.
 *
 * - rules.ts           distribution rules (versions)
 * - compute.ts         computing a DRAFT: income, eligible households, weights, shares
 * - notice.ts          the public notice and its objections
 * - payment.ts         approval, payment, returned payments, reversal
 * - views.ts           what readers see, and a household's dividends
 * - reconciliation.ts  the ledger check of the pool
 */
export * from "./common.js";
export * from "./compute.js";
export * from "./notice.js";
export * from "./payment.js";
export * from "./reconciliation.js";
export * from "./rules.js";
export * from "./views.js";
