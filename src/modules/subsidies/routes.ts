import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { Claim, ClaimApprove, ClaimCreate, ClaimList, ClaimListQuery, ClaimPay, ClaimQuery, IdParam, MisuseFinding, MisuseFindingCreate, SubsidySchedule } from "./schemas.js";
import * as svc from "./service.js";

const TAG = "Interest subsidy 财政贴息";
const READERS = "admin, finance_officer, regulator (own counties); loan_officer, bank_manager (own bank)";

doc({
  method: "post",
  path: "/subsidy-claims",
  tag: TAG,
  summary: "Generate the quarter's interest-subsidy claim batch of a bank in a county (贴息申报)",
  description:
    "After the quarter's end. One batch per bank, county, quarter and subsidy mode (`mode`, by default the one the caller's role generates); the caller is recorded as a maker. Lists every loan-period whose due date falls in the quarter (or whose grace days ran into it) and is settled one way or the other, with its computation (docs/DOMAIN.md#interest-subsidy). Forfeited periods are lines with their reason and 0.00: interest not paid by due date + grace (LATE_INTEREST), a misuse finding on the loan (MISUSE), a household removed from the register (HOUSEHOLD_REMOVED). A loan-period is claimed at most once: generating again adds only periods not yet in any batch (201 when the batch is created, 200 on regeneration, with `lines_added`); an approved or paid batch is closed.",
  body: ClaimCreate,
  response: Claim,
  status: 201,
  roles: "TO_BANK batch: loan_officer, bank_manager (own bank); TO_HOUSEHOLD batch: finance_officer (own counties). Another role, or the other mode, is 403.",
});
doc({ method: "get", path: "/subsidy-claims", tag: TAG, summary: "Subsidy claim batches", query: ClaimListQuery, response: ClaimList, roles: READERS });
doc({ method: "get", path: "/subsidy-claims/:id", tag: TAG, summary: "A claim batch with its totals and lines (paged by `line_cursor`)", params: IdParam, query: ClaimQuery, response: Claim, roles: READERS });
doc({
  method: "post",
  path: "/subsidy-claims/:id/approve",
  tag: TAG,
  summary: "Approve a batch, rejecting named lines (县财政局审核)",
  description: `Maker-checker: one who generated or regenerated the batch (\`generated_by\`) may not approve it (422 SAME_MAKER_CHECKER). Every claimed line not rejected is approved; the batch is publicly noticed per village (GET /notices?kind=subsidies) for ${svc.NOTICE_DAYS} days from today. Posts Dr 1311 subsidy receivable / Cr 4001 interest income (TO_BANK) and Cr 2201 households payable (TO_HOUSEHOLD).`,
  params: IdParam,
  body: ClaimApprove,
  response: Claim,
  roles: "finance_officer (own counties)",
});
doc({
  method: "post",
  path: "/subsidy-claims/:id/pay",
  tag: TAG,
  summary: "Pay an approved batch (拨付)",
  description: "Posts Dr 1001 (the bank, TO_BANK part) and Dr 2201 (each household, TO_HOUSEHOLD part) / Cr 1311, and records each household's reimbursement on its record (portal: /portal/me/subsidies).",
  params: IdParam,
  body: ClaimPay,
  response: Claim,
  roles: "finance_officer (own counties)",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/loans/:id/misuse-findings",
  tag: TAG,
  summary: "Record a misuse finding on a loan (违规使用: forfeits its subsidy)",
  description: "Periods of the loan not yet claimed are forfeited (MISUSE) when claimed; its lines in a DRAFT batch are forfeited now. Approved or paid subsidies are not clawed back here.",
  params: IdParam,
  body: MisuseFindingCreate,
  response: MisuseFinding,
  status: 201,
  roles: "admin, finance_officer, regulator (own counties); loan_officer, bank_manager (own bank)",
});
doc({ method: "get", path: "/loans/:id/subsidy-schedule", tag: TAG, summary: "A loan's subsidy per schedule period and the household's own part of the interest", params: IdParam, response: SubsidySchedule, roles: `${READERS}, village_officer (own village)` });

export function subsidyRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  const id = (p: unknown) => parse(IdParam, p, "params").id;

  r.post(
    "/subsidy-claims",
    command(db, async (req, trx) => {
      const { created, claim } = await svc.generateClaim(trx, ctxOf(req, clock), parse(ClaimCreate, req.body));
      return { status: created ? 201 : 200, body: claim };
    }),
  );
  r.get("/subsidy-claims", async (req, res) => {
    res.json(await svc.listClaims(db, actorOf(req), parse(ClaimListQuery, req.query, "query")));
  });
  r.get("/subsidy-claims/:id", async (req, res) => {
    res.json(await svc.getClaim(db, actorOf(req), id(req.params), parse(ClaimQuery, req.query, "query")));
  });
  r.post("/subsidy-claims/:id/approve", command(db, async (req, trx) => ({ status: 200, body: await svc.approveClaim(trx, ctxOf(req, clock), id(req.params), parse(ClaimApprove, req.body ?? {})) })));
  r.post(
    "/subsidy-claims/:id/pay",
    command(db, async (req, trx) => ({ status: 200, body: await svc.payClaim(trx, ctxOf(req, clock), id(req.params), parse(ClaimPay, req.body ?? {})) }), { requireKey: true }),
  );
  r.post("/loans/:id/misuse-findings", command(db, async (req, trx) => ({ status: 201, body: await svc.addMisuseFinding(trx, ctxOf(req, clock), id(req.params), parse(MisuseFindingCreate, req.body)) })));
  r.get("/loans/:id/subsidy-schedule", async (req, res) => {
    res.json(await svc.loanSubsidySchedule(db, actorOf(req), id(req.params)));
  });
  return r;
}
