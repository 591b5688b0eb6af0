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
  Division,
  DivisionCreate,
  DivisionList,
  DivisionQuery,
  Household,
  HouseholdCreate,
  HouseholdList,
  HouseholdPatch,
  HouseholdExportQuery,
  HouseholdQuery,
  IdParam,
  Member,
  MemberCreate,
  MemberList,
  StatusChange,
  StatusChangeCreate,
  StatusChangeList,
} from "./schemas.js";
import * as svc from "./service.js";
import { registerBook } from "./exports.js";

const TAG = "Register 建档立卡";
const READERS = "admin, village_officer (own village), loan_officer, bank_manager, finance_officer, regulator — inside their counties";
const WRITERS = "village_officer (own village), admin (own counties)";

doc({ method: "get", path: "/divisions", tag: TAG, summary: "List divisions (GB/T 2260) in your counties", query: DivisionQuery, response: DivisionList, roles: "any staff" });
doc({ method: "post", path: "/divisions", tag: TAG, summary: "Register a county, township or village", body: DivisionCreate, response: Division, status: 201, roles: "admin" });
doc({
  method: "get",
  path: "/households",
  tag: TAG,
  summary: "List households (filter by village, status, type, cause)",
  description: "A search by `id_number` (a whole ID number) is recorded in the audit log as `household.lookup_by_id_number` — the caller and the households found, or the masked number when none — found or not; the number itself is never recorded.",
  query: HouseholdQuery, response: HouseholdList, roles: READERS });
doc({
  method: "get",
  path: "/households/export",
  tag: TAG,
  summary: "Download the register (建档立卡花名册) of your jurisdiction as CSV or XLSX (default), with the list's filters",
  description: "Every household at once, by village and household number: head, members, status, type, cause. ID numbers, phones and bank accounts are always masked in the file, whoever downloads it.",
  query: HouseholdExportQuery,
  produces: ["csv", "xlsx"],
  roles: READERS,
});
doc({
  method: "post",
  path: "/households",
  tag: TAG,
  summary: "Register a household (建档立卡) with its members",
  description: "ID numbers are checked (GB 11643 check digit and birth date), stored encrypted with a keyed hash for lookup, and shown masked except to the village officer of the household's village.",
  body: HouseholdCreate,
  response: Household,
  status: 201,
  roles: WRITERS,
});
doc({ method: "get", path: "/households/:id", tag: TAG, summary: "A household with members and incomes", params: IdParam, response: Household, roles: READERS });
doc({ method: "patch", path: "/households/:id", tag: TAG, summary: "Update a household's register fields", params: IdParam, body: HouseholdPatch, response: Household, roles: WRITERS });
doc({ method: "get", path: "/households/:id/members", tag: TAG, summary: "Members of a household", params: IdParam, query: ListQuery, response: MemberList, roles: READERS });
doc({ method: "post", path: "/households/:id/members", tag: TAG, summary: "Add a member", params: IdParam, body: MemberCreate, response: Member, status: 201, roles: WRITERS });
doc({
  method: "post",
  path: "/households/:id/status-changes",
  tag: TAG,
  summary: "Record a status change (exit 脱贫, monitor 监测, return, remove 清退) with its approvals",
  description:
    "Exit needs, in order: VILLAGE_PROPOSAL, DEMOCRATIC_REVIEW, HOUSEHOLD_SIGNATURE, PUBLIC_NOTICE (notice_start..notice_end at least 7 days), TOWNSHIP_REVIEW, COUNTY_APPROVAL. Monitoring and removal need the village, township and county steps. REMOVED is final.",
  params: IdParam,
  body: StatusChangeCreate,
  response: StatusChange,
  status: 201,
  roles: WRITERS,
});
doc({ method: "get", path: "/households/:id/status-changes", tag: TAG, summary: "Status history of a household", params: IdParam, query: ListQuery, response: StatusChangeList, roles: READERS });

export function registerRoutes(deps: Deps): Router {
  const { db, clock, pii } = deps;
  const r = Router();

  r.get("/divisions", async (req, res) => {
    res.json(await svc.listDivisions(db, ctxOf(req, clock).actor, parse(DivisionQuery, req.query, "query")));
  });
  r.post(
    "/divisions",
    command(db, async (req, trx) => ({ status: 201, body: await svc.createDivision(trx, ctxOf(req, clock), parse(DivisionCreate, req.body)) })),
  );

  r.get("/households", async (req, res) => {
    res.json(await svc.listHouseholds(db, ctxOf(req, clock), pii, parse(HouseholdQuery, req.query, "query")));
  });
  r.post(
    "/households",
    command(db, async (req, trx) => ({ status: 201, body: await svc.createHousehold(trx, ctxOf(req, clock), pii, parse(HouseholdCreate, req.body)) })),
  );
  r.get("/households/export", async (req, res) => {
    const q = parse(HouseholdExportQuery, req.query, "query");
    await sendTable(res, q.format, `register-${q.village_code ?? q.township_code ?? q.county_code ?? "all"}-${clock.today()}`, await registerBook(db, ctxOf(req, clock), q));
  });
  r.get("/households/:id", async (req, res) => {
    res.json(await svc.getHousehold(db, ctxOf(req, clock), pii, parse(IdParam, req.params, "params").id));
  });
  r.patch(
    "/households/:id",
    command(db, async (req, trx) => ({
      status: 200,
      body: await svc.patchHousehold(trx, ctxOf(req, clock), pii, parse(IdParam, req.params, "params").id, parse(HouseholdPatch, req.body)),
    })),
  );
  r.get("/households/:id/members", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await svc.listMembers(db, ctxOf(req, clock), pii, parse(IdParam, req.params, "params").id), (m) => m.id, q));
  });
  r.post(
    "/households/:id/members",
    command(db, async (req, trx) => ({
      status: 201,
      body: await svc.addMember(trx, ctxOf(req, clock), pii, parse(IdParam, req.params, "params").id, parse(MemberCreate, req.body)),
    })),
  );
  r.post(
    "/households/:id/status-changes",
    command(db, async (req, trx) => ({
      status: 201,
      body: await svc.recordStatusChange(trx, ctxOf(req, clock), parse(IdParam, req.params, "params").id, parse(StatusChangeCreate, req.body)),
    })),
  );
  r.get("/households/:id/status-changes", async (req, res) => {
    const q = parse(ListQuery, req.query, "query");
    res.json(pageList(await svc.listStatusChanges(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id), (c) => String(c.id), q));
  });
  return r;
}
