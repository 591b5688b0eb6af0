import { ID_NUMBER_PROBLEM_TEXT_ZH, parseIdNumber } from "../../lib/id-number.js";
import type { HEALTH, HOUSEHOLD_TYPES, HouseholdStatus, LABOUR, POVERTY_CAUSES, RELATIONS, SCHOOLING } from "./model.js";
import { HouseholdCreate, MemberCreate } from "./schemas.js";

/**
 * The register file (建档立卡数据导入) as the national system exports it: a header row of Chinese
 * column names, then one row per person. Pure: text in, people and problems out; what needs the
 * database (villages, people already registered) is checked in import-service.ts.
 */

export type ColumnKey =
  | "household_no"
  | "village_code"
  | "name"
  | "id_number"
  | "relation"
  | "status"
  | "status_year"
  | "labour"
  | "health"
  | "phone"
  | "household_type"
  | "main_cause"
  | "schooling"
  | "on_dibao"
  | "on_tekun";

export interface ColumnSpec {
  key: ColumnKey;
  /** The header as the national system's export names it. */
  header: string;
  /** Other names the same column goes by in counties' exports. */
  aliases: string[];
  /** The column must be in the header row. */
  required: boolean;
  /** A household's value, repeated on each of its rows (blank on a member's row means "as the household"). */
  household: boolean;
}

const col = (key: ColumnKey, header: string, required: boolean, household: boolean, aliases: string[] = []): ColumnSpec => ({ key, header, aliases, required, household });

/** The columns, in the order of the example file and of the error workbook. */
export const IMPORT_COLUMNS: readonly ColumnSpec[] = [
  col("household_no", "户编号", true, true, ["户码"]),
  col("village_code", "行政村代码", true, true, ["村代码", "行政区划代码"]),
  col("name", "姓名", true, false),
  col("id_number", "证件号码", true, false, ["身份证号码", "身份证号"]),
  col("relation", "与户主关系", true, false),
  col("status", "户类型", true, true, ["户状态"]),
  col("status_year", "年度", true, true, ["脱贫年度", "识别年度", "标识年度"]),
  col("labour", "劳动技能", true, false),
  col("health", "健康状况", true, false),
  col("phone", "联系电话", false, true, ["手机号码", "电话"]),
  col("household_type", "贫困户属性", false, true),
  col("main_cause", "主要致贫原因", false, true),
  col("schooling", "在校生状况", false, false),
  col("on_dibao", "是否享受低保", false, false),
  col("on_tekun", "是否特困供养", false, false),
];
const SPEC = new Map(IMPORT_COLUMNS.map((c) => [c.key, c]));
export const headerOf = (key: ColumnKey): string => SPEC.get(key)!.header;

