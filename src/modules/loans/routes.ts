import { type Request, Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf, requireRole } from "../../http/auth.js";
import { command } from "../../http/command.js";
import { AppError } from "../../http/errors.js";
import { ctxOf } from "../../http/ctx.js";
import { sendTable } from "../../http/export.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { fileBody, uploadOf } from "../../http/upload.js";
import { ListQuery } from "../../http/zod.js";
import {
  CollectionAction,
  CollectionActionCreate,
  Decision,
  Disburse,
  Extend,
  IdParam,
  Loan,
  LoanApply,
  LoanList,
  LoanMigrationCreate,
  LoanMigrationQuery,
  LoanMigrationResult,
  LoanProduct,
  LoanProductCreate,
  LoanProductList,
  LoanProductQuery,
  LoanExportQuery,
  LoanQuery,
  RateTable,
  RateTableCreate,
  RateTableList,
  RateTableQuery,
  Renew,
  RenewResult,
  Repayment,
  RepaymentCreate,
  RepaymentParam,
  RepaymentReversal,
  RepaymentList,
  Schedule,
  SchedulePreview,
  SchedulePreviewCreate,
  ScheduleQuery,
  WriteOff,
} from "./schemas.js";
import * as svc from "./service.js";
import { loanBook } from "./exports.js";

const TAG = "Loans 扶贫小额信贷";
const READERS = "loan_officer and bank_manager (own bank, own counties), admin, regulator, finance_officer (own counties), village_officer (own village)";
const BANK = "loan_officer, bank_manager (own bank, own counties)";

