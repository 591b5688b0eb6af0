import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import ExcelJS from "exceljs";
import { demoVillages, rng, seedDemoReference } from "../../db/seeds/demo.js";
import { migrateLatest } from "../../src/db/knex.js";
import { systemClock } from "../../src/lib/clock.js";
import { makeIdNumber } from "../../src/lib/id-number.js";
import { Pii } from "../../src/lib/pii.js";
import { readRegisterFile } from "../../src/modules/register/import-file.js";
import { IMPORT_COLUMNS } from "../../src/modules/register/import-model.js";
import { args, out, progressBar } from "../cli.js";
import { actAs, importRegisterFile } from "../register-import-run.js";
import { scratchDb } from "./database.js";

/**
 * `DATABASE_URL=postgres://root@127.0.0.1:5432/root npx tsx scripts/bench/register-import.ts [--people N] [--csv] [--keep]`:
 * writes a register file of N people (default 100,000; valid GB 11643 numbers, ~4 people a household
 * across the demo county's 41 villages) as XLSX (or CSV), imports it into a scratch database
 * `huinong_bench_register_import` through the command's own path (`importRegisterFile`, as the
 * demo county admin), imports it a second time (nothing changes), and prints rows per second next
 * to a floor measured in the same run: a bare `INSERT … SELECT` of as many households and members
 * into copies of the two tables (same columns, constraints and indexes). Without DATABASE_URL it
 * runs on PGlite in memory.
 */
const SCRATCH = "huinong_bench_register_import";
const a = args();
const people = Number(a.get("people") ?? 100_000);
const asCsv = a.get("csv") === "true";
if (!Number.isInteger(people) || people < 1) {
  process.stderr.write("usage: npx tsx scripts/bench/register-import.ts [--people N] [--csv] [--keep]\n");
  process.exit(2);
}

const COUNTY = "469030";
const RELATIONS_AFTER_HEAD = ["配偶", "之子", "之女", "之父", "之母", "之孙子", "之孙女"];
const STATUSES: [string, string][] = [["脱贫户", "2019"], ["脱贫户", "2020"], ["监测户", "2023"], ["贫困户", ""]];
const LABOUR = ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力"];
const HEALTH = ["健康", "健康", "健康", "长期慢性病", "患有大病", "残疾"];
const NAMES = ["王", "李", "张", "刘", "陈", "符", "黎", "王", "吴", "林"];

/** The file's rows: person i is born on day (i mod 36,500) from 1925 with sequence i div 36,500, so every number is distinct. */
function* registerRows(n: number): Generator<string[]> {
  const rand = rng(469030);
  const villages = demoVillages().map(([code]) => code);
  const base = Date.UTC(1925, 0, 1);
  let i = 0;
  let household = 0;
  while (i < n) {
    household++;
    const size = Math.min(n - i, 1 + Math.floor(rand() * 7)); // 1-7, about 4 on average
    const village = villages[household % villages.length];
    const householdNo = `${village}${String(household).padStart(6, "0")}`;
    const [status, year] = STATUSES[household % STATUSES.length];
    const phone = `138${String(household).padStart(8, "0")}`;
    for (let k = 0; k < size; k++, i++) {
      const birth = new Date(base + (i % 36_500) * 86_400_000).toISOString().slice(0, 10);
      const id = makeIdNumber(COUNTY, birth, Math.floor(i / 36_500));
      yield [
        householdNo,
        village,
        `${NAMES[i % NAMES.length]}${"一二三四五六七八九十"[k]}${household % 100}`,
        id,
        k === 0 ? "户主" : RELATIONS_AFTER_HEAD[(k - 1) % RELATIONS_AFTER_HEAD.length],
        status,
        year,
        LABOUR[Math.floor(rand() * LABOUR.length)],
        HEALTH[Math.floor(rand() * HEALTH.length)],
        k === 0 ? phone : "",
        k === 0 ? "一般贫困户" : "",
        k === 0 ? "缺资金" : "",
        "非在校生",
        "否",
        "否",
      ];
    }
  }
}

async function writeFile(path: string): Promise<number> {
  const header = IMPORT_COLUMNS.map((c) => c.header);
  let households = 0;
  if (asCsv) {
    const lines = [header.join(",")];
    for (const r of registerRows(people)) {
      if (r[4] === "户主") households++;
      lines.push(r.join(","));
    }
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path, `${lines.join("\n")}\n`);
    return households;
  }
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: false, useStyles: false });
  const ws = wb.addWorksheet("建档立卡");
  ws.addRow(header).commit();
  for (const r of registerRows(people)) {
    if (r[4] === "户主") households++;
    ws.addRow(r).commit();
  }
  ws.commit();
  await wb.commit();
  return households;
}

