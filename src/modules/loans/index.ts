/**
 * The loans module's public face: all that other modules, the jobs and the app may use. Anything
 * not listed here is the module's own (enforced by `npm run deps`).
 */
export { loanFiguresBy } from "./figures.js"; // figures by township, village and bank (registered with reports)
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
export { findLoan, loanIdsByContract, lockLoan, type LoanRow, periodsOf } from "./queries.js";
/** The schedule's answer schema, for the portal's schedule of a household's loan (the same answer). */
export { Schedule as LoanSchedule } from "./schemas.js";
export { forfeitSubsidyShares, subsidyTermsOf } from "./household-interest.js";
export { registerLoanJobs } from "./jobs.js";
export { type InstalmentDue, type LoanAwaiting, type LoansWorklist, OVERDUE_BUCKETS, type OverdueLoan, worklistOf } from "./worklist.js";
export { applyRepaymentBatch, type BatchOutcome, type BatchPayment } from "./repayment-batch.js";
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
