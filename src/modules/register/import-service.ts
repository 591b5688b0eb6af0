import { createHash, randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { type Actor, inJurisdiction, requireRole } from "../../http/auth.js";
import { AppError, notFound, registerErrorCodes } from "../../http/errors.js";
import { decodeCursor, encodeCursor } from "../../http/pagination.js";
import { type AuditRecord, appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { maskIdNumber, maskPhone, type Pii } from "../../lib/pii.js";
import { type ErrorRow, errorWorkbook, readRegisterFile } from "./import-file.js";
import {
  type FileHousehold,
  groupHouseholds,
  headerOf,
  IMPORT_COLUMNS,
  mapHeader,
  parseRow,
  type PersonRow,
  type RowProblem,
  rowHouseholdNo,
  rowIsHead,
  statusDateOf,
} from "./import-model.js";
import {
  type HouseholdUpdate,
  householdsByIdOrNo,
  type ImportedStatusChange,
  type ImportHouseholdRow,
  type ImportRecord,
  insertHouseholds,
  insertImport,
  insertMembers,
  insertProblemRows,
  insertStatusChanges,
  type MemberUpdate,
  membersByHash,
  type NewHousehold,
  type NewMember,
  type RegisteredMember,
  touchHouseholds,
  updateHouseholds,
  updateMembers,
  villagesAmong,
} from "./import-queries.js";
import { lockCounty } from "./queries.js";
import type { RegisterImportQuery } from "./schemas.js";
import type { z } from "zod";

/**
 * Register import (建档立卡数据导入): a county's register file checked row by row as the API checks
 * a household, then — unless it is a dry run or any row has a problem — applied in one transaction:
 * new households and people added, changed ones updated, status changes recorded as history. The
 * ID number is the key of a person (looked up by its keyed hash), the household number the key of a
 * household. Every step over the rows is set-based (see import-queries.ts).
 */
type Db = Knex | Knex.Transaction;

registerErrorCodes({
  REGISTER_FILE_UNREADABLE: {
    status: 422,
    title: { zh: "建档立卡文件无法读取", en: "Register file unreadable" },
    description: { zh: "文件既不是可读的 CSV（UTF-8 或 GB18030），也不是 XLSX 工作簿，或为空。", en: "The register file is neither a readable CSV (UTF-8 or GB18030) nor an XLSX workbook, or it is empty." },
  },
  REGISTER_FILE_COLUMNS: {
    status: 422,
    title: { zh: "建档立卡文件列有误", en: "Register file columns" },
    description: { zh: "文件表头缺少必需的列或有重复的列；`errors` 逐一列出。", en: "The register file's header row lacks a required column or names one twice; `errors` names each." },
  },
  REGISTER_IMPORT_REJECTED: {
    status: 422,
    title: { zh: "建档立卡导入被拒绝", en: "Register import refused" },
    description: { zh: "文件中有行存在问题，因此未导入任何数据；响应列出每个问题（行、列、代码、说明）以及错误工作簿的位置。", en: "A row of the register file has a problem, so nothing was applied; the body lists every problem (row, column, code, message) and where the error workbook is." },
  },
});
const IMPORTERS = ["village_officer", "admin"] as const;

export interface ImportInput {
  fileName: string;
  content: Buffer;
  dryRun: boolean;
  /** For an admin of several counties: which county the file is; otherwise the actor's one county. */
  countyCode?: string;
  /** Rows done out of the total, as the work goes (the command line's progress bar). */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportOutcome {
  households_added: number;
  households_updated: number;
  people_added: number;
  people_updated: number;
  people_unchanged: number;
  status_changes: number;
}

export type ImportStatus = "CHECKED" | "HAS_PROBLEMS" | "REJECTED" | "APPLIED";

function countyOf(actor: Actor, asked: string | undefined): string {
  if (actor.role === "village_officer") {
    const county = (actor.villageCode ?? "").slice(0, 6);
    if (asked && asked !== county) throw notFound("county");
    return county;
  }
  if (asked) {
    if (!actor.countyCodes.includes(asked)) throw notFound("county");
    return asked;
  }
  if (actor.countyCodes.length !== 1) {
    throw new AppError("VALIDATION_FAILED", { zh: "您管辖多个县：请用 county_code 指明文件属于哪个县", en: "You administer several counties: say which county the file is (county_code)" }, [
      { path: "body.county_code", message: { zh: "必填", en: "required" } },
    ]);
  }
  return actor.countyCodes[0];
}

interface Plan {
  outcome: ImportOutcome;
  newHouseholds: NewHousehold[];
  householdUpdates: HouseholdUpdate[];
  statusChanges: ImportedStatusChange[];
  newMembers: (NewMember & { rowNo: number })[];
  memberUpdates: MemberUpdate[];
  /** Members who were the head and no longer are (written before the new head). */
  steppingDown: Set<string>;
  touched: string[];
  audit: AuditRecord[];
}

interface Resolved {
  file: FileHousehold;
  target: ImportHouseholdRow | undefined;
}

/** What the database says about the file's people and households; the problems only it can show. */
async function resolve(
  db: Db,
  actor: Actor,
  county: string,
  households: FileHousehold[],
  hashOf: Map<string, string>,
  lock: boolean,
): Promise<{ resolved: Resolved[]; registered: Map<string, RegisteredMember>; problems: RowProblem[] }> {
  const problems: RowProblem[] = [];
  const people = households.flatMap((h) => h.people);
  const villages = await villagesAmong(db, [...new Set(people.map((p) => p.villageCode))]);
  const registered = await membersByHash(db, people.map((p) => hashOf.get(p.idNumber)!));
  const found = await householdsByIdOrNo(db, [...new Set([...registered.values()].map((m) => m.household_id))], households.map((h) => h.householdNo), lock);
  const byId = new Map(found.map((h) => [h.id, h]));
  const byNo = new Map(found.map((h) => [h.household_no, h]));
  const ours = (h: ImportHouseholdRow) => h.county_code === county && inJurisdiction(actor, h.county_code, h.village_code);
  const resolved: Resolved[] = [];
  const claimed = new Set<string>();
  for (const file of households) {
    const push = (p: PersonRow, key: Parameters<typeof headerOf>[0], code: RowProblem["code"], message: string) =>
      problems.push({ row: p.rowNo, column: headerOf(key), code, message });
    for (const p of file.people) {
      if (villages.get(p.villageCode) !== county || !inJurisdiction(actor, county, p.villageCode)) {
        push(p, "village_code", "UNKNOWN_VILLAGE", `村代码 ${p.villageCode} 未登记，或不在${actor.role === "village_officer" ? "您所在的村" : "本县"}`);
      }
    }
    const members = file.people.map((p) => ({ p, m: registered.get(hashOf.get(p.idNumber)!) }));
    const first = members.find((x) => x.m && x.p.relation === "HEAD") ?? members.find((x) => x.m);
    let target = byNo.get(file.householdNo);
    if (target && (!ours(target) || target.village_code !== file.villageCode || claimed.has(target.id))) {
      for (const p of file.people) push(p, "household_no", "HOUSEHOLD_NO_TAKEN", `户编号 ${file.householdNo} 已被另一村或辖区外的户使用`);
      resolved.push({ file, target: undefined });
      continue;
    }
    if (!target && first?.m) {
      // Found through its people: a household the platform numbered takes the file's number (once);
      // one that already has a national number is another household, and its people are registered elsewhere.
      const home = byId.get(first.m.household_id);
      if (home && home.household_no_source === "PLATFORM" && !claimed.has(home.id)) target = home;
    }
    if (target) claimed.add(target.id);
    for (const { p, m } of members) {
      if (!m) continue;
      const home = byId.get(m.household_id);
      if (!target || m.household_id !== target.id || !home || !ours(home) || home.village_code !== file.villageCode) {
        push(p, "id_number", "REGISTERED_ELSEWHERE", "该证件号码已登记在另一户（或另一村、辖区外），一人只能登记在一户");
      }
    }
    if (target && !ours(target)) target = undefined; // already reported on its people's rows
    if (target?.status === "REMOVED") {
      for (const p of file.people) push(p, "status", "HOUSEHOLD_REMOVED", "该户已清退，清退为最终状态，导入不能修改");
    }
    if (target && target.head_hash) {
      const fileHashes = new Set(file.people.map((p) => hashOf.get(p.idNumber)));
      const head = file.people.find((p) => p.relation === "HEAD");
      if (head && hashOf.get(head.idNumber) !== target.head_hash && !fileHashes.has(target.head_hash)) {
        push(head, "relation", "HEAD_CONFLICT", "该户已登记的户主不在本文件中：请在文件中列出原户主（改为其他关系），或先办理户主变更");
      }
    }
    if (target && file.mainCause && target.secondary_causes.includes(file.mainCause) && file.mainCause !== target.main_cause) {
      for (const p of file.people) {
        if (p.mainCause) push(p, "main_cause", "INVALID_VALUE", "主要致贫原因与该户已登记的次要致贫原因重复");
      }
    }
    resolved.push({ file, target });
  }
  return { resolved, registered, problems };
}

/** The changes the file makes, as rows to write (nothing is written here). */
function planChanges(ctx: Ctx, pii: Pii, county: string, importId: string, resolved: Resolved[], registered: Map<string, RegisteredMember>, hashOf: Map<string, string>): Plan {
  const today = ctx.clock.today();
  const plan: Plan = {
    outcome: { households_added: 0, households_updated: 0, people_added: 0, people_updated: 0, people_unchanged: 0, status_changes: 0 },
    newHouseholds: [],
    householdUpdates: [],
    statusChanges: [],
    newMembers: [],
    memberUpdates: [],
    steppingDown: new Set(),
    touched: [],
    audit: [],
  };
  for (const { file, target } of resolved) {
    const householdId = target?.id ?? randomUUID();
    const since = statusDateOf(file.statusYear, today);
    const added: { name: string; id_number: string; relation: string }[] = [];
    const updated: { id: string; name: string; id_number: string; changed: string[] }[] = [];
    for (const p of file.people) {
      const hash = hashOf.get(p.idNumber)!;
      const m = registered.get(hash);
      if (!m) {
        plan.newMembers.push({
          rowNo: p.rowNo,
          household_id: householdId,
          county_code: county,
          name: p.name,
          id_number_hash: hash,
          id_number_enc: "",
          id_number_masked: maskIdNumber(p.idNumber),
          relation: p.relation,
          sex: p.sex,
          birth_date: p.birthDate,
          health: p.health,
          labour_capacity: p.labour,
          schooling: p.schooling ?? "NOT_IN_SCHOOL",
          on_dibao: p.onDibao ?? false,
          on_tekun: p.onTekun ?? false,
        });
        added.push({ name: p.name, id_number: maskIdNumber(p.idNumber), relation: p.relation });
        continue;
      }
      const next: MemberUpdate = {
        id: m.id,
        name: p.name,
        relation: p.relation,
        health: p.health,
        labour_capacity: p.labour,
        schooling: p.schooling ?? m.schooling,
        on_dibao: p.onDibao ?? m.on_dibao,
        on_tekun: p.onTekun ?? m.on_tekun,
      };
      const changed = (["name", "relation", "health", "labour_capacity", "schooling", "on_dibao", "on_tekun"] as const).filter((k) => next[k] !== m[k]);
      if (changed.length === 0) {
        plan.outcome.people_unchanged++;
        continue;
      }
      plan.memberUpdates.push(next);
      if (m.relation === "HEAD" && p.relation !== "HEAD") plan.steppingDown.add(m.id);
      plan.outcome.people_updated++;
      updated.push({ id: m.id, name: p.name, id_number: m.id_number_masked, changed });
    }
    plan.outcome.people_added += added.length;
    if (!target) {
      const h: NewHousehold = {
        id: householdId,
        county_code: county,
        village_code: file.villageCode,
        household_no: file.householdNo,
        household_type: file.householdType ?? (file.status === "MONITORED" ? "MONITORED" : "GENERAL"),
        status: file.status,
        status_since: since,
        exit_date: file.status === "EXITED" ? since : null,
        main_cause: file.mainCause ?? "OTHER",
        phone_enc: null,
        phone_masked: file.phone ? maskPhone(file.phone) : null,
      };
      plan.newHouseholds.push(h);
      plan.outcome.households_added++;
      plan.audit.push({
        action: "household.import.create",
        entityType: "household",
        entityId: householdId,
        countyCode: county,
        after: { import_id: importId, ...h, phone_enc: undefined, members: added },
      });
      continue;
    }
    // An existing household: its own fields, then its status.
    const phoneNow = target.phone_enc ? pii.decrypt(target.phone_enc) : null;
    const next: HouseholdUpdate = {
      id: target.id,
      household_no: file.householdNo,
      household_type: file.householdType ?? target.household_type,
      main_cause: file.mainCause ?? target.main_cause,
      phone_enc: target.phone_enc,
      phone_masked: target.phone_masked,
      status: target.status,
      status_since: target.status_since,
      exit_date: target.exit_date,
    };
    const changed: string[] = [];
    if (target.household_no !== file.householdNo || target.household_no_source !== "NATIONAL") changed.push("household_no");
    if (next.household_type !== target.household_type) changed.push("household_type");
    if (next.main_cause !== target.main_cause) changed.push("main_cause");
    if (file.phone && file.phone !== phoneNow) {
      next.phone_enc = "";
      next.phone_masked = maskPhone(file.phone);
      changed.push("phone");
    }
    if (file.status !== target.status) {
      // The status began in the year the file states, but not before the status it replaces began.
      const effective = since < target.status_since ? target.status_since : since;
      next.status = file.status;
      next.status_since = effective;
      if (file.status === "EXITED") next.exit_date = effective;
      if (file.status === "POOR") next.exit_date = null;
      plan.statusChanges.push({
        household_id: target.id,
        county_code: county,
        from_status: target.status,
        to_status: file.status,
        effective_date: effective,
        reason: `建档立卡数据导入（全国系统导出，${file.statusYear ?? "未填"}年度）`,
      });
      plan.outcome.status_changes++;
      changed.push("status");
    }
    if (changed.length > 0) plan.householdUpdates.push(next);
    else if (added.length > 0 || updated.length > 0) plan.touched.push(target.id);
    if (changed.length > 0 || added.length > 0 || updated.length > 0) {
      plan.outcome.households_updated++;
      const pick = (h: HouseholdUpdate | ImportHouseholdRow) => Object.fromEntries(changed.map((k) => [k === "phone" ? "phone_masked" : k, (h as unknown as Record<string, unknown>)[k === "phone" ? "phone_masked" : k]]));
      plan.audit.push({
        action: "household.import.update",
        entityType: "household",
        entityId: target.id,
        countyCode: county,
        before: { ...pick(target), ...(changed.includes("status") ? { status_since: target.status_since, exit_date: target.exit_date } : {}) },
        after: {
          import_id: importId,
          ...pick(next),
          ...(changed.includes("status") ? { status_since: next.status_since, exit_date: next.exit_date } : {}),
          ...(added.length ? { members_added: added } : {}),
          ...(updated.length ? { members_updated: updated } : {}),
        },
      });
    }
  }
  return plan;
}

/** Encrypts what is written encrypted (CPU work in Node, row by row) and writes the plan set-based. */
async function applyPlan(trx: Knex.Transaction, ctx: Ctx, pii: Pii, importId: string, plan: Plan, file: Map<number, PersonRow>, phones: Map<string, string>, tick: (n: number) => void) {
  const now = ctx.clock.now();
  for (const h of plan.newHouseholds) {
    const phone = phones.get(h.household_no);
    if (phone) h.phone_enc = pii.encrypt(phone);
  }
  for (const u of plan.householdUpdates) {
    if (u.phone_enc === "") u.phone_enc = pii.encrypt(phones.get(`#${u.id}`)!);
  }
  await insertHouseholds(trx, plan.newHouseholds, now);
  await updateHouseholds(trx, plan.householdUpdates, now);
  await touchHouseholds(trx, plan.touched, now);
  await insertStatusChanges(trx, plan.statusChanges, importId, ctx.actor.userId, now);
  // The next slice is encrypted while the database writes the one before.
  const batch = 5000;
  const encrypted = (i: number) => plan.newMembers.slice(i, i + batch).map(({ rowNo, ...m }) => ({ ...m, id_number_enc: pii.encrypt(file.get(rowNo)!.idNumber) }));
  let writing: Promise<void> = Promise.resolve();
  for (let i = 0; i < plan.newMembers.length; i += batch) {
    const slice = encrypted(i);
    await writing;
    writing = insertMembers(trx, slice, now).then(() => tick(slice.length));
  }
  await writing;
  await updateMembers(trx, plan.memberUpdates, (id) => plan.steppingDown.has(id));
}

export interface ImportResultView {
  id: string;
  county_code: string;
  village_code: string | null;
  file_name: string;
  file_format: string;
  dry_run: boolean;
  status: ImportStatus;
  rows: number;
  households: number;
  problem_rows: number;
  problem_count: number;
  outcome: ImportOutcome | null;
  created_by: string;
  created_at: string;
  errors_xlsx: string | null;
  problems?: { row: number; column: string; code: string; message: string }[];
}

function importView(r: ImportRecord, problems?: RowProblem[]): ImportResultView {
  return {
    id: r.id,
    county_code: r.county_code,
    village_code: r.village_code,
    file_name: r.file_name,
    file_format: r.file_format,
    dry_run: r.dry_run,
    status: r.status as ImportStatus,
    rows: r.rows,
    households: r.households,
    problem_rows: r.problem_rows,
    problem_count: r.problems,
    outcome: (r.outcome as unknown as ImportOutcome | null) ?? null,
    created_by: r.actor_id,
    created_at: new Date(r.created_at).toISOString(),
    errors_xlsx: r.problem_rows > 0 ? `/api/v1/register-imports/${r.id}/errors.xlsx` : null,
    ...(problems ? { problems: problems.map((p) => ({ row: p.row, column: p.column, code: p.code, message: p.message })) } : {}),
  };
}

const columnOrder = new Map(IMPORT_COLUMNS.map((c, i) => [c.header, i]));
const byRowThenColumn = (a: RowProblem, b: RowProblem) => a.row - b.row || (columnOrder.get(a.column) ?? 99) - (columnOrder.get(b.column) ?? 99);

/**
 * Checks a register file and, unless it is a dry run or a row has a problem, applies it — all in
 * the caller's transaction. The import is recorded either way (status CHECKED, HAS_PROBLEMS,
 * REJECTED or APPLIED), with the rows that had problems kept (encrypted) for the error workbook.
 */
export async function runRegisterImport(trx: Knex.Transaction, ctx: Ctx, pii: Pii, input: ImportInput): Promise<ImportResultView> {
  requireRole(ctx.actor, ...IMPORTERS);
  const county = countyOf(ctx.actor, input.countyCode);
  const today = ctx.clock.today();
  const { format, header, rows } = await readRegisterFile(input.content);
  const { map, missing, duplicated } = mapHeader(header);
  if (missing.length > 0 || duplicated.length > 0) {
    const columns = [...missing, ...duplicated];
    throw new AppError("REGISTER_FILE_COLUMNS", { zh: `表头缺少或重复列：${columns.join("、")}`, en: `The header row lacks or repeats columns: ${columns.join(", ")}` }, [
      ...missing.map((c) => ({ path: `file.header.${c}`, message: { zh: `缺少列「${c}」`, en: `missing column "${c}"` } })),
      ...duplicated.map((c) => ({ path: `file.header.${c}`, message: { zh: `列「${c}」出现多次`, en: `column "${c}" appears more than once` } })),
    ]);
  }
  const total = rows.length * 2;
  let done = 0;
  const tick = (n: number) => {
    done += n;
    input.onProgress?.(Math.min(done, total), total);
  };

  // 1. Each row on its own.
  const problems: RowProblem[] = [];
  const people: PersonRow[] = [];
  const rejected: { rowNo: number; householdNo: string; isHead: boolean }[] = [];
  const hashOf = new Map<string, string>();
  for (let i = 0; i < rows.length; i++) {
    const r = parseRow(rows[i], map, today);
    problems.push(...r.problems);
    if (r.person) {
      people.push(r.person);
      if (!hashOf.has(r.person.idNumber)) hashOf.set(r.person.idNumber, pii.lookupHash(r.person.idNumber));
    } else rejected.push({ rowNo: rows[i].rowNo, householdNo: rowHouseholdNo(rows[i], map), isHead: rowIsHead(rows[i], map) });
    if (i % 5000 === 4999) tick(5000);
  }
  tick(rows.length % 5000);

  // 2. The file as a whole, then 3. against the register. Imports applied to one county run one
  // after the other (the county's division row locked until commit), so two sending the same new
  // people at once do not both try to add them: the second finds the first's.
  if (!input.dryRun) await lockCounty(trx, county);
  const grouped = groupHouseholds(people, rejected);
  problems.push(...grouped.problems);
  const { resolved, registered, problems: dbProblems } = await resolve(trx, ctx.actor, county, grouped.households, hashOf, !input.dryRun);
  problems.push(...dbProblems);
  problems.sort(byRowThenColumn);

  const importId = randomUUID();
  const problemRowNos = new Set(problems.map((p) => p.row));
  const householdNos = new Set([...people.map((p) => p.householdNo), ...rejected.map((r) => r.householdNo).filter(Boolean)]);
  const status: ImportStatus = problems.length > 0 ? (input.dryRun ? "HAS_PROBLEMS" : "REJECTED") : input.dryRun ? "CHECKED" : "APPLIED";
  const plan = problems.length === 0 ? planChanges(ctx, pii, county, importId, resolved, registered, hashOf) : undefined;
  const record: Omit<ImportRecord, "created_at"> = {
    id: importId,
    county_code: county,
    village_code: ctx.actor.role === "village_officer" ? ctx.actor.villageCode : null,
    actor_id: ctx.actor.userId,
    actor_role: ctx.actor.role,
    file_name: input.fileName,
    file_format: format,
    file_sha256: createHash("sha256").update(input.content).digest("hex"),
    dry_run: input.dryRun,
    status,
    header,
    rows: rows.length,
    households: householdNos.size,
    problem_rows: problemRowNos.size,
    problems: problems.length,
    outcome: plan ? { ...plan.outcome } : null,
  };
  await insertImport(trx, record, ctx.clock.now());
  if (problems.length > 0) {
    const byRow = new Map<number, RowProblem[]>();
    for (const p of problems) {
      const list = byRow.get(p.row);
      if (list) list.push(p);
      else byRow.set(p.row, [p]);
    }
    await insertProblemRows(
      trx,
      importId,
      county,
      rows
        .filter((r) => byRow.has(r.rowNo))
        .map((r) => ({ row_no: r.rowNo, cells_enc: pii.encrypt(JSON.stringify(r.cells)), problems: byRow.get(r.rowNo)!.map(({ column, code, message }) => ({ column, code, message })) })),
    );
  }
  if (plan && !input.dryRun) {
    const byRowNo = new Map(people.map((p) => [p.rowNo, p]));
    const phones = new Map<string, string>();
    for (const { file, target } of resolved) if (file.phone) phones.set(target ? `#${target.id}` : file.householdNo, file.phone);
    await applyPlan(trx, ctx, pii, importId, plan, byRowNo, phones, tick);
  }
  await appendAudit(trx, ctx, [
    ...(plan && !input.dryRun ? plan.audit : []),
    {
      action: input.dryRun ? "register_import.check" : problems.length > 0 ? "register_import.reject" : "register_import.apply",
      entityType: "register_import",
      entityId: importId,
      countyCode: county,
      after: { ...record, header: undefined },
    },
  ]);
  input.onProgress?.(total, total);
  return importView({ ...record, created_at: ctx.clock.now() }, problems);
}

// ---------- reading imports ----------

function importScope(q: Knex.QueryBuilder, actor: Actor): Knex.QueryBuilder {
  q.whereIn("county_code", actor.countyCodes);
  if (actor.role === "village_officer") q.andWhere("village_code", actor.villageCode ?? "");
  return q;
}

async function findImport(db: Db, actor: Actor, id: string): Promise<ImportRecord> {
  requireRole(actor, ...IMPORTERS);
  const r = await importScope(db("register_imports").where({ id }), actor).first<ImportRecord | undefined>();
  if (!r) throw notFound("register import");
  return r;
}

interface StoredProblemRow {
  row_no: number;
  cells_enc: string;
  problems: { column: string; code: RowProblem["code"]; message: string }[];
}

export async function getRegisterImport(db: Db, ctx: Ctx, id: string): Promise<ImportResultView> {
  const r = await findImport(db, ctx.actor, id);
  const stored = await db("register_import_problem_rows").where({ import_id: id }).orderBy("row_no").select<Omit<StoredProblemRow, "cells_enc">[]>("row_no", "problems");
  return importView(r, stored.flatMap((s) => s.problems.map((p) => ({ row: s.row_no, ...p }))));
}

export async function listRegisterImports(db: Db, ctx: Ctx, q: z.infer<typeof RegisterImportQuery>) {
  requireRole(ctx.actor, ...IMPORTERS);
  const query = importScope(db("register_imports"), ctx.actor).select("*");
  if (q.status) query.andWhere("status", q.status);
  // Newest first: the cursor is the last (created_at, id) of the previous page.
  const after = decodeCursor(q.cursor);
  if (after !== undefined) {
    const [at, lastId] = after.split("|");
    if (!lastId || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(lastId)) {
      throw new AppError("VALIDATION_FAILED", { zh: "游标无效", en: "Bad cursor" }, [{ path: "query.cursor", message: { zh: "不是本列表返回的游标", en: "not a cursor from this list" } }]);
    }
    query.andWhereRaw("(created_at, id) < (?::timestamptz, ?::uuid)", [at, lastId]);
  }
  const rows = (await query.orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }]).limit(q.limit + 1)) as ImportRecord[];
  const kept = rows.slice(0, q.limit);
  const last = kept[kept.length - 1];
  return {
    items: kept.map((r) => importView(r)),
    next_cursor: rows.length > q.limit ? encodeCursor(`${new Date(last.created_at).toISOString()}|${last.id}`) : null,
  };
}

