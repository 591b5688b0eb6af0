import { type RequestHandler, Router } from "express";
import type { Deps } from "../../deps.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { doc, registry } from "../../http/openapi.js";
import { pageList } from "../../http/pagination.js";
import { parse } from "../../http/validate.js";
import { ListQuery } from "../../http/zod.js";
import {
  BulkRate,
  BulkResult,
  BulkRow,
  CreditLine,
  CreditLineQuery,
  IdParam,
  Rating,
  RatingApprove,
  RatingCreate,
  RatingList,
  RatingQuery,
  RatingReject,
  Scorecard,
  ScorecardCreate,
  ScorecardList,
  ScorecardQuery,
  Summary,
  SummaryQuery,
} from "./schemas.js";
import * as svc from "./service.js";

const TAG = "Credit 评级授信";
const READERS = "loan_officer and bank_manager (own bank's ratings), admin, regulator, village_officer (own village) — inside their counties";

registry.register("BulkRow", BulkRow);

doc({ method: "get", path: "/scorecards", tag: TAG, summary: "Scorecard versions of your counties (newest first)", query: ScorecardQuery, response: ScorecardList, roles: `${READERS}, finance_officer` });
doc({
  method: "post",
  path: "/scorecards",
  tag: TAG,
  summary: "Publish a new scorecard version (评分卡) for a county",
  description:
    "Indicators: ASSESSED (levels set by the loan officer or the village review, with evidence), INCOME_BANDS (bands over the register's per-capita net income of the latest year; `missing_points` when none is recorded), LABOUR_BANDS (bands over labour units = Σ members × weight of their labour capacity). Points add up to 100; the best level or band of an indicator gives its points. Grades: bands by min_score with their credit line (≤ 50,000), one starting at 0. A new version applies to new ratings only.",
  body: ScorecardCreate,
  response: Scorecard,
  status: 201,
  roles: "admin (own counties)",
});
doc({ method: "get", path: "/scorecards/:id", tag: TAG, summary: "A scorecard version", params: IdParam, response: Scorecard, roles: `${READERS}, finance_officer` });
doc({
  method: "post",
  path: "/households/:id/ratings",
  tag: TAG,
  summary: "Rate a household (评级): PENDING until a bank manager approves",
  description:
    "The server computes the score from the county's current scorecard, the register (per-capita net income of the latest year, members' labour capacity) and the assessed levels; it is never taken from the client. Every rating records the five checks (五验) and the village review, and answers with its explanation: each indicator's points, the input it used and why.",
  params: IdParam,
  body: RatingCreate,
  response: Rating,
  status: 201,
  roles: "loan_officer (households in your counties; the rating belongs to your bank)",
});
doc({ method: "get", path: "/households/:id/ratings", tag: TAG, summary: "Ratings of a household (newest first)", params: IdParam, query: ListQuery, response: RatingList, roles: READERS });
doc({
  method: "get",
  path: "/households/:id/credit-line",
  tag: TAG,
  summary: "Credit line (授信) of a household: grade, line, used, available, valid until",
  description: "Used = outstanding principal of the household's disbursed and extended poverty loans (all members). Available = min(line, 50,000) − used. An expired rating grants nothing.",
  params: IdParam,
  query: CreditLineQuery,
  response: CreditLine,
  roles: READERS,
});
doc({
  method: "post",
  path: "/ratings/bulk",
  operationId: "bulkCreateRatings",
  tag: TAG,
  summary: "Rate many households at once (整村授信) from JSON rows or CSV",
  description:
    "Each row (`BulkRow`) is checked and scored on its own: a bad row is reported with its reasons and nothing of it is written; every valid row is created PENDING. The five checks and the village review may be given once for the whole request (the village session) or per row. CSV: header `household_id,<CODE>,...` with one column per assessed indicator, each cell a level. Answers 200 with one result per row.",
  body: BulkRate,
  response: BulkResult,
  roles: "loan_officer",
});
doc({ method: "get", path: "/ratings", tag: TAG, summary: "Ratings in your jurisdiction (e.g. status=PENDING: the approval queue)", query: RatingQuery, response: RatingList, roles: READERS });
doc({
  method: "get",
  path: "/ratings/summary",
  tag: TAG,
  summary: "County figures: households rated by grade, lines granted (授信总额), share of eligible households rated",
  query: SummaryQuery,
  response: Summary,
  roles: READERS,
});
doc({ method: "get", path: "/ratings/:id", tag: TAG, summary: "A rating with its explanation", params: IdParam, response: Rating, roles: READERS });
doc({
  method: "post",
  path: "/ratings/:id/approve",
  tag: TAG,
  summary: "Approve a rating (maker-checker): effective for 12 months, superseding the household's previous one",
  params: IdParam,
  body: RatingApprove,
  response: Rating,
  roles: "bank_manager of the rating's bank, never its maker",
});
doc({ method: "post", path: "/ratings/:id/reject", tag: TAG, summary: "Reject a rating, with the reason", params: IdParam, body: RatingReject, response: Rating, roles: "bank_manager of the rating's bank, never its maker" });

/** The bulk answer's row messages in the request's language, a replayed answer's too (see svc.bulkResultIn). */
const bulkInLanguage: RequestHandler = (req, res, next) => {
  const json = res.json.bind(res);
  res.json = (body: unknown) => json(res.statusCode < 300 ? svc.bulkResultIn(body, req.lang) : body);
  next();
};

export function ratingsRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();

  r.get("/scorecards", async (req, res) => {
    const q = parse(ScorecardQuery, req.query, "query");
    res.json(pageList(await svc.listScorecards(db, ctxOf(req, clock), q), (s) => s.id, q));
  });
  r.post(
    "/scorecards",
    command(db, async (req, trx) => ({ status: 201, body: await svc.createScorecard(trx, ctxOf(req, clock), parse(ScorecardCreate, req.body)) })),
  );
  r.get("/scorecards/:id", async (req, res) => {
    res.json(await svc.getScorecard(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id));
  });

  r.post(
    "/households/:id/ratings",
    command(db, async (req, trx) => ({
      status: 201,
      body: await svc.createRating(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(RatingCreate, req.body)),
    })),
  );
  r.get("/households/:id/ratings", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await svc.listHouseholdRatings(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id), (r) => r.id, q));
  });
  r.get("/households/:id/credit-line", async (req, res) => {
    const ctx = ctxOf(req, clock);
    res.json(await svc.getCreditLine(db, ctx, parse(IdParam, req.params, "params").id, parse(CreditLineQuery, req.query, "query").as_of));
  });

  r.post(
    "/ratings/bulk",
    bulkInLanguage,
    command(db, async (req, trx) => ({ status: 200, body: await svc.rateBulk(trx, ctxOf(req, clock), parse(BulkRate, req.body)) })),
  );
  r.get("/ratings", async (req, res) => {
    res.json(await svc.listRatings(db, ctxOf(req, clock), parse(RatingQuery, req.query, "query")));
  });
  r.get("/ratings/summary", async (req, res) => {
    res.json(await svc.ratingSummary(db, ctxOf(req, clock), parse(SummaryQuery, req.query, "query")));
  });
  r.get("/ratings/:id", async (req, res) => {
    res.json(await svc.getRating(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id));
  });
  r.post(
    "/ratings/:id/approve",
    command(db, async (req, trx) => ({
      status: 200,
      body: await svc.approveRating(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(RatingApprove, req.body ?? {})),
    })),
  );
  r.post(
    "/ratings/:id/reject",
    command(db, async (req, trx) => ({
      status: 200,
      body: await svc.rejectRating(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(RatingReject, req.body)),
    })),
  );
  return r;
}
