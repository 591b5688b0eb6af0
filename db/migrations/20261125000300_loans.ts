import type { Knex } from "knex";

/** Loans (扶贫小额信贷): the core table other modules read (credit used, exposure). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("loans", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.string("county_code", 6).notNullable();
    t.string("village_code", 12).notNullable();
    t.uuid("bank_id").notNullable().references("id").inTable("banks");
    t.uuid("household_id").notNullable().references("id").inTable("households");
    t.uuid("borrower_member_id").notNullable().references("id").inTable("household_members");
    t.enu("status", ["APPLIED", "APPROVED", "REJECTED", "CANCELLED", "DISBURSED", "EXTENDED", "REPAID", "RENEWED", "WRITTEN_OFF", "COMPENSATED"]).notNullable();
    t.decimal("amount", 18, 2).notNullable();
    t.decimal("outstanding_principal", 18, 2).notNullable().defaultTo(0);
    t.decimal("annual_rate", 9, 6);
    t.integer("term_months").notNullable();
    t.text("repayment_method").notNullable();
    t.text("purpose").notNullable();
    t.date("applied_on").notNullable();
    t.date("disbursed_on");
    t.date("maturity_date");
    t.uuid("officer_id").notNullable();
    t.uuid("approver_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["household_id", "status"]);
    t.index(["county_code", "bank_id", "status"]);
  });
  await knex.raw(`ALTER TABLE loans ADD CONSTRAINT loans_amounts CHECK (amount > 0 AND outstanding_principal >= 0 AND outstanding_principal <= amount)`);
}

export async function down(): Promise<void> {
  throw new Error("forward-only migration");
}
