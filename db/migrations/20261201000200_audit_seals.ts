import type { Knex } from "knex";

/**
 * Keyed audit chains and signed daily seals.
 *
 * From this migration on, every audit row's hash is an HMAC-SHA256 under a key the database does not
 * hold (`AUDIT_HMAC_KEY`). The rows already written keep their unkeyed SHA-256 hashes: each chain
 * records in `keyed_from_seq` the first position hashed with the key (its current last position + 1;
 * 1 for chains created later). The application, which holds the key, attests the unkeyed part of each
 * chain once it has verified it (`keyed_from_mac`, written at startup or by the first seal), so that
 * moving `keyed_from_seq` to pass keyed rows off as unkeyed is detected.
 *
 * `audit_seals` keeps the Ed25519-signed daily record of every chain head, one per business date and
 * scope (a county or `system`); it is append-only like the log.
 */
export async function up(knex: Knex): Promise<void> {
  await markLegacyChains(knex);
  await knex.schema.createTable("audit_seals", (t) => {
    t.bigIncrements("id").primary();
    t.date("business_date").notNullable();
    t.text("scope").notNullable();
    t.timestamp("sealed_at", { useTz: true }).notNullable();
    t.text("key_fingerprint").notNullable();
    // The exact canonical JSON that was signed, and the Ed25519 signature over it (base64).
    t.text("payload").notNullable();
    t.text("signature").notNullable();
    t.unique(["business_date", "scope"]);
    t.index(["scope", "business_date"]);
  });
  await knex.raw(`CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
}

/**
 * Every existing chain's rows so far stay under the unkeyed rule; the next row is the first keyed one.
 * (`chains` limits it to some chains: the test that migrates a chain written under the old rule.)
 */
export async function markLegacyChains(knex: Knex, chains?: string[]): Promise<void> {
  await knex.raw(`ALTER TABLE audit_chain_heads ADD COLUMN IF NOT EXISTS keyed_from_seq bigint NOT NULL DEFAULT 1`);
  await knex.raw(`ALTER TABLE audit_chain_heads ADD COLUMN IF NOT EXISTS keyed_from_mac text`);
  if (chains) await knex.raw(`UPDATE audit_chain_heads SET keyed_from_seq = last_seq + 1, keyed_from_mac = NULL WHERE chain = ANY(?::text[])`, [chains]);
  else await knex.raw(`UPDATE audit_chain_heads SET keyed_from_seq = last_seq + 1, keyed_from_mac = NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("audit_seals");
  await knex.raw(`ALTER TABLE audit_chain_heads DROP COLUMN IF EXISTS keyed_from_mac`);
  await knex.raw(`ALTER TABLE audit_chain_heads DROP COLUMN IF EXISTS keyed_from_seq`);
}
