import { registerFigureSource } from "./figures.js";

/**
 * Trusteeship figures (委托经营) as of the month's end: guaranteed returns paid in the month and
 * cumulatively, returns in arrears (installments past due + grace and not paid off by that day,
 * at their unpaid amount today), and entrusted principal still open.
 */
registerFigureSource({
  name: "trusteeship",
  async compute(db, p) {
    const { rows } = await db.raw<{ rows: Record<string, string | number>[] }>(
      `SELECT
         (SELECT coalesce(sum(amount), 0) FROM trusteeship_payments WHERE county_code = ? AND kind = 'RETURN' AND paid_on BETWEEN ? AND ?)::numeric(18,2)::text AS paid_month,
         (SELECT coalesce(sum(amount), 0) FROM trusteeship_payments WHERE county_code = ? AND kind = 'RETURN' AND paid_on <= ?)::numeric(18,2)::text AS paid_cum,
         (SELECT coalesce(sum(amount_due - amount_paid), 0) FROM trusteeship_installments
           WHERE county_code = ? AND arrears_from <= ? AND (paid_off_on IS NULL OR paid_off_on > ?))::numeric(18,2)::text AS arrears,
         (SELECT count(DISTINCT trusteeship_id) FROM trusteeship_installments
           WHERE county_code = ? AND arrears_from <= ? AND (paid_off_on IS NULL OR paid_off_on > ?))::int AS contracts_in_arrears,
         (SELECT coalesce(sum(principal - principal_returned), 0) FROM trusteeships
           WHERE county_code = ? AND start_date <= ? AND (principal_returned_on IS NULL OR principal_returned_on > ?))::numeric(18,2)::text AS open_principal`,
      [p.countyCode, p.monthStart, p.monthEnd, p.countyCode, p.monthEnd, p.countyCode, p.monthEnd, p.monthEnd, p.countyCode, p.monthEnd, p.monthEnd, p.countyCode, p.monthEnd, p.monthEnd],
    );
    const r = rows[0];
    return [
      { key: "trustee_returns_paid_amount", label_zh: "当月委托经营收益兑付", label: "Trustee returns paid in the month", unit: "yuan", value: String(r.paid_month) },
      { key: "trustee_returns_paid_amount_cumulative", label_zh: "累计委托经营收益兑付", label: "Trustee returns paid, cumulative", unit: "yuan", value: String(r.paid_cum) },
      { key: "trustee_returns_arrears_amount", label_zh: "委托经营收益拖欠", label: "Trustee returns in arrears", unit: "yuan", value: String(r.arrears) },
      { key: "trusteeships_in_arrears", label_zh: "拖欠合同数", label: "Contracts in arrears", unit: "count", value: Number(r.contracts_in_arrears) },
      { key: "entrusted_principal_open", label_zh: "委托经营本金余额", label: "Entrusted principal open", unit: "yuan", value: String(r.open_principal) },
    ];
  },
});