doc({ method: "get", path: "/rate-tables", tag: TAG, summary: "LPR rate tables by publication date", query: RateTableQuery, response: RateTableList, roles: "any staff" });
doc({ method: "post", path: "/rate-tables", tag: TAG, summary: "Publish an LPR rate table (贷款市场报价利率)", body: RateTableCreate, response: RateTable, status: 201, roles: "admin" });
doc({ method: "get", path: "/loan-products", tag: TAG, summary: "Loan products (versioned per bank and county)", query: LoanProductQuery, response: LoanProductList, roles: READERS });
doc({
  method: "post",
  path: "/loan-products",
  tag: TAG,
  summary: "Create a loan product, or the next version of a product code",
  description:
    "Limits, rate rule (1-year LPR for terms ≤ 12 months, 5-year above, fixed for the contract), repayment methods, penalty markup (罚息上浮, default +50%), grace days, allowed purposes, and the interest subsidy policy (贴息). `effective_from` may be in the past (a version for loans disbursed before the platform): the version of a code in force on a date is the one with the latest effective date on or before it (`GET /loan-products?in_force_on=`), and a loan under it is priced on the LPR in force on its own date.",
  body: LoanProductCreate,
  response: LoanProduct,
  status: 201,
  roles: "bank_manager (own bank), admin",
});
doc({ method: "get", path: "/loan-products/:id", tag: TAG, summary: "One loan product version", params: IdParam, response: LoanProduct, roles: READERS });
doc({
  method: "post",
  path: "/loans",
  tag: TAG,
  summary: "Apply for a loan (贷款申请)",
  description:
    "Eligibility (docs/DOMAIN.md#credit-line): household POOR, EXITED or MONITORED; borrower 18-65 at application; an effective rating with a credit line above zero; the household's outstanding and pending loans plus this one within the line and within 50,000; purpose, amount, term and method allowed by the product. The rate is priced now on the LPR in force and fixed for the contract.",
  body: LoanApply,
  response: Loan,
  status: 201,
  roles: BANK,
});
doc({ method: "get", path: "/loans", tag: TAG, summary: "List loans", query: LoanQuery, response: LoanList, roles: READERS });
doc({
  method: "get",
  path: "/loans/export",
  tag: TAG,
  summary: "Download the loan book (贷款台账): every loan of your jurisdiction with the list's filters, as CSV or XLSX (default)",
  description: "No pages: the whole book at once, ordered by village and disbursement date; the contract and its standing today (days past due, overdue principal and interest, penalty, non-performing). No personal data.",
  query: LoanExportQuery,
  produces: ["csv", "xlsx"],
  roles: READERS,
});
doc({ method: "get", path: "/loans/:id", tag: TAG, summary: "A loan with its standing today (days past due, overdue amounts, penalty, payoff amount)", params: IdParam, response: Loan, roles: READERS });
doc({
  method: "get",
  path: "/loans/:id/schedule",
  tag: TAG,
  summary: "The repayment schedule: every period's due date, days, principal, interest, paid, outstanding, overdue, penalty",
  description:
    "`?format=html` (or `Accept: text/html`): the printable schedule (还款计划表) for the browser's print — the stored plan with the contract interest, subsidy and household's part of every period, the annualised rates (年化利率) of the contract and of the household's part, the borrower's name and ID number masked. A loan not yet disbursed has no schedule (409; see `POST /loans/schedule-preview`).",
  params: IdParam,
  query: ScheduleQuery,
  response: Schedule,
  html: true,
  roles: READERS,
});
doc({
  method: "post",
  path: "/loans/schedule-preview",
  operationId: "previewLoanSchedule",
  tag: TAG,
  summary: "Schedule preview (试算) with the annualised rate (年化利率); stores nothing",
  description: [
    "For a product version (`product_id`), the version of a product code in force on the disbursement date (`product_code` + `county_code`), or an explicit `annual_rate` (with an optional `subsidy` policy): the schedule exactly as a disbursement on `disbursement_date` (any date, past or future) would write it — the same schedule and subsidy-split code — with totals, the subsidy of every period under the policy, and the annualised rate of the contract and of the household's own part after the subsidy (People's Bank of China announcement [2021] No. 3).",
    "The annualised rate is the XIRR of the household's cash flows on actual/365 dates (the amount received on the disbursement date, each period's payment on its due date), a fraction rounded half-up to four places. A product's rate is priced on the LPR in force on the disbursement date.",
    "Refused with the codes an application uses: LOAN_ABOVE_PRODUCT_AMOUNT, LOAN_ABOVE_PRODUCT_TERM, LOAN_METHOD_NOT_OFFERED, LOAN_PURPOSE_NOT_ALLOWED, LOAN_PRODUCT_NOT_AVAILABLE (not in force on the date), LOAN_NO_RATE_TABLE, LOAN_ABOVE_HOUSEHOLD_CAP (explicit rate above 50,000); a term above 36 months is a 400; an unknown product 404.",
    "`format: \"html\"` (or `Accept: text/html`) answers the printable preview (贷款还款计划试算表).",
  ].join("\n\n"),
  body: SchedulePreviewCreate,
  response: SchedulePreview,
  html: true,
  roles: `${BANK}; admin, regulator, finance_officer, village_officer (the products of their counties)`,
  idempotent: "none",
});
doc({ method: "post", path: "/loans/:id/approve", tag: TAG, summary: "Approve an application (maker-checker: not the officer who took it)", params: IdParam, body: Decision, response: Loan, roles: "bank_manager (own bank)" });
doc({ method: "post", path: "/loans/:id/reject", tag: TAG, summary: "Reject an application", params: IdParam, body: Decision, response: Loan, roles: "bank_manager (own bank)" });
doc({ method: "post", path: "/loans/:id/cancel", tag: TAG, summary: "Cancel an application not yet disbursed", params: IdParam, body: Decision, response: Loan, roles: BANK });
doc({ method: "post", path: "/loans/:id/disburse", tag: TAG, summary: "Disburse an approved loan (放款): builds the schedule, posts Dr 1301 / Cr 1001", params: IdParam, body: Disburse, response: Loan, roles: BANK, idempotent: "required" });
doc({ method: "post", path: "/loans/:id/extend", tag: TAG, summary: "Extend (展期) once, ≤ 12 months, before maturity, with nothing overdue", params: IdParam, body: Extend, response: Loan, roles: "bank_manager (own bank)" });
doc({
  method: "post",
  path: "/loans/:id/renew",
  tag: TAG,
  summary: "Renew without repaying principal (无还本续贷)",
  description: "From 30 days before maturity through maturity, with nothing overdue: the interest to date is collected, a new linked loan takes over the principal (ledger: principal moves from the old loan to the new one), the old loan becomes RENEWED.",
  params: IdParam,
  body: Renew,
  response: RenewResult,
  status: 201,
  roles: "bank_manager (own bank)",
  idempotent: "required",
});
doc({ method: "post", path: "/loans/:id/write-off", tag: TAG, summary: "Write off a non-performing loan (核销, DPD > 90): Dr 5001 / Cr 1301", params: IdParam, body: WriteOff, response: Loan, roles: "bank_manager (own bank)", idempotent: "required" });
doc({
  method: "post",
  path: "/loans/:id/repayments",
  tag: TAG,
  summary: "Record a repayment (还款)",
  description: "Allocated penalty → overdue interest → overdue principal (oldest first) → interest due now → principal due now; the rest prepays principal and recomputes future interest. More than the payoff amount is refused (LOAN_OVERPAYMENT).",
  params: IdParam,
  body: RepaymentCreate,
  response: Repayment,
  status: 201,
  roles: BANK,
  idempotent: "required",
});
doc({
  method: "post",
  path: "/loans/:id/repayments/:repaymentId/reversal",
  operationId: "reverseLoanRepayment",
  tag: TAG,
  summary: "Reverse a repayment (冲正)",
  description:
    "Only the latest repayment of the loan not already reversed (REVERSAL_NOT_LATEST), not a trustee's payment (REVERSAL_NOT_ALLOWED). The schedule returns to what it was at the start of the repayment's value date and is brought forward to the last closed business date; the principal goes back on the loan (a loan the payment closed reopens); a reversing journal entry is posted. The bank reference stays recorded.",
  params: RepaymentParam,
  body: RepaymentReversal,
  response: Repayment,
  roles: "bank_manager (own bank)",
  idempotent: "required",
});
doc({ method: "get", path: "/loans/:id/repayments", tag: TAG, summary: "Repayments of a loan", params: IdParam, query: ListQuery, response: RepaymentList, roles: READERS });
doc({ method: "post", path: "/loans/:id/collection-actions", tag: TAG, summary: "Record a collection action (催收)", params: IdParam, body: CollectionActionCreate, response: CollectionAction, status: 201, roles: `${BANK}, village_officer (own village)` });

