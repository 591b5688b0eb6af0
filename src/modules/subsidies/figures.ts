import type { Knex } from "knex";
import { type BreakdownRow, type BreakdownScope, type Figure, groupedRows, registerBreakdownSource, registerFigureSource } from "../reports/index.js";

type Db = Knex | Knex.Transaction;

/**
 * Interest subsidies paid (贴息发放) in the month and cumulatively to the month's end: the claimed
 * amounts of batches paid, split into the part paid to banks (TO_BANK) and reimbursed to households
 * (TO_HOUSEHOLD), and the households reimbursed.
 */
registerFigureSource({
  name: "subsidies",
  order: 50,
  async compute(db, p) {
    const { rows } = await db.raw<{ rows: { month: string; cum: string; month_bank: string; month_households: string; households_cum: number }[] }>(
      `SELECT coalesce(sum(l.subsidy) FILTER (WHERE c.paid_on >= ?), 0)::numeric(18,2)::text AS month,
              coalesce(sum(l.subsidy), 0)::numeric(18,2)::text AS cum,
              coalesce(sum(l.subsidy) FILTER (WHERE c.paid_on >= ? AND l.mode = 'TO_BANK'), 0)::numeric(18,2)::text AS month_bank,
              coalesce(sum(l.subsidy) FILTER (WHERE c.paid_on >= ? AND l.mode = 'TO_HOUSEHOLD'), 0)::numeric(18,2)::text AS month_households,
              (SELECT count(DISTINCT household_id) FROM household_subsidy_payments WHERE county_code = ? AND paid_on <= ?)::int AS households_cum
         FROM subsidy_claims c JOIN subsidy_claim_lines l ON l.claim_id = c.id
        WHERE c.county_code = ? AND c.status = 'PAID' AND c.paid_on <= ?`,
      [p.monthStart, p.monthStart, p.monthStart, p.countyCode, p.monthEnd, p.countyCode, p.monthEnd],
    );
    const r = rows[0];
    const out: Figure[] = [
      { key: "subsidies_paid_month", label_zh: "当月发放贴息", label: "Interest subsidies paid in the month", unit: "yuan", value: r.month },
      { key: "subsidies_paid_month_to_banks", label_zh: "当月贴息（拨付银行）", label: "Subsidies paid to banks in the month (TO_BANK)", unit: "yuan", value: r.month_bank },
      { key: "subsidies_paid_month_to_households", label_zh: "当月贴息（拨付农户）", label: "Subsidies reimbursed to households in the month (TO_HOUSEHOLD)", unit: "yuan", value: r.month_households },
      { key: "subsidies_paid_cumulative", label_zh: "累计发放贴息", label: "Interest subsidies paid, cumulative", unit: "yuan", value: r.cum },
      { key: "subsidy_households_reimbursed_cumulative", label_zh: "累计获贴息农户（先缴后补）", label: "Households reimbursed, cumulative", unit: "households", value: Number(r.households_cum) },
    ];
    return out;
  },
});

/**
 * Interest subsidies by township, village or bank (the village of the loan's household, the bank
 * that claimed): claimed = what every batch's lines claim (a forfeited or rejected line claims 0);
 * paid = the lines of batches paid by the day (the county summary's "paid").
 */
export function subsidyFiguresBy(db: Db, scope: BreakdownScope): Promise<BreakdownRow[]> {
  return groupedRows(db, scope, { county: "l.county_code", village: "l.village_code", bank: "l.bank_id" }, (key, where) => `
    SELECT ${key} AS key, GROUPING(${key}) = 1 AS is_total,
           coalesce(sum(l.subsidy), 0)::numeric(18,2)::text AS subsidies_claimed_amount,
           coalesce(sum(l.subsidy) FILTER (WHERE c.status = 'PAID' AND c.paid_on <= :as_of), 0)::numeric(18,2)::text AS subsidies_paid_amount
      FROM subsidy_claim_lines l JOIN subsidy_claims c ON c.id = l.claim_id
     WHERE ${where} AND c.generated_on <= :as_of
     GROUP BY GROUPING SETS ((${key}), ())`);
}

registerBreakdownSource({ name: "subsidies", compute: subsidyFiguresBy });
