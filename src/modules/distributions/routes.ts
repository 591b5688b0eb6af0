import { Router } from "express";
import type { Deps } from "../../deps.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { sendTable } from "../../http/export.js";
import { doc } from "../../http/openapi.js";
import { pageList } from "../../http/pagination.js";
import { parse } from "../../http/validate.js";
import { ListQuery } from "../../http/zod.js";
import {
  ApproveBody,
  Distribution,
  DistributionCreate,
  DistributionList,
  DistributionQuery,
  DividendList,
  IdParam,
  NoticeCreate,
  NoticeList,
  NoticeQuery,
  Objection,
  ObjectionCreate,
  ObjectionParam,
  ObjectionResolve,
  PayBody,
  ReturnBody,
  ReverseBody,
  Rule,
  RuleCreate,
  RuleList,
  RuleQuery,
  SharesExportQuery,
  SharesQuery,
} from "./schemas.js";
import * as svc from "./service.js";
import { sharesBook } from "./exports.js";

const TAG = "Distributions 收益分配";
const READERS = "admin, regulator, finance_officer (their counties), village_officer (distributions its village runs or shares in)";
const RUNNERS = "village_officer (its village), admin";

doc({ method: "get", path: "/distribution-rules", tag: TAG, summary: "Distribution rules (versions per asset or village)", query: RuleQuery, response: RuleList, roles: READERS });
doc({
  method: "post",
  path: "/distribution-rules",
  tag: TAG,
  summary: "Add a version of an asset's or a village's distribution rule",
  description:
    "Collective retention (村集体留存, default 0.20), earmarks (公益岗位, 管护: fixed or ratio), weights per household or member (base 1.0; the largest of: no labour ×1.5, serious illness or disability ×1.3, 低保/特困 ×1.2), transition months after exit (default 12), optional annual cap per household (excess to the collective). A distribution uses the asset's newest version effective on its reference date, else the village's, else these defaults.",
  body: RuleCreate,
  response: Rule,
  status: 201,
  roles: "admin",
});
doc({ method: "get", path: "/distributions", tag: TAG, summary: "List distributions", query: DistributionQuery, response: DistributionList, roles: READERS });
doc({
  method: "post",
  path: "/distributions",
  tag: TAG,
  summary: "Compute a DRAFT distribution from confirmed income and the register as of the reference date",
  description:
    "Eligible: POOR and MONITORED households of the beneficiaries, EXITED ones within the transition months after their exit date (status as of the reference date, from the status history); REMOVED never. The pool (income − retention − earmarks) is split by weight to the fen by the largest-remainder method. A report's income is used by one distribution only (409 INCOME_ALREADY_DISTRIBUTED).",
  body: DistributionCreate,
  response: Distribution,
  status: 201,
  roles: RUNNERS,
});
doc({ method: "get", path: "/distributions/:id", tag: TAG, summary: "A distribution with its shares (paged by household id)", params: IdParam, query: SharesQuery, response: Distribution, roles: READERS });
doc({
  method: "get",
  path: "/distributions/:id/shares",
  tag: TAG,
  summary: "Download a distribution's list of shares (分红明细) as CSV or XLSX (default)",
  description: "Every household of the distribution (or of one village) by village and household number: eligibility, members, multiplier, weight, amount, payment. Names and ID numbers masked as on the public notice; the XLSX's second sheet shows how the income was split (retention, earmarks, cap excess, shares).",
  params: IdParam,
  query: SharesExportQuery,
  produces: ["csv", "xlsx"],
  roles: READERS,
});
doc({ method: "post", path: "/distributions/:id/recompute", tag: TAG, summary: "Recompute a DRAFT (after a register correction)", params: IdParam, response: Distribution, roles: RUNNERS });
doc({
  method: "post",
  path: "/distributions/:id/notice",
  operationId: "publishDistributionNotice",
  tag: TAG,
  summary: "Put the list on public notice (公示): payable from notice date + 7 days",
  params: IdParam,
  body: NoticeCreate,
  response: Distribution,
  roles: RUNNERS,
});
doc({ method: "get", path: "/distributions/:id/notice", tag: TAG, summary: "The public list per village: masked names and ID numbers, weights, amounts", params: IdParam, query: NoticeQuery, response: NoticeList, roles: READERS });
doc({ method: "post", path: "/distributions/:id/objections", tag: TAG, summary: "Record an objection to the notice", params: IdParam, body: ObjectionCreate, response: Objection, status: 201, roles: RUNNERS });
doc({
  method: "post",
  path: "/distributions/:id/objections/:objectionId/resolve",
  tag: TAG,
  summary: "Dismiss an objection, or uphold it: the distribution goes back to DRAFT and is recomputed",
  params: ObjectionParam,
  body: ObjectionResolve,
  response: Distribution,
  roles: RUNNERS,
});
doc({
  method: "post",
  path: "/distributions/:id/approve",
  tag: TAG,
  summary: "Approve a noticed distribution (regulator only): income into the pool, the collective's part out of it",
  params: IdParam,
  body: ApproveBody,
  response: Distribution,
  roles: "regulator",
});
doc({
  method: "post",
  path: "/distributions/:id/pay",
  tag: TAG,
  summary: "Record a bank payment batch: each share paid with its bank reference, failures kept for retry",
  description: "Refused (422 NOTICE_PERIOD_NOT_OVER) before notice date + 7 days. Each paid share leaves the pool (2301) to the bank (1001); the pool is zero once every share is paid or returned.",
  params: IdParam,
  body: PayBody,
  response: Distribution,
  roles: "admin",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/distributions/:id/returns",
  operationId: "returnDistributionShares",
  tag: TAG,
  summary: "Give up failed payments: the shares go back from the pool to the collective",
  params: IdParam,
  body: ReturnBody,
  response: Distribution,
  roles: "admin",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/distributions/:id/reverse",
  tag: TAG,
  summary: "Reverse an approved or paid distribution (every posting reversed; its income released for a corrected one)",
  params: IdParam,
  body: ReverseBody,
  response: Distribution,
  roles: "regulator",
  idempotent: "required",
});
doc({
  method: "get",
  path: "/households/:id/dividends",
  tag: TAG,
  summary: "A household's dividends: asset, period, weight and why, amount, status, paid date",
  params: IdParam,
  query: ListQuery,
  response: DividendList,
  roles: "admin, village_officer (own village), regulator, finance_officer",
});

