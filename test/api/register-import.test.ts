import ExcelJS from "exceljs";
import { describe, expect, it } from "vitest";
import { makeIdNumber } from "../../src/lib/id-number.js";
import { maskIdNumber } from "../../src/lib/pii.js";
import { expectProblem } from "../helpers/expect.js";
import { createHousehold } from "../helpers/factories.js";
import { COUNTY, VILLAGE, VILLAGE_2 } from "../helpers/fixture.js";
import { onPostgres, TEST_PII, useTestApp } from "../helpers/harness.js";

const t = useTestApp();
const API = "/api/v1";

const HEADER = ["户编号", "行政村代码", "姓名", "证件号码", "与户主关系", "户类型", "年度", "劳动技能", "健康状况", "联系电话", "贫困户属性", "主要致贫原因"];

/** A file row: household number, village, name, ID number, relation, status and year, then the rest with defaults. */
function row(hh: string, village: string, name: string, id: string, relation: string, status = "贫困户", year = "", extra: Partial<{ labour: string; health: string; phone: string; type: string; cause: string }> = {}): string[] {
  return [hh, village, name, id, relation, status, year, extra.labour ?? "普通劳动力", extra.health ?? "健康", extra.phone ?? "", extra.type ?? "", extra.cause ?? ""];
}
const csv = (rows: string[][], header = HEADER) => [header, ...rows].map((r) => r.map((c) => (/[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",")).join("\n");
/** A valid ID number of a person born on `birth`, the sequence telling people with one birthday apart. */
const id = (birth: string, seq: number) => makeIdNumber(COUNTY, birth, seq);
/** The same number with a wrong check character. */
const badCheck = (good: string) => good.slice(0, 17) + (good[17] === "1" ? "2" : "1");

type Who = Parameters<typeof t.as>[0];
function send(who: Who, content: string | Buffer, dryRun: boolean, fileName = "register.csv") {
  return t.as(who).post(`${API}/register-imports`, { file_name: fileName, content_base64: Buffer.from(content).toString("base64"), dry_run: dryRun });
}

interface Problem {
  row: number;
  column: string;
  code: string;
  message: string;
}
const brief = (ps: Problem[]) => ps.map((p) => ({ row: p.row, column: p.column, code: p.code }));

/** A response must show no ID number or phone of the file whole. */
function expectNothingWhole(body: unknown, secrets: string[]) {
  const text = JSON.stringify(body);
  for (const s of secrets) expect(text.includes(s), `response shows ${maskIdNumber(s)} whole`).toBe(false);
}

async function count(table: string, where: Record<string, unknown> = {}): Promise<number> {
  return Number((await t.db(table).where(where).count<{ n: string }[]>("* as n"))[0].n);
}

async function membersWithHashes(ids: string[]) {
  return t.db("household_members").whereIn("id_number_hash", ids.map((i) => TEST_PII.lookupHash(i))).select("id_number_hash", "household_id", "name", "relation", "health", "id_number_enc");
}

describe("POST /register-imports (dry run)", () => {
  const A = id("1971-01-01", 11);
  const A2 = id("1972-02-02", 12);
  const B1 = id("1973-03-03", 13);
  const B2 = id("1974-04-04", 15);
  const C = id("1975-05-05", 17);
  let existing: { id: string; members: { id: string; id_number: string }[] };
  let importId: string;
  let mixed: string;

  it("lists exactly the problems of a file with good and bad rows, and changes nothing", async () => {
    existing = await createHousehold(t, { as: "village" });
    const registeredHead = existing.members[0].id_number; // the village officer of the village sees it whole
    expect(registeredHead).toMatch(/^\d{17}[\dX]$/);
    mixed = csv([
      row("H-1", VILLAGE, "王一", A, "户主", "脱贫户", "2019", { phone: "13800000001" }), // 2: good
      row("H-1", VILLAGE, "李一", badCheck(A2), "配偶", "脱贫户", "2019"), // 3: bad check character
      row("H-2", VILLAGE, "张二", B1, "户主"), // 4: a head …
      row("H-2", VILLAGE, "张三", B2, "户主"), // 5: … and another in the same household
      row("H-3", "469030100299", "赵四", C, "户主"), // 6: unknown village
      row("H-1", VILLAGE, "王小", A, "之子", "脱贫户", "2019"), // 7: the ID number of row 2 again
      row("H-9", VILLAGE, "王建国", registeredHead, "户主", "贫困户", "", { health: "长期慢性病" }), // 8: already registered: an update
    ]);
    const before = { households: await count("households"), members: await count("household_members"), changes: await count("household_status_changes") };
    const res = await send("village", mixed, true);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "HAS_PROBLEMS", dry_run: true, rows: 7, households: 4, problem_rows: 5, problem_count: 5, outcome: null, file_format: "CSV" });
    expect(brief(res.body.problems)).toEqual([
      { row: 3, column: "证件号码", code: "INVALID_ID_NUMBER" },
      { row: 4, column: "与户主关系", code: "HEAD_COUNT" },
      { row: 5, column: "与户主关系", code: "HEAD_COUNT" },
      { row: 6, column: "行政村代码", code: "UNKNOWN_VILLAGE" },
      { row: 7, column: "证件号码", code: "DUPLICATE_IN_FILE" },
    ]);
    const messages = (res.body.problems as Problem[]).map((p) => p.message);
    expect(messages[0]).toContain("校验码");
    expect(messages[4]).toContain("第2行");
    expect(res.body.errors_xlsx).toBe(`/api/v1/register-imports/${res.body.id}/errors.xlsx`);
    expectNothingWhole(res.body, [A, badCheck(A2), B1, B2, C, registeredHead, "13800000001"]);
    expect({ households: await count("households"), members: await count("household_members"), changes: await count("household_status_changes") }).toEqual(before);
    importId = res.body.id;

    const again = await t.as("village").get(`${API}/register-imports/${importId}`);
    expect(again.status).toBe(200);
    expect(brief(again.body.problems)).toEqual(brief(res.body.problems));
    expect(again.body.status).toBe("HAS_PROBLEMS");
  });

  it("reports a clean file's changes without making them: an already registered person is an update", async () => {
    const registeredHead = existing.members[0].id_number;
    const clean = csv([
      row("H-1", VILLAGE, "王一", A, "户主", "脱贫户", "2019", { phone: "13800000001" }),
      row("H-9", VILLAGE, "王建国", registeredHead, "户主", "贫困户", "", { health: "长期慢性病" }),
    ]);
    const res = await send("village", clean, true);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "CHECKED", problems: [], errors_xlsx: null });
    expect(res.body.outcome).toEqual({ households_added: 1, households_updated: 1, people_added: 1, people_updated: 1, people_unchanged: 0, status_changes: 0 });
    expect(await membersWithHashes([A])).toEqual([]);
    const [m] = await membersWithHashes([registeredHead]);
    expect(m.health).toBe("HEALTHY");
  });

  it("gives the rows with problems as a workbook: the file's columns, the row number and the problems, the header frozen", async () => {
    const res = await t.as("village").get(`${API}/register-imports/${importId}/errors.xlsx`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("spreadsheetml");
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as unknown as Parameters<typeof wb.xlsx.load>[0]);
    const ws = wb.worksheets[0];
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    const header = (ws.getRow(1).values as string[]).slice(1);
    expect(header).toEqual([...HEADER, "原行号", "错误说明"]);
    expect(ws.rowCount).toBe(6); // header and the five rows with problems
    const rowsBack = [2, 3, 4, 5, 6].map((n) => (ws.getRow(n).values as string[]).slice(1));
    expect(rowsBack.map((r) => r[HEADER.length])).toEqual(["3", "4", "5", "6", "7"]);
    expect(rowsBack[0][HEADER.length + 1]).toContain("证件号码：");
    expect(rowsBack[0][HEADER.length + 1]).toContain("校验码");
    expect(rowsBack[3][HEADER.length + 1]).toContain("行政村代码：");
    // The village officer who sent the file gets it back whole, to fix and send again.
    expect(rowsBack[0][3]).toBe(badCheck(A2));
    expect(rowsBack[0].slice(0, HEADER.length)).toEqual(csvRow(mixed, 3));
    const fill = ws.getRow(2).getCell(4).fill as ExcelJS.FillPattern;
    expect(fill.fgColor?.argb).toBe("FFFFC7CE");

    // The county admin sees the same rows with ID numbers masked.
    const admin = await t.as("admin").get(`${API}/register-imports/${importId}/errors.xlsx`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => cb(null, Buffer.concat(chunks)));
    });
    const wb2 = new ExcelJS.Workbook();
    await wb2.xlsx.load(admin.body as unknown as Parameters<typeof wb2.xlsx.load>[0]);
    expect((wb2.worksheets[0].getRow(2).values as string[])[4]).toBe(maskIdNumber(badCheck(A2)));
  });

  it("reads XLSX as well as CSV, and refuses a file without the register's columns", async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet("建档立卡");
    ws.addRow(HEADER);
    ws.addRow(row("X-1", VILLAGE, "黄五", id("1976-06-06", 19), "户主"));
    const res = await send("village", Buffer.from(await wb.xlsx.writeBuffer()), true, "register.xlsx");
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ file_format: "XLSX", status: "CHECKED", rows: 1 });

    // A CSV saved by Excel on a Chinese Windows is GB18030, not UTF-8.
    const gb = await send("village", toGb18030(csv([row("X-2", VILLAGE, "黄六", id("1976-06-07", 21), "户主", "脱贫户", "2020", { health: "长期慢性病" })])), true);
    expect(gb.status, JSON.stringify(gb.body)).toBe(201);
    expect(gb.body).toMatchObject({ file_format: "CSV", status: "CHECKED", rows: 1 });

    // A register file is larger than other bodies (BODY_LIMIT is 1 MB here): 1.5 MB of columns the register does not use are read past.
    const wide = await send("village", csv([[...row("X-3", VILLAGE, "黄七", id("1976-06-08", 23), "户主"), "备".repeat(500_000)]], [...HEADER, "备注"]), true);
    expect(wide.status, JSON.stringify(wide.body)).toBe(201);
    expect(wide.body).toMatchObject({ status: "CHECKED", rows: 1 });

    const noId = await send("village", csv([["X-1", VILLAGE, "黄五"]], ["户编号", "行政村代码", "姓名"]), true);
    expectProblem(noId, 422, "REGISTER_FILE_COLUMNS", "file.header.证件号码");
    expect(noId.body.detail).toMatch(/^表头缺少或重复列：.*证件号码/);
    expect(noId.body.errors).toContainEqual({ path: "file.header.证件号码", message: "缺少列「证件号码」" });
    expect(noId.body.detail_en).toBeUndefined();
    expectProblem(await send("village", "", true), 400, "VALIDATION_FAILED", "body.content_base64");
  });
});

