import { addDays, format, parseISO } from "date-fns";
import type { Knex } from "knex";
import type { Deps } from "../../src/deps.js";
import { appendAudit } from "../../src/lib/audit.js";
import { makeIdNumber } from "../../src/lib/id-number.js";
import { hashPassword } from "../../src/lib/password.js";
import { maskBankAccount, maskPhone } from "../../src/lib/pii.js";
import { perCapita, TRANSITIONS } from "../../src/modules/register/model.js";
import { buildMemberRow } from "../../src/modules/register/service.js";
import { seedDefaultScorecard } from "../../src/modules/ratings/service.js";
import { seedDemoActivity } from "./demo-activity.js";
import { seedPortalDemo } from "./demo-portal.js";

/**
 * The demo county: 琼中黎族苗族自治县 (469030, Hainan) with its townships and villages, three
 * banks, staff of every role and a register of households with members whose ID numbers are
 * valid. Deterministic for a given size (a seeded generator), so demos and benchmarks repeat.
 */
export const DEMO_COUNTY = { code: "469030", name: "琼中黎族苗族自治县" };
export const DEMO_PASSWORD = "Huinong-2026";

const TOWNSHIPS: [string, string, string[]][] = [
  ["469030100", "营根镇", ["新市村", "营根社区", "百花村", "朝参村", "什统村"]],
  ["469030101", "湾岭镇", ["湾岭社区", "鸭坡村", "岭门村", "大边村", "水央村"]],
  ["469030102", "黎母山镇", ["黎母山社区", "大保村", "松门村", "榕木村"]],
  ["469030103", "长征镇", ["长征社区", "长兴村", "南平村", "番响村"]],
  ["469030104", "红毛镇", ["红毛社区", "什寒村", "番道村", "毛西村"]],
  ["469030105", "中平镇", ["中平社区", "思河村", "南茂村"]],
  ["469030106", "和平镇", ["和平社区", "堑对村", "长沙村"]],
  ["469030200", "什运乡", ["什运社区", "光一村", "便文村"]],
  ["469030201", "上安乡", ["上安社区", "什育村", "长安村"]],
  ["469030202", "吊罗山乡", ["吊罗山社区", "太平村", "大响村"]],
];

export const DEMO_BANKS = [
  { id: "0b000000-0000-4000-8000-000000000001", name: "海南琼中农村商业银行", short_name: "琼中农商行" },
  { id: "0b000000-0000-4000-8000-000000000002", name: "中国农业银行琼中支行", short_name: "农行琼中支行" },
  { id: "0b000000-0000-4000-8000-000000000003", name: "中国邮政储蓄银行琼中支行", short_name: "邮储琼中支行" },
];
/** The actor recorded on history the seed writes (no user: the data came from the county's records). */
const SYSTEM_ACTOR = "00000000-0000-4000-8000-000000000000";
export const DEMO_OPERATOR_ID = "0c000000-0000-4000-8000-000000000001";
export const FIRST_VILLAGE = "469030100201";
/** Households added to the demo village on top of the county's, so its village officer has a village to work with. */
export const DEMO_VILLAGE_EXTRA_HOUSEHOLDS = 30;

export const DEMO_USERS = [
  { username: "admin", role: "admin", display_name: "县乡村振兴局 管理员" },
  { username: "village", role: "village_officer", display_name: "新市村 村两委", village_code: FIRST_VILLAGE },
  { username: "officer", role: "loan_officer", display_name: "琼中农商行 客户经理", bank_id: DEMO_BANKS[0].id },
  { username: "manager", role: "bank_manager", display_name: "琼中农商行 审批人", bank_id: DEMO_BANKS[0].id },
  { username: "finance", role: "finance_officer", display_name: "县财政局 贴息专管员" },
  { username: "operator", role: "operator", display_name: "琼中绿橙种植专业合作社", operator_id: DEMO_OPERATOR_ID },
  { username: "regulator", role: "regulator", display_name: "县农业农村局 监管" },
] as const;

