/**
 * Every module, loaded once through its public face. Loading a module registers what it adds to
 * the shared registries — its routes (listed here for the app), figure sources of the county
 * summary, notice providers, reconciliation checks, the risk fund's disbursement check — so
 * anything that serves requests or runs jobs imports this file first.
 */
import { assetRoutes } from "./modules/assets/index.js";
import { bankFileRoutes } from "./modules/bankfiles/index.js";
import { authRoutes, sessionRoutes, usersRoutes } from "./modules/auth/index.js";
import { distributionRoutes } from "./modules/distributions/index.js";
import { loanRoutes } from "./modules/loans/index.js";
import { noticesRoutes } from "./modules/notices/index.js";
import { oversightRoutes } from "./modules/oversight/index.js";
import { portalHotReads, portalRoutes, portalStaffRoutes } from "./modules/portal/index.js";
import { ratingsRoutes } from "./modules/ratings/index.js";
import { registerRoutes } from "./modules/register/index.js";
import { reportsRoutes } from "./modules/reports/index.js";
import { riskFundRoutes } from "./modules/riskfund/index.js";
import { subsidyRoutes } from "./modules/subsidies/index.js";
import { trusteeshipRoutes } from "./modules/trusteeship/index.js";
import { worklistRoutes } from "./modules/worklist/index.js";

export const routes = {
  assetRoutes,
  authRoutes,
  bankFileRoutes,
  distributionRoutes,
  loanRoutes,
  noticesRoutes,
  oversightRoutes,
  portalHotReads,
  portalRoutes,
  portalStaffRoutes,
  ratingsRoutes,
  registerRoutes,
  reportsRoutes,
  riskFundRoutes,
  sessionRoutes,
  subsidyRoutes,
  trusteeshipRoutes,
  usersRoutes,
  worklistRoutes,
};