/** Text encoded as GB18030 (two-byte GBK codes, found by decoding every one of them; ASCII as it is). */
function toGb18030(text: string): Buffer {
  const decoder = new TextDecoder("gb18030");
  const codes = new Map<string, number[]>();
  for (let hi = 0x81; hi <= 0xfe; hi++) for (let lo = 0x40; lo <= 0xfe; lo++) if (lo !== 0x7f) codes.set(decoder.decode(Uint8Array.of(hi, lo)), [hi, lo]);
  const bytes: number[] = [];
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) bytes.push(ch.charCodeAt(0));
    else bytes.push(...(codes.get(ch) ?? [0x3f]));
  }
  return Buffer.from(bytes);
}

function csvRow(text: string, rowNo: number): string[] {
  return text.split("\n")[rowNo - 1].split(",");
}

describe("POST /register-imports (apply)", () => {
  const P1 = id("1960-01-10", 21);
  const P2 = id("1962-02-20", 22);
  const P3 = id("1990-03-30", 23);
  const Q1 = id("1958-04-14", 31);
  const Q2 = id("2012-05-15", 32);
  const Q3 = id("2015-06-16", 34);
  const first = () =>
    csv([
      row("4690301002010101", VILLAGE, "黎大", P1, "户主", "脱贫户", "2019", { phone: "13800000011", type: "一般贫困户", cause: "因病" }),
      row("4690301002010101", VILLAGE, "黎二", P2, "配偶", "脱贫户", "2019"),
      row("4690301002010101", VILLAGE, "黎三", P3, "之子", "脱贫户", "2019", { labour: "技能劳动力" }),
      row("4690301002010102", VILLAGE, "符大", Q1, "户主", "监测户", "2024", { phone: "13800000022", type: "低保贫困户", cause: "因残", health: "残疾", labour: "丧失劳动力" }),
      row("4690301002010102", VILLAGE, "符小", Q2, "之孙女", "监测户", "2024", { labour: "无劳动力" }),
    ]);

  it("applies a clean file in one go: households, people encrypted, statuses with their years, an audit record", async () => {
    const res = await send("village", first(), false);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "APPLIED", dry_run: false, problems: [] });
    expect(res.body.outcome).toEqual({ households_added: 2, households_updated: 0, people_added: 5, people_updated: 0, people_unchanged: 0, status_changes: 0 });
    expectNothingWhole(res.body, [P1, P2, P3, Q1, Q2, "13800000011", "13800000022"]);

    const h1 = await t.db("households").where({ household_no: "4690301002010101" }).first();
    expect(h1).toMatchObject({ village_code: VILLAGE, status: "EXITED", household_type: "GENERAL", main_cause: "ILLNESS", phone_masked: "138****0011" });
    expect(String(h1.exit_date instanceof Date ? h1.exit_date.toISOString() : h1.exit_date)).toContain("2019-12-31");
    expect(TEST_PII.decrypt(h1.phone_enc)).toBe("13800000011");
    const h2 = await t.db("households").where({ household_no: "4690301002010102" }).first();
    expect(h2).toMatchObject({ status: "MONITORED", household_type: "DIBAO", main_cause: "DISABILITY" });
    const members = await membersWithHashes([P1, P2, P3, Q1, Q2]);
    expect(members).toHaveLength(5);
    const p1 = members.find((m) => m.id_number_hash === TEST_PII.lookupHash(P1))!;
    expect(p1.id_number_enc).not.toContain(P1);
    expect(TEST_PII.decrypt(p1.id_number_enc)).toBe(P1);

    const view = await t.as("village").get(`${API}/households/${h1.id}`);
    expect(view.body.members.map((m: { relation: string }) => m.relation)).toEqual(["HEAD", "SPOUSE", "CHILD"]);
    const audit = await t.as("admin").get(`${API}/audit-log?entity_id=${res.body.id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(["register_import.apply"]);
    const created = await t.as("admin").get(`${API}/audit-log?entity_id=${h1.id}`);
    expect(created.body.items.map((a: { action: string }) => a.action)).toContain("household.import.create");
  });

  it("re-imports a changed file: the changed phone and person updated, the status change in the history, the new member added, nobody twice", async () => {
    const changed = csv([
      row("4690301002010101", VILLAGE, "黎大", P1, "户主", "监测户", "2025", { phone: "13900000011", type: "一般贫困户", cause: "因病" }),
      row("4690301002010101", VILLAGE, "黎二", P2, "配偶", "监测户", "2025", { health: "患有大病" }),
      row("4690301002010101", VILLAGE, "黎三", P3, "之子", "监测户", "2025", { labour: "技能劳动力" }),
      row("4690301002010102", VILLAGE, "符大", Q1, "户主", "监测户", "2024", { phone: "13800000022", type: "低保贫困户", cause: "因残", health: "残疾", labour: "丧失劳动力" }),
      row("4690301002010102", VILLAGE, "符小", Q2, "之孙女", "监测户", "2024", { labour: "无劳动力" }),
      row("4690301002010102", VILLAGE, "符幺", Q3, "之孙女", "监测户", "2024", { labour: "无劳动力" }),
    ]);
    const res = await send("village", changed, false);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.outcome).toEqual({ households_added: 0, households_updated: 2, people_added: 1, people_updated: 1, people_unchanged: 4, status_changes: 1 });
    expect(await count("households", { household_no: "4690301002010101" })).toBe(1);
    const members = await membersWithHashes([P1, P2, P3, Q1, Q2, Q3]);
    expect(members).toHaveLength(6);
    expect(members.find((m) => m.id_number_hash === TEST_PII.lookupHash(P2))!.health).toBe("SERIOUS");

    const h1 = await t.db("households").where({ household_no: "4690301002010101" }).first();
    expect(h1.status).toBe("MONITORED");
    expect(TEST_PII.decrypt(h1.phone_enc)).toBe("13900000011");
    const view = await t.as("village").get(`${API}/households/${h1.id}`);
    expect(view.body.phone).toBe("13900000011");
    const history = await t.as("village").get(`${API}/households/${h1.id}/status-changes`);
    expect(history.status).toBe(200);
    expect(history.body.items).toHaveLength(1);
    expect(history.body.items[0]).toMatchObject({ from_status: "EXITED", to_status: "MONITORED", effective_date: "2025-06-02", source: "IMPORT", import_id: res.body.id, approvals: [] });
    expect(history.body.items[0].reason).toContain("2025");

    // The same file once more changes nothing.
    const same = await send("village", changed, false);
    expect(same.body.outcome).toEqual({ households_added: 0, households_updated: 0, people_added: 0, people_updated: 0, people_unchanged: 6, status_changes: 0 });
    expect(await count("household_status_changes", { household_id: h1.id })).toBe(1);
    expect(await membersWithHashes([P1, P2, P3, Q1, Q2, Q3])).toHaveLength(6);
  });

  it("applies all or nothing: one bad row and nothing of the file is stored, the import recorded as refused", async () => {
    const R1 = id("1966-07-07", 41);
    const R2 = id("1968-08-08", 42);
    const S1 = id("1969-09-09", 43);
    const file = csv([
      row("4690301002010201", VILLAGE, "陈一", R1, "户主"),
      row("4690301002010201", VILLAGE, "陈二", R2, "配偶"),
      row("4690301002010202", VILLAGE, "吴一", S1, "户主", "贫困户", "", { phone: "1380000" }), // a phone too short
      row("4690301002010101", VILLAGE, "黎大", P1, "户主", "贫困户", "", { phone: "13700000011" }), // a change that must not land
    ]);
    const before = { households: await count("households"), members: await count("household_members"), changes: await count("household_status_changes") };
    const res = await send("village", file, false);
    expectProblem(res, 422, "REGISTER_IMPORT_REJECTED", "row.4.联系电话");
    expect(res.body.import_id).toEqual(expect.any(String));
    expect(brief(res.body.import.problems)).toEqual([{ row: 4, column: "联系电话", code: "INVALID_PHONE" }]);
    expectNothingWhole(res.body, [R1, R2, S1, P1, "1380000", "13700000011"]);
    expect({ households: await count("households"), members: await count("household_members"), changes: await count("household_status_changes") }).toEqual(before);
    expect(await membersWithHashes([R1, R2, S1])).toEqual([]);
    const h1 = await t.db("households").where({ household_no: "4690301002010101" }).first();
    expect(h1.status).toBe("MONITORED");
    expect(TEST_PII.decrypt(h1.phone_enc)).toBe("13900000011");
    const recorded = await t.as("village").get(`${API}/register-imports/${res.body.import_id}`);
    expect(recorded.body).toMatchObject({ status: "REJECTED", dry_run: false, problem_rows: 1, outcome: null });
  });

  it("refuses a file whose people are registered in another household or whose household lost its head", async () => {
    const file = csv([
      row("4690301002010301", VILLAGE, "黎大", P1, "户主", "监测户", "2025"), // registered in 4690301002010101
      row("4690301002010102", VILLAGE, "符小", Q2, "户主", "监测户", "2024"), // 符大 is the head and is not in the file
    ]);
    const res = await send("village", file, true);
    expect(brief(res.body.problems)).toEqual([
      { row: 2, column: "证件号码", code: "REGISTERED_ELSEWHERE" },
      { row: 3, column: "与户主关系", code: "HEAD_CONFLICT" },
    ]);
  });
});

describe("register imports of households already registered", () => {
  it("gives a household registered through the API its national number once; a person listed under another number then is registered elsewhere", async () => {
    const h = await createHousehold(t, { as: "village", members: [{ relation: "HEAD", birth: "1961-11-11" }, { relation: "SPOUSE", birth: "1963-12-12" }] });
    const [head, spouse] = h.members.map((m) => m.id_number);
    const before = await t.db("households").where({ id: h.id }).first();
    expect(before.household_no_source).toBe("PLATFORM");
    const file = csv([row("4690301002019001", VILLAGE, "王建国", head, "户主", "贫困户", "", { health: "患有大病" }), row("4690301002019001", VILLAGE, "李秀兰", spouse, "配偶")]);
    const res = await send("village", file, false);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.outcome).toMatchObject({ households_added: 0, households_updated: 1, people_added: 0, people_updated: 1, people_unchanged: 1 });
    const after = await t.db("households").where({ id: h.id }).first();
    expect(after).toMatchObject({ household_no: "4690301002019001", household_no_source: "NATIONAL", version: before.version + 1 });
    expect(await count("households", { household_no: before.household_no })).toBe(0);

    const moved = await send("village", csv([row("4690301002019002", VILLAGE, "李秀兰", spouse, "户主")]), true);
    expect(brief(moved.body.problems)).toEqual([{ row: 2, column: "证件号码", code: "REGISTERED_ELSEWHERE" }]);
  });

  it("changes a household's head when the former head is in the file with another relation", async () => {
    const F1 = id("1950-01-21", 61);
    const F2 = id("1975-02-22", 63);
    const first = await send("village", csv([row("4690301002019101", VILLAGE, "吴老", F1, "户主"), row("4690301002019101", VILLAGE, "吴中", F2, "之子")]), false);
    expect(first.body.status).toBe("APPLIED");
    const swapped = await send("village", csv([row("4690301002019101", VILLAGE, "吴老", F1, "之父"), row("4690301002019101", VILLAGE, "吴中", F2, "户主")]), false);
    expect(swapped.status, JSON.stringify(swapped.body)).toBe(201);
    expect(swapped.body.outcome).toMatchObject({ people_updated: 2, households_updated: 1 });
    const members = await membersWithHashes([F1, F2]);
    expect(Object.fromEntries(members.map((m) => [m.id_number_hash, m.relation]))).toEqual({ [TEST_PII.lookupHash(F1)]: "PARENT", [TEST_PII.lookupHash(F2)]: "HEAD" });
  });
});

describe.skipIf(!onPostgres)("register imports at the same time (PostgreSQL: PGlite has one connection)", () => {
  it("applies the same new file sent twice at once once: the second finds the first's people", async () => {
    const people = [id("1952-03-01", 71), id("1954-04-02", 73), id("1956-05-03", 75)];
    const file = csv([row("4690301002019201", VILLAGE, "许一", people[0], "户主"), row("4690301002019201", VILLAGE, "许二", people[1], "配偶"), row("4690301002019202", VILLAGE, "许三", people[2], "户主")]);
    const [a, b] = await Promise.all([send("village", file, false), send("admin", file, false)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const outcomes = [a.body.outcome, b.body.outcome].sort((x, y) => y.people_added - x.people_added);
    expect(outcomes).toEqual([
      { households_added: 2, households_updated: 0, people_added: 3, people_updated: 0, people_unchanged: 0, status_changes: 0 },
      { households_added: 0, households_updated: 0, people_added: 0, people_updated: 0, people_unchanged: 3, status_changes: 0 },
    ]);
    expect(await membersWithHashes(people)).toHaveLength(3);
    expect(await count("households", { household_no: "4690301002019201" })).toBe(1);
  });
});

describe("register imports and jurisdiction", () => {
  it("takes from a village officer only rows of their village; the county admin any village of the county", async () => {
    const V = id("1977-07-17", 51);
    const W = id("1978-08-18", 53);
    const file = csv([row("J-1", VILLAGE, "林一", V, "户主"), row("J-2", VILLAGE_2, "林二", W, "户主")]);
    const officer = await send("village2", file, true);
    expect(brief(officer.body.problems)).toEqual([{ row: 2, column: "行政村代码", code: "UNKNOWN_VILLAGE" }]);
    const admin = await send("admin", file, false);
    expect(admin.status, JSON.stringify(admin.body)).toBe(201);
    expect(admin.body).toMatchObject({ status: "APPLIED", village_code: null });
    expect(admin.body.outcome.households_added).toBe(2);

    // Another county's officer: neither village is theirs (and the household numbers are taken).
    const other = await send("otherVillage", file, true);
    expect((other.body.problems as Problem[]).filter((p) => p.code === "UNKNOWN_VILLAGE").map((p) => p.row)).toEqual([2, 3]);

    // Imports are seen inside the jurisdiction only: a village officer sees their village's.
    expect((await t.as("village2").get(`${API}/register-imports/${admin.body.id}`)).status).toBe(404);
    expect((await t.as("otherAdmin").get(`${API}/register-imports/${admin.body.id}`)).status).toBe(404);
    expect((await t.as("admin").get(`${API}/register-imports/${officer.body.id}`)).status).toBe(200);
    expect((await t.as("otherAdmin").get(`${API}/register-imports/${officer.body.id}/errors.xlsx`)).status).toBe(404);
    const mine = await t.as("village2").get(`${API}/register-imports`);
    expect(mine.status).toBe(200);
    expect((mine.body.items as { id: string; village_code: string }[]).map((i) => i.id)).toEqual([officer.body.id]);
    const all = await t.as("admin").get(`${API}/register-imports?limit=2`);
    expect(all.body.items).toHaveLength(2);
    expect(all.body.items[0].problems).toBeUndefined();
    const next = await t.as("admin").get(`${API}/register-imports?limit=2&cursor=${all.body.next_cursor}`);
    const seen = [...all.body.items, ...next.body.items].map((i: { id: string }) => i.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(all.body.items[0].created_at >= all.body.items[1].created_at).toBe(true);
  });

  it("is not for other roles, nor without a token", async () => {
    const file = csv([row("K-1", VILLAGE, "林三", id("1979-09-19", 55), "户主")]);
    expectProblem(await send("officer", file, true), 403, "FORBIDDEN");
    expectProblem(await send("regulator", file, true), 403, "FORBIDDEN");
    expectProblem(await t.as("regulator").get(`${API}/register-imports`), 403, "FORBIDDEN");
    const anonymous = await t.http.post(`${API}/register-imports`).send({ file_name: "a.csv", content_base64: "YQ==", dry_run: true });
    expectProblem(anonymous, 401, "UNAUTHENTICATED");
  });
});

describe("register imports in the OpenAPI document", () => {
  it("documents the upload, the import, the list and the error workbook", async () => {
    const doc = (await t.http.get("/openapi.json")).body;
    expect(doc.paths["/api/v1/register-imports"].post.requestBody.content["application/json"]).toBeDefined();
    expect(doc.components.schemas.RegisterImportCreate.required).toEqual(expect.arrayContaining(["file_name", "content_base64", "dry_run"]));
    expect(doc.paths["/api/v1/register-imports"].get).toBeDefined();
    expect(doc.paths["/api/v1/register-imports/{id}"].get.responses["200"]).toBeDefined();
    expect(doc.paths["/api/v1/register-imports/{id}/errors.xlsx"].get.description).toContain("frozen");
    expect(doc.components.schemas.StatusChange.properties.source.enum).toEqual(["API", "IMPORT"]);
    expect((await t.http.get("/docs/errors")).text).toContain('<tr id="REGISTER_IMPORT_REJECTED">');
  });
});
