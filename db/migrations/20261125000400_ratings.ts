import type { Knex } from "knex";

/**
 * Credit ratings and credit lines (评级授信): versioned scorecards per county, their grade bands,
 * and the ratings made under them. A rating keeps the scorecard version it was made under and its
 * computed explanation; a trigger refuses any change to the computed part afterwards.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("scorecards", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable().references("code").inTable("divisions");
    t.integer("version").notNullable();
    t.text("name").notNullable();
    t.integer("validity_months").notNullable().defaultTo(12);
    t.jsonb("indicators").notNullable();
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["county_code", "version"]);
  });
  await knex.raw(`ALTER TABLE scorecards ADD CONSTRAINT scorecards_version_positive CHECK (version >= 1 AND validity_months BETWEEN 1 AND 60)`);

  await knex.schema.createTable("scorecard_grades", (t) => {
    t.uuid("scorecard_id").notNullable().references("id").inTable("scorecards");
    t.string("county_code", 6).notNullable();
    t.string("grade", 8).notNullable();
    t.integer("rank").notNullable();
    t.integer("min_score").notNullable();
    t.decimal("credit_line", 18, 2).notNullable();
    t.primary(["scorecard_id", "grade"]);
    t.unique(["scorecard_id", "rank"]);
  });
  await knex.raw(`ALTER TABLE scorecard_grades ADD CONSTRAINT scorecard_grades_values CHECK (min_score BETWEEN 0 AND 100 AND credit_line >= 0)`);

  await knex.schema.createTable("ratings", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12).notNullable();
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.uuid("scorecard_version_id").notNullable().references("id").inTable("scorecards");
    t.integer("scorecard_version").notNullable();
    t.enu("status", ["PENDING", "EFFECTIVE", "SUPERSEDED", "REJECTED"]).notNullable();
    t.integer("score").notNullable();
    t.string("grade", 8).notNullable();
    t.decimal("credit_line", 18, 2).notNullable();
    t.jsonb("explanation").notNullable();
    t.jsonb("evidence").notNullable();
    t.date("rated_on").notNullable();
    t.uuid("created_by").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("decided_by");
    t.timestamp("decided_at", { useTz: true });
    t.text("decision_note");
    t.date("valid_from");
    t.date("valid_until");
    t.uuid("superseded_by").references("id").inTable("ratings");
    t.date("superseded_on");
    t.index(["household_id", "status"]);
    t.index(["county_code", "status", "grade"]);
    t.index(["bank_id", "status"]);
  });
  await knex.raw(`ALTER TABLE ratings ADD CONSTRAINT ratings_values CHECK (score BETWEEN 0 AND 100 AND credit_line >= 0)`);
  // Maker-checker: the decision is never the maker's; an approved rating has its validity window.
  await knex.raw(`ALTER TABLE ratings ADD CONSTRAINT ratings_decision CHECK (
    (status = 'PENDING' AND decided_by IS NULL) OR
    (status <> 'PENDING' AND decided_by IS NOT NULL AND decided_by <> created_by)) `);
  await knex.raw(`ALTER TABLE ratings ADD CONSTRAINT ratings_validity CHECK (
    (status NOT IN ('EFFECTIVE', 'SUPERSEDED') OR (valid_from IS NOT NULL AND valid_until >= valid_from)) AND
    (status <> 'SUPERSEDED' OR superseded_on IS NOT NULL))`);
  // At most one effective rating per household; at most one pending rating per household and bank.
  await knex.raw(`CREATE UNIQUE INDEX ratings_one_effective ON ratings (household_id) WHERE status = 'EFFECTIVE'`);
  await knex.raw(`CREATE UNIQUE INDEX ratings_one_pending ON ratings (household_id, bank_id) WHERE status = 'PENDING'`);

  // What a rating computed is a fact of its scorecard version: it is never edited afterwards.
  await knex.raw(`
    CREATE FUNCTION ratings_computed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.score IS DISTINCT FROM OLD.score OR NEW.grade IS DISTINCT FROM OLD.grade
        OR NEW.credit_line IS DISTINCT FROM OLD.credit_line OR NEW.explanation IS DISTINCT FROM OLD.explanation
        OR NEW.evidence IS DISTINCT FROM OLD.evidence OR NEW.scorecard_version_id IS DISTINCT FROM OLD.scorecard_version_id
        OR NEW.household_id IS DISTINCT FROM OLD.household_id OR NEW.bank_id IS DISTINCT FROM OLD.bank_id
        OR NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'a rating''s computed score and evidence are immutable' USING ERRCODE = '42501';
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER ratings_computed_immutable BEFORE UPDATE ON ratings FOR EACH ROW EXECUTE FUNCTION ratings_computed_immutable()`);
  for (const table of ["scorecards", "scorecard_grades"]) {
    await knex.raw(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
  }
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
