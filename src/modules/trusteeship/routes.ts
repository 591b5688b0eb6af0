import { Router } from "express";
import type { Deps } from "../../deps.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { doc } from "../../http/openapi.js";
import { pageList } from "../../http/pagination.js";
import { parse } from "../../http/validate.js";
import {
  ArrearsJob,
  ArrearsJobResult,
  Dashboard,
  DashboardQuery,
  IdParam,
  Operator,
  OperatorCreate,
  OperatorList,
  OperatorQuery,
  PaymentCreate,
  PaymentResult,
  Policy,
  PolicyCreate,
  PolicyList,
  PolicyQuery,
  PrincipalReturnCreate,
  Trusteeship,
  TrusteeshipCreate,
  TrusteeshipList,
  TrusteeshipQuery,
} from "./schemas.js";
import * as svc from "./service.js";

const TAG = "Trusteeship 委托经营";
const READERS = "admin, regulator, finance_officer (their counties), village_officer (their village's households), operator (its own)";

doc({ method: "get", path: "/operators", tag: TAG, summary: "List operators (合作社, 龙头企业, 农投公司, 大户) with their exposure", query: OperatorQuery, response: OperatorList, roles: READERS });
doc({
  method: "post",
  path: "/operators",
  tag: TAG,
  summary: "Register an operator",
  description: "The unified social credit code is checked (GB 32100: 18 characters over 0-9A-HJ-NP-RTUW-Y, check character last). The bank account is stored encrypted and shown masked except to the county admin and the operator itself.",
  body: OperatorCreate,
  response: Operator,
  status: 201,
  roles: "admin (own counties)",
});
doc({
  method: "get",
  path: "/operators/:id",
  tag: TAG,
  summary: "An operator with its exposure (open entrusted principal), limit and payment record",
  params: IdParam,
  response: Operator,
  roles: READERS,
});
doc({
  method: "get",
  path: "/operators/:id/dashboard",
  tag: TAG,
  summary: "Operator view: what is due this month, what is overdue, principal coming due",
  params: IdParam,
  query: DashboardQuery,
  response: Dashboard,
  roles: "operator (its own), admin, regulator, finance_officer",
});
doc({ method: "get", path: "/trusteeship-policies", tag: TAG, summary: "County trusteeship policy versions", query: PolicyQuery, response: PolicyList, roles: "admin, regulator, finance_officer" });
doc({
  method: "post",
  path: "/trusteeship-policies",
  tag: TAG,
  summary: "Add a county policy version (default return rate, grace days, exposure multiple and cap)",
  description: "Versions are never edited: a contract copies the rate and grace days in force on its start date; the exposure limit uses the version in force today.",
  body: PolicyCreate,
  response: Policy,
  status: 201,
  roles: "admin (own counties)",
});
doc({
  method: "get",
  path: "/trusteeships",
  tag: TAG,
  summary: "List trusteeship contracts (filters: operator, household, village, status, source, in arrears, due month)",
  query: TrusteeshipQuery,
  response: TrusteeshipList,
  roles: READERS,
});
doc({
  method: "post",
  path: "/trusteeships",
  tag: TAG,
  summary: "Record a trusteeship contract (委托经营合同) and generate its return schedule",
  description:
    "Refused with HOUSEHOLD_LOAN_ENTRUSTMENT_BANNED for a household loan disbursed from 2021-03-04 (户贷企用), and with OPERATOR_EXPOSURE_LIMIT when the operator's open principal would pass its limit. Posts the entrusted principal to the ledger (1401 / 2201).",
  body: TrusteeshipCreate,
  response: Trusteeship,
  status: 201,
  roles: "admin (own counties)",
  idempotent: "required",
});
doc({ method: "get", path: "/trusteeships/:id", tag: TAG, summary: "A contract with its schedule, payments, paid amounts and arrears", params: IdParam, response: Trusteeship, roles: READERS });
doc({
  method: "post",
  path: "/trusteeships/:id/payments",
  tag: TAG,
  summary: "Pay return installments (partial payments allowed; oldest first)",
  params: IdParam,
  body: PaymentCreate,
  response: PaymentResult,
  status: 201,
  roles: "operator (its own contracts), admin (on its behalf)",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/trusteeships/:id/principal-return",
  operationId: "returnTrusteeshipPrincipal",
  tag: TAG,
  summary: "Return the whole principal at the end of the contract (repays the linked loan when there is one)",
  description:
    "With an open linked loan the principal repays it (up to what closes it) in the same transaction, through the loans module, dated today; the rest goes to the household.",
  params: IdParam,
  body: PrincipalReturnCreate,
  response: PaymentResult,
  status: 201,
  roles: "operator (its own contracts), admin (on its behalf)",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/jobs/trusteeship-arrears",
  operationId: "runTrusteeshipArrearsJob",
  tag: TAG,
  summary: "Run the trusteeship arrears check for a business date (part of the close of business)",
  description: "Recognises returns fallen due, marks arrears, raises and clears arrears, loan-at-risk and exposure alerts for your counties. Idempotent for a date.",
  body: ArrearsJob,
  response: ArrearsJobResult,
  roles: "admin",
  idempotent: "accepted",
});

