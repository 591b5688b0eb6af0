import type { Knex } from "knex";
import * as foundation from "./20261125000100_foundation.js";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations in order. Listed here (not discovered on disk) so tsx, vitest and bundlers agree. */
const MIGRATIONS: Record<string, Migration> = {
  "20261125000100_foundation": foundation,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};
