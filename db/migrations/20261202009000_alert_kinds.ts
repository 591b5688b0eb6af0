import type { Knex } from "knex";

/**
 * Alert kinds in one style (lowercase, dotted): the trusteeship kinds were upper-case codes. Stored
 * alerts are renamed, open ones too (the open-alert unique index is on the kind, so its keys follow
 * the rename); should an open alert already exist under the new name for the same entity, the old
 * one is cleared rather than renamed into a duplicate.
 */
const RENAMED: [string, string][] = [
  ["TRUSTEE_RETURN_ARREARS", "trustee.return_arrears"],
  ["LOAN_TRUSTEE_ARREARS", "loan.trustee_arrears"],
  ["OPERATOR_EXPOSURE_OVER_LIMIT", "operator.exposure_over_limit"],
];

async function rename(knex: Knex, pairs: [string, string][]): Promise<void> {
  for (const [from, to] of pairs) {
    await knex.raw(
      `UPDATE alerts a SET cleared_at = now(), updated_at = now()
        WHERE a.kind = ? AND a.cleared_at IS NULL
          AND EXISTS (SELECT 1 FROM alerts b WHERE b.kind = ? AND b.entity_type = a.entity_type AND b.entity_id = a.entity_id AND b.cleared_at IS NULL)`,
      [from, to],
    );
    await knex("alerts").where({ kind: from }).update({ kind: to });
  }
}

export async function up(knex: Knex): Promise<void> {
  await rename(knex, RENAMED);
}

export async function down(knex: Knex): Promise<void> {
  await rename(
    knex,
    RENAMED.map(([from, to]) => [to, from]),
  );
}