/** Villages of the demo county as [code, name, township code]. */
export function demoVillages(): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const [tcode, , villages] of TOWNSHIPS) {
    villages.forEach((name, i) => out.push([`${tcode}${String(201 + i).padStart(3, "0")}`, name, tcode]));
  }
  return out;
}

export async function isDemoSeeded(db: Knex): Promise<boolean> {
  return Boolean(await db("app_meta").where({ key: "demo_seeded" }).first());
}

/** Divisions, banks and users of the demo county (idempotent). */
export async function seedDemoReference(db: Knex | Knex.Transaction): Promise<void> {
  await db("divisions").insert({ code: DEMO_COUNTY.code, name: DEMO_COUNTY.name, level: "COUNTY", parent_code: null, county_code: DEMO_COUNTY.code }).onConflict("code").ignore();
  await db("divisions")
    .insert(TOWNSHIPS.map(([code, name]) => ({ code, name, level: "TOWNSHIP", parent_code: DEMO_COUNTY.code, county_code: DEMO_COUNTY.code })))
    .onConflict("code")
    .ignore();
  await db("divisions")
    .insert(demoVillages().map(([code, name, t]) => ({ code, name, level: "VILLAGE", parent_code: t, county_code: DEMO_COUNTY.code })))
    .onConflict("code")
    .ignore();
  await db("banks").insert(DEMO_BANKS).onConflict("id").ignore();
  const hash = await hashPassword(DEMO_PASSWORD);
  await db("users")
    .insert(
      DEMO_USERS.map((u) => ({
        username: u.username,
        password_hash: hash,
        display_name: u.display_name,
        role: u.role,
        county_codes: [DEMO_COUNTY.code],
        bank_id: "bank_id" in u ? u.bank_id : null,
        operator_id: "operator_id" in u ? u.operator_id : null,
        village_code: "village_code" in u ? u.village_code : null,
      })),
    )
    .onConflict("username")
    .ignore();
  await seedDefaultScorecard(db, DEMO_COUNTY.code);
}

function shiftDays(date: string, days: number): string {
  return format(addDays(parseISO(date), days), "yyyy-MM-dd");
}

/** A small deterministic generator (mulberry32) so the same size gives the same county. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾符羊黎吉卓".split("");
const GIVEN = "文明华国建志春秋英玉兰芳秀丽强军平安永福海山林金德成光荣桂香梅娟宏伟亚妹".split("");
const CAUSES = ["ILLNESS", "DISABILITY", "SCHOOLING", "DISASTER", "LACK_OF_LAND", "LACK_OF_WATER", "LACK_OF_SKILLS", "LACK_OF_LABOUR", "LACK_OF_CAPITAL", "TRANSPORT", "LACK_OF_MOTIVATION", "OTHER"];

export interface SeedOptions {
  households: number;
  seed?: number;
  batchSize?: number;
  /** Only these villages (default: every village of the county). */
  villageCodes?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Seeds reference data and `households` households (idempotent: marks the database as seeded). */
export async function seedDemoCounty(deps: Pick<Deps, "db" | "pii" | "clock">, opts: SeedOptions): Promise<{ households: number; members: number }> {
  const { db } = deps;
  await seedDemoReference(db);
  const county = await seedHouseholds(deps, opts);
  const village = await seedHouseholds(deps, { households: DEMO_VILLAGE_EXTRA_HOUSEHOLDS, seed: 100201, villageCodes: [FIRST_VILLAGE] });
  const result = { households: county.households + village.households, members: county.members + village.members };
  const activity = await seedDemoActivity(deps);
  await db.transaction(async (trx) => {
    await seedPortalDemo(deps, trx);
    await trx("app_meta")
      .insert({ key: "demo_seeded", value: JSON.stringify({ households: result.households, at: deps.clock.now().toISOString() }) })
      .onConflict("key")
      .merge();
    await appendAudit(trx, { actor: null, requestId: "seed", clock: deps.clock }, {
      action: "seed.demo",
      entityType: "county",
      entityId: DEMO_COUNTY.code,
      countyCode: DEMO_COUNTY.code,
      after: { ...result, activity },
    });
  });
  return result;
}

