import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf, requireRole } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import {
  Breaker,
  BreakerJob,
  BreakerJobResult,
  BreakerLift,
  BreakerList,
  BreakerQuery,
  Compensation,
  CompensationCreate,
  CompensationDecision,
  Deposit,
  DepositCreate,
  Fund,
  FundCreate,
  FundList,
  FundQuery,
  IdParam,
  RecoveryCreate,
  Recovery,
} from "./schemas.js";
import * as svc from "./service.js";

const TAG = "Risk fund 风险补偿金";
const READERS = "admin, finance_officer, regulator (own counties); loan_officer, bank_manager (own bank)";
const BANK = "loan_officer, bank_manager (own bank)";

doc({ method: "get", path: "/risk-funds", tag: TAG, summary: "Risk compensation funds with balance, outstanding, lending cap and leverage", query: FundQuery, response: FundList, roles: READERS });
doc({ method: "post", path: "/risk-funds", tag: TAG, summary: "Create the risk fund of a bank in a county (leverage cap, fund share, NPL threshold)", body: FundCreate, response: Fund, status: 201, roles: "admin, finance_officer (own counties)" });
doc({ method: "get", path: "/risk-funds/:id", tag: TAG, summary: "A fund: balance, outstanding poverty loans, lending cap, headroom, leverage, obligations", params: IdParam, response: Fund, roles: READERS });
doc({
  method: "post",
  path: "/risk-funds/:id/deposits",
  tag: TAG,
  summary: "Pay into the fund (缴存): Dr 1501 / Cr 3001",
  params: IdParam,
  body: DepositCreate,
  response: Deposit,
  status: 201,
  roles: "admin, finance_officer (own counties)",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/compensation-claims",
  tag: TAG,
  summary: "Claim compensation of a non-performing loan (代偿申请)",
  description: "The loan must be DPD ≥ the fund's threshold (default 90) with collection actions recorded. Loss = unpaid principal + unpaid normal interest due (no penalty); the fund's share (default 70%) rounded half-up, the bank bears the rest.",
  body: CompensationCreate,
  response: Compensation,
  status: 201,
  roles: BANK,
});
doc({ method: "get", path: "/compensation-claims/:id", tag: TAG, summary: "A compensation claim", params: IdParam, response: Compensation, roles: READERS });
doc({ method: "post", path: "/compensation-claims/:id/approve", tag: TAG, summary: "Approve a compensation claim (the fund pays within 30 days)", description: "Maker-checker: the person who submitted the claim may not decide it (422 SAME_MAKER_CHECKER).", params: IdParam, body: CompensationDecision, response: Compensation, roles: "finance_officer (own counties)" });
doc({ method: "post", path: "/compensation-claims/:id/reject", tag: TAG, summary: "Reject a compensation claim", description: "Maker-checker: the person who submitted the claim may not decide it (422 SAME_MAKER_CHECKER).", params: IdParam, body: CompensationDecision, response: Compensation, roles: "finance_officer (own counties)" });
doc({
  method: "post",
  path: "/compensation-claims/:id/pay",
  tag: TAG,
  summary: "Pay the fund's share; the loan becomes COMPENSATED",
  description: "Posts Dr 1001 (bank) + Dr 5001 (the bank's uncovered principal) / Cr 1301 (principal) + Cr 4001 (interest the fund covers), and Dr 3001 / Cr 1501 (fund).",
  params: IdParam,
  response: Compensation,
  roles: "finance_officer (own counties)",
  idempotent: "required",
});
doc({
  method: "post",
  path: "/compensation-claims/:id/recoveries",
  tag: TAG,
  summary: "Record a recovery after compensation (追偿): shared back in the claim's ratio, the fund's part returns to it",
  params: IdParam,
  body: RecoveryCreate,
  response: Recovery,
  status: 201,
  roles: BANK,
  idempotent: "required",
});
doc({ method: "get", path: "/circuit-breakers", tag: TAG, summary: "Circuit-breaker trips and lifts (熔断)", query: BreakerQuery, response: BreakerList, roles: READERS });
doc({
  method: "post",
  path: "/circuit-breakers/:id/lift",
  tag: TAG,
  summary: "Lift a tripped breaker (the county, once the NPL ratio is back under the threshold)",
  params: IdParam,
  body: BreakerLift,
  response: Breaker,
  roles: "admin (own counties)",
});
doc({
  method: "post",
  path: "/jobs/circuit-breakers",
  operationId: "runCircuitBreakersJob",
  tag: "Jobs",
  summary: "Evaluate every bank × county circuit breaker for a business date",
  description: "Also run by the close of business as its last step.",
  body: BreakerJob,
  response: BreakerJobResult,
  roles: "admin",
});

export function riskFundRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  const id = (p: unknown) => parse(IdParam, p, "params").id;

  r.get("/risk-funds", async (req, res) => {
    res.json(await svc.listFunds(db, actorOf(req), parse(FundQuery, req.query, "query")));
  });
  r.post("/risk-funds", command(db, async (req, trx) => ({ status: 201, body: await svc.createFund(trx, ctxOf(req, clock), parse(FundCreate, req.body)) })));
  r.get("/risk-funds/:id", async (req, res) => {
    res.json(await svc.getFund(db, actorOf(req), id(req.params)));
  });
  r.post(
    "/risk-funds/:id/deposits",
    command(db, async (req, trx) => ({ status: 201, body: await svc.deposit(trx, ctxOf(req, clock), id(req.params), parse(DepositCreate, req.body)) }), { requireKey: true }),
  );
  r.post("/compensation-claims", command(db, async (req, trx) => ({ status: 201, body: await svc.createCompensation(trx, ctxOf(req, clock), parse(CompensationCreate, req.body)) })));
  r.get("/compensation-claims/:id", async (req, res) => {
    res.json(await svc.getCompensation(db, actorOf(req), id(req.params)));
  });
  for (const decision of ["approve", "reject"] as const) {
    r.post(
      `/compensation-claims/:id/${decision}`,
      command(db, async (req, trx) => ({ status: 200, body: await svc.decideCompensation(trx, ctxOf(req, clock), id(req.params), decision, parse(CompensationDecision, req.body ?? {})) })),
    );
  }
  r.post("/compensation-claims/:id/pay", command(db, async (req, trx) => ({ status: 200, body: await svc.payCompensation(trx, ctxOf(req, clock), id(req.params)) }), { requireKey: true }));
  r.post(
    "/compensation-claims/:id/recoveries",
    command(db, async (req, trx) => ({ status: 201, body: await svc.addRecovery(trx, ctxOf(req, clock), id(req.params), parse(RecoveryCreate, req.body)) }), { requireKey: true }),
  );
  r.get("/circuit-breakers", async (req, res) => {
    res.json(await svc.listBreakers(db, actorOf(req), parse(BreakerQuery, req.query, "query")));
  });
  r.post("/circuit-breakers/:id/lift", command(db, async (req, trx) => ({ status: 200, body: await svc.liftBreaker(trx, ctxOf(req, clock), id(req.params), parse(BreakerLift, req.body)) })));
  r.post("/jobs/circuit-breakers", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin");
    const { business_date } = parse(BreakerJob, req.body);
    res.json(await svc.evaluateCircuitBreakers(db, business_date, { now: clock.now(), requestId: req.requestId }));
  });
  return r;
}
