import type { Knex } from "knex";

/**
 * Partner portals (bank apps, village service stations) and the households' own credentials:
 * the head's ID number and a PIN the village officer issues and the household changes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("partners", (t) => {
    t.text("client_id").primary();
    t.text("name").notNullable();
    t.text("secret_hash").notNullable();
    t.specificType("county_codes", "varchar(6)[]").notNullable();
    t.integer("rate_limit_per_minute").notNullable().defaultTo(600);
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE partners ADD CONSTRAINT partners_counties CHECK (cardinality(county_codes) >= 1 AND rate_limit_per_minute > 0)`);

  await knex.schema.createTable("household_credentials", (t) => {
    t.uuid("household_id").primary().references("id").inTable("households");
    t.string("county_code", 6).notNullable();
    t.text("pin_hash").notNullable();
    t.boolean("must_change").notNullable().defaultTo(true);
    t.integer("failures").notNullable().defaultTo(0);
    t.timestamp("locked_until", { useTz: true });
    t.uuid("issued_by").notNullable();
    t.timestamp("issued_at", { useTz: true }).notNullable();
    t.timestamp("changed_at", { useTz: true });
  });
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
