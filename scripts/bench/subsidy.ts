import os from "node:os";
import type { Knex } from "knex";
import { createDb, migrateLatest } from "../../src/db/knex.js";
import { transaction } from "../../src/db/transaction.js";
import { FixedClock } from "../../src/lib/clock.js";
import type { Ctx } from "../../src/lib/context.js";
import { generateClaim } from "../../src/modules/subsidies/service.js";
import { args, out } from "../cli.js";

/**
 * `DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx scripts/bench/subsidy.ts [--periods N] [--keep]`:
 * creates the scratch database `huinong_bench_subsidy` on that server (dropped at the end unless
 * `--keep`), builds with set-based SQL a portfolio whose loan-periods due in 2025Q1 number N
 * (default 500,000: half BULLET_QUARTERLY loans with one Q1 period, half EQUAL_PRINCIPAL loans with
 * three), plus the periods of the quarters before and after, repayments with their allocations,
 * late and unpaid periods, misuse findings and removed households; then times the claim generation
 * (`generateClaim`: one INSERT … SELECT) and its regeneration, and prints seconds and lines per second.
 */
const SCRATCH = "huinong_bench_subsidy";
const a = args();
const periods = Number(a.get("periods") ?? 500000);
const url = process.env.DATABASE_URL;
if (!url || !Number.isInteger(periods) || periods < 4) {
  process.stderr.write("usage: DATABASE_URL=postgres://… npx tsx scripts/bench/subsidy.ts [--periods N] [--keep]\n");
  process.exit(2);
}
const COUNTY = "469030";
const TOWNSHIP = "469030100";
const BANK = "0b000000-0000-4000-8000-0000000000b1";
const FINANCE = "0a000000-0000-4000-8000-0000000000f1";
const MANAGER = "0a000000-0000-4000-8000-0000000000f2";
const PRODUCT = "0e000000-0000-4000-8000-0000000000e1";
const PRODUCT_HH = "0e000000-0000-4000-8000-0000000000e2";
const VILLAGES = 40;
const bulletLoans = Math.floor(periods / 2);
const monthlyLoans = Math.ceil((periods - bulletLoans) / 3);

const admin = createDb({ databaseUrl: url, poolMax: 1 });
await admin.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
await admin.raw(`CREATE DATABASE ${SCRATCH}`);
const u = new URL(url);
u.pathname = `/${SCRATCH}`;
const db: Knex = createDb({ databaseUrl: u.toString(), poolMax: 4 });

