import type { Knex } from "knex";

/**
 * A version number per county of what households' dividends are made of, moved on (in the
 * writing transaction, so it becomes visible with the change itself) by every write that can change
 * a household's dividends answer: a distribution's row (status, paid date, reversal), its shares (a
 * payment, a failure, a recomputation), its incomes (which assets it distributes), and an asset's
 * name or type. The household portal keeps each household's answer with the version it was read at
 * and reads it again only when the county's version has moved on.
 */

const BUMP = `INSERT INTO dividend_versions (county_code, version) SELECT c, 1 FROM unnest(counties) AS c ORDER BY c
               ON CONFLICT (county_code) DO UPDATE SET version = dividend_versions.version + 1`;

/** Tables whose rows are few per change: a trigger per row (an asset only when its name or type changes). */
const ROW_TABLES = ["distributions", "distribution_incomes"];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("dividend_versions", (t) => {
    t.string("county_code", 6).primary();
    t.bigInteger("version").notNullable();
  });
  await knex.raw(`
    CREATE FUNCTION dividends_changed_row() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE counties text[];
    BEGIN
      IF TG_OP = 'DELETE' THEN counties := ARRAY[OLD.county_code]; ELSE counties := ARRAY[NEW.county_code]; END IF;
      ${BUMP};
      RETURN NULL;
    END $$`);
  // Shares change by the thousand in one statement (a distribution computed or paid): one move per statement and county.
  await knex.raw(`
    CREATE FUNCTION dividends_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE counties text[];
    BEGIN
      SELECT array_agg(DISTINCT county_code) INTO counties FROM changed;
      IF counties IS NOT NULL THEN ${BUMP}; END IF;
      RETURN NULL;
    END $$`);
  for (const table of ROW_TABLES) {
    await knex.raw(`CREATE TRIGGER ${table}_dividends_changed AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION dividends_changed_row()`);
  }
  await knex.raw(`CREATE TRIGGER assets_dividends_changed AFTER UPDATE OF name, asset_type ON assets FOR EACH ROW
                  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.asset_type IS DISTINCT FROM NEW.asset_type) EXECUTE FUNCTION dividends_changed_row()`);
  for (const [event, side] of [["INSERT", "NEW"], ["UPDATE", "NEW"], ["DELETE", "OLD"]]) {
    await knex.raw(`CREATE TRIGGER distribution_shares_dividends_changed_${event.toLowerCase()} AFTER ${event} ON distribution_shares
                    REFERENCING ${side} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION dividends_changed_rows()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const event of ["insert", "update", "delete"]) await knex.raw(`DROP TRIGGER distribution_shares_dividends_changed_${event} ON distribution_shares`);
  await knex.raw("DROP TRIGGER assets_dividends_changed ON assets");
  for (const table of ROW_TABLES) await knex.raw(`DROP TRIGGER ${table}_dividends_changed ON ${table}`);
  await knex.raw("DROP FUNCTION dividends_changed_rows()");
  await knex.raw("DROP FUNCTION dividends_changed_row()");
  await knex.schema.dropTable("dividend_versions");
}
