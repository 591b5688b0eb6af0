import type { Knex } from "knex";

/**
 * Register imports (建档立卡数据导入): one row per file checked or applied — who, when, the file's
 * name and digest, what it held and what it changed — and, for the rows that had problems, the
 * original cells (encrypted like the register's personal data: they hold ID numbers and phones)
 * with their problems, so the error workbook can be produced later.
 *
 * A household's number says where it came from (`household_no_source`): `PLATFORM` (numbered at
 * registration through the API) or `NATIONAL` (the national system's 户编号, from an import). A
 * household found through its people takes the file's number once; from then on the number is
 * its key and a person listed under another number is a person registered elsewhere.
 *
 * A status change now says where it came from: `API` (recorded with its approvals) or `IMPORT`
 * (taken from the national system's export, `import_id` the import that brought it).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("register_imports", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12);
    t.uuid("actor_id").notNullable();
    t.text("actor_role").notNullable();
    t.text("file_name").notNullable();
    t.text("file_format").notNullable();
    t.text("file_sha256").notNullable();
    t.boolean("dry_run").notNullable();
    t.text("status").notNullable();
    t.jsonb("header").notNullable();
    t.integer("rows").notNullable();
    t.integer("households").notNullable();
    t.integer("problem_rows").notNullable();
    t.integer("problems").notNullable();
    t.jsonb("outcome");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "created_at"]);
  });
  await knex.raw(`ALTER TABLE register_imports ADD CONSTRAINT register_imports_status CHECK (status IN ('CHECKED', 'HAS_PROBLEMS', 'REJECTED', 'APPLIED'))`);
  await knex.raw(`ALTER TABLE register_imports ADD CONSTRAINT register_imports_format CHECK (file_format IN ('CSV', 'XLSX'))`);
  await knex.raw(`ALTER TABLE register_imports ADD CONSTRAINT register_imports_applied CHECK ((status = 'APPLIED') = (NOT dry_run AND problems = 0))`);

  await knex.schema.createTable("register_import_problem_rows", (t) => {
    t.uuid("import_id").notNullable().references("id").inTable("register_imports");
    t.string("county_code", 6).notNullable();
    t.integer("row_no").notNullable();
    t.text("cells_enc").notNullable();
    t.jsonb("problems").notNullable();
    t.primary(["import_id", "row_no"]);
  });

  await knex.raw(`ALTER TABLE households ADD COLUMN household_no_source text NOT NULL DEFAULT 'PLATFORM'`);
  await knex.raw(`ALTER TABLE households ADD CONSTRAINT households_household_no_source CHECK (household_no_source IN ('PLATFORM', 'NATIONAL'))`);
  await knex.raw(`ALTER TABLE household_status_changes ADD COLUMN source text NOT NULL DEFAULT 'API'`);
  await knex.raw(`ALTER TABLE household_status_changes ADD COLUMN import_id uuid`);
  await knex.raw(`ALTER TABLE household_status_changes ADD CONSTRAINT household_status_changes_source CHECK (
    (source = 'API' AND import_id IS NULL) OR (source = 'IMPORT' AND import_id IS NOT NULL))`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
