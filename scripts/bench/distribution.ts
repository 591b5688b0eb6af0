import { randomBytes } from "node:crypto";
import os from "node:os";
import { DEMO_COUNTY, DEMO_OPERATOR_ID, demoVillages, seedDemoReference, seedHouseholds } from "../../db/seeds/demo.js";
import { migrateLatest } from "../../src/db/knex.js";
import { transaction } from "../../src/db/transaction.js";
import type { Actor } from "../../src/http/auth.js";
import { FixedClock } from "../../src/lib/clock.js";
import type { Ctx } from "../../src/lib/context.js";
import { accountBalance, ACCOUNTS, reconciliationChecks } from "../../src/lib/ledger.js";
import { Pii } from "../../src/lib/pii.js";
import { confirmReport, createAsset, submitReport } from "../../src/modules/assets/service.js";
import { approveDistribution, createDistribution, createRule, noticeDistribution, payDistribution } from "../../src/modules/distributions/service.js";
import { args, out, progressBar } from "../cli.js";
import { scratchDb } from "./database.js";

/**
 * `npx tsx scripts/bench/distribution.ts [--households N] [--keep]`: one dividend distribution over
 * about 100,000 beneficiary households. Seeds N households (default 103,500: with the seed's
 * status mix and a 120-month transition about 100,000 are eligible) into a fresh database — with
 * DATABASE_URL (an admin connection) a scratch database `huinong_bench_distribution` created and
 * dropped on that server, otherwise PGlite in memory — registers a photovoltaic asset whose
 * beneficiaries are every village of the demo county, confirms its 2024 return, then times, through
 * the services: computing the DRAFT (one statement: set-based eligibility and weights, the
 * largest-remainder allocation and the shares written) and paying every share in one bank batch
 * (shares, ledger entry, audit records).
 */
const SCRATCH = "huinong_bench_distribution";
const a = args();
const households = Number(a.get("households") ?? 103_500);
if (!Number.isInteger(households) || households < 1) {
  process.stderr.write("usage: npx tsx scripts/bench/distribution.ts [--households N] [--keep]\n");
  process.exit(2);
}
const url = process.env.DATABASE_URL;
const { db, drop } = await scratchDb(SCRATCH, { poolMax: 4, keep: a.has("keep") });

const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2);

