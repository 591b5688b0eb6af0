import { Router } from "express";
import type { Deps } from "../../deps.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { errorSpec } from "../../http/errors.js";
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
  RegisterImport,
  RegisterImportCreate,
  RegisterImportList,
  RegisterImportQuery,
  StatusChange,
  StatusChangeCreate,
  StatusChangeList,
} from "./schemas.js";
import * as svc from "./service.js";
import { registerBook } from "./exports.js";
import { XLSX_MIME } from "./import-file.js";
import { getRegisterImport, listRegisterImports, registerImportErrors, runRegisterImport } from "./import-service.js";

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

doc({
  method: "post",
  path: "/register-imports",
  tag: TAG,
  summary: "Import the county's register file (建档立卡数据导入): check it (dry run) or apply it",
  description: [
    "The file (CSV in UTF-8 or GB18030, or XLSX; its first sheet) goes base64-encoded in `content_base64`; its columns are those of the national system's export (户编号, 行政村代码, 姓名, 证件号码, 与户主关系, 户类型, 年度, 劳动技能, 健康状况, and optionally 联系电话, 贫困户属性, 主要致贫原因, 在校生状况, 是否享受低保, 是否特困供养 — see the register module's CONTEXT.md and docs/examples/register-import.csv).",
    "Every row is checked as the API checks a household and its members (GB 11643 ID check, one head per household, village registered and in your jurisdiction, ID number once in the file, phone format, the register's word lists). A dry run (`dry_run: true`) answers 201 with every problem (row, column, code, message in Chinese) and changes nothing. Applied (`dry_run: false`), the file is written in one transaction, or — when any row has a problem — not at all: 422 `REGISTER_IMPORT_REJECTED` with the same problem list and `import_id`.",
    "Sending the file again updates people whose data changed, adds new people and households, and never registers anyone twice: the ID number is a person's key (looked up by its keyed hash), the household number (户编号) a household's. A changed household status is recorded as a status change with `source: IMPORT`. Every import is recorded (`GET /register-imports/{id}`), with an audit record, and the rows with problems can be downloaded as a workbook to fix (`errors_xlsx`). No response shows an ID number or phone.",
    "Larger files than `FILE_BODY_LIMIT` (32 MB) go through the command line: `npm run import:register -- FILE --as USERNAME [--dry-run]`.",
  ].join("\n\n"),
  body: RegisterImportCreate,
  response: RegisterImport,
  status: 201,
  roles: WRITERS,
});
doc({ method: "get", path: "/register-imports", tag: TAG, summary: "Register imports, newest first", query: RegisterImportQuery, response: RegisterImportList, roles: WRITERS });
doc({ method: "get", path: "/register-imports/:id", tag: TAG, summary: "A register import with every problem of its rows", params: IdParam, response: RegisterImport, roles: WRITERS });
doc({
  method: "get",
  path: "/register-imports/:id/errors.xlsx",
  operationId: "getRegisterImportErrorsXlsx",
  tag: TAG,
  summary: "The rows of an import that have problems, as a workbook to fix and send back",
  description: `Answers \`${XLSX_MIME}\`: one sheet 错误行 with the file's own header and cells, then 原行号 (the row in the original file) and 错误说明 (the problems); the header row is frozen and each cell with a problem is filled red. ID numbers and phones are whole only for the village officer of the import's village, masked for everyone else.`,
  params: IdParam,
  produces: ["xlsx"],
  roles: WRITERS,
});

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

  r.post(
    "/register-imports",
    command(db, async (req, trx) => {
      const body = parse(RegisterImportCreate, req.body);
      const result = await runRegisterImport(trx, ctxOf(req, clock), pii, {
        fileName: body.file_name,
        content: Buffer.from(body.content_base64, "base64"),
        dryRun: body.dry_run,
        countyCode: body.county_code,
      });
      if (result.status !== "REJECTED") return { status: 201, body: result };
      // Refused, yet recorded: the import and its problem rows are committed, the register is not touched.
      return {
        status: 422,
        headers: { "Content-Type": "application/problem+json" },
        body: {
          type: "https://huinong.example/problems/register-import-rejected",
          title: errorSpec("REGISTER_IMPORT_REJECTED")?.title[req.lang],
          status: 422,
          detail:
            req.lang === "en"
              ? `${result.problem_rows} of ${result.rows} rows have problems; nothing was applied`
              : `共 ${result.rows} 行，有问题的行 ${result.problem_rows} 行，未导入任何数据`,
          code: "REGISTER_IMPORT_REJECTED",
          instance: req.originalUrl,
          errors: (result.problems ?? []).map((p) => ({ path: `row.${p.row}.${p.column}`, message: p.message })),
          import_id: result.id,
          import: result,
        },
      };
    }),
  );
  r.get("/register-imports", async (req, res) => {
    res.json(await listRegisterImports(db, ctxOf(req, clock), parse(RegisterImportQuery, req.query, "query")));
  });
  r.get("/register-imports/:id", async (req, res) => {
    res.json(await getRegisterImport(db, ctxOf(req, clock), parse(IdParam, req.params, "params").id));
  });
  r.get("/register-imports/:id/errors.xlsx", async (req, res) => {
    const { fileName, content } = await registerImportErrors(db, ctxOf(req, clock), pii, parse(IdParam, req.params, "params").id);
    res.type(XLSX_MIME).attachment(fileName).send(content);
  });
  return r;
}
