/**
 * The register module's public face: all that other modules, the jobs, scripts and the app may use of it.
 * Anything not listed here is the module's own (checked by `npm run deps`).
 */
export { registerFiguresBy } from "./figures.js"; // figures by township, village and bank (registered with reports)
export { registerRoutes } from "./routes.js";
export { borrowerAndBank, headsByHouseholdNo, householdScope, lockCounty, lockHousehold, type MemberRef, membersByIdNumber } from "./queries.js";
export { recordIdNumberLookup } from "./service.js";
export { contactsOf, type HouseholdContact } from "./contacts.js";
export { registerImportErrors, runRegisterImport, type ImportResultView } from "./import-service.js";
