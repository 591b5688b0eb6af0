import { randomBytes } from "node:crypto";
import os from "node:os";
import { DEMO_BANKS, rng, seedDemoReference, seedHouseholds } from "../../db/seeds/demo.js";
import { migrateLatest } from "../../src/db/knex.js";
import { transaction } from "../../src/db/transaction.js";
import { systemClock } from "../../src/lib/clock.js";
import type { Ctx } from "../../src/lib/context.js";
import { Pii } from "../../src/lib/pii.js";
import { rateBulk } from "../../src/modules/ratings/service.js";
import { args, out } from "../cli.js";
import { scratchDb } from "./database.js";

/**
 * `npx tsx scripts/bench/ratings.ts [--households N]`: seeds N households (default 20,000) into a
 * fresh database — PGlite in memory, or with DATABASE_URL (an admin connection) a scratch database
 * `huinong_bench_ratings` created and dropped on that server — then rates them all in one bulk
 * call through the service (as a loan officer of the demo bank) and prints ratings per second.
 * `--per-village` sends one bulk call per village (整村授信, each its own transaction) instead of
 * one call for the whole county; `--keep` leaves the scratch database in place for inspection.
 */
const SCRATCH = "huinong_bench_ratings";
const a = args();
const households = Number(a.get("households") ?? 20000);
if (!Number.isInteger(households) || households < 1) {
  process.stderr.write("usage: npx tsx scripts/bench/ratings.ts [--households N]\n");
  process.exit(2);
}

const url = process.env.DATABASE_URL;
const { db, drop } = await scratchDb(SCRATCH, { poolMax: 4, keep: a.get("keep") === "true" });

try {
  const pii = new Pii({ encKey: randomBytes(32), hashKey: randomBytes(32) });
  const clock = systemClock;
  let t0 = performance.now();
  await migrateLatest(db);
  await seedDemoReference(db);
  await seedHouseholds({ db, pii, clock }, { households });
  const seedSeconds = (performance.now() - t0) / 1000;

  const officer = await db("users").where({ username: "officer" }).first<{ id: string }>();
  const ctx: Ctx = {
    actor: { kind: "staff", userId: officer.id, role: "loan_officer", countyCodes: ["469030"], bankId: DEMO_BANKS[0].id, operatorId: null, villageCode: null },
    requestId: "bench-ratings",
    clock,
  };
  const today = clock.today();
  const check = (note: string) => ({ date: today, by: "客户经理", note });
  const checks = {
    documents: check("证件核验一致"),
    neighbours: check("走访邻居"),
    phone: check("电话核实"),
    cross_team: check("交叉复核"),
    repeat_question: check("重复提问一致"),
  };
  const villageReview = { date: today, reviewed_by: "村评议小组", note: "整村评议" };
  const rand = rng(2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const perVillage = a.get("per-village") === "true";
  const hs = (await db("households").orderBy(["village_code", "id"]).select("id", "village_code")) as { id: string; village_code: string }[];
  const rows = hs.map(({ id }) => ({
    household_id: id,
    assessments: {
      CREDIT_RECORD: pick(["CLEAN", "CLEAN", "CLEAN", "SETTLED", "BAD"]),
      PROJECT: pick(["RUNNING", "PLANNED", "NONE"]),
      ASSETS: pick(["HIGH", "MEDIUM", "LOW", "NONE"]),
      REPUTATION: pick(["GOOD", "GOOD", "FAIR", "POOR"]),
      DEBT: pick(["NONE", "LOW", "HIGH"]),
    },
  }));

  t0 = performance.now();
  let created = 0;
  let rejected = 0;
  // Batches: the whole county (up to 20,000 rows per call), or one village per call.
  const batches: (typeof rows)[] = [];
  if (perVillage) {
    let start = 0;
    for (let i = 1; i <= hs.length; i++) {
      if (i === hs.length || hs[i].village_code !== hs[start].village_code) {
        batches.push(rows.slice(start, i));
        start = i;
      }
    }
  } else for (let i = 0; i < rows.length; i += 20000) batches.push(rows.slice(i, i + 20000));
  for (const batch of batches) {
    const r = await transaction(db, (trx) => rateBulk(trx, ctx, { checks, village_review: villageReview, rows: batch }));
    created += r.created;
    rejected += r.rejected;
  }
  const rateSeconds = (performance.now() - t0) / 1000;
  const grades = await db("ratings").groupBy("grade").orderBy("grade").select("grade", db.raw("count(*)::int AS n"));
  const audits = await db("audit_log").where({ action: "rating.create" }).count<{ n: number | string }[]>("* as n");

  out(`database: ${url ? `PostgreSQL (${SCRATCH})` : "PGlite (in memory)"}; machine: ${os.cpus().length} cores, Node ${process.version}`);
  out(`seeded ${households} households in ${seedSeconds.toFixed(1)} s`);
  out(`rated ${created} households (${rejected} rejected: REMOVED households) in ${batches.length} bulk call(s) in ${rateSeconds.toFixed(2)} s: ${Math.round(created / rateSeconds)} ratings/s`);
  out(`grades: ${grades.map((g: { grade: string; n: number }) => `${g.grade} ${g.n}`).join(", ")}; audit records: ${audits[0].n}`);
} finally {
  await drop();
}
