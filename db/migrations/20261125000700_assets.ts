import type { Knex } from "knex";

/**
 * Poverty-alleviation assets under the four-way split (扶贫资产 四权分置, docs/DOMAIN.md#asset-income), the operators'
 * return reports, versioned distribution rules, and dividend distributions with every household's
 * share, objection and payment. Every table carries `county_code`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("assets", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    // Ownership right: the village collective.
    t.string("village_code", 12).notNullable().references("code").inTable("divisions");
    t.text("name").notNullable();
    t.enu("asset_type", ["PHOTOVOLTAIC", "WORKSHOP", "GREENHOUSE", "LIVESTOCK", "COLD_STORAGE", "SHARES", "OTHER"]).notNullable();
    t.decimal("book_value", 18, 2).notNullable();
    t.date("build_date").notNullable();
    t.enu("status", ["IN_OPERATION", "IDLE", "DAMAGED", "DISPOSED"]).notNullable();
    t.date("status_since").notNullable();
    // Management right: the operator and its contract.
    t.uuid("operator_id").notNullable().references("id").inTable("operators");
    t.enu("management_form", ["LEASE", "CONTRACTING", "SHAREHOLDING"]).notNullable();
    t.date("contract_start").notNullable();
    t.date("contract_end").notNullable();
    t.enu("return_terms", ["FIXED_RENT", "NET_INCOME_SHARE"]).notNullable();
    t.decimal("annual_rent", 18, 2);
    t.decimal("net_income_share", 9, 6);
    t.decimal("guaranteed_min_rate", 9, 6).notNullable().defaultTo(0);
    // Income right: beneficiary villages or a named list of households.
    t.enu("income_scheme", ["VILLAGES", "HOUSEHOLDS"]).notNullable();
    // Oversight right: the department that supervises (e.g. 县农业农村局, 乡镇经管站).
    t.text("oversight_body").notNullable();
    t.string("oversight_division_code", 12).notNullable();
    t.integer("version").notNullable().defaultTo(1);
    t.uuid("created_by").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "village_code"]);
    t.index(["operator_id"]);
  });
  await knex.raw(`ALTER TABLE assets ADD CONSTRAINT assets_values CHECK (
    book_value >= 0 AND contract_end > contract_start AND guaranteed_min_rate >= 0 AND guaranteed_min_rate < 1
    AND county_code = substr(village_code, 1, 6) AND substr(oversight_division_code, 1, 6) = county_code
    AND ((return_terms = 'FIXED_RENT' AND annual_rent IS NOT NULL AND annual_rent >= 0 AND net_income_share IS NULL)
      OR (return_terms = 'NET_INCOME_SHARE' AND net_income_share IS NOT NULL AND net_income_share > 0 AND net_income_share <= 1 AND annual_rent IS NULL)))`);

  await knex.schema.createTable("asset_funding_sources", (t) => {
    t.uuid("asset_id").notNullable().references("id").inTable("assets");
    t.integer("position").notNullable();
    t.string("county_code", 6).notNullable();
    t.text("source").notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.text("note");
    t.primary(["asset_id", "position"]);
  });
  await knex.raw(`ALTER TABLE asset_funding_sources ADD CONSTRAINT asset_funding_sources_amount CHECK (amount > 0)`);

  await knex.schema.createTable("asset_beneficiary_villages", (t) => {
    t.uuid("asset_id").notNullable().references("id").inTable("assets");
    t.string("village_code", 12).notNullable().references("code").inTable("divisions");
    t.string("county_code", 6).notNullable();
    t.primary(["asset_id", "village_code"]);
    t.index(["village_code"]);
  });
  await knex.schema.createTable("asset_beneficiary_households", (t) => {
    t.uuid("asset_id").notNullable().references("id").inTable("assets");
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.string("county_code", 6).notNullable();
    t.primary(["asset_id", "household_id"]);
    t.index(["household_id"]);
  });

  // Every change of status or of one of the four rights: what it was, what it became, and why.
  await knex.schema.createTable("asset_changes", (t) => {
    t.bigIncrements("seq").primary();
    t.uuid("id").notNullable().unique().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("asset_id").notNullable().references("id").inTable("assets");
    t.string("county_code", 6).notNullable();
    t.enu("kind", ["CREATED", "STATUS", "OWNERSHIP", "MANAGEMENT", "INCOME_RIGHTS", "OVERSIGHT", "DETAILS"]).notNullable();
    t.date("effective_date").notNullable();
    t.text("reason").notNullable();
    t.jsonb("before");
    t.jsonb("after").notNullable();
    t.uuid("actor_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["asset_id", "seq"]);
  });

  // Return reports (收益申报): the operator's figures for a period, confirmed or disputed by the village.
  await knex.schema.createTable("asset_return_reports", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("asset_id").notNullable().references("id").inTable("assets");
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12).notNullable();
    t.uuid("operator_id").notNullable().references("id").inTable("operators");
    t.string("period", 7).notNullable();
    t.date("period_start").notNullable();
    t.date("period_end").notNullable();
    t.decimal("revenue", 18, 2).notNullable();
    t.decimal("costs", 18, 2).notNullable();
    t.decimal("net_income", 18, 2).notNullable();
    t.decimal("amount_payable", 18, 2).notNullable();
    t.decimal("contract_minimum", 18, 2).notNullable();
    t.jsonb("attachments").notNullable().defaultTo("[]");
    t.text("note");
    t.enu("status", ["SUBMITTED", "CONFIRMED", "DISPUTED"]).notNullable();
    t.uuid("resubmits_id").references("id").inTable("asset_return_reports");
    t.text("dispute_reason");
    t.uuid("submitted_by").notNullable();
    t.timestamp("submitted_at", { useTz: true }).notNullable();
    t.uuid("reviewed_by");
    t.timestamp("reviewed_at", { useTz: true });
    t.index(["asset_id", "period"]);
    t.index(["county_code", "village_code", "period", "status"]);
  });
  await knex.raw(`ALTER TABLE asset_return_reports ADD CONSTRAINT asset_return_reports_amounts CHECK (
    revenue >= 0 AND costs >= 0 AND net_income = revenue - costs AND amount_payable >= 0 AND contract_minimum >= 0
    AND amount_payable >= contract_minimum AND period_end >= period_start)`);
  // One live report per asset and period: a disputed one is replaced by a resubmission.
  await knex.raw(`CREATE UNIQUE INDEX asset_return_reports_one_live ON asset_return_reports (asset_id, period) WHERE status <> 'DISPUTED'`);

  await knex.schema.createTable("distribution_rules", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.enu("scope", ["ASSET", "VILLAGE"]).notNullable();
    t.uuid("asset_id").references("id").inTable("assets");
    t.string("village_code", 12).references("code").inTable("divisions");
    t.integer("version").notNullable();
    t.date("effective_from").notNullable();
    t.decimal("collective_retention_ratio", 9, 6).notNullable();
    t.jsonb("earmarks").notNullable().defaultTo("[]");
    t.enu("weight_basis", ["HOUSEHOLD", "MEMBER"]).notNullable();
    t.decimal("base_weight", 9, 6).notNullable();
    t.decimal("multiplier_no_labour", 9, 6).notNullable();
    t.decimal("multiplier_serious_illness", 9, 6).notNullable();
    t.decimal("multiplier_dibao_tekun", 9, 6).notNullable();
    t.integer("transition_months").notNullable();
    t.decimal("annual_cap_per_household", 18, 2);
    t.text("note");
    t.uuid("created_by").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE distribution_rules ADD CONSTRAINT distribution_rules_values CHECK (
    ((scope = 'ASSET' AND asset_id IS NOT NULL AND village_code IS NULL) OR (scope = 'VILLAGE' AND village_code IS NOT NULL AND asset_id IS NULL))
    AND collective_retention_ratio >= 0 AND collective_retention_ratio <= 1 AND base_weight > 0
    AND multiplier_no_labour >= 1 AND multiplier_serious_illness >= 1 AND multiplier_dibao_tekun >= 1
    AND transition_months BETWEEN 0 AND 120 AND (annual_cap_per_household IS NULL OR annual_cap_per_household >= 0))`);
  await knex.raw(`CREATE UNIQUE INDEX distribution_rules_version ON distribution_rules (scope, coalesce(asset_id::text, village_code), version)`);

  await knex.schema.createTable("distributions", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.enu("scope", ["ASSET", "VILLAGE"]).notNullable();
    t.uuid("asset_id").references("id").inTable("assets");
    // The owning village (asset scope) or the village (village scope): whose officer runs it.
    t.string("village_code", 12).notNullable().references("code").inTable("divisions");
    t.string("period", 7).notNullable();
    t.integer("period_year").notNullable();
    t.date("reference_date").notNullable();
    t.uuid("rule_id").references("id").inTable("distribution_rules");
    t.jsonb("rule").notNullable();
    t.enu("status", ["DRAFT", "NOTICED", "APPROVED", "PAID", "REVERSED"]).notNullable();
    t.decimal("income_total", 18, 2).notNullable();
    t.decimal("retention_amount", 18, 2).notNullable();
    t.jsonb("earmarks").notNullable().defaultTo("[]");
    t.decimal("earmarks_total", 18, 2).notNullable();
    t.decimal("cap_excess", 18, 2).notNullable();
    t.decimal("collective_total", 18, 2).notNullable();
    t.decimal("pool_amount", 18, 2).notNullable();
    t.decimal("shares_total", 18, 2).notNullable();
    t.integer("household_count").notNullable();
    t.decimal("total_weight", 24, 6).notNullable();
    t.jsonb("excluded").notNullable().defaultTo("{}");
    t.integer("computations").notNullable().defaultTo(1);
    t.timestamp("computed_at", { useTz: true }).notNullable();
    t.date("notice_date");
    t.date("payable_from");
    t.uuid("approved_by");
    t.timestamp("approved_at", { useTz: true });
    t.decimal("paid_total", 18, 2).notNullable().defaultTo(0);
    t.decimal("returned_total", 18, 2).notNullable().defaultTo(0);
    t.date("paid_on");
    t.timestamp("reversed_at", { useTz: true });
    t.text("reversal_reason");
    t.uuid("created_by").notNullable();
    t.integer("version").notNullable().defaultTo(1);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "village_code", "status"]);
    t.index(["asset_id"]);
  });
  // The distribution adds up: collective (retention + earmarks + cap excess) + every share = the income.
  await knex.raw(`ALTER TABLE distributions ADD CONSTRAINT distributions_adds_up CHECK (
    income_total >= 0 AND retention_amount >= 0 AND earmarks_total >= 0 AND cap_excess >= 0 AND shares_total >= 0
    AND collective_total = retention_amount + earmarks_total + cap_excess
    AND collective_total + shares_total = income_total
    AND pool_amount = income_total - retention_amount - earmarks_total
    AND paid_total >= 0 AND returned_total >= 0 AND paid_total + returned_total <= shares_total
    AND (status <> 'PAID' OR paid_total + returned_total = shares_total)
    AND ((scope = 'ASSET') = (asset_id IS NOT NULL)))`);

  // The confirmed reports a distribution uses: each at most once while not released (by a reversal).
  await knex.schema.createTable("distribution_incomes", (t) => {
    t.uuid("distribution_id").notNullable().references("id").inTable("distributions");
    t.uuid("report_id").notNullable().references("id").inTable("asset_return_reports");
    t.uuid("asset_id").notNullable().references("id").inTable("assets");
    t.string("county_code", 6).notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.timestamp("released_at", { useTz: true });
    t.primary(["distribution_id", "report_id"]);
  });
  await knex.raw(`CREATE UNIQUE INDEX distribution_incomes_once ON distribution_incomes (report_id) WHERE released_at IS NULL`);

  await knex.schema.createTable("distribution_shares", (t) => {
    t.uuid("distribution_id").notNullable().references("id").inTable("distributions");
    // No foreign key to households: the shares are written from the households table in the same
    // transaction, households are never deleted, and 100,000 per-row RI checks double the write time.
    t.uuid("household_id").notNullable();
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12).notNullable();
    t.string("status_at_reference", 16).notNullable();
    t.enu("eligibility", ["POOR", "MONITORED", "EXITED_IN_TRANSITION"]).notNullable();
    t.date("exit_date");
    t.date("transition_ends");
    t.integer("members").notNullable();
    t.decimal("multiplier", 9, 6).notNullable();
    t.text("multiplier_reason");
    t.decimal("weight", 24, 6).notNullable();
    t.decimal("uncapped_amount", 18, 2).notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.boolean("capped").notNullable().defaultTo(false);
    t.enu("payment_status", ["PENDING", "PAID", "FAILED", "RETURNED"]).notNullable().defaultTo("PENDING");
    t.text("bank_reference");
    t.date("paid_on");
    t.uuid("payment_batch");
    t.text("failure_reason");
    t.integer("attempts").notNullable().defaultTo(0);
    t.primary(["distribution_id", "household_id"]);
    t.index(["household_id"]);
  });
  await knex.raw(`ALTER TABLE distribution_shares ADD CONSTRAINT distribution_shares_values CHECK (
    amount >= 0 AND amount <= uncapped_amount AND weight > 0 AND members >= 1
    AND (payment_status <> 'PAID' OR paid_on IS NOT NULL))`);
  await knex.raw(`CREATE INDEX distribution_shares_batch ON distribution_shares (payment_batch) WHERE payment_batch IS NOT NULL`);

  await knex.schema.createTable("distribution_objections", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("distribution_id").notNullable().references("id").inTable("distributions");
    t.string("county_code", 6).notNullable();
    t.uuid("household_id").references("id").inTable("households");
    t.text("raised_by").notNullable();
    t.text("content").notNullable();
    t.enu("status", ["OPEN", "DISMISSED", "UPHELD"]).notNullable();
    t.text("resolution");
    t.uuid("recorded_by").notNullable();
    t.timestamp("recorded_at", { useTz: true }).notNullable();
    t.uuid("resolved_by");
    t.timestamp("resolved_at", { useTz: true });
    t.index(["distribution_id"]);
  });
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