// The national system's words → the register's codes.
type Rel = (typeof RELATIONS)[number];
export const RELATION_TEXT: Record<string, Rel> = {
  户主: "HEAD",
  配偶: "SPOUSE",
  之妻: "SPOUSE",
  之夫: "SPOUSE",
  之子: "CHILD",
  之女: "CHILD",
  子女: "CHILD",
  之父: "PARENT",
  之母: "PARENT",
  父母: "PARENT",
  之孙子: "GRANDCHILD",
  之孙女: "GRANDCHILD",
  之外孙子: "GRANDCHILD",
  之外孙女: "GRANDCHILD",
  孙子女: "GRANDCHILD",
  兄弟姐妹: "SIBLING",
  之兄弟姐妹: "SIBLING",
  之儿媳: "OTHER",
  之女婿: "OTHER",
  之公公: "OTHER",
  之婆婆: "OTHER",
  之岳父: "OTHER",
  之岳母: "OTHER",
  其他: "OTHER",
};
export const STATUS_TEXT: Record<string, Exclude<HouseholdStatus, "REMOVED">> = {
  贫困户: "POOR",
  未脱贫户: "POOR",
  脱贫户: "EXITED",
  监测户: "MONITORED",
  脱贫不稳定户: "MONITORED",
  边缘易致贫户: "MONITORED",
  突发严重困难户: "MONITORED",
};
export const LABOUR_TEXT: Record<string, (typeof LABOUR)[number]> = {
  普通劳动力: "ORDINARY",
  技能劳动力: "SKILLED",
  弱劳动力或半劳动力: "WEAK",
  弱劳动力: "WEAK",
  半劳动力: "WEAK",
  丧失劳动力: "NONE",
  无劳动力: "NONE",
};
export const HEALTH_TEXT: Record<string, (typeof HEALTH)[number]> = {
  健康: "HEALTHY",
  长期慢性病: "CHRONIC",
  患有大病: "SERIOUS",
  残疾: "DISABLED",
};
export const HOUSEHOLD_TYPE_TEXT: Record<string, (typeof HOUSEHOLD_TYPES)[number]> = {
  一般贫困户: "GENERAL",
  低保贫困户: "DIBAO",
  特困供养贫困户: "TEKUN",
  特困供养户: "TEKUN",
  边缘户: "MONITORED",
};
export const CAUSE_TEXT: Record<string, (typeof POVERTY_CAUSES)[number]> = {
  因病: "ILLNESS",
  因残: "DISABILITY",
  因学: "SCHOOLING",
  因灾: "DISASTER",
  缺土地: "LACK_OF_LAND",
  缺水: "LACK_OF_WATER",
  缺技术: "LACK_OF_SKILLS",
  缺劳力: "LACK_OF_LABOUR",
  缺资金: "LACK_OF_CAPITAL",
  交通条件落后: "TRANSPORT",
  自身发展动力不足: "LACK_OF_MOTIVATION",
  其他: "OTHER",
};
export const SCHOOLING_TEXT: Record<string, (typeof SCHOOLING)[number]> = {
  非在校生: "NOT_IN_SCHOOL",
  学前教育: "PRESCHOOL",
  小学: "PRIMARY",
  初中: "JUNIOR",
  高中: "SENIOR",
  中职: "VOCATIONAL",
  高职: "COLLEGE",
  大专及以上: "COLLEGE",
  失学辍学: "NONE",
};
const YES_NO: Record<string, boolean> = { 是: true, 否: false };

/** The problems a row can have; each is reported with its row, column and a message in Chinese. */
export const IMPORT_PROBLEM_CODES = {
  REQUIRED: "必填项为空",
  INVALID_VALUE: "取值无法识别或格式不正确",
  INVALID_ID_NUMBER: "证件号码不符合 GB 11643",
  INVALID_PHONE: "联系电话格式不正确",
  INVALID_YEAR: "年度不正确",
  DUPLICATE_IN_FILE: "同一证件号码在文件中出现多次",
  HEAD_COUNT: "一户须有且只有一名户主",
  HOUSEHOLD_MISMATCH: "同一户的户级信息各行不一致",
  UNKNOWN_VILLAGE: "村代码未登记或不在您的辖区",
  REGISTERED_ELSEWHERE: "该人已登记在另一户",
  HOUSEHOLD_NO_TAKEN: "户编号已被另一户使用",
  HEAD_CONFLICT: "该户已登记的户主不在本文件中",
  HOUSEHOLD_REMOVED: "该户已清退，不能再修改",
} as const;
export type ImportProblemCode = keyof typeof IMPORT_PROBLEM_CODES;

export interface RowProblem {
  row: number;
  column: string;
  code: ImportProblemCode;
  message: string;
}

/** One data row of the file: its row number in the sheet (the header is row 1) and its cells as text. */
export interface FileRow {
  rowNo: number;
  cells: string[];
}

/** A person as the file states them, every value mapped to the register's codes. */
export interface PersonRow {
  rowNo: number;
  householdNo: string;
  villageCode: string;
  name: string;
  /** Normalised (upper-case X). */
  idNumber: string;
  sex: "M" | "F";
  birthDate: string;
  relation: Rel;
  status: Exclude<HouseholdStatus, "REMOVED">;
  statusYear: number | null;
  labour: (typeof LABOUR)[number];
  health: (typeof HEALTH)[number];
  phone: string | null;
  householdType: (typeof HOUSEHOLD_TYPES)[number] | null;
  mainCause: (typeof POVERTY_CAUSES)[number] | null;
  /** Undefined: the column is not in the file (an existing member keeps theirs; a new one gets the default). */
  schooling: (typeof SCHOOLING)[number] | undefined;
  onDibao: boolean | undefined;
  onTekun: boolean | undefined;
}