/**
 * The rows with problems as a workbook to fix and send back. ID numbers and phones are whole only
 * for the village officer of the import's village (who sent them); everyone else gets them masked.
 */
export async function registerImportErrors(db: Db, ctx: Ctx, pii: Pii, id: string): Promise<{ fileName: string; content: Buffer }> {
  const r = await findImport(db, ctx.actor, id);
  const whole = ctx.actor.role === "village_officer" && r.village_code !== null && ctx.actor.villageCode === r.village_code;
  const { map } = mapHeader(r.header);
  const idAt = map.get("id_number");
  const phoneAt = map.get("phone");
  const stored = await db("register_import_problem_rows").where({ import_id: id }).orderBy("row_no").select<StoredProblemRow[]>("row_no", "cells_enc", "problems");
  const byHeader = new Map(IMPORT_COLUMNS.map((c) => [c.header, map.get(c.key)]));
  const rows: ErrorRow[] = stored.map((s) => {
    const cells = JSON.parse(pii.decrypt(s.cells_enc)) as string[];
    if (!whole) {
      if (idAt !== undefined && cells[idAt]) cells[idAt] = maskIdNumber(cells[idAt].trim());
      if (phoneAt !== undefined && cells[phoneAt]) cells[phoneAt] = maskPhone(cells[phoneAt].trim());
    }
    return { rowNo: s.row_no, cells, problems: s.problems.map((p) => ({ column: p.column, message: p.message, index: byHeader.get(p.column) })) };
  });
  const base = r.file_name.replace(/\.(csv|xlsx)$/i, "");
  return { fileName: `${base}-错误行.xlsx`, content: await errorWorkbook(r.header, rows) };
}