// Time spent in SQL, by statement (the first words of it), to tell the server's share from Node's.
const started = new Map<string, number>();
const sqlTime = new Map<string, number>();
db.on("query", (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
db.on("query-response", (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
  const t = started.get(q.__knexQueryUid);
  if (t === undefined) return;
  const key = q.sql.replace(/\s+/g, " ").trim().slice(0, 60);
  sqlTime.set(key, (sqlTime.get(key) ?? 0) + performance.now() - t);
});
function sqlReport(label: string): void {
  const total = [...sqlTime.values()].reduce((x, y) => x + y, 0);
  const top = [...sqlTime.entries()].sort((x, y) => y[1] - x[1]).slice(0, 4);
  out(`  ${label}: ${(total / 1000).toFixed(2)} s in SQL; largest: ${top.map(([k, v]) => `${(v / 1000).toFixed(2)} s "${k}…"`).join("; ")}`);
  sqlTime.clear();
}

try {
  const pii = new Pii({ encKey: randomBytes(32), hashKey: randomBytes(32) });
  const clock = new FixedClock("2025-06-02");
  let t0 = performance.now();
  await migrateLatest(db);
  await seedDemoReference(db);
  const bar = progressBar("seeding households", households);
  await seedHouseholds({ db, pii, clock }, { households, onProgress: (d) => bar.update(d) });
  bar.stop();
  await db.raw("ANALYZE");
  out(`seeded ${households} households in ${seconds(t0)} s`);

  const user = async (username: string) => (await db("users").where({ username }).first<{ id: string }>()).id;
  const staff = (userId: string, role: Actor["role"], extra: Partial<Actor> = {}): Ctx => ({
    actor: { kind: "staff", userId, role, countyCodes: [DEMO_COUNTY.code], bankId: null, operatorId: null, villageCode: null, ...extra },
    requestId: "bench-distribution",
    clock,
  });
  const adminCtx = staff(await user("admin"), "admin");
  const operatorCtx = staff(await user("operator"), "operator", { operatorId: DEMO_OPERATOR_ID });
  const villages = demoVillages().map(([code]) => code);
  const owner = villages[0]; // 新市村 (469030100201), the demo village officer's village
  const villageCtx = staff(await user("village"), "village_officer", { villageCode: owner });
  const regulatorCtx = staff(await user("regulator"), "regulator");

  await db("operators")
    .insert({
      id: DEMO_OPERATOR_ID,
      county_code: DEMO_COUNTY.code,
      name: "琼中绿橙种植专业合作社",
      credit_code: "93469030MA5T000105",
      operator_type: "COOPERATIVE",
      legal_representative: "符海南",
      registered_capital: "5000000.00",
      created_by: adminCtx.actor.userId,
    })
    .onConflict("id")
    .ignore();
  const asset = await transaction(db, (trx) =>
    createAsset(trx, adminCtx, {
      name: "琼中县集中式光伏扶贫电站",
      asset_type: "PHOTOVOLTAIC",
      village_code: owner,
      funding_sources: [{ source: "INTEGRATED_AGRICULTURE_FUND", amount: "100000000.00" }],
      book_value: "100000000.00",
      build_date: "2019-06-30",
      status: "IN_OPERATION",
      management: {
        operator_id: DEMO_OPERATOR_ID,
        form: "LEASE",
        contract_start: "2020-01-01",
        contract_end: "2039-12-31",
        return_terms: "NET_INCOME_SHARE",
        net_income_share: "0.6",
        guaranteed_min_rate: "0.08",
      },
      income_rights: { scheme: "VILLAGES", village_codes: villages, household_ids: [] },
      oversight: { body: "琼中县农业农村局", division_code: DEMO_COUNTY.code },
    }),
  );
  await transaction(db, (trx) =>
    createRule(trx, adminCtx, {
      scope: "ASSET",
      asset_id: asset.id,
      effective_from: "2025-01-01",
      collective_retention_ratio: "0.2",
      earmarks: [{ name: "光伏电站管护", kind: "RATIO", ratio: "0.05" }],
      weight_basis: "HOUSEHOLD",
      base_weight: "1",
      multipliers: { no_labour: "1.5", serious_illness_or_disability: "1.3", dibao_tekun: "1.2" },
      transition_months: 120,
      annual_cap_per_household: null,
    }),
  );
  const report = await transaction(db, (trx) =>
    submitReport(trx, operatorCtx, asset.id, { period: "2024", revenue: "25000000.00", costs: "5000000.00", net_income: "20000000.00", amount_payable: "12000000.00", attachments: [] }),
  );
  await transaction(db, (trx) => confirmReport(trx, villageCtx, report.id, {}));

  sqlTime.clear();
  t0 = performance.now();
  const draft = await transaction(db, (trx) => createDistribution(trx, villageCtx, { asset_id: asset.id, period: "2024", reference_date: "2025-05-31" }));
  const computeSeconds = seconds(t0);
  out(`computed a DRAFT over ${draft.household_count} eligible households (${JSON.stringify(draft.excluded)} excluded) in ${computeSeconds} s`);
  out(`  income ${draft.income_total} = collective ${draft.collective_total} + shares ${draft.shares_total}`);
  sqlReport("compute");

  await transaction(db, (trx) => noticeDistribution(trx, villageCtx, draft.id));
  await transaction(db, (trx) => approveDistribution(trx, regulatorCtx, draft.id));
  clock.set("2025-06-09");
  sqlTime.clear();
  t0 = performance.now();
  const paid = await transaction(db, (trx) => payDistribution(trx, adminCtx, draft.id, { batch_reference: "BENCH20250609", failures: [] }));
  const paySeconds = seconds(t0);
  out(`paid ${paid.payments.PAID ?? 0} shares (${paid.paid_total}) in one batch in ${paySeconds} s; status ${paid.status}`);
  sqlReport("pay");

  const pool = await accountBalance(db, ACCOUNTS.DISTRIBUTION_POOL, draft.id);
  const check = reconciliationChecks().find((c) => c.name === "distribution-pool")!;
  const differences = await check.run(db, [DEMO_COUNTY.code]);
  out(`pool account after payment: ${pool.toFixed(2)}; reconciliation differences: ${differences.length}`);
  out(`machine: ${os.cpus().length} cores, Node ${process.version}, ${url ? "PostgreSQL" : "PGlite"} ${(await db.raw<{ rows: { server_version: string }[] }>("SHOW server_version")).rows[0].server_version}`);
  out(`RESULT households=${draft.household_count} compute_s=${computeSeconds} pay_s=${paySeconds}`);
} finally {
  await drop();
}