/** The file's household: its rows, and its values taken from the head's row (or its first row). */
export interface FileHousehold {
  householdNo: string;
  villageCode: string;
  status: PersonRow["status"];
  statusYear: number | null;
  phone: string | null;
  householdType: PersonRow["householdType"];
  mainCause: PersonRow["mainCause"];
  people: PersonRow[];
}

export type HeaderMap = Map<ColumnKey, number>;

/** Maps the header row onto the columns; the required ones that are missing are returned by name. */
export function mapHeader(header: string[]): { map: HeaderMap; missing: string[]; duplicated: string[] } {
  const map: HeaderMap = new Map();
  const duplicated: string[] = [];
  header.forEach((raw, i) => {
    const name = raw.replace(/\s+/g, "");
    const spec = IMPORT_COLUMNS.find((c) => c.header === name || c.aliases.includes(name));
    if (!spec) return; // the national export has many more columns; they are not the register's
    if (map.has(spec.key)) duplicated.push(spec.header);
    else map.set(spec.key, i);
  });
  const missing = IMPORT_COLUMNS.filter((c) => c.required && !map.has(c.key)).map((c) => c.header);
  return { map, missing, duplicated };
}

const valuesOf = (table: Record<string, unknown>) => Object.keys(table).join("、");

/** The year of a status: 2014 (the first year of the register) to this year. */
function parseYear(text: string, today: string): number | null | "invalid" {
  if (text === "") return null;
  const m = /^(\d{4})(年|\.0)?$/.exec(text);
  if (!m) return "invalid";
  const y = Number(m[1]);
  return y >= 2014 && y <= Number(today.slice(0, 4)) ? y : "invalid";
}

/**
 * The date a status taken from the file began: the last day of its year (the national system
 * records exits and monitoring by year, decided at the year's end review), or today for this year.
 */
export function statusDateOf(year: number | null, today: string): string {
  if (year === null) return today;
  const end = `${year}-12-31`;
  return end < today ? end : today;
}

/**
 * Reads one row: every cell mapped and checked the way the API checks a member (the same zod
 * schemas, the same GB 11643 check). Returns the person, or null with the row's problems.
 */
