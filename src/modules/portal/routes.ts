import { type Request, type RequestHandler, Router } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";
import type { Deps } from "../../deps.js";
import { actorOf, requireRole } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { AppError } from "../../http/errors.js";
import { doc } from "../../http/openapi.js";
import { sessionRegistry } from "../../http/sessions.js";
import { pageList } from "../../http/pagination.js";
import { parse } from "../../http/validate.js";
import { ListQuery, StatusLabel, z } from "../../http/zod.js";
import { LoanSchedule } from "../loans/index.js";
import { authenticateHousehold, householdOf } from "./auth.js";
import { ClientIdParam, PartnerCreate, PartnerCreated, PartnerList, PartnerRevoked, PartnerSecretRotated, PinChangeRequest, PinIssueResponse, PortalMe, PortalDividends, PortalSummary, PortalTokenRequest, PortalTokenResponse, SummaryQuery } from "./schemas.js";
import { portalDividends, portalLoanSchedule, portalLoans, portalReturns, portalSubsidies, portalSummary } from "./reads.js";
import * as svc from "./service.js";

const TAG = "Portal 农户门户";
const PortalDemoSample = z.object({ client_id: z.string(), client_secret: z.string(), id_number: z.string(), pin: z.string() }).openapi("PortalDemoSample");
const IdParam = z.object({ id: z.string().uuid() });
const PinChanged = z.object({ changed: z.literal(true) }).openapi("PortalPinChanged");