/** Generates households in batches: each batch is one transaction with bulk inserts. */
export async function seedHouseholds(deps: Pick<Deps, "db" | "pii" | "clock">, opts: SeedOptions): Promise<{ households: number; members: number }> {
  const { db, pii } = deps;
  const rand = rng(opts.seed ?? 469030);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const villages = demoVillages().filter(([code]) => !opts.villageCodes || opts.villageCodes.includes(code));
  const batch = opts.batchSize ?? 1000;
  let memberCount = 0;
  const seqByKey = new Map<string, number>();
  // ID numbers already registered (when adding to a seeded county), so new ones never collide.
  const taken = new Set<string>((await db("household_members").pluck("id_number_hash")) as string[]);
  const idFor = (birth: string, male: boolean): string => {
    // Next free sequence for the birth date inside the county, with the right parity for the sex.
    let s = seqByKey.get(birth) ?? (male ? 1 : 0);
    for (;;) {
      if ((s % 2 === 1) !== male) s += 1;
      if (s > 999) throw new Error(`no free ID sequence left for ${birth}`);
      const id = makeIdNumber(DEMO_COUNTY.code, birth, s);
      s += 1;
      if (!taken.has(pii.lookupHash(id))) {
        seqByKey.set(birth, s);
        return id;
      }
    }
  };
  const date = (fromYear: number, toYear: number): string => {
    const y = fromYear + Math.floor(rand() * (toYear - fromYear + 1));
    const m = 1 + Math.floor(rand() * 12);
    const d = 1 + Math.floor(rand() * 28);
    return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  };
  const name = () => pick(SURNAMES) + pick(GIVEN) + (rand() < 0.7 ? pick(GIVEN) : "");

  for (let start = 0; start < opts.households; start += batch) {
    const n = Math.min(batch, opts.households - start);
    await db.transaction(async (trx) => {
      const { rows: seqs } = await trx.raw<{ rows: { n: number }[] }>("SELECT nextval('household_no_seq') AS n FROM generate_series(1, ?)", [n]);
      const households = [];
      const pending: { members: Parameters<typeof buildMemberRow>[3][]; county: string; income: string }[] = [];
      const changes: ({ index: number; to: string; on: string } | null)[] = [];
      for (let i = 0; i < n; i++) {
        const [village] = villages[Math.floor(rand() * villages.length)];
        const r = rand();
        const status = r < 0.3 ? "POOR" : r < 0.85 ? "EXITED" : r < 0.97 ? "MONITORED" : "REMOVED";
        const registeredOn = date(2014, 2016);
        const exitDate = status === "EXITED" ? date(2019, 2025) : null;
        const changedOn = status === "EXITED" ? exitDate! : status === "MONITORED" ? date(2021, 2024) : status === "REMOVED" ? date(2017, 2019) : null;
        const phone = `13${Math.floor(100000000 + rand() * 899999999)}`;
        const account = `6217${String(Math.floor(rand() * 1e15)).padStart(15, "0")}`;
        const typeRoll = rand();
        households.push({
          county_code: DEMO_COUNTY.code,
          township_code: village.slice(0, 9),
          village_code: village,
          household_no: `${village}${String(seqs[i].n).padStart(6, "0")}`,
          household_type: status === "MONITORED" ? "MONITORED" : typeRoll < 0.7 ? "GENERAL" : typeRoll < 0.92 ? "DIBAO" : "TEKUN",
          status,
          status_since: changedOn ?? registeredOn,
          exit_date: exitDate,
          main_cause: pick(CAUSES),
          secondary_causes: rand() < 0.4 ? ["LACK_OF_CAPITAL"] : [],
          housing_safety: rand() < 0.85 ? "SAFE" : "RENOVATED",
          phone_enc: pii.encrypt(phone),
          phone_masked: maskPhone(phone),
          bank_account_enc: pii.encrypt(account),
          bank_account_masked: maskBankAccount(account),
          bank_name: "海南琼中农村商业银行",
          created_at: new Date(`${registeredOn}T09:00:00+08:00`),
          updated_at: new Date(`${changedOn ?? registeredOn}T09:00:00+08:00`),
        });
        changes.push(changedOn ? { index: i, to: status, on: changedOn } : null);
        const size = 1 + Math.floor(rand() * 5);
        const headMale = rand() < 0.8;
        const members: Parameters<typeof buildMemberRow>[3][] = [];
        const surname = pick(SURNAMES);
        members.push({
          name: surname + pick(GIVEN) + (rand() < 0.6 ? pick(GIVEN) : ""),
          id_number: idFor(date(1958, 1995), headMale),
          relation: "HEAD",
          health: rand() < 0.8 ? "HEALTHY" : rand() < 0.6 ? "CHRONIC" : rand() < 0.5 ? "SERIOUS" : "DISABLED",
          labour_capacity: rand() < 0.6 ? "ORDINARY" : rand() < 0.5 ? "SKILLED" : rand() < 0.6 ? "WEAK" : "NONE",
          schooling: "NOT_IN_SCHOOL",
          on_dibao: rand() < 0.2,
          on_tekun: rand() < 0.05,
        });
        for (let k = 1; k < size; k++) {
          const child = k > 1 || rand() < 0.3;
          members.push({
            name: child ? surname + pick(GIVEN) + pick(GIVEN) : name(),
            id_number: idFor(child ? date(2000, 2020) : date(1958, 1995), rand() < 0.5),
            relation: child ? "CHILD" : "SPOUSE",
            health: rand() < 0.9 ? "HEALTHY" : "CHRONIC",
            labour_capacity: child ? "NONE" : rand() < 0.7 ? "ORDINARY" : "WEAK",
            schooling: child ? pick(["PRIMARY", "JUNIOR", "SENIOR", "VOCATIONAL", "COLLEGE", "NOT_IN_SCHOOL"] as const) : "NOT_IN_SCHOOL",
            on_dibao: false,
            on_tekun: false,
          });
        }
        pending.push({ members, county: DEMO_COUNTY.code, income: String(4000 + Math.floor(rand() * 36000)) + ".00" });
      }
      const inserted = await trx("households").insert(households).returning<{ id: string }[]>("id");
      const memberRows = inserted.flatMap((h, i) => pending[i].members.map((m) => buildMemberRow(pii, h.id, pending[i].county, m)));
      for (let i = 0; i < memberRows.length; i += 2000) await trx("household_members").insert(memberRows.slice(i, i + 2000));
      memberCount += memberRows.length;
      // The status history behind every household that is no longer simply POOR.
      const history = changes.flatMap((c) => (c ? [{ ...c, id: inserted[c.index].id }] : []));
      if (history.length > 0) {
        await trx("household_status_changes").insert(
          history.map((c) => ({
            household_id: c.id,
            county_code: DEMO_COUNTY.code,
            from_status: "POOR",
            to_status: c.to,
            effective_date: c.on,
            reason: c.to === "EXITED" ? "两不愁三保障全面实现，人均纯收入稳定超过标准" : c.to === "MONITORED" ? "收入骤减，存在返贫风险" : "识别不准，清退",
            approvals: JSON.stringify(
              TRANSITIONS[`POOR->${c.to}`].map((step) => ({ step, date: c.on, by: step === "COUNTY_APPROVAL" ? DEMO_COUNTY.name : "新市村" })),
            ),
            notice_start: c.to === "EXITED" ? shiftDays(c.on, -20) : null,
            notice_end: c.to === "EXITED" ? shiftDays(c.on, -13) : null,
            actor_id: SYSTEM_ACTOR,
            created_at: new Date(`${c.on}T09:00:00+08:00`),
          })),
        );
      }
      await trx("household_incomes").insert(
        inserted.map((h, i) => ({
          household_id: h.id,
          county_code: DEMO_COUNTY.code,
          year: 2025,
          net_income: pending[i].income,
          per_capita_net_income: perCapita(pending[i].income, pending[i].members.length),
        })),
      );
    });
    opts.onProgress?.(start + n, opts.households);
  }
  return { households: opts.households, members: memberCount };
}
