import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CROSS_SHARD_FOREIGN_KEYS,
  DISTRIBUTION,
  type Distribution,
  MISSING_DISTRIBUTION_COLUMNS,
  NULLABLE_DISTRIBUTION_COLUMNS,
} from "../../db/distribution.js";
import { onPostgres, openTestDb } from "../helpers/harness.js";

/**
 * The per-table placement of db/distribution.ts (docs/SCALING.md#per-table) checked against the
 * migrated schema, so a table or foreign key added without thinking of the nation's cluster fails
 * here with what to declare.
 */

interface SchemaFacts {
  tables: Map<string, Map<string, { nullable: boolean }>>;
  foreignKeys: { table: string; name: string; columns: string[]; refTable: string; refColumns: string[] }[];
}

interface Declaration {
  distribution: Record<string, Distribution>;
  missingColumns: Record<string, string>;
  nullableColumns: Record<string, string>;
  crossShardForeignKeys: Record<string, string>;
}

const FILE = "db/distribution.ts";

async function readSchema(db: Knex): Promise<SchemaFacts> {
  const { rows: cols } = await db.raw<{ rows: { table_name: string; column_name: string; is_nullable: string }[] }>(`
    SELECT c.table_name, c.column_name, c.is_nullable
      FROM information_schema.columns c
      JOIN pg_class k ON k.relname = c.table_name
      JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = c.table_schema
     WHERE c.table_schema = current_schema() AND k.relkind IN ('r', 'p') AND NOT k.relispartition
     ORDER BY c.table_name, c.ordinal_position`);
  const tables = new Map<string, Map<string, { nullable: boolean }>>();
  for (const c of cols) {
    if (!tables.has(c.table_name)) tables.set(c.table_name, new Map());
    tables.get(c.table_name)!.set(c.column_name, { nullable: c.is_nullable === "YES" });
  }
  const { rows: fks } = await db.raw<{ rows: { table: string; name: string; columns: string[]; ref_table: string; ref_columns: string[] }[] }>(`
    SELECT c.conrelid::regclass::text AS table, c.conname AS name, c.confrelid::regclass::text AS ref_table,
           array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
           array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_columns
      FROM pg_constraint c
      JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE c.contype = 'f' AND n.nspname = current_schema()
     ORDER BY 1, 2`);
  return { tables, foreignKeys: fks.map((f) => ({ table: f.table, name: f.name, columns: f.columns, refTable: f.ref_table, refColumns: f.ref_columns })) };
}

/** Every departure of the schema from the declaration, each phrased as what to change. */
function problemsOf(schema: SchemaFacts, decl: Declaration): string[] {
  const out: string[] = [];
  for (const [table, columns] of schema.tables) {
    if (decl.distribution[table]) continue;
    const hint = columns.has("county_code")
      ? `  ${table}: { kind: "distributed", column: "county_code" },   // county data (it has county_code)`
      : `  ${table}: { kind: "reference", note: "<why every county reads it>" },   // or { kind: "local", note: "<why only the installation uses it>" }, or add a NOT NULL county_code and distribute it`;
    out.push(`table "${table}" has no declared distribution: add to DISTRIBUTION in ${FILE}\n${hint}`);
  }
  for (const table of Object.keys(decl.distribution)) {
    if (!schema.tables.has(table)) out.push(`DISTRIBUTION in ${FILE} declares "${table}", which the migrated schema does not have: remove or rename it`);
  }
  for (const [table, d] of Object.entries(decl.distribution)) {
    const columns = schema.tables.get(table);
    if (!columns || d.kind !== "distributed") continue;
    const col = columns.get(d.column);
    if (!col) {
      if (!decl.missingColumns[table]) out.push(`distributed table "${table}" has no column "${d.column}": add a NOT NULL ${d.column} to it, or declare it reference/local in ${FILE}`);
    } else if (decl.missingColumns[table]) {
      out.push(`"${table}" has its column "${d.column}" now: remove it from MISSING_DISTRIBUTION_COLUMNS in ${FILE}`);
    }
    if (col?.nullable && !decl.nullableColumns[table]) out.push(`distributed table "${table}": ${d.column} may be NULL, which Citus refuses in a distribution column: make it NOT NULL (or list it in NULLABLE_DISTRIBUTION_COLUMNS in ${FILE} with the reason)`);
    if (col && !col.nullable && decl.nullableColumns[table]) out.push(`"${table}".${d.column} is NOT NULL now: remove it from NULLABLE_DISTRIBUTION_COLUMNS in ${FILE}`);
  }
  const seen = new Set<string>();
  for (const fk of schema.foreignKeys) {
    const from = decl.distribution[fk.table];
    const to = decl.distribution[fk.refTable];
    if (!from || !to) continue; // reported above as undeclared
    const id = `${fk.table}.${fk.name}`;
    const shape = `FOREIGN KEY (${fk.columns.join(", ")}) REFERENCES ${fk.refTable} (${fk.refColumns.join(", ")})`;
    if (from.kind === "distributed" && to.kind === "distributed") {
      const colocated = fk.columns.some((c, i) => c === from.column && fk.refColumns[i] === to.column);
      if (colocated) continue;
      seen.add(id);
      if (decl.crossShardForeignKeys[id]) continue;
      out.push(
        `foreign key ${id} (${shape}) joins two distributed tables without the county code, so it would cross shards (a foreign key across counties): ` +
          `write it as FOREIGN KEY (${from.column}, ${fk.columns.join(", ")}) REFERENCES ${fk.refTable} (${to.column}, ${fk.refColumns.join(", ")}) with a unique key on ${fk.refTable} (${to.column}, ${fk.refColumns.join(", ")}); ` +
          `if the schema cannot change now, list it in CROSS_SHARD_FOREIGN_KEYS in ${FILE}: "${id}": "<why both rows are always in one county>"`,
      );
    } else if (to.kind !== "reference" && !(from.kind === "local" && to.kind === "local")) {
      out.push(`foreign key ${id} (${shape}) points from a ${from.kind} table at a ${to.kind} one, which Citus cannot keep: only reference tables (or, between local tables, local ones) may be pointed at from another kind — change the key or the declarations in ${FILE}`);
    }
  }
  for (const id of Object.keys(decl.crossShardForeignKeys)) {
    if (!seen.has(id)) out.push(`CROSS_SHARD_FOREIGN_KEYS in ${FILE} lists "${id}", which is no longer a foreign key across shards: remove it`);
  }
  return out;
}