export function parseRow(row: FileRow, map: HeaderMap, today: string): { person: PersonRow | null; problems: RowProblem[] } {
  const problems: RowProblem[] = [];
  const at = (key: ColumnKey): string | undefined => {
    const i = map.get(key);
    return i === undefined ? undefined : (row.cells[i] ?? "").trim();
  };
  const problem = (key: ColumnKey, code: ImportProblemCode, message: string) => problems.push({ row: row.rowNo, column: headerOf(key), code, message });
  const required = (key: ColumnKey): string => {
    const v = at(key) ?? "";
    if (v === "") problem(key, "REQUIRED", `「${headerOf(key)}」不能为空`);
    return v;
  };
  function mapped<T>(key: ColumnKey, table: Record<string, T>, need: boolean): T | null | undefined {
    const v = at(key);
    if (v === undefined) return undefined;
    if (v === "") {
      if (need) problem(key, "REQUIRED", `「${headerOf(key)}」不能为空`);
      return null;
    }
    const found = table[v.replace(/\s+/g, "")];
    if (found === undefined) problem(key, "INVALID_VALUE", `「${headerOf(key)}」的值「${v.slice(0, 20)}」无法识别，可填：${valuesOf(table)}`);
    return found ?? null;
  }

  const householdNo = required("household_no");
  if (householdNo !== "" && !/^[0-9A-Za-z-]{1,30}$/.test(householdNo)) problem("household_no", "INVALID_VALUE", "「户编号」应为1至30位数字或字母");
  const villageCode = required("village_code");
  const name = required("name");
  const idText = required("id_number");
  const relation = mapped("relation", RELATION_TEXT, true);
  const status = mapped("status", STATUS_TEXT, true);
  const yearText = at("status_year") ?? "";
  const year = parseYear(yearText, today);
  if (year === "invalid") problem("status_year", "INVALID_YEAR", `「年度」应为2014至${today.slice(0, 4)}之间的四位年份`);
  else if (year === null && (status === "EXITED" || status === "MONITORED")) {
    problem("status_year", "REQUIRED", status === "EXITED" ? "脱贫户须填写脱贫年度" : "监测户须填写纳入监测年度");
  }
  const labour = mapped("labour", LABOUR_TEXT, true);
  const health = mapped("health", HEALTH_TEXT, true);
  const householdType = mapped("household_type", HOUSEHOLD_TYPE_TEXT, false);
  const mainCause = mapped("main_cause", CAUSE_TEXT, false);
  const schooling = mapped("schooling", SCHOOLING_TEXT, false);
  const onDibao = mapped("on_dibao", YES_NO, false);
  const onTekun = mapped("on_tekun", YES_NO, false);
  const phone = at("phone") ?? "";

  // The API's own schemas: a member as POST /households/{id}/members takes it, and the household's
  // village and phone as POST /households takes them.
  const member = MemberCreate.safeParse({
    name,
    id_number: idText || "-",
    relation: relation ?? "OTHER",
    health: health ?? undefined,
    labour_capacity: labour ?? undefined,
    schooling: schooling ?? undefined,
    on_dibao: onDibao ?? undefined,
    on_tekun: onTekun ?? undefined,
  });
  if (!member.success && name !== "") {
    for (const issue of member.error.issues) {
      if (issue.path[0] === "name") problem("name", "INVALID_VALUE", "「姓名」应为1至50个字");
    }
  }
  const household = HouseholdFields.safeParse({ village_code: villageCode || "000000000000", ...(phone ? { phone: phone.replace(/[\s-]/g, "") } : {}) });
  if (!household.success) {
    for (const issue of household.error.issues) {
      if (issue.path[0] === "village_code" && villageCode !== "") problem("village_code", "INVALID_VALUE", "「行政村代码」应为12位数字（GB/T 2260）");
      if (issue.path[0] === "phone") problem("phone", "INVALID_PHONE", "「联系电话」应为11位手机号码或以0开头的固定电话");
    }
  }
  let id: ReturnType<typeof parseIdNumber> | undefined;
  if (idText !== "") {
    id = parseIdNumber(idText);
    if (!id.ok) problem("id_number", "INVALID_ID_NUMBER", ID_NUMBER_PROBLEM_TEXT_ZH[id.problem]);
  }
  if (problems.length > 0 || !id?.ok || !relation || !status || !labour || !health || year === "invalid") return { person: null, problems };
  return {
    person: {
      rowNo: row.rowNo,
      householdNo,
      villageCode,
      name: member.success ? member.data.name : name,
      idNumber: id.info.value,
      sex: id.info.sex,
      birthDate: id.info.birthDate,
      relation,
      status,
      statusYear: year,
      labour,
      health,
      phone: household.success ? (household.data.phone ?? null) : null,
      householdType: householdType ?? null,
      mainCause: mainCause ?? null,
      schooling: schooling === undefined ? undefined : (schooling ?? "NOT_IN_SCHOOL"),
      onDibao: onDibao === undefined ? undefined : (onDibao ?? false),
      onTekun: onTekun === undefined ? undefined : (onTekun ?? false),
    },
    problems,
  };
}

const HouseholdFields = HouseholdCreate.pick({ village_code: true, phone: true });

const HOUSEHOLD_FIELDS: { key: ColumnKey; of: (p: PersonRow) => string | number | null }[] = [
  { key: "village_code", of: (p) => p.villageCode },
  { key: "status", of: (p) => p.status },
  { key: "status_year", of: (p) => p.statusYear },
  { key: "phone", of: (p) => p.phone },
  { key: "household_type", of: (p) => p.householdType },
  { key: "main_cause", of: (p) => p.mainCause },
];

