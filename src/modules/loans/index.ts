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
export { findLoan, lockLoan, type LoanRow, periodsOf } from "./queries.js";
export { forfeitSubsidyShares, subsidyTermsOf } from "./household-interest.js";
export { registerLoanJobs } from "./jobs.js";
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