const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" ");
const { db, kind, drop } = await scratchDb(SCRATCH, { poolMax: 4, keep: a.get("keep") === "true" });
const dir = mkdtempSync(join(os.tmpdir(), "register-import-"));
try {
  const loadBefore = load();
  await migrateLatest(db);
  await seedDemoReference(db);
  const pii = new Pii({ encKey: randomBytes(32), hashKey: randomBytes(32) });
  const ctx = await actAs(db, "admin", systemClock, "bench-register-import");
  if (!ctx) throw new Error("the demo admin is missing");

  const file = join(dir, asCsv ? "register.csv" : "register.xlsx");
  let t0 = performance.now();
  const households = await writeFile(file);
  const writeSeconds = (performance.now() - t0) / 1000;
  const content = readFileSync(file);
  t0 = performance.now();
  await readRegisterFile(content);
  const readSeconds = (performance.now() - t0) / 1000;
  out(`${kind}; ${os.cpus().length} cores; load average before ${loadBefore}`);
  out(`file: ${people} people, ${households} households, ${(statSync(file).size / 1e6).toFixed(1)} MB ${asCsv ? "CSV" : "XLSX"}, written in ${writeSeconds.toFixed(1)} s; read alone in ${readSeconds.toFixed(1)} s`);

  // Where the time goes: each statement's time from send to answer, by the table it writes or reads.
  const started = new Map<string, number>();
  const dbTime = new Map<string, number>();
  const kindOf = (sql: string) =>
    /insert into "?audit_log/i.test(sql) || /audit_chain_heads/i.test(sql)
      ? "audit log"
      : /^\s*insert into "?(\w+)/i.exec(sql)?.[1]
        ? `insert ${/^\s*insert into "?(\w+)/i.exec(sql)![1]}`
        : /^\s*update "?(\w+)/i.exec(sql)
          ? `update ${/^\s*update "?(\w+)/i.exec(sql)![1]}`
          : "reads";
  db.on("query", (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
  db.on("query-response", (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
    const t = started.get(q.__knexQueryUid);
    if (t !== undefined) dbTime.set(kindOf(q.sql), (dbTime.get(kindOf(q.sql)) ?? 0) + performance.now() - t);
  });
  const breakdown = () =>
    [...dbTime.entries()]
      .sort((x, y) => y[1] - x[1])
      .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
      .join(", ");

  const run = async (label: string) => {
    const bar = progressBar(label, people * 2);
    dbTime.clear();
    const cpu = process.cpuUsage();
    const start = performance.now();
    const r = await importRegisterFile(db, ctx, pii, { name: "register", content, dryRun: false, onProgress: (d) => bar.update(d) });
    bar.stop();
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const nodeCpu = (used.user + used.system) / 1e6;
    if (r.status !== "APPLIED") throw new Error(`${label}: ${r.status}, first problems ${JSON.stringify(r.problems?.slice(0, 5))}`);
    out(`${label}: ${seconds.toFixed(1)} s, ${Math.round(people / seconds)} rows/s — ${JSON.stringify(r.outcome)} (load ${load()})`);
    out(`  Node CPU ${nodeCpu.toFixed(1)} s; database statements: ${breakdown()}`);
    return seconds;
  };
  const first = await run("import");
  const again = await run("re-import (unchanged)");
  const counted = await db.raw<{ rows: { h: string; m: string }[] }>("SELECT (SELECT count(*) FROM households) AS h, (SELECT count(*) FROM household_members) AS m");
  out(`register: ${counted.rows[0].h} households, ${counted.rows[0].m} members`);

  // The floor: as many rows written by the database alone, into tables shaped like the register's.
  await db.raw("CREATE TABLE floor_households (LIKE households INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)");
  await db.raw("CREATE TABLE floor_members (LIKE household_members INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)");
  t0 = performance.now();
  await db.transaction(async (trx) => {
    await trx.raw(
      `INSERT INTO floor_households (county_code, township_code, village_code, household_no, household_type, status, status_since, main_cause, phone_enc, phone_masked)
       SELECT '469030', '469030100', '469030100201', 'F' || g, 'GENERAL', 'POOR', current_date, 'OTHER', md5(g::text) || md5(g::text), '138****0000'
         FROM generate_series(1, ?) g`,
      [households],
    );
    await trx.raw(
      `INSERT INTO floor_members (household_id, county_code, name, id_number_hash, id_number_enc, id_number_masked, relation, sex, birth_date, health, labour_capacity, schooling)
       SELECT gen_random_uuid(), '469030', '王' || g, md5(g::text) || md5(g::text), md5(g::text) || md5(g::text) || md5(g::text), '469030********123X',
              CASE WHEN g % 4 = 0 THEN 'HEAD' ELSE 'CHILD' END, 'M', date '1980-01-01' + (g % 10000), 'HEALTHY', 'ORDINARY', 'NOT_IN_SCHOOL'
         FROM generate_series(1, ?) g`,
      [people],
    );
  });
  const floor = (performance.now() - t0) / 1000;
  out(`floor (INSERT … SELECT of ${households} households and ${people} members): ${floor.toFixed(1)} s, ${Math.round(people / floor)} rows/s`);
  out(`import ${Math.round(people / first)} rows/s, re-import ${Math.round(people / again)} rows/s, floor ${Math.round(people / floor)} rows/s (import at ${((floor / first) * 100).toFixed(0)}% of the floor); load average after ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await drop();
}
