import type { Knex } from "knex";

/**
 * The bank's contract number on a loan, and the bank's balance files (对账).
 *
 * `loans.contract_no`: the number the bank's core system knows the loan by (合同号). Nullable (loans
 * made before it existed have none; the bank can name those by loan id), given at disbursement,
 * unique per bank for ever — a bank's file rows, and a migration of existing loans, find a loan by it.
 *
 * `balance_statements`: a bank's outstanding principal per contract on a date, compared with the
 * platform's; `balance_statement_lines` keeps every contract that did not match (the figures differ,
 * the platform does not know the contract, or the file lacks one of the platform's loans), so the
 * result can be downloaded later. Matching contracts are counted, not stored.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE loans ADD COLUMN contract_no text`);
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_contract_no_shape CHECK (contract_no IS NULL OR (length(contract_no) BETWEEN 1 AND 64 AND contract_no = btrim(contract_no)))`);
  await knex.raw(`CREATE UNIQUE INDEX loans_bank_contract_no ON loans (bank_id, contract_no) WHERE contract_no IS NOT NULL`);

  await knex.schema.createTable("balance_statements", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.date("as_of").notNullable();
    t.text("source_format").notNullable(); // json, csv, xlsx
    t.integer("file_rows").notNullable();
    t.integer("matched").notNullable();
    t.integer("differing").notNullable();
    t.integer("unknown").notNullable();
    t.integer("missing_from_file").notNullable();
    t.decimal("bank_total", 18, 2).notNullable(); // the file's principal, every row
    t.decimal("platform_total", 18, 2).notNullable(); // the platform's principal of that bank's loans open on as_of
    t.uuid("created_by").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["county_code", "bank_id", "as_of"]);
  });
  await knex.raw(`ALTER TABLE balance_statements ADD CONSTRAINT balance_statements_counts CHECK (
    source_format IN ('json', 'csv', 'xlsx') AND file_rows >= 0 AND matched >= 0 AND differing >= 0 AND unknown >= 0 AND missing_from_file >= 0
    AND matched + differing + unknown = file_rows)`);

  await knex.schema.createTable("balance_statement_lines", (t) => {
    // No foreign key: the lines are written by one INSERT … SELECT per statement (up to a file's
    // 100,000 rows), like subsidy claim lines, and a per-row trigger would dominate it.
    t.uuid("statement_id").notNullable();
    t.string("county_code", 6).notNullable();
    t.integer("seq").notNullable(); // 1, 2, …: the file's rows in file order, then the loans the file lacks
    t.integer("file_row"); // the file's row (1 = first data row); NULL for MISSING_FROM_FILE
    t.text("outcome").notNullable(); // DIFFERS, UNKNOWN, MISSING_FROM_FILE
    t.text("contract_no");
    t.uuid("loan_id"); // the platform's loan; for UNKNOWN, the loan id the file gave (if it named one)
    t.decimal("bank_principal", 18, 2);
    t.decimal("platform_principal", 18, 2);
    t.decimal("difference", 18, 2); // bank − platform
    t.primary(["statement_id", "seq"]);
  });
  await knex.raw(`ALTER TABLE balance_statement_lines ADD CONSTRAINT balance_statement_lines_outcome CHECK (
    outcome IN ('DIFFERS', 'UNKNOWN', 'MISSING_FROM_FILE')
    AND (outcome <> 'DIFFERS' OR (loan_id IS NOT NULL AND difference = bank_principal - platform_principal AND difference <> 0))
    AND (outcome <> 'UNKNOWN' OR (platform_principal IS NULL AND bank_principal IS NOT NULL))
    AND (outcome <> 'MISSING_FROM_FILE' OR (loan_id IS NOT NULL AND bank_principal IS NULL AND file_row IS NULL))
    AND (outcome = 'MISSING_FROM_FILE' OR file_row IS NOT NULL))`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
