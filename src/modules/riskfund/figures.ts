import { type Figure, ratioSql, registerFigureSource } from "../reports/index.js";

/**
 * Risk compensation funds as of the month's end (风险补偿金): the balance of every fund in the
 * county (from its movements up to that day), the outstanding poverty loans of the banks that have
 * a fund, and the county's leverage = that outstanding / balance (环江: 1亿 fund, 10亿 loans); the
 * compensation paid in the month and cumulatively; circuit breakers open at the month's end.
 */
registerFigureSource({
  name: "riskfund",
  order: 60,
  async compute(db, p) {
    const { rows } = await db.raw<{ rows: { balance: string; outstanding: string; leverage: string; comp_month: string; comp_cum: string; breakers: number }[] }>(
      `WITH balances AS (
         SELECT f.id, f.bank_id,
                coalesce((SELECT m.balance_after FROM risk_fund_movements m WHERE m.fund_id = f.id AND m.movement_date <= ? ORDER BY m.movement_date DESC, m.created_at DESC LIMIT 1), 0) AS balance
           FROM risk_funds f WHERE f.county_code = ?),
       outstanding AS (
         SELECT coalesce(sum(
                  CASE WHEN l.closed_on IS NOT NULL AND l.closed_on <= ? THEN 0
                       ELSE l.amount - coalesce((SELECT sum(rp.principal) FROM loan_repayments rp WHERE rp.loan_id = l.id AND rp.paid_on <= ?), 0) END), 0) AS principal
           FROM loans l WHERE l.county_code = ? AND l.disbursed_on IS NOT NULL AND l.disbursed_on <= ? AND l.bank_id IN (SELECT bank_id FROM balances))
       SELECT (SELECT coalesce(sum(balance), 0) FROM balances)::numeric(18,2)::text AS balance,
              (SELECT principal FROM outstanding)::numeric(18,2)::text AS outstanding,
              ${ratioSql("(SELECT principal FROM outstanding)", "(SELECT coalesce(sum(balance), 0) FROM balances)")}::text AS leverage,
              (SELECT coalesce(sum(fund_amount), 0) FROM compensation_claims WHERE county_code = ? AND status = 'PAID' AND paid_on BETWEEN ? AND ?)::numeric(18,2)::text AS comp_month,
              (SELECT coalesce(sum(fund_amount), 0) FROM compensation_claims WHERE county_code = ? AND status = 'PAID' AND paid_on <= ?)::numeric(18,2)::text AS comp_cum,
              (SELECT count(*) FROM circuit_breakers WHERE county_code = ? AND tripped_on <= ? AND (lifted_on IS NULL OR lifted_on > ?))::int AS breakers`,
      [p.monthEnd, p.countyCode, p.monthEnd, p.monthEnd, p.countyCode, p.monthEnd, p.countyCode, p.monthStart, p.monthEnd, p.countyCode, p.monthEnd, p.countyCode, p.monthEnd, p.monthEnd],
    );
    const r = rows[0];
    const out: Figure[] = [
      { key: "risk_fund_balance", label_zh: "风险补偿金余额", label: "Risk compensation fund balance", unit: "yuan", value: r.balance },
      { key: "risk_fund_covered_outstanding", label_zh: "有补偿金银行贷款余额", label: "Outstanding poverty loans of banks with a fund", unit: "yuan", value: r.outstanding },
      { key: "risk_fund_leverage", label_zh: "风险补偿金放大倍数", label: "Fund leverage (outstanding / balance)", unit: "ratio", value: r.leverage },
      { key: "risk_fund_compensation_month", label_zh: "当月风险补偿", label: "Compensation paid by the fund in the month", unit: "yuan", value: r.comp_month },
      { key: "risk_fund_compensation_cumulative", label_zh: "累计风险补偿", label: "Compensation paid by the fund, cumulative", unit: "yuan", value: r.comp_cum },
      { key: "circuit_breakers_open", label_zh: "熔断中（银行×县）", label: "Circuit breakers open at the month's end", unit: "count", value: Number(r.breakers) },
    ];
    return out;
  },
});