doc({
  method: "post",
  path: "/loan-migrations",
  tag: TAG,
  summary: "Migrate the bank's existing loans (存量贷款迁移) with their repayments to date",
  description: [
    "One row per loan — contract number (合同号), the household (户编号) and/or the borrower's ID number (借款人身份证号), product code (the version in force on the disbursement date), amount, annual rate, repayment method, term, disbursement date (放款日), purpose — and the repayments made to date (value date, amount, bank reference 流水号). JSON nests the repayments under each loan; a CSV has the loans, an empty line, then the repayments with their own header line (合同号, 还款日, 还款金额, 银行流水号); an XLSX has the loans on its first worksheet (or 贷款) and the repayments on its second (or 还款). docs/examples/loan-migration.csv is an example.",
    "Each loan is created as if it had lived on the platform from its first day: the schedule a disbursement on its date writes, each repayment allocated on its value date (penalty → overdue interest → overdue principal → due now → prepayment), the close of business run for every date in between and on to the last closed business date (yesterday before the first close) — standing, penalty and lost subsidy shares included. Its outstanding principal opens in the ledger as Dr 1301 / Cr 3101 期初余额; past repayments are its history, not cash entries. The contract's own rate is taken as given (a fixed-rate product's loans must carry its rate).",
    "`?dry_run=true` checks every row and answers every problem (sheet, row, column, code, message) and what would be migrated; nothing is stored. An apply with any problem migrates nothing (422 LOAN_MIGRATION_REJECTED, the problems in `errors`); otherwise every loan is migrated in one transaction. A contract number already on the platform for your bank with the same loan (and its repayments so far) is ALREADY_PRESENT, so sending a file again changes nothing; a different loan under it is a problem (LOAN_CONTRACT_NO_TAKEN). An apply (not a dry run) opens ledger balances and needs an `Idempotency-Key` header (IDEMPOTENCY_KEY_REQUIRED); a retry with it replays the first answer.",
  ].join("\n\n"),
  query: LoanMigrationQuery,
  body: LoanMigrationCreate,
  files: { description: "The loans file: CSV (UTF-8; the loans, an empty line, the repayments) or XLSX (loans on the first sheet, repayments on the second)" },
  response: LoanMigrationResult,
  roles: "bank_manager (own bank, own counties)",
  idempotent: "accepted",
});

