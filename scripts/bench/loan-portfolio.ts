import type { Knex } from "knex";
import { buildSchedule, maturityOf, type RepaymentMethod } from "../../src/modules/loans/model.js";
import { addDays } from "../../src/lib/dates.js";

/**
 * A synthetic loan portfolio built with set-based SQL (for the close-of-business benchmark and
 * tests): `loans` loans over a few hundred households of one village, each on one of a small set
 * of schedule templates (disbursement date × amount × method) computed with the real model, so
 * schedules are exact. Loan ids are deterministic (md5 of the number), so two databases built with
 * the same options hold the same portfolio (md5-based ids shaped as version-4 UUIDs, so the API accepts them). Loans whose number is a multiple of `defaultEvery`
 * never pay; the others have paid every period due before `asOf`. With `ledger`, each loan's
 * disbursement entry is posted (Dr 1301 / Cr 1001, as a disbursement posts it), so that a benchmark
 * plans its statements on a journal of the size a county's has; otherwise no ledger entries.
 */
export interface PortfolioOptions {
  loans: number;
  asOf: string;
  bankId: string;
  countyCode: string;
  villageCode: string;
  households?: number;
  /** Disbursements spread over this many days before asOf. */
  spreadDays?: number;
  defaultEvery?: number;
  officerId?: string;
  /** Repayment methods and terms the loans cycle through (default: all three methods). */
  methods?: { method: RepaymentMethod; term: number }[];
  /** Benchmarks on PostgreSQL: skip foreign-key triggers while bulk loading (superuser; the data is built consistent). */
  skipTriggers?: boolean;
  /** Post each loan's disbursement journal entry (one entry, two lines per loan). */
  ledger?: boolean;
}

const METHODS: { method: RepaymentMethod; term: number }[] = [
  { method: "BULLET_QUARTERLY", term: 12 },
  { method: "BULLET_QUARTERLY", term: 36 },
  { method: "EQUAL_INSTALLMENT", term: 12 },
  { method: "EQUAL_PRINCIPAL", term: 24 },
];
const AMOUNTS = ["10000.00", "20000.00", "30000.00", "50000.00"];

