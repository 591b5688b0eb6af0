import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";
import swaggerUi from "swagger-ui-express";
import type { Deps } from "./deps.js";
import { authenticate, requirePasswordChanged } from "./http/auth.js";
import { sessionRegistry } from "./http/sessions.js";
import { jsonBody } from "./http/body.js";
import { refuseQueryWhereNoneIsTaken } from "./http/query.js";
import { doc, openApiDocument } from "./http/openapi.js";
import { z } from "./http/zod.js";
import { errorCodesPage } from "./http/error-codes-page.js";
import { methodNotAllowed, notFoundHandler, problemHandler, requireJson } from "./http/problem.js";
import { requestId } from "./http/request-id.js";
import { language } from "./http/language.js";
import { inLanguage } from "./http/labels.js";
import { requestLog } from "./http/request-log.js";
import { securityHeaders } from "./http/security-headers.js";
import { serveFirst } from "./http/hot-path.js";
import { isMigrated } from "./db/knex.js";
import { AppError } from "./http/errors.js";
import { routes } from "./modules.js";
import { jobRoutes } from "./jobs/routes.js";

const TAG = "Service";
const Status = z.object({ status: z.string() });
doc({ root: true, method: "get", path: "/healthz", operationId: "getHealth", tag: TAG, summary: "Liveness: the process answers", response: Status, public: true, errors: [] });
doc({ root: true, method: "get", path: "/readyz", operationId: "getReadiness", tag: TAG, summary: "Readiness: the database is reachable and migrated (503 SERVICE_UNAVAILABLE otherwise)", response: Status, public: true, errors: [503] });
doc({ root: true, method: "get", path: "/openapi.json", operationId: "getOpenApiDocument", tag: TAG, summary: "This OpenAPI 3.1 document", response: z.record(z.string(), z.unknown()), public: true, errors: [] });

// Chart.js's browser build, served from the installed package (its exports map hides the file).
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.js");

/**
 * Builds the Express app from the modules (no listen, so tests drive it with supertest).
 * `hotRoutes: false` leaves out the routes answered before the stack (the portal's hottest reads),
 * so the same requests take the full stack: for comparing the two in tests and benchmarks.
 */
export function createApp(deps: Deps, opts: { hotRoutes?: boolean } = {}): Express {
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
  // The household portal's hottest reads are answered before the rest of the stack, with the same
  // request id, log line, headers, checks and answers (http/hot-path.ts, portal/hot.ts).
  if (opts.hotRoutes !== false) app.use(serveFirst(app, [routes.portalHotReads(deps, "/api/v1")], deps.logger));
  app.use(requestId);
  app.use(language);
  app.use(requestLog(deps.logger));
  app.use(securityHeaders); // helmet's headers, worked out once (http/security-headers.ts)
  app.use(requireJson);
  // Size and nesting depth are checked on the raw text, before anything parses or walks the body.
  // A register file is the one body larger than the rest: its route reads it first, with its own limit.
  app.use("/api/v1/register-imports", jsonBody({ limit: deps.settings.fileBodyLimit ?? "32mb", maxDepth: deps.settings.bodyMaxDepth }));
  app.use(jsonBody({ limit: deps.settings.bodyLimit, maxDepth: deps.settings.bodyMaxDepth }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      if (!(await isMigrated(deps.db))) throw new Error("not migrated");
    } catch {
      throw new AppError("SERVICE_UNAVAILABLE", { zh: "数据库无法连接或尚未迁移", en: "Database not reachable or not migrated" });
    }
    res.json({ status: "ready" });
  });
  app.get("/openapi.json", (req, res) => {
    res.json(openApiDocument(req.app));
  });
  // The regulator dashboard and the reference household portal: static pages, no build step.
  const publicDir = fileURLToPath(new URL("../public/", import.meta.url));
  app.get("/dashboard", (_req, res) => res.sendFile("dashboard.html", { root: publicDir }));
  app.get("/portal-demo", (_req, res) => res.sendFile("portal-demo.html", { root: publicDir }));
  app.get("/assets/chart.umd.js", (_req, res) => res.sendFile(CHART_JS));
  app.get("/", (_req, res) => res.redirect(302, "/docs"));
  app.get("/docs/errors", (_req, res) => res.type("html").send(errorCodesPage()));
  app.use("/docs", swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: "/openapi.json" } }));

  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });
  api.use(refuseQueryWhereNoneIsTaken("/api/v1")); // routes that take a query check it in parse()
  api.use(inLanguage); // status_label beside status, alerts' messages, in the request's language
  api.use(routes.authRoutes(deps)); // /auth/token is public; the rest of /api/v1 needs a token
  api.use(routes.portalRoutes(deps)); // /portal/* carries partner and household credentials
  api.use(authenticate(deps.jwt, sessionRegistry(deps.db, deps.logger)));
  api.use(routes.sessionRoutes(deps)); // logout and password change: allowed with a temporary password
  api.use(requirePasswordChanged);
  api.use(routes.usersRoutes(deps));
  api.use(routes.portalStaffRoutes(deps));
  api.use(routes.registerRoutes(deps));
  api.use(routes.ratingsRoutes(deps));
  api.use(routes.oversightRoutes(deps));
  api.use(routes.loanRoutes(deps));
  api.use(routes.worklistRoutes(deps));
  api.use(routes.bankFileRoutes(deps));
  api.use(routes.reportsRoutes(deps));
  api.use(routes.noticesRoutes(deps));
  api.use(routes.trusteeshipRoutes(deps));
  api.use(routes.assetRoutes(deps));
  api.use(routes.distributionRoutes(deps));
  api.use(routes.subsidyRoutes(deps));
  api.use(routes.riskFundRoutes(deps));
  api.use(jobRoutes(deps));
  app.use("/api/v1", api);

  app.use(methodNotAllowed);
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