export function trusteeshipRoutes(deps: Deps): Router {
  const { db, clock, pii } = deps;
  const r = Router();

  r.get("/operators", async (req, res) => {
    res.json(await svc.listOperators(db, ctxOf(req, clock), pii, parse(OperatorQuery, req.query, "query")));
  });
  r.post(
    "/operators",
    command(db, async (req, trx) => ({ status: 201, body: await svc.createOperator(trx, ctxOf(req, clock), pii, parse(OperatorCreate, req.body)) })),
  );
  r.get("/operators/:id", async (req, res) => {
    res.json(await svc.getOperator(db, ctxOf(req, clock), pii, parse(IdParam, req.params, "params").id));
  });
  r.get("/operators/:id/dashboard", async (req, res) => {
    res.json(await svc.operatorDashboard(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(DashboardQuery, req.query, "query")));
  });

  r.get("/trusteeship-policies", async (req, res) => {
    const q = parse(PolicyQuery, req.query, "query");
    res.json(pageList(await svc.listPolicies(db, ctxOf(req, clock), q), (p) => p.id, q));
  });
  r.post(
    "/trusteeship-policies",
    command(db, async (req, trx) => ({ status: 201, body: await svc.createPolicy(trx, ctxOf(req, clock), parse(PolicyCreate, req.body)) })),
  );

  r.get("/trusteeships", async (req, res) => {
    res.json(await svc.listTrusteeships(db, ctxOf(req, clock), parse(TrusteeshipQuery, req.query, "query")));
  });
  r.post(
    "/trusteeships",
    command(db, async (req, trx) => ({ status: 201, body: await svc.createTrusteeship(trx, ctxOf(req, clock), parse(TrusteeshipCreate, req.body)) }), { requireKey: true }),
  );
  r.get("/trusteeships/:id", async (req, res) => {
    res.json(await svc.getTrusteeship(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id));
  });
  r.post(
    "/trusteeships/:id/payments",
    command(
      db,
      async (req, trx) => ({ status: 201, body: await svc.recordPayment(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(PaymentCreate, req.body)) }),
      { requireKey: true },
    ),
  );
  r.post(
    "/trusteeships/:id/principal-return",
    command(
      db,
      async (req, trx) => ({ status: 201, body: await svc.returnPrincipal(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(PrincipalReturnCreate, req.body)) }),
      { requireKey: true },
    ),
  );

  r.post(
    "/jobs/trusteeship-arrears",
    command(db, async (req, trx) => ({ status: 200, body: await svc.runArrearsJob(trx, ctxOf(req, clock), parse(ArrearsJob, req.body).business_date) })),
  );
  return r;
}