export async function buildPortfolio(db: Knex, o: PortfolioOptions): Promise<{ loans: number; periods: number }> {
  const households = o.households ?? 500;
  const spread = o.spreadDays ?? 360;
  const defaultEvery = o.defaultEvery ?? 20;
  const officer = o.officerId ?? "0a000000-0000-4000-8000-000000000004";
  const tag = `${o.villageCode}-${o.asOf}`;
  const methods = o.methods ?? METHODS;

  // Households and borrowers (ids deterministic too).
  await db.raw(
    `INSERT INTO households (id, county_code, township_code, village_code, household_no, household_type, status, status_since, main_cause)
     SELECT overlay(overlay(md5(? || '-h-' || n) placing '4' from 13) placing '8' from 17)::uuid, ?, substr(?, 1, 9), ?, 'SYN-' || md5(? || '-h-' || n), 'GENERAL', 'POOR', '2020-01-01', 'LACK_OF_CAPITAL'
       FROM generate_series(0, ? - 1) n ON CONFLICT DO NOTHING`,
    [tag, o.countyCode, o.villageCode, o.villageCode, tag, households],
  );
  await db.raw(
    `INSERT INTO household_members (id, household_id, county_code, name, id_number_hash, id_number_enc, id_number_masked, relation, sex, birth_date, health, labour_capacity, schooling)
     SELECT overlay(overlay(md5(? || '-m-' || n) placing '4' from 13) placing '8' from 17)::uuid, overlay(overlay(md5(? || '-h-' || n) placing '4' from 13) placing '8' from 17)::uuid, ?, '测试户主', md5(? || '-id-' || n), 'synthetic', '469030********000X', 'HEAD', 'M', '1980-01-01', 'HEALTHY', 'ORDINARY', 'JUNIOR'
       FROM generate_series(0, ? - 1) n ON CONFLICT DO NOTHING`,
    [tag, tag, o.countyCode, tag, households],
  );

  // Templates: one per (disbursement date, amount, method); 120 dates spread over the window.
  const dates = Array.from({ length: 120 }, (_, k) => addDays(o.asOf, -1 - Math.floor((k * spread) / 120)));
  const heads: unknown[][] = [];
  const periods: unknown[][] = [];
  let k = 0;
  for (const d of dates) {
    for (const amount of AMOUNTS) {
      const m = methods[k % methods.length];
      const maturity = maturityOf(d, m.term);
      const sched = buildSchedule({ method: m.method, principal: amount, annualRate: m.term <= 12 ? "0.0345" : "0.0395", disbursedOn: d, maturityDate: maturity });
      let paidPrincipal = 0;
      for (const p of sched) {
        const paid = p.dueDate < o.asOf;
        if (paid) paidPrincipal += Number(p.principal.toFixed(2)) * 100;
        periods.push([k, p.seq, p.accrualStart, p.accrualEnd, p.dueDate, addDays(p.dueDate, 1), p.days, p.openingPrincipal.toFixed(2), p.principal.toFixed(2), p.interest.toFixed(2), paid]);
      }
      heads.push([k, d, maturity, amount, m.method, m.term, m.term <= 12 ? "0.0345" : "0.0395", (paidPrincipal / 100).toFixed(2)]);
      k += 1;
    }
  }
  const K = k;
  // One transaction: the template tables are temporary, so they live on its one connection.
  await db.transaction(async (trx) => {
    if (o.skipTriggers) await trx.raw("SET LOCAL session_replication_role = replica");
    await trx.raw(`CREATE TEMP TABLE syn_head (k int PRIMARY KEY, disbursed_on date, maturity date, amount numeric(18,2), method text, term int, rate numeric(9,6), paid_principal numeric(18,2)) ON COMMIT DROP`);
    await trx.raw(`CREATE TEMP TABLE syn_period (k int, seq int, accrual_start date, accrual_end date, due_date date, overdue_from date, days int, opening numeric(18,2), principal numeric(18,2), interest numeric(18,2), paid boolean) ON COMMIT DROP`);
    for (let i = 0; i < heads.length; i += 200) {
      const chunk = heads.slice(i, i + 200);
      await trx.raw(`INSERT INTO syn_head VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`, chunk.flat() as Knex.RawBinding[]);
    }
    for (let i = 0; i < periods.length; i += 200) {
      const chunk = periods.slice(i, i + 200);
      await trx.raw(`INSERT INTO syn_period VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`, chunk.flat() as Knex.RawBinding[]);
    }
    await trx.raw(
      `INSERT INTO loans (id, county_code, village_code, bank_id, household_id, borrower_member_id, status, amount, outstanding_principal, annual_rate, rate_basis,
                          term_months, repayment_method, purpose, penalty_markup, grace_days, applied_on, decided_on, disbursed_on, maturity_date, original_maturity_date, officer_id)
       SELECT overlay(overlay(md5(? || '-l-' || i) placing '4' from 13) placing '8' from 17)::uuid, ?, ?, ?::uuid, overlay(overlay(md5(? || '-h-' || (i % ?)) placing '4' from 13) placing '8' from 17)::uuid, overlay(overlay(md5(? || '-m-' || (i % ?)) placing '4' from 13) placing '8' from 17)::uuid, 'DISBURSED', h.amount,
              CASE WHEN i % ? = 0 THEN h.amount ELSE h.amount - h.paid_principal END, h.rate, CASE WHEN h.term <= 12 THEN 'LPR_1Y' ELSE 'LPR_5Y' END,
              h.term, h.method, 'BREEDING', 0.5, 0, h.disbursed_on, h.disbursed_on, h.disbursed_on, h.maturity, h.maturity, ?::uuid
         FROM generate_series(1, ?) i JOIN syn_head h ON h.k = i % ?`,
      [tag, o.countyCode, o.villageCode, o.bankId, tag, households, tag, households, defaultEvery, officer, o.loans, K],
    );
    await trx.raw(
      `INSERT INTO loan_schedule_periods (loan_id, seq, county_code, accrual_start, accrual_end, due_date, overdue_from, days, opening_principal, principal_due, interest_due,
                                          principal_paid, interest_paid, status, settled_on)
       SELECT overlay(overlay(md5(? || '-l-' || i) placing '4' from 13) placing '8' from 17)::uuid, p.seq, ?, p.accrual_start, p.accrual_end, p.due_date, p.overdue_from, p.days, p.opening, p.principal, p.interest,
              CASE WHEN p.paid AND i % ? <> 0 THEN p.principal ELSE 0 END, CASE WHEN p.paid AND i % ? <> 0 THEN p.interest ELSE 0 END,
              CASE WHEN p.paid AND i % ? <> 0 THEN 'PAID' ELSE 'PENDING' END, CASE WHEN p.paid AND i % ? <> 0 THEN p.due_date END
         FROM generate_series(1, ?) i JOIN syn_period p ON p.k = i % ?`,
      [tag, o.countyCode, defaultEvery, defaultEvery, defaultEvery, defaultEvery, o.loans, K],
    );
  });
  if (o.ledger) {
    await db.transaction(async (trx) => {
      // Balanced by construction; with skipTriggers the checks row by row are skipped, as for the portfolio.
      if (o.skipTriggers) await trx.raw("SET LOCAL session_replication_role = replica");
      await trx.raw(
        `WITH e AS (
           INSERT INTO journal_entries (id, county_code, entry_date, kind, ref_type, ref_id, memo, total)
           SELECT gen_random_uuid(), county_code, disbursed_on, 'loan.disbursement', 'loan', id::text, 'disbursement', amount
             FROM loans WHERE village_code = ? AND disbursed_on IS NOT NULL
           RETURNING id, county_code, ref_id, total)
         INSERT INTO journal_lines (entry_id, account_code, county_code, party_type, party_id, debit, credit)
         SELECT e.id, v.account, e.county_code, v.party_type, CASE WHEN v.party_type = 'loan' THEN e.ref_id ELSE ? END,
                CASE WHEN v.debit THEN e.total ELSE 0 END, CASE WHEN v.debit THEN 0 ELSE e.total END
           FROM e CROSS JOIN (VALUES ('1301', 'loan', true), ('1001', 'bank', false)) v(account, party_type, debit)`,
        [o.villageCode, o.bankId],
      );
    });
  }
  // Loans fully repaid before asOf (short terms) are closed.
  await db.raw(`UPDATE loans SET status = 'REPAID', closed_on = maturity_date WHERE village_code = ? AND outstanding_principal = 0 AND status = 'DISBURSED'`, [o.villageCode]);
  const n = await db("loan_schedule_periods").where("county_code", o.countyCode).count<{ c: number }[]>("* as c");
  return { loans: o.loans, periods: Number(n[0].c) };
}
