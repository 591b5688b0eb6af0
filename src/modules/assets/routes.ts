import { Router } from "express";
import type { Deps } from "../../deps.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import {
  Asset,
  AssetCreate,
  AssetList,
  AssetPatch,
  AssetQuery,
  IdParam,
  ReturnReport,
  ReturnReportConfirm,
  ReturnReportCreate,
  ReturnReportDispute,
  ReturnReportList,
  ReturnReportQuery,
} from "./schemas.js";
import * as svc from "./service.js";

const TAG = "Assets 扶贫资产";
const READERS = "admin, regulator, finance_officer (their counties), village_officer (assets its village owns or benefits from), operator (assets it manages)";

doc({ method: "get", path: "/assets", tag: TAG, summary: "List poverty-alleviation assets", query: AssetQuery, response: AssetList, roles: READERS });
doc({
  method: "post",
  path: "/assets",
  tag: TAG,
  summary: "Register an asset under the four-way split (四权分置)",
  description:
    "Ownership (所有权) → the village collective; management (经营权) → an operator under a contract (FIXED_RENT, or NET_INCOME_SHARE with a guaranteed minimum rate); income rights (受益权) → the eligible households of beneficiary villages or a named list; oversight (监管权) → the agriculture department. Each right is held by a different party.",
  body: AssetCreate,
  response: Asset,
  status: 201,
  roles: "admin",
});
doc({ method: "get", path: "/assets/:id", tag: TAG, summary: "An asset with its four rights, funding and history of changes", params: IdParam, response: Asset, roles: READERS });
doc({
  method: "patch",
  path: "/assets/:id",
  tag: TAG,
  summary: "Change an asset's details, status or one of its four rights",
  description: "Each changed part is recorded in the asset's history (before, after, reason, effective date) and in the audit log. DISPOSED is final.",
  params: IdParam,
  body: AssetPatch,
  response: Asset,
  roles: "admin",
});
doc({ method: "get", path: "/assets/:id/return-reports", tag: TAG, summary: "Return reports (收益申报) of an asset", params: IdParam, query: ReturnReportQuery, response: ReturnReportList, roles: READERS });
doc({
  method: "post",
  path: "/assets/:id/return-reports",
  tag: TAG,
  summary: "Report an ended period's revenue, costs, net income and amount payable (operator)",
  description: "The amount payable must reach the contract minimum for the period (fixed rent, or the share of net income but at least the guaranteed minimum rate on the book value, pro-rated). A disputed report is resubmitted with a new POST.",
  params: IdParam,
  body: ReturnReportCreate,
  response: ReturnReport,
  status: 201,
  roles: "operator (assets it manages)",
});
doc({ method: "get", path: "/return-reports/:id", tag: TAG, summary: "A return report", params: IdParam, response: ReturnReport, roles: READERS });
doc({
  method: "post",
  path: "/return-reports/:id/confirm",
  tag: TAG,
  summary: "Confirm a return report (owning village): its amount payable becomes distributable income, usable once",
  params: IdParam,
  body: ReturnReportConfirm,
  response: ReturnReport,
  roles: "village_officer of the owning village",
});
doc({
  method: "post",
  path: "/return-reports/:id/dispute",
  tag: TAG,
  summary: "Dispute a return report (owning village): it goes back to the operator to resubmit",
  params: IdParam,
  body: ReturnReportDispute,
  response: ReturnReport,
  roles: "village_officer of the owning village",
});

export function assetRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  const id = (params: unknown) => parse(IdParam, params, "params").id;

  r.get("/assets", async (req, res) => {
    res.json(await svc.listAssets(db, ctxOf(req, clock), parse(AssetQuery, req.query, "query")));
  });
  r.post("/assets", command(db, async (req, trx) => ({ status: 201, body: await svc.createAsset(trx, ctxOf(req, clock), parse(AssetCreate, req.body)) })));
  r.get("/assets/:id", async (req, res) => {
    res.json(await svc.getAsset(db, ctxOf(req, clock), id(req.params)));
  });
  r.patch("/assets/:id", command(db, async (req, trx) => ({ status: 200, body: await svc.patchAsset(trx, ctxOf(req, clock), id(req.params), parse(AssetPatch, req.body)) })));
  r.get("/assets/:id/return-reports", async (req, res) => {
    res.json(await svc.listReports(db, ctxOf(req, clock), id(req.params), parse(ReturnReportQuery, req.query, "query")));
  });
  r.post(
    "/assets/:id/return-reports",
    command(db, async (req, trx) => ({ status: 201, body: await svc.submitReport(trx, ctxOf(req, clock), id(req.params), parse(ReturnReportCreate, req.body)) })),
  );
  r.get("/return-reports/:id", async (req, res) => {
    res.json(await svc.getReport(db, ctxOf(req, clock), id(req.params)));
  });
  r.post(
    "/return-reports/:id/confirm",
    command(db, async (req, trx) => ({ status: 200, body: await svc.confirmReport(trx, ctxOf(req, clock), id(req.params), parse(ReturnReportConfirm, req.body ?? {})) })),
  );
  r.post(
    "/return-reports/:id/dispute",
    command(db, async (req, trx) => ({ status: 200, body: await svc.disputeReport(trx, ctxOf(req, clock), id(req.params), parse(ReturnReportDispute, req.body)) })),
  );
  return r;
}