const DECLARED: Declaration = {
  distribution: DISTRIBUTION,
  missingColumns: MISSING_DISTRIBUTION_COLUMNS,
  nullableColumns: NULLABLE_DISTRIBUTION_COLUMNS,
  crossShardForeignKeys: CROSS_SHARD_FOREIGN_KEYS,
};

if (!onPostgres) {
  describe("placement of every table on a Citus cluster", () => {
    it.skip("runs on the PostgreSQL server only (set DATABASE_URL): the plan is for PostgreSQL servers; PGlite is one embedded process that is never distributed", () => {});
  });
}

describe.skipIf(!onPostgres)("placement of every table on a Citus cluster (docs/SCALING.md)", () => {
  let db: Knex;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
  });
  afterAll(async () => {
    await drop();
  });

  it("declares every migrated table, with its distribution column, and no foreign key across counties beyond the listed ones", async () => {
    const schema = await readSchema(db);
    expect(schema.tables.has("loans")).toBe(true);
    const problems = problemsOf(schema, DECLARED);
    expect(problems, `\n${problems.join("\n\n")}\n`).toEqual([]);
  });

  it("every exception names a reason", () => {
    const reasons = [...Object.values(MISSING_DISTRIBUTION_COLUMNS), ...Object.values(NULLABLE_DISTRIBUTION_COLUMNS), ...Object.values(CROSS_SHARD_FOREIGN_KEYS)];
    for (const r of reasons) expect(r.trim().length).toBeGreaterThan(20);
    for (const [table, d] of Object.entries(DISTRIBUTION)) if (d.kind !== "distributed") expect(d.note, table).toMatch(/\S{3}/);
  });

  it("names a new table and a new cross-county foreign key with exactly what to declare", async () => {
    await db.raw(`CREATE TABLE probe_sessions (
      id uuid PRIMARY KEY, county_code varchar(6), household_id uuid REFERENCES households (id), bank_id uuid REFERENCES banks (id))`);
    try {
      const schema = await readSchema(db);
      // Only what concerns the probe: the first test reports the rest of the schema.
      const about = (problems: string[]) => problems.filter((p) => p.includes("probe_sessions"));
      const undeclared = about(problemsOf(schema, DECLARED));
      expect(undeclared).toEqual([
        `table "probe_sessions" has no declared distribution: add to DISTRIBUTION in ${FILE}\n  probe_sessions: { kind: "distributed", column: "county_code" },   // county data (it has county_code)`,
      ]);

      const declared = about(problemsOf(schema, { ...DECLARED, distribution: { ...DISTRIBUTION, probe_sessions: { kind: "distributed", column: "county_code" } } }));
      expect(declared).toHaveLength(2);
      expect(declared[0]).toContain(`"probe_sessions": county_code may be NULL`);
      expect(declared[1]).toContain("foreign key probe_sessions.probe_sessions_household_id_fkey (FOREIGN KEY (household_id) REFERENCES households (id))");
      expect(declared[1]).toContain("FOREIGN KEY (county_code, household_id) REFERENCES households (county_code, id)");
      expect(declared[1]).toContain(`"probe_sessions.probe_sessions_household_id_fkey": "<why both rows are always in one county>"`);
      // The key to a reference table (banks) is fine: every node has a copy.
      expect(declared.join("\n")).not.toContain("bank_id");

      const asReference = about(problemsOf(schema, { ...DECLARED, distribution: { ...DISTRIBUTION, probe_sessions: { kind: "reference", note: "probe" } } }));
      expect(asReference).toEqual([expect.stringContaining("points from a reference table at a distributed one")]);
    } finally {
      await db.raw("DROP TABLE probe_sessions");
    }
  });
});