async function step(label: string, fn: () => Promise<unknown>) {
  const t0 = performance.now();
  await fn();
  process.stderr.write(`  ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

try {
  const tBuild = performance.now();
  process.stderr.write(`building ${bulletLoans.toLocaleString()} bullet + ${monthlyLoans.toLocaleString()} monthly loans in ${SCRATCH}\n`);
  await step("migrate", () => migrateLatest(db));
  await step("reference data", async () => {
    await db("divisions").insert({ code: COUNTY, name: "琼中县", level: "COUNTY", parent_code: null, county_code: COUNTY });
    await db("divisions").insert({ code: TOWNSHIP, name: "营根镇", level: "TOWNSHIP", parent_code: COUNTY, county_code: COUNTY });
    await db.raw(`INSERT INTO divisions (code, name, level, parent_code, county_code)
                  SELECT ? || lpad(n::text, 3, '0'), '村' || n, 'VILLAGE', ?, ? FROM generate_series(1, ?) n`, [TOWNSHIP, TOWNSHIP, COUNTY, VILLAGES]);
    await db("banks").insert({ id: BANK, name: "基准农商银行", short_name: "基准农商" });
    await db("users").insert({ id: FINANCE, username: "bench-finance", password_hash: "x", display_name: "bench", role: "finance_officer", county_codes: [COUNTY] });
    await db("users").insert({ id: MANAGER, username: "bench-manager", password_hash: "x", display_name: "bench", role: "bank_manager", county_codes: [COUNTY], bank_id: BANK });
    const product = { bank_id: BANK, county_code: COUNTY, version: 1, name: "扶贫小额信贷", effective_from: "2020-01-01", max_amount: "50000.00", max_term_months: 36, rate_rule: "FIXED", fixed_rate: "0.0345", rate_spread: "0", repayment_methods: ["BULLET_QUARTERLY", "EQUAL_PRINCIPAL"], penalty_markup: "0.5", grace_days: 0, allowed_purposes: ["BREEDING"], subsidy_rate_cap: null, subsidy_term_months: 36, subsidy_principal_cap: "50000.00" };
    await db("loan_products").insert([
      { id: PRODUCT, code: "FPXD", subsidy_ratio: "1", subsidy_mode: "TO_BANK", ...product },
      { id: PRODUCT_HH, code: "FPXD-HH", subsidy_ratio: "0.7", subsidy_mode: "TO_HOUSEHOLD", ...product },
    ]);
  });
  const loans = bulletLoans + monthlyLoans;
  await step(`households and borrowers (${loans.toLocaleString()})`, async () => {
    // One household per loan; 1% REMOVED.
    await db.raw(
      `INSERT INTO households (id, county_code, township_code, village_code, household_no, household_type, status, status_since, main_cause)
       SELECT md5('h' || n)::uuid, ?, ?, ? || lpad((1 + n % ?)::text, 3, '0'), 'B' || n, 'GENERAL', CASE WHEN n % 100 = 7 THEN 'REMOVED' ELSE 'POOR' END, '2020-01-01', 'LACK_OF_CAPITAL'
         FROM generate_series(1, ?) n`,
      [COUNTY, TOWNSHIP, TOWNSHIP, VILLAGES, loans],
    );
    await db.raw(
      `INSERT INTO household_members (id, household_id, county_code, name, id_number_hash, id_number_enc, id_number_masked, relation, sex, birth_date, health, labour_capacity, schooling)
       SELECT md5('m' || n)::uuid, md5('h' || n)::uuid, ?, '王建国', md5('id' || n), 'x', '469030********000X', 'HEAD', 'M', '1980-01-01', 'HEALTHY', 'ORDINARY', 'JUNIOR'
         FROM generate_series(1, ?) n`,
      [COUNTY, loans],
    );
  });
  await step("loans", async () => {
    // n ≤ bulletLoans: BULLET_QUARTERLY 36 months from 2024-10-10; above: EQUAL_PRINCIPAL 12 months from 2024-10-15.
    await db.raw(
      `INSERT INTO loans (id, county_code, village_code, bank_id, household_id, borrower_member_id, product_id, status, amount, outstanding_principal, annual_rate, rate_basis,
                          term_months, repayment_method, purpose, applied_on, disbursed_on, maturity_date, original_maturity_date, officer_id)
       SELECT md5('l' || n)::uuid, ?, ? || lpad((1 + n % ?)::text, 3, '0'), ?, md5('h' || n)::uuid, md5('m' || n)::uuid, CASE WHEN n % 4 = 0 THEN ? ELSE ? END::uuid,
              'DISBURSED', (10000 + (n % 5) * 10000)::numeric, (10000 + (n % 5) * 10000)::numeric, 0.0345, 'FIXED',
              CASE WHEN n <= ? THEN 36 ELSE 12 END, CASE WHEN n <= ? THEN 'BULLET_QUARTERLY' ELSE 'EQUAL_PRINCIPAL' END, 'BREEDING',
              CASE WHEN n <= ? THEN date '2024-10-10' ELSE date '2024-10-15' END, CASE WHEN n <= ? THEN date '2024-10-10' ELSE date '2024-10-15' END,
              CASE WHEN n <= ? THEN date '2027-10-10' ELSE date '2025-10-15' END, CASE WHEN n <= ? THEN date '2027-10-10' ELSE date '2025-10-15' END, ?
         FROM generate_series(1, ?) n`,
      [COUNTY, TOWNSHIP, VILLAGES, BANK, PRODUCT_HH, PRODUCT, bulletLoans, bulletLoans, bulletLoans, bulletLoans, bulletLoans, bulletLoans, FINANCE, loans],
    );
  });
  await step("schedule periods (the quarter and its neighbours)", async () => {
    // Bullet: Q4 2024, Q1 2025 and Q2 2025 settlement periods. Payment state by n % 20: 0 unpaid, 1 paid late, else on time.
    await db.raw(
      `INSERT INTO loan_schedule_periods (loan_id, seq, county_code, accrual_start, accrual_end, due_date, overdue_from, days, opening_principal, principal_due, interest_due,
                                          interest_paid, status, settled_on)
       SELECT l.id, s.seq, l.county_code, s.a, s.e, s.d, s.d + 1, s.e - s.a, l.amount, 0, round(l.amount * 0.0345 * (s.e - s.a) / 360, 2),
              CASE WHEN s.d > date '2025-03-31' OR l.n % 20 = 0 THEN 0 ELSE round(l.amount * 0.0345 * (s.e - s.a) / 360, 2) END,
              CASE WHEN s.d > date '2025-03-31' THEN 'PENDING' WHEN l.n % 20 = 0 THEN 'OVERDUE' ELSE 'PAID' END,
              CASE WHEN s.d > date '2025-03-31' OR l.n % 20 = 0 THEN NULL WHEN l.n % 20 = 1 THEN s.d + 10 ELSE s.d END
         FROM (SELECT id, county_code, amount, row_number() OVER (ORDER BY id) AS n FROM loans WHERE repayment_method = 'BULLET_QUARTERLY') l
         CROSS JOIN (VALUES (1, date '2024-10-10', date '2024-12-21', date '2024-12-20'),
                            (2, date '2024-12-21', date '2025-03-21', date '2025-03-20'),
                            (3, date '2025-03-21', date '2025-06-21', date '2025-06-20')) s(seq, a, e, d)`,
    );
    // Monthly: due on the 15th, Nov 2024 .. Apr 2025 (seq 1..6), principal amount / 12.
    await db.raw(
      `INSERT INTO loan_schedule_periods (loan_id, seq, county_code, accrual_start, accrual_end, due_date, overdue_from, days, opening_principal, principal_due, interest_due,
                                          principal_paid, interest_paid, status, settled_on)
       SELECT l.id, s.seq, l.county_code, s.a, s.e, s.e, s.e + 1, s.e - s.a, l.amount - (s.seq - 1) * round(l.amount / 12, 2), round(l.amount / 12, 2),
              round((l.amount - (s.seq - 1) * round(l.amount / 12, 2)) * 0.0345 / 12, 2),
              CASE WHEN s.e > date '2025-03-31' OR l.n % 20 = 0 THEN 0 ELSE round(l.amount / 12, 2) END,
              CASE WHEN s.e > date '2025-03-31' OR l.n % 20 = 0 THEN 0 ELSE round((l.amount - (s.seq - 1) * round(l.amount / 12, 2)) * 0.0345 / 12, 2) END,
              CASE WHEN s.e > date '2025-03-31' THEN 'PENDING' WHEN l.n % 20 = 0 THEN 'OVERDUE' ELSE 'PAID' END,
              CASE WHEN s.e > date '2025-03-31' OR l.n % 20 = 0 THEN NULL WHEN l.n % 20 = 1 THEN s.e + 10 ELSE s.e END
         FROM (SELECT id, county_code, amount, row_number() OVER (ORDER BY id) AS n FROM loans WHERE repayment_method = 'EQUAL_PRINCIPAL') l
         CROSS JOIN (SELECT k AS seq, (date '2024-10-15' + make_interval(months => k - 1))::date AS a, (date '2024-10-15' + make_interval(months => k))::date AS e
                       FROM generate_series(1, 6) k) s`,
    );
  });
  await step("repayments with allocations (one per paid period of the quarter)", async () => {
    await db.raw(
      `INSERT INTO loan_repayments (loan_id, county_code, bank_id, paid_on, amount, penalty, interest, principal, prepayment, kind, source, allocation)
       SELECT p.loan_id, p.county_code, ?, p.settled_on, p.interest_paid + p.principal_paid, 0, p.interest_paid, p.principal_paid, 0, 'REPAYMENT', 'BORROWER',
              jsonb_build_array(jsonb_build_object('seq', p.seq, 'penalty', '0.00', 'interest', p.interest_paid::text, 'principal', p.principal_paid::text))
         FROM loan_schedule_periods p WHERE p.status = 'PAID' AND p.due_date BETWEEN date '2025-01-01' AND date '2025-03-31'`,
      [BANK],
    );
    // 0.5% of loans found misused.
    await db.raw(
      `INSERT INTO loan_misuse_findings (loan_id, county_code, bank_id, finding_date, kind, note, actor_id)
       SELECT id, county_code, bank_id, date '2025-03-25', 'PURPOSE_VIOLATION', 'bench', ? FROM loans WHERE ('x' || substr(id::text, 1, 4))::bit(16)::int % 200 = 3`,
      [FINANCE],
    );
    await db.raw("ANALYZE");
  });
  const inQuarter = await db("loan_schedule_periods").whereBetween("due_date", ["2025-01-01", "2025-03-31"]).count<{ n: string }[]>("* as n");
  const all = await db("loan_schedule_periods").count<{ n: string }[]>("* as n");
  process.stderr.write(`built in ${((performance.now() - tBuild) / 1000).toFixed(1)} s: ${Number(all[0].n).toLocaleString()} periods, ${Number(inQuarter[0].n).toLocaleString()} due in 2025Q1\n`);

  // Two batches, as the rules have it: the bank's TO_BANK batch (its manager) and the county's TO_HOUSEHOLD one (finance).
  const clock = new FixedClock("2025-04-01");
  const makers: Ctx[] = [
    { actor: { kind: "staff", userId: MANAGER, role: "bank_manager", countyCodes: [COUNTY], bankId: BANK, operatorId: null, villageCode: null }, requestId: "bench-subsidy-bank", clock },
    { actor: { kind: "staff", userId: FINANCE, role: "finance_officer", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: null }, requestId: "bench-subsidy-county", clock },
  ];
  const input = { bank_id: BANK, county_code: COUNTY, quarter: "2025Q1" };
  let t0 = performance.now();
  const firsts = [];
  for (const ctx of makers) firsts.push(await transaction(db, (trx) => generateClaim(trx, ctx, input)));
  const seconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const agains = [];
  for (const ctx of makers) agains.push(await transaction(db, (trx) => generateClaim(trx, ctx, input)));
  const regen = (performance.now() - t0) / 1000;
  const lines = firsts.reduce((n, f) => n + (f.claim.lines_added ?? 0), 0);
  const first = { claim: { totals: { forfeited_lines: firsts.reduce((n, f) => n + f.claim.totals.forfeited_lines, 0), claimed: firsts.map((f) => `${f.claim.mode} ${f.claim.totals.claimed}`).join(", ") } } };
  const again = { claim: { lines_added: agains.reduce((n, f) => n + (f.claim.lines_added ?? 0), 0) } };
  const pg = await db.raw<{ rows: { v: string }[] }>("SELECT current_setting('server_version') AS v");
  out(`subsidy claim generation, PostgreSQL ${pg.rows[0].v}, Node ${process.version}, ${os.cpus().length} cores`);
  out(`  loan-periods due in the quarter: ${Number(inQuarter[0].n).toLocaleString()}`);
  out(`  lines generated: ${lines.toLocaleString()} (forfeited ${first.claim.totals.forfeited_lines.toLocaleString()}), claimed ${first.claim.totals.claimed}`);
  out(`  generation (both batches): ${seconds.toFixed(2)} s, ${Math.round(lines / seconds).toLocaleString()} lines/s (target under 30 s)`);
  out(`  regeneration: ${regen.toFixed(2)} s, lines added ${again.claim.lines_added}`);
} finally {
  await db.destroy();
  if (!a.has("keep")) await admin.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
  await admin.destroy();
}
