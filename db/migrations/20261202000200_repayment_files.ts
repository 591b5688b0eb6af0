import type { Knex } from "knex";

/**
 * A bank's repayment files (还款文件): one row per payment the bank's core system deducted, each
 * applied as a repayment with its value date or refused with the API's own code, processed in
 * chunks in the background; a crash resumes at the first row still PENDING (a chunk's rows change
 * status in the same transaction as the money they move).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("repayment_files", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.uuid("bank_id").notNullable();
    t.text("status").notNullable().defaultTo("RECEIVED"); // RECEIVED, PROCESSING, DONE, FAILED
    t.text("format").notNullable(); // csv, xlsx, json
    t.date("received_on").notNullable(); // the business date it arrived: the value date of rows without one
    t.integer("rows_total").notNullable();
    t.integer("rows_done").notNullable().defaultTo(0);
    t.integer("applied").notNullable().defaultTo(0);
    t.integer("refused").notNullable().defaultTo(0);
    t.integer("duplicates").notNullable().defaultTo(0);
    t.text("error");
    t.jsonb("actor").notNullable(); // who sent it: the rows are applied in their name and jurisdiction
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("started_at", { useTz: true });
    t.timestamp("finished_at", { useTz: true });
    t.index(["bank_id", "created_at"]);
  });
  await knex.raw(`ALTER TABLE repayment_files ADD CONSTRAINT repayment_files_status CHECK (status IN ('RECEIVED', 'PROCESSING', 'DONE', 'FAILED'))`);
  await knex.raw(`CREATE INDEX repayment_files_unfinished ON repayment_files (created_at) WHERE status IN ('RECEIVED', 'PROCESSING')`);
  await knex.schema.createTable("repayment_file_rows", (t) => {
    t.uuid("file_id").notNullable().references("id").inTable("repayment_files");
    t.integer("line").notNullable();
    t.string("county_code", 6).notNullable();
    t.text("contract_no");
    t.uuid("loan_id");
    t.date("value_date");
    t.date("sort_date").notNullable(); // value date, or the day the file arrived
    t.text("amount"); // as sent (a malformed one is refused, and kept to show)
    t.text("reference");
    t.text("status").notNullable().defaultTo("PENDING"); // PENDING, APPLIED, REFUSED, DUPLICATE
    t.text("code");
    t.text("message");
    t.uuid("applied_loan_id");
    t.uuid("repayment_id");
    t.decimal("principal", 18, 2);
    t.decimal("interest", 18, 2);
    t.decimal("penalty", 18, 2);
    t.timestamp("processed_at", { useTz: true });
    t.primary(["file_id", "line"]);
  });
  await knex.raw(`CREATE INDEX repayment_file_rows_pending ON repayment_file_rows (file_id, sort_date, line) WHERE status = 'PENDING'`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
