import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";
import helmet from "helmet";
import swaggerUi from "swagger-ui-express";
import type { Deps } from "./deps.js";
import { authenticate } from "./http/auth.js";
import { jsonBody } from "./http/body.js";
import { refuseQueryWhereNoneIsTaken } from "./http/query.js";
import { openApiDocument } from "./http/openapi.js";
import { notFoundHandler, problemHandler, requireJson } from "./http/problem.js";
import { requestId } from "./http/request-id.js";
import { requestLog } from "./http/request-log.js";
import { isMigrated } from "./db/knex.js";
import { AppError } from "./http/errors.js";
import { authRoutes } from "./modules/auth/routes.js";
import { registerRoutes } from "./modules/register/routes.js";
import { ratingsRoutes } from "./modules/ratings/routes.js";
import { oversightRoutes } from "./modules/oversight/routes.js";
import { loanRoutes } from "./modules/loans/routes.js";
import { trusteeshipRoutes } from "./modules/trusteeship/routes.js";
import { portalRoutes, portalStaffRoutes } from "./modules/portal/routes.js";
import { reportsRoutes } from "./modules/reports/routes.js";
import { noticesRoutes } from "./modules/notices/routes.js";
import { assetRoutes } from "./modules/assets/routes.js";
import { distributionRoutes } from "./modules/distributions/routes.js";
import { subsidyRoutes } from "./modules/subsidies/routes.js";
import { riskFundRoutes } from "./modules/riskfund/routes.js";

// Chart.js's browser build, served from the installed package (its exports map hides the file).
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.js");

/** Builds the Express app from the modules (no listen, so tests drive it with supertest). */
export function createApp(deps: Deps): Express {
  const app = express();
  app.locals.pii = deps.pii; // seals the responses the idempotency store keeps (http/command.ts)
  app.disable("x-powered-by");
  // API answers are personal or financial and never cached (Cache-Control: no-store below), so no ETag
  // is computed for them either (it hashed every response body).
  app.set("etag", false);
  app.set("trust proxy", "loopback");
  // Node's querystring, no nesting (`a[b]=1` is a parameter named `a[b]`), never qs's "extended"
  // objects: every query parameter is a string or, repeated, an array of strings (http/query.ts).
  app.set("query parser", "simple");
  app.use(requestId);
  app.use(requestLog(deps.logger));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", "'unsafe-inline'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", "data:"],
        },
      },
    }),
  );
  app.use(requireJson);
  // Size and nesting depth are checked on the raw text, before anything parses or walks the body.
  app.use(jsonBody({ limit: deps.settings.bodyLimit, maxDepth: deps.settings.bodyMaxDepth }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      if (!(await isMigrated(deps.db))) throw new Error("not migrated");
    } catch {
      throw new AppError("SERVICE_UNAVAILABLE", "Database not reachable or not migrated");
    }
    res.json({ status: "ready" });
  });
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });
  // The regulator dashboard and the reference household portal: static pages, no build step.
  const publicDir = fileURLToPath(new URL("../public/", import.meta.url));
  app.get("/dashboard", (_req, res) => res.sendFile("dashboard.html", { root: publicDir }));
  app.get("/portal-demo", (_req, res) => res.sendFile("portal-demo.html", { root: publicDir }));
  app.get("/assets/chart.umd.js", (_req, res) => res.sendFile(CHART_JS));
  app.use("/docs", swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: "/openapi.json" } }));

  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });
  api.use(refuseQueryWhereNoneIsTaken("/api/v1")); // routes that take a query check it in parse()
  api.use(authRoutes(deps)); // /auth/token is public; the rest of /api/v1 needs a token
  api.use(portalRoutes(deps)); // /portal/* carries partner and household credentials
  api.use(authenticate(deps.jwt));
  api.use(portalStaffRoutes(deps));
  api.use(registerRoutes(deps));
  api.use(ratingsRoutes(deps));
  api.use(oversightRoutes(deps));
  api.use(loanRoutes(deps));
  api.use(reportsRoutes(deps));
  api.use(noticesRoutes(deps));
  api.use(trusteeshipRoutes(deps));
  api.use(assetRoutes(deps));
  api.use(distributionRoutes(deps));
  api.use(subsidyRoutes(deps));
  api.use(riskFundRoutes(deps));
  app.use("/api/v1", api);

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
