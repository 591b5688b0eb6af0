import type { Knex } from "knex";

/**
 * Sessions that can be ended. Every staff login opens a row in `sessions` (its id is the token's
 * `sid`); logout ends that row. A credential's token version (`users.session_epoch`,
 * `partners.token_epoch`, `household_credentials.token_epoch`) is copied into each token issued
 * from it; raising it (disable, role or jurisdiction change, password reset; partner rotated or
 * revoked; PIN re-issued) refuses every token issued before. `users.must_change_password` marks a
 * temporary password (set by an administrator) that must be replaced at the next login.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("users", (t) => {
    t.integer("session_epoch").notNullable().defaultTo(0);
    t.boolean("must_change_password").notNullable().defaultTo(false);
    t.timestamp("password_changed_at", { useTz: true });
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.alterTable("partners", (t) => {
    t.integer("token_epoch").notNullable().defaultTo(0);
    t.timestamp("secret_rotated_at", { useTz: true });
    t.timestamp("revoked_at", { useTz: true });
  });
  await knex.schema.alterTable("household_credentials", (t) => {
    t.integer("token_epoch").notNullable().defaultTo(0);
  });
  // The registry of ended sessions reloads only the raised versions: keep that read small.
  await knex.raw(`CREATE INDEX household_credentials_token_epoch ON household_credentials (household_id) WHERE token_epoch > 0`);

  await knex.schema.createTable("sessions", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.integer("epoch").notNullable();
    t.timestamp("issued_at", { useTz: true }).notNullable();
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("ended_at", { useTz: true });
    t.text("end_reason");
  });
  await knex.raw(`ALTER TABLE sessions ADD CONSTRAINT sessions_ended CHECK ((ended_at IS NULL) = (end_reason IS NULL) AND expires_at > issued_at)`);
  await knex.raw(`CREATE INDEX sessions_open_by_user ON sessions (user_id) WHERE ended_at IS NULL`);
  await knex.raw(`CREATE INDEX sessions_logged_out ON sessions (expires_at) WHERE end_reason = 'logout'`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