doc({
  method: "post",
  path: "/portal/token",
  operationId: "portalLogin",
  tag: TAG,
  summary: "A partner's client credentials plus the household's (head's ID number and PIN) → a 15-minute read-only household token",
  description:
    "Every PIN attempt is counted per household before the PIN is checked, however many arrive at once: at most 5 are checked, then the household is locked for 15 minutes (429 with Retry-After), the right PIN included. The partner must serve the household's county. The lookup by the head's ID number is recorded in the audit log (masked), found or not.",
  body: PortalTokenRequest,
  response: PortalTokenResponse,
  public: true,
  errors: [400, 401, 429],
});
doc({ method: "post", path: "/portal/pin", operationId: "changePortalPin", tag: TAG, summary: "The household changes its PIN (through the partner)", body: PinChangeRequest, response: PinChanged, public: true, errors: [400, 401, 429] });
doc({
  method: "get",
  path: "/portal/demo-sample",
  tag: TAG,
  summary: "The demo county's sample portal credentials (for /portal-demo): a partner, a household's head ID number and PIN",
  description: "Only where the demo county was seeded (never in production: 404 there). Demo data, not personal data: the household is generated.",
  response: PortalDemoSample,
  public: true,
  errors: [404],
});
doc({ method: "get", path: "/portal/me", operationId: "getPortalProfile", tag: TAG, summary: "The household's own profile (masked)", response: PortalMe, errors: [401, 404, 429] });
const PortalLoans = z
  .object({
    as_of: z.string(),
    items: z.array(
      z.object({
        id: z.string(),
        bank_name: z.string(),
        status: z.string(),
        status_label: StatusLabel,
        amount: z.string(),
        outstanding_principal: z.string(),
        annual_rate: z.string().nullable(),
        term_months: z.number().int(),
        repayment_method: z.string(),
        purpose: z.string(),
        applied_on: z.string(),
        disbursed_on: z.string().nullable(),
        maturity_date: z.string().nullable(),
        closed_on: z.string().nullable(),
        days_past_due: z.number().int(),
        next_due: z.object({ due_date: z.string(), amount: z.string() }).nullable(),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("PortalLoans");
const PortalReturns = z
  .object({
    as_of: z.string(),
    items: z.array(
      z.object({
        trusteeship_id: z.string(),
        operator_name: z.string(),
        source: z.string(),
        principal: z.string(),
        annual_rate: z.string(),
        seq: z.number().int(),
        due_date: z.string(),
        amount: z.string(),
        paid: z.string(),
        paid_off_on: z.string().nullable(),
        status: z.enum(["PAID", "IN_ARREARS", "DUE", "NOT_DUE"]),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("PortalReturns");
doc({ method: "get", path: "/portal/me/dividends", tag: TAG, summary: "The household's dividends: asset, period, weight and why, amount, status, paid date", query: ListQuery, response: PortalDividends, errors: [400, 401, 429] });
doc({ method: "get", path: "/portal/me/summary", tag: TAG, summary: "The year's income from the platform by kind (dividends, subsidies, trustee returns)", query: SummaryQuery, response: PortalSummary, errors: [400, 401, 429] });
const PortalSubsidies = z
  .object({
    items: z.array(
      z.object({ id: z.string(), claim_id: z.string(), quarter: z.string(), periods: z.number().int(), amount: z.string(), paid_on: z.string(), reference: z.string().nullable(), bank_name: z.string() }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("PortalSubsidies");
doc({ method: "get", path: "/portal/me/subsidies", tag: TAG, summary: "Interest subsidies reimbursed to the household (先缴后补)", query: ListQuery, response: PortalSubsidies, errors: [400, 401, 429] });
doc({
  method: "get",
  path: "/portal/me/loans/:id/schedule",
  tag: TAG,
  summary: "The schedule of one of the household's loans (due dates, principal, interest, paid, outstanding, penalty)",
  description: "Another household's loan answers 404.",
  params: IdParam,
  response: LoanSchedule,
  errors: [400, 401, 404, 429],
});
doc({ method: "get", path: "/portal/me/loans", tag: TAG, summary: "The household's poverty loans with the next amount due", query: ListQuery, response: PortalLoans, errors: [400, 401, 429] });
doc({ method: "get", path: "/portal/me/returns", tag: TAG, summary: "Guaranteed returns of the household's entrusted funds (委托经营收益)", query: ListQuery, response: PortalReturns, errors: [400, 401, 429] });
doc({ method: "post", path: "/partners", tag: TAG, summary: "Register a partner portal (client credentials shown once)", body: PartnerCreate, response: PartnerCreated, status: 201, roles: "admin" });
doc({ method: "get", path: "/partners", tag: TAG, summary: "Partner portals serving the admin's counties (secrets are never shown again)", query: ListQuery, response: PartnerList, roles: "admin", errors: [400, 401, 403] });
doc({
  method: "post",
  path: "/partners/:client_id/rotate-secret",
  operationId: "rotatePartnerSecret",
  tag: TAG,
  summary: "New client secret, shown once; the old secret and every household token issued through the partner stop at once",
  params: ClientIdParam,
  response: PartnerSecretRotated,
  roles: "admin (a partner all of whose counties are the admin's)",
  errors: [400, 401, 403, 404, 409],
});
doc({
  method: "post",
  path: "/partners/:client_id/revoke",
  tag: TAG,
  summary: "Revoke a partner for good: its credentials and every household token issued through it stop at once",
  description: "A revoked partner is kept (the audit log names it) and cannot be rotated or revoked again (409 `INVALID_STATE`); register a new one.",
  params: ClientIdParam,
  response: PartnerRevoked,
  roles: "admin (a partner all of whose counties are the admin's)",
  errors: [400, 401, 403, 404, 409],
});
doc({ method: "post", path: "/households/:id/portal-pin", operationId: "setHouseholdPortalPin", tag: TAG, summary: "Issue (or reset) a household's portal PIN; shown once. A re-issue ends the household's portal tokens at once", params: IdParam, response: PinIssueResponse, status: 201, roles: "village_officer (own village), admin" });

const tooMany = (retryAfterSeconds: number) =>
  new AppError("TOO_MANY_REQUESTS", { zh: "请求过于频繁，请放慢速度", en: "Rate limit reached; slow down" }, undefined, 429, { "Retry-After": String(retryAfterSeconds) });

// One limiter per app (its counts in memory), shared by the routes below and the hot reads (hot.ts).
const limiters = new WeakMap<Deps, RequestHandler>();

/** The per-partner limit of household requests, as the partner was registered (429 past it). */
export function partnerLimiter(deps: Deps): RequestHandler {
  let l = limiters.get(deps);
  if (!l) {
    l = rateLimit({
      windowMs: 60_000,
      limit: (req: Request) => req.household?.rateLimitPerMinute ?? 600,
      standardHeaders: "draft-7",
      legacyHeaders: false,
      keyGenerator: (req: Request) => `partner:${req.household?.partnerId ?? "-"}`,
      handler: (_req, _res, next) => next(tooMany(60)),
    });
    limiters.set(deps, l);
  }
  return l;
}

/** Routes that carry their own credentials (mounted before staff authentication). */
export function portalRoutes(deps: Deps): Router {
  const r = Router();
  // Credential endpoints: per partner and address, so one partner cannot starve another.
  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: 120,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    keyGenerator: (req: Request) => `${ipKeyGenerator(req.ip ?? "-")}|${typeof req.body?.client_id === "string" ? req.body.client_id : "-"}`,
    handler: (_req, _res, next) => next(tooMany(60)),
  });
  r.post("/portal/token", loginLimiter, async (req, res) => {
    res.json(await svc.portalToken(deps, parse(PortalTokenRequest, req.body)));
  });
  r.post("/portal/pin", loginLimiter, async (req, res) => {
    res.json(await svc.changePin(deps, parse(PinChangeRequest, req.body)));
  });
  r.get("/portal/demo-sample", loginLimiter, async (_req, res) => {
    res.json(await svc.portalDemoSample(deps));
  });

  // Household endpoints: read-only, one household, limited per partner as the partner was registered.
  const me = Router();
  me.use(authenticateHousehold(deps.jwt, sessionRegistry(deps.db, deps.logger)), partnerLimiter(deps));
  me.use((req, _res, next) => {
    if (req.method !== "GET") throw new AppError("FORBIDDEN", { zh: "农户门户只读", en: "The household portal is read-only" });
    next();
  });
  me.get("/", async (req, res) => {
    res.json(await svc.portalMe(deps.db, householdOf(req)));
  });
  me.get("/loans", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await portalLoans(deps.db, householdOf(req), deps.clock.today()), (l) => l.id, q));
  });
  me.get("/dividends", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await portalDividends(deps.db, householdOf(req)), (d) => d.distribution_id, q));
  });
  me.get("/summary", async (req, res) => {
    const q = parse(SummaryQuery, req.query, "query");
    res.json(await portalSummary(deps.db, householdOf(req), q.year ?? Number(deps.clock.today().slice(0, 4))));
  });
  me.get("/loans/:id/schedule", async (req, res) => {
    const { id } = parse(IdParam, req.params, "params");
    res.json(await portalLoanSchedule(deps.db, householdOf(req), id, deps.clock));
  });
  me.get("/subsidies", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await portalSubsidies(deps.db, householdOf(req)), (s) => s.id, q));
  });
  me.get("/returns", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await portalReturns(deps.db, householdOf(req), deps.clock.today()), (r) => `${r.trusteeship_id}:${r.seq}`, q));
  });
  r.use("/portal/me", me);
  return r;
}

/** Staff side of the portal: partners and PINs (mounted after staff authentication). */
export function portalStaffRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  r.post("/partners", command(db, async (req, trx) => ({ status: 201, body: await svc.createPartner(trx, ctxOf(req, clock), parse(PartnerCreate, req.body)) })));
  r.get("/partners", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin");
    const q = parse(ListQuery, req.query, "query");
    res.json(await svc.listPartners(db, actor, q));
  });
  r.post(
    "/partners/:client_id/rotate-secret",
    command(db, async (req, trx) => ({ status: 200, body: await svc.rotatePartnerSecret(trx, ctxOf(req, clock), parse(ClientIdParam, req.params, "params").client_id) })),
  );
  r.post(
    "/partners/:client_id/revoke",
    command(db, async (req, trx) => ({ status: 200, body: await svc.revokePartner(trx, ctxOf(req, clock), parse(ClientIdParam, req.params, "params").client_id) })),
  );
  r.post(
    "/households/:id/portal-pin",
    command(db, async (req, trx) => ({ status: 201, body: await svc.issuePin(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id) })),
  );
  return r;
}

/** The household router other modules add their `/portal/me/...` reads to. */
export { householdOf };
