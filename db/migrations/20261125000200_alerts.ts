import type { Knex } from "knex";

/**
 * Alerts raised by every module (docs/DOMAIN.md#alerts) in one table. At most one open alert per
 * (kind, entity): raising again refreshes it, clearing closes it; set-based jobs raise with
 * INSERT … SELECT … ON CONFLICT DO NOTHING against the partial unique index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("alerts", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.text("kind").notNullable();
    t.enu("severity", ["INFO", "WARNING", "CRITICAL"]).notNullable();
    t.text("entity_type").notNullable();
    t.text("entity_id").notNullable();
    t.uuid("bank_id");
    t.uuid("operator_id");
    t.string("village_code", 12);
    t.text("message").notNullable();
    t.jsonb("details").notNullable().defaultTo("{}");
    t.date("business_date");
    t.timestamp("raised_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("cleared_at", { useTz: true });
    t.uuid("acknowledged_by");
    t.timestamp("acknowledged_at", { useTz: true });
    t.index(["county_code", "cleared_at", "raised_at"]);
  });
  await knex.raw(`CREATE UNIQUE INDEX alerts_one_open ON alerts (kind, entity_type, entity_id) WHERE cleared_at IS NULL`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
