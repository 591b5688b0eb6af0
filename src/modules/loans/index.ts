/**
 * The loans module's public face: all that other modules, the jobs and the app may use. Anything
 * not listed here is the module's own (enforced by `npm run deps`).
 */
export { loanRoutes } from "./routes.js";
export {
  arrearsOf,
  closeByCompensation,
  type DisbursementCheck,
  type HouseholdRef,
  loansOfHousehold,
  PORTFOLIO_BY_BANK_AND_COUNTY_SQL,
  portfolioOf,
  registerDisbursementCheck,
  repayFromTrustee,
  scheduleOfHousehold,
} from "./operations.js";
export { findLoan, lockLoan, type LoanRow, periodsOf } from "./queries.js";
export { forfeitSubsidyShares, subsidyTermsOf } from "./household-interest.js";
export { registerLoanJobs } from "./jobs.js";
export { type InstalmentDue, type LoanAwaiting, type LoansWorklist, OVERDUE_BUCKETS, type OverdueLoan, worklistOf } from "./worklist.js";
export { type BalanceComparison, type BalanceException, type BalanceOutcome, type BalanceRow, compareBankBalances } from "./balances.js";
export {
  daysInTerm,
  householdInterest,
  periodSubsidy,
  SUBSIDY_MODES,
  type SubsidyComputation,
  type SubsidyLoan,
  type SubsidyMode,
  type SubsidyPeriod,
  type SubsidyPolicy,
  subsidyRate,
  subsidyTermEnd,
} from "./subsidy-split.js";
export { type MigratedLoanView, migrateLoans, readMigrationFile } from "./migration.js";
export type { MigrationProblem } from "./migration-file.js";