/**
 * Checks what only the whole file shows — an ID number twice, a household with no head or two, a
 * household whose rows disagree on its own fields — and groups the people into households.
 * `problemRows` are the rows already refused; their households are still checked for heads, since
 * a head row with a bad check digit is still the household's head.
 */
export function groupHouseholds(people: PersonRow[], rejected: { rowNo: number; householdNo: string; isHead: boolean }[]): { households: FileHousehold[]; problems: RowProblem[] } {
  const problems: RowProblem[] = [];
  const firstRowOf = new Map<string, number>();
  const unique: PersonRow[] = [];
  for (const p of people) {
    const first = firstRowOf.get(p.idNumber);
    if (first !== undefined) {
      problems.push({ row: p.rowNo, column: headerOf("id_number"), code: "DUPLICATE_IN_FILE", message: `该证件号码与第${first}行重复` });
      continue;
    }
    firstRowOf.set(p.idNumber, p.rowNo);
    unique.push(p);
  }
  const byNo = new Map<string, PersonRow[]>();
  for (const p of unique) {
    const rows = byNo.get(p.householdNo);
    if (rows) rows.push(p);
    else byNo.set(p.householdNo, [p]);
  }
  const rejectedHeads = new Map<string, number>();
  for (const r of rejected) if (r.isHead) rejectedHeads.set(r.householdNo, (rejectedHeads.get(r.householdNo) ?? 0) + 1);
  const households: FileHousehold[] = [];
  for (const [householdNo, rows] of byNo) {
    const heads = rows.filter((p) => p.relation === "HEAD");
    const headCount = heads.length + (rejectedHeads.get(householdNo) ?? 0);
    if (headCount > 1) {
      for (const h of heads) problems.push({ row: h.rowNo, column: headerOf("relation"), code: "HEAD_COUNT", message: `户编号 ${householdNo} 有${headCount}名户主，一户只能有一名` });
    } else if (headCount === 0) {
      problems.push({ row: rows[0].rowNo, column: headerOf("relation"), code: "HEAD_COUNT", message: `户编号 ${householdNo} 没有户主（与户主关系为「户主」的一行）` });
    }
    const lead = heads[0] ?? rows[0];
    // A household's own fields: the head's row states them; another row may leave them blank or repeat them.
    const value = (key: ColumnKey) => {
      const f = HOUSEHOLD_FIELDS.find((x) => x.key === key)!;
      return f.of(lead) ?? rows.map(f.of).find((v) => v !== null) ?? null;
    };
    for (const p of rows) {
      for (const f of HOUSEHOLD_FIELDS) {
        const v = f.of(p);
        const blankAllowed = f.key === "phone" || f.key === "household_type" || f.key === "main_cause";
        if ((v !== null || !blankAllowed) && v !== value(f.key)) {
          problems.push({ row: p.rowNo, column: headerOf(f.key), code: "HOUSEHOLD_MISMATCH", message: `「${headerOf(f.key)}」与本户第${lead.rowNo}行不一致（同一户的户级信息须相同）` });
        }
      }
    }
    households.push({
      householdNo,
      villageCode: lead.villageCode,
      status: lead.status,
      statusYear: value("status_year") as number | null,
      phone: value("phone") as string | null,
      householdType: value("household_type") as FileHousehold["householdType"],
      mainCause: value("main_cause") as FileHousehold["mainCause"],
      people: rows,
    });
  }
  return { households, problems };
}

/** Whether a rejected row claims to be a head (so a household's head count counts it). */
export function rowIsHead(row: FileRow, map: HeaderMap): boolean {
  const i = map.get("relation");
  return i !== undefined && (row.cells[i] ?? "").trim() === "户主";
}

/** A rejected row's household number (to count its head in its household). */
export function rowHouseholdNo(row: FileRow, map: HeaderMap): string {
  const i = map.get("household_no");
  return i === undefined ? "" : (row.cells[i] ?? "").trim();
}
