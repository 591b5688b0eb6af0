import { householdStatusAsOf, ratioSql, registerFigureSource } from "./figures.js";

/**
 * Credit figures as of the month's end: households rated and lines granted (授信), from ratings
 * valid that day; loans disbursed in the month and cumulatively, coverage (获贷率 = households that
 * ever borrowed / eligible households) and credit use (用信率 = households with an outstanding loan /
 * households with a line); outstanding principal as of the day (amount less principal repaid and
 * by then); overdue and non-performing ratios from the close-of-business snapshot of the
 * last business date in the month: the outstanding principal of loans past due (DPD > 0, 逾期贷款余额)
 * and of non-performing loans (DPD > 90) over the outstanding principal, so the overdue ratio is
 * never below the NPL ratio (a bullet loan's principal is only "due" at maturity, but the whole
 * loan is in arrears once its interest is).
 */
registerFigureSource({
  name: "credit",
  order: 20,
  async compute(db, p) {
    const eligible = householdStatusAsOf(db, p.countyCode, p.monthEnd);
    const { rows } = await db.raw<{ rows: Record<string, string | number>[] }>(
      `WITH eligible AS (SELECT id FROM ? s WHERE s.status IN ('POOR', 'EXITED', 'MONITORED')),
       valid AS (
         SELECT DISTINCT ON (r.household_id) r.household_id, r.credit_line
           FROM ratings r
          WHERE r.county_code = ? AND r.status IN ('EFFECTIVE', 'SUPERSEDED')
            AND r.valid_from <= ? AND r.valid_until >= ? AND (r.superseded_on IS NULL OR r.superseded_on > ?)
          ORDER BY r.household_id, r.valid_from DESC),
       disbursed AS (
         SELECT l.* FROM loans l WHERE l.county_code = ? AND l.disbursed_on IS NOT NULL AND l.disbursed_on <= ? AND l.renewed_from_loan_id IS NULL),
       outstanding AS (
         SELECT l.id, l.household_id,
                CASE WHEN l.closed_on IS NOT NULL AND l.closed_on <= ? THEN 0
                     ELSE l.amount - coalesce((SELECT sum(rp.principal) FROM loan_repayments rp WHERE rp.loan_id = l.id AND rp.paid_on <= ?), 0)
                END AS principal
           FROM loans l WHERE l.county_code = ? AND l.disbursed_on IS NOT NULL AND l.disbursed_on <= ?)
       SELECT
         (SELECT count(*) FROM eligible)::int AS eligible,
         (SELECT count(*) FROM valid v JOIN eligible e ON e.id = v.household_id)::int AS rated,
         (SELECT count(*) FROM valid v JOIN eligible e ON e.id = v.household_id WHERE v.credit_line > 0)::int AS with_line,
         (SELECT coalesce(sum(v.credit_line), 0) FROM valid v JOIN eligible e ON e.id = v.household_id)::numeric(18,2)::text AS lines,
         (SELECT count(*) FROM disbursed d WHERE d.disbursed_on >= ?)::int AS disbursed_count,
         (SELECT coalesce(sum(d.amount), 0) FROM disbursed d WHERE d.disbursed_on >= ?)::numeric(18,2)::text AS disbursed_amount,
         (SELECT count(*) FROM disbursed)::int AS disbursed_count_cum,
         (SELECT coalesce(sum(amount), 0) FROM disbursed)::numeric(18,2)::text AS disbursed_amount_cum,
         (SELECT count(DISTINCT household_id) FROM disbursed)::int AS borrowers_cum,
         (SELECT count(DISTINCT household_id) FROM outstanding WHERE principal > 0)::int AS borrowers_now,
         (SELECT coalesce(sum(principal), 0) FROM outstanding)::numeric(18,2)::text AS outstanding`,
      [eligible, p.countyCode, p.monthEnd, p.monthEnd, p.monthEnd, p.countyCode, p.monthEnd, p.monthEnd, p.monthEnd, p.countyCode, p.monthEnd, p.monthStart, p.monthStart],
    );
    const r = rows[0];
    const snap = await db.raw<{ rows: { outstanding: string; overdue: string; npl: string }[] }>(
      `SELECT coalesce(sum(s.outstanding_principal), 0)::text AS outstanding,
              coalesce(sum(s.principal_dpd_1_30 + s.principal_dpd_31_90 + s.principal_dpd_91_180 + s.principal_dpd_181_plus), 0)::text AS overdue,
              coalesce(sum(s.npl_principal), 0)::text AS npl
         FROM loan_portfolio_daily s
        WHERE s.county_code = ? AND s.business_date = (SELECT max(business_date) FROM loan_portfolio_daily WHERE county_code = ? AND business_date <= ?)`,
      [p.countyCode, p.countyCode, p.monthEnd],
    );
    const s = snap.rows[0];
    const ratio = async (num: string, den: string) => (await db.raw<{ rows: { v: string }[] }>(`SELECT (${ratioSql(":num::numeric", ":den::numeric")})::text AS v`, { num, den })).rows[0].v;
    return [
      { key: "households_rated", label_zh: "评级户数", label: "Households with a valid rating", unit: "households", value: Number(r.rated) },
      { key: "households_with_line", label_zh: "授信户数", label: "Households granted a credit line", unit: "households", value: Number(r.with_line) },
      { key: "lines_granted_amount", label_zh: "授信总额", label: "Credit lines granted", unit: "yuan", value: String(r.lines) },
      { key: "rated_share", label_zh: "评级覆盖率", label: "Share of eligible households rated", unit: "ratio", value: await ratio(String(r.rated), String(r.eligible)) },
      { key: "loans_disbursed_count", label_zh: "当月放贷笔数", label: "Loans disbursed in the month", unit: "count", value: Number(r.disbursed_count) },
      { key: "loans_disbursed_amount", label_zh: "当月放贷金额", label: "Amount disbursed in the month", unit: "yuan", value: String(r.disbursed_amount) },
      { key: "loans_disbursed_count_cumulative", label_zh: "累计放贷笔数", label: "Loans disbursed, cumulative", unit: "count", value: Number(r.disbursed_count_cum) },
      { key: "loans_disbursed_amount_cumulative", label_zh: "累计放贷金额", label: "Amount disbursed, cumulative", unit: "yuan", value: String(r.disbursed_amount_cum) },
      { key: "households_borrowed_cumulative", label_zh: "累计获贷户数", label: "Households that ever borrowed", unit: "households", value: Number(r.borrowers_cum) },
      { key: "coverage_ratio", label_zh: "获贷率", label: "Coverage (households ever borrowing / eligible households)", unit: "ratio", value: await ratio(String(r.borrowers_cum), String(r.eligible)) },
      { key: "credit_use_ratio", label_zh: "用信率", label: "Credit use (households with a loan outstanding / households with a line)", unit: "ratio", value: await ratio(String(r.borrowers_now), String(r.with_line)) },
      { key: "loans_outstanding_amount", label_zh: "贷款余额", label: "Outstanding principal", unit: "yuan", value: String(r.outstanding) },
      { key: "overdue_ratio", label_zh: "逾期率", label: "Principal of loans past due (any DPD) / outstanding (last close of business)", unit: "ratio", value: await ratio(s.overdue, s.outstanding) },
      { key: "npl_ratio", label_zh: "不良率", label: "Non-performing (DPD > 90) principal / outstanding (last close of business)", unit: "ratio", value: await ratio(s.npl, s.outstanding) },
    ];
  },
});
