import { D, Money } from "../../lib/money.js";
import { registerFigureSource } from "./figures.js";

/**
 * Trusteeship figures (委托经营) as of the month's end: guaranteed returns paid in the month and
 * cumulatively, returns in arrears (installments past due + grace and not paid off by that day,
 * at their unpaid amount today), and entrusted principal still open.
 */
registerFigureSource({
  name: "trusteeship",
  order: 30,
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

/**
 * Poverty-alleviation assets (扶贫资产) built by the month's end, by their current status, and
 * dividends (收益分红) paid: in the month, cumulatively, households reached and the average per
 * household reached. Shares of reversed distributions are left out.
 */
registerFigureSource({
  name: "assets",
  order: 40,
  async compute(db, p) {
    const { rows: byStatus } = await db.raw<{ rows: { status: string; n: number; value: string }[] }>(
      `SELECT status, count(*)::int AS n, coalesce(sum(book_value), 0)::numeric(18,2)::text AS value
         FROM assets WHERE county_code = ? AND build_date <= ? GROUP BY status`,
      [p.countyCode, p.monthEnd],
    );
    const { rows } = await db.raw<{ rows: { paid_month: string; paid_cum: string; reached: number }[] }>(
      `SELECT coalesce(sum(s.amount) FILTER (WHERE s.paid_on >= ?), 0)::numeric(18,2)::text AS paid_month,
              coalesce(sum(s.amount), 0)::numeric(18,2)::text AS paid_cum,
              count(DISTINCT s.household_id)::int AS reached
         FROM distribution_shares s JOIN distributions d ON d.id = s.distribution_id
        WHERE s.county_code = ? AND s.payment_status = 'PAID' AND s.paid_on <= ? AND d.status <> 'REVERSED'`,
      [p.monthStart, p.countyCode, p.monthEnd],
    );
    const r = rows[0];
    const by = new Map(byStatus.map((x) => [x.status, x]));
    const label: Record<string, string> = { IN_OPERATION: "运营中", IDLE: "闲置", DAMAGED: "损毁", DISPOSED: "已处置" };
    const average = r.reached === 0 ? "0.00" : Money.format(Money.toFen(new D(r.paid_cum).div(r.reached)));
    return [
      ...Object.entries(label).map(([status, zh]) => ({
        key: `assets_${status.toLowerCase()}`,
        label_zh: `扶贫资产${zh}（个）`,
        label: `Assets ${status.toLowerCase().replace("_", " ")}`,
        unit: "count" as const,
        value: Number(by.get(status)?.n ?? 0),
      })),
      { key: "assets_book_value", label_zh: "扶贫资产账面价值", label: "Book value of assets", unit: "yuan", value: Money.format(Money.sum(byStatus.map((x) => x.value))) },
      { key: "dividends_paid_amount", label_zh: "当月分红发放", label: "Dividends paid in the month", unit: "yuan", value: String(r.paid_month) },
      { key: "dividends_paid_amount_cumulative", label_zh: "累计分红发放", label: "Dividends paid, cumulative", unit: "yuan", value: String(r.paid_cum) },
      { key: "dividend_households_reached", label_zh: "累计受益户数", label: "Households reached by dividends", unit: "households", value: Number(r.reached) },
      { key: "dividend_average_per_household", label_zh: "户均分红", label: "Average dividend per household reached", unit: "yuan", value: average },
    ];
  },
});