export function distributionRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  const id = (params: unknown) => parse(IdParam, params, "params").id;

  r.get("/distribution-rules", async (req, res) => {
    res.json(await svc.listRules(db, ctxOf(req, clock), parse(RuleQuery, req.query, "query")));
  });
  r.post("/distribution-rules", command(db, async (req, trx) => ({ status: 201, body: await svc.createRule(trx, ctxOf(req, clock), parse(RuleCreate, req.body)) })));
  r.get("/distributions", async (req, res) => {
    res.json(await svc.listDistributions(db, ctxOf(req, clock), parse(DistributionQuery, req.query, "query")));
  });
  r.post("/distributions", command(db, async (req, trx) => ({ status: 201, body: await svc.createDistribution(trx, ctxOf(req, clock), parse(DistributionCreate, req.body)) })));
  r.get("/distributions/:id", async (req, res) => {
    res.json(await svc.getDistribution(db, ctxOf(req, clock), id(req.params), parse(SharesQuery, req.query, "query")));
  });
  r.get("/distributions/:id/shares", async (req, res) => {
    const q = parse(SharesExportQuery, req.query, "query");
    const distributionId = id(req.params);
    await sendTable(res, q.format, `distribution-shares-${distributionId}`, await sharesBook(db, ctxOf(req, clock), distributionId, q));
  });
  r.post("/distributions/:id/recompute", command(db, async (req, trx) => ({ status: 200, body: await svc.recomputeDistribution(trx, ctxOf(req, clock), id(req.params)) })));
  r.post(
    "/distributions/:id/notice",
    command(db, async (req, trx) => {
      parse(NoticeCreate, req.body ?? {});
      return { status: 200, body: await svc.noticeDistribution(trx, ctxOf(req, clock), id(req.params)) };
    }),
  );
  r.get("/distributions/:id/notice", async (req, res) => {
    res.json(await svc.noticeList(db, ctxOf(req, clock), id(req.params), parse(NoticeQuery, req.query, "query")));
  });
  r.post(
    "/distributions/:id/objections",
    command(db, async (req, trx) => ({ status: 201, body: await svc.raiseObjection(trx, ctxOf(req, clock), id(req.params), parse(ObjectionCreate, req.body)) })),
  );
  r.post(
    "/distributions/:id/objections/:objectionId/resolve",
    command(db, async (req, trx) => {
      const p = parse(ObjectionParam, req.params, "params");
      return { status: 200, body: await svc.resolveObjection(trx, ctxOf(req, clock), p.id, p.objectionId, parse(ObjectionResolve, req.body)) };
    }),
  );
  r.post(
    "/distributions/:id/approve",
    command(db, async (req, trx) => {
      parse(ApproveBody, req.body ?? {});
      return { status: 200, body: await svc.approveDistribution(trx, ctxOf(req, clock), id(req.params)) };
    }),
  );
  r.post(
    "/distributions/:id/pay",
    command(db, async (req, trx) => ({ status: 200, body: await svc.payDistribution(trx, ctxOf(req, clock), id(req.params), parse(PayBody, req.body)) }), { requireKey: true }),
  );
  r.post(
    "/distributions/:id/returns",
    command(db, async (req, trx) => ({ status: 200, body: await svc.returnShares(trx, ctxOf(req, clock), id(req.params), parse(ReturnBody, req.body)) }), { requireKey: true }),
  );
  r.post(
    "/distributions/:id/reverse",
    command(db, async (req, trx) => ({ status: 200, body: await svc.reverseDistribution(trx, ctxOf(req, clock), id(req.params), parse(ReverseBody, req.body)) }), { requireKey: true }),
  );
  r.get("/households/:id/dividends", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await svc.householdDividends(db, ctxOf(req, clock), id(req.params)), (d) => d.distribution_id, q));
  });
  return r;
}
