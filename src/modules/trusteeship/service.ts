/**
 * The trusteeship module's use cases, by what they concern; routes and jobs of this module reach
 * them through here. Other modules use `index.ts` only.
 *
 * - operators.ts       operators and the county's exposure policy
 * - contracts.ts       contracts: views, signing, reading
 * - payments.ts        return payments and the principal's return (repaying a linked loan)
 * - arrears.ts         the daily arrears step and its alerts
 * - reconciliation.ts  the ledger checks
 */
export * from "./arrears.js";
export * from "./common.js";
export * from "./contracts.js";
export * from "./operators.js";
export * from "./payments.js";
export * from "./reconciliation.js";