export function loanRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();
  const id = (p: unknown) => parse(IdParam, p, "params").id;

  r.get("/rate-tables", async (req, res) => {
    actorOf(req);
    res.json(await svc.listRateTables(db, parse(RateTableQuery, req.query, "query")));
  });
  r.post("/rate-tables", command(db, async (req, trx) => ({ status: 201, body: await svc.createRateTable(trx, ctxOf(req, clock), parse(RateTableCreate, req.body)) })));

  r.get("/loan-products", async (req, res) => {
    res.json(await svc.listProducts(db, actorOf(req), parse(LoanProductQuery, req.query, "query")));
  });
  r.post("/loan-products", command(db, async (req, trx) => ({ status: 201, body: await svc.createProduct(trx, ctxOf(req, clock), parse(LoanProductCreate, req.body)) })));
  r.get("/loan-products/:id", async (req, res) => {
    res.json(await svc.getProduct(db, actorOf(req), id(req.params)));
  });

  r.post("/loans", command(db, async (req, trx) => ({ status: 201, body: await svc.applyLoan(trx, ctxOf(req, clock), parse(LoanApply, req.body)) })));
  r.get("/loans", async (req, res) => {
    res.json(await svc.listLoans(db, ctxOf(req, clock), parse(LoanQuery, req.query, "query")));
  });
  r.get("/loans/export", async (req, res) => {
    const q = parse(LoanExportQuery, req.query, "query");
    await sendTable(res, q.format, `loan-book-${clock.today()}`, await loanBook(db, ctxOf(req, clock), q));
  });
  r.get("/loans/:id", async (req, res) => {
    res.json(await svc.getLoan(db, ctxOf(req, clock), id(req.params)));
  });
  const wantsHtml = (req: Request, format: "json" | "html" | undefined) => format === "html" || (!format && req.accepts(["application/json", "text/html"]) === "text/html");
  r.get("/loans/:id/schedule", async (req, res) => {
    const q = parse(ScheduleQuery, req.query, "query");
    if (wantsHtml(req, q.format)) res.type("text/html; charset=utf-8").send(await svc.loanScheduleHtml(db, ctxOf(req, clock), id(req.params)));
    else res.json(await svc.getSchedule(db, ctxOf(req, clock), id(req.params)));
  });
  // Stores nothing, so no command() and no Idempotency-Key: the same request answers the same.
  r.post("/loans/schedule-preview", async (req, res) => {
    const input = parse(SchedulePreviewCreate, req.body);
    const view = await svc.previewSchedule(db, actorOf(req), input);
    if (wantsHtml(req, input.format)) res.type("text/html; charset=utf-8").send(svc.previewHtml(view));
    else res.json(view);
  });
  for (const decision of ["approve", "reject"] as const) {
    r.post(`/loans/:id/${decision}`, command(db, async (req, trx) => ({ status: 200, body: await svc.decide(trx, ctxOf(req, clock), id(req.params), decision, parse(Decision, req.body ?? {})) })));
  }
  r.post("/loans/:id/cancel", command(db, async (req, trx) => ({ status: 200, body: await svc.cancel(trx, ctxOf(req, clock), id(req.params), parse(Decision, req.body ?? {})) })));
  r.post(
    "/loans/:id/disburse",
    command(db, async (req, trx) => ({ status: 200, body: await svc.disburse(trx, ctxOf(req, clock), id(req.params), parse(Disburse, req.body ?? {})) }), { requireKey: true }),
  );
  r.post("/loans/:id/extend", command(db, async (req, trx) => ({ status: 200, body: await svc.extend(trx, ctxOf(req, clock), id(req.params), parse(Extend, req.body)) })));
  r.post("/loans/:id/renew", command(db, async (req, trx) => ({ status: 201, body: await svc.renew(trx, ctxOf(req, clock), id(req.params), parse(Renew, req.body)) }), { requireKey: true }));
  r.post(
    "/loans/:id/write-off",
    command(db, async (req, trx) => ({ status: 200, body: await svc.writeOff(trx, ctxOf(req, clock), id(req.params), parse(WriteOff, req.body)) }), { requireKey: true }),
  );
  r.post(
    "/loans/:id/repayments",
    command(db, async (req, trx) => ({ status: 201, body: await svc.repay(trx, ctxOf(req, clock), id(req.params), parse(RepaymentCreate, req.body)) }), { requireKey: true }),
  );
  r.post(
    "/loans/:id/repayments/:repaymentId/reversal",
    command(
      db,
      async (req, trx) => {
        const p = parse(RepaymentParam, req.params, "params");
        return { status: 200, body: await svc.reverseRepayment(trx, ctxOf(req, clock), p.id, p.repaymentId, parse(RepaymentReversal, req.body)) };
      },
      { requireKey: true },
    ),
  );
  r.get("/loans/:id/repayments", async (req, res) => {
    res.json(await svc.listRepayments(db, ctxOf(req, clock), id(req.params), parse(ListQuery, req.query, "query")));
  });
  r.post(
    "/loans/:id/collection-actions",
    command(db, async (req, trx) => ({ status: 201, body: await svc.addCollectionAction(trx, ctxOf(req, clock), id(req.params), parse(CollectionActionCreate, req.body)) })),
  );

  r.post(
    "/loan-migrations",
    fileBody(deps.settings.uploadLimit),
    command(db, async (req, trx) => {
      requireRole(actorOf(req), "bank_manager"); // before reading the file: a refusal by role does not depend on it
      const q = parse(LoanMigrationQuery, req.query, "query");
      if (!q.dry_run && !req.header("idempotency-key")) throw new AppError("IDEMPOTENCY_KEY_REQUIRED", "迁移会记入账务：请带 Idempotency-Key 请求头 / a migration opens ledger balances: send an Idempotency-Key header (e.g. a UUID) and reuse it on retries");
      const file = await svc.readMigrationFile(uploadOf(req));
      return { status: 200, body: await svc.migrateLoans(trx, ctxOf(req, clock), deps.pii, file, { dryRun: q.dry_run ?? false, countyCode: q.county_code, format: file.format }) };
    }),
  );

  return r;
}
