/** Rate tables (LPR by publication date), loan products (versioned per bank and county) and the pricing of a loan. */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { D, Rate } from "../../lib/money.js";
import { lprOn, type ProductRow, versionsInForce } from "./queries.js";
import type { LoanProductCreate, LoanProductQuery, RateTableCreate, RateTableQuery } from "./schemas.js";
import { HOUSEHOLD_CAP, LOAN_READERS, fmt, iso, rateFmt } from "./common.js";

type Db = Knex | Knex.Transaction;

export function rateTableView(r: { id: string; publication_date: string; lpr_1y: string; lpr_5y: string; note: string | null; created_at: Date }) {
  return { id: r.id, publication_date: r.publication_date, lpr_1y: Rate.format(r.lpr_1y), lpr_5y: Rate.format(r.lpr_5y), note: r.note, created_at: iso(r.created_at) };
}

export async function createRateTable(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof RateTableCreate>) {
  requireRole(ctx.actor, "admin");
  if (await trx("rate_tables").where({ publication_date: input.publication_date }).first()) {
    throw new AppError("CONFLICT", { zh: `${input.publication_date} 发布的利率表已存在`, en: `A rate table published on ${input.publication_date} already exists` });
  }
  const [row] = await trx("rate_tables")
    .insert({ publication_date: input.publication_date, lpr_1y: input.lpr_1y, lpr_5y: input.lpr_5y, note: input.note ?? null, created_by: ctx.actor.userId })
    .returning("*");
  await appendAudit(trx, ctx, { action: "rate_table.create", entityType: "rate_table", entityId: row.id, countyCode: null, after: rateTableView(row) });
  return rateTableView(row);
}

export async function listRateTables(db: Db, q: z.infer<typeof RateTableQuery>) {
  if (q.on) {
    const row = await db("rate_tables").where("publication_date", "<=", q.on).orderBy("publication_date", "desc").first();
    return { items: row ? [rateTableView(row)] : [], next_cursor: null };
  }
  const query = db("rate_tables").select("*");
  const { rows, next_cursor } = await page<{ publication_date: string } & Parameters<typeof rateTableView>[0]>(query, "publication_date", (r) => r.publication_date, q.limit, q.cursor);
  return { items: rows.map(rateTableView), next_cursor };
}

export function productView(p: ProductRow) {
  return {
    id: p.id,
    bank_id: p.bank_id,
    county_code: p.county_code,
    code: p.code,
    version: p.version,
    name: p.name,
    effective_from: p.effective_from,
    max_amount: fmt(p.max_amount),
    max_term_months: p.max_term_months,
    rate_rule: p.rate_rule,
    fixed_rate: rateFmt(p.fixed_rate),
    rate_spread: new D(p.rate_spread).toString(),
    repayment_methods: p.repayment_methods,
    penalty_markup: Rate.format(p.penalty_markup),
    grace_days: p.grace_days,
    allowed_purposes: p.allowed_purposes,
    subsidy: {
      ratio: Rate.format(p.subsidy_ratio),
      rate_cap: rateFmt(p.subsidy_rate_cap),
      term_months: p.subsidy_term_months,
      principal_cap: fmt(p.subsidy_principal_cap),
      mode: p.subsidy_mode,
    },
    created_at: iso(p.created_at),
  };
}

export async function createProduct(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof LoanProductCreate>) {
  requireRole(ctx.actor, "bank_manager", "admin");
  const bankId = ctx.actor.role === "bank_manager" ? ctx.actor.bankId : input.bank_id;
  if (!bankId) throw new AppError("VALIDATION_FAILED", { zh: "须给出 bank_id", en: "bank_id is required" }, [{ path: "body.bank_id", message: { zh: "必填", en: "required" } }]);
  if (ctx.actor.role === "bank_manager" && input.bank_id && input.bank_id !== ctx.actor.bankId) throw notFound("bank");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  if (!(await trx("banks").where({ id: bankId }).first())) throw notFound("bank");
  if (new D(input.max_amount).gt(HOUSEHOLD_CAP)) {
    throw new AppError("VALIDATION_FAILED", { zh: "max_amount 最多为 50000.00", en: "max_amount is at most 50000.00" }, [
      { path: "body.max_amount", message: { zh: "最多 50000.00（每户上限）", en: "at most 50000.00, the household cap" } },
    ]);
  }
  if (input.rate_rule === "FIXED" && !input.fixed_rate) {
    throw new AppError("VALIDATION_FAILED", { zh: "rate_rule 为 FIXED 时须给出 fixed_rate", en: "fixed_rate is required with rate_rule FIXED" }, [
      { path: "body.fixed_rate", message: { zh: "必填", en: "required" } },
    ]);
  }
  if (new D(input.subsidy.ratio).gt(1)) {
    throw new AppError("VALIDATION_FAILED", { zh: "subsidy.ratio 最多为 1", en: "subsidy.ratio is at most 1" }, [{ path: "body.subsidy.ratio", message: { zh: "最多为 1", en: "at most 1" } }]);
  }
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [`loan_product:${bankId}:${input.county_code}:${input.code}`]);
  const last = await trx("loan_products").where({ bank_id: bankId, county_code: input.county_code, code: input.code }).max<{ v: number | null }>("version as v").first();
  const [row] = await trx("loan_products")
    .insert({
      bank_id: bankId,
      county_code: input.county_code,
      code: input.code,
      version: (last?.v ?? 0) + 1,
      name: input.name,
      effective_from: input.effective_from,
      max_amount: input.max_amount,
      max_term_months: input.max_term_months,
      rate_rule: input.rate_rule,
      fixed_rate: input.fixed_rate ?? null,
      rate_spread: input.rate_spread,
      repayment_methods: input.repayment_methods,
      penalty_markup: input.penalty_markup,
      grace_days: input.grace_days,
      allowed_purposes: input.allowed_purposes,
      subsidy_ratio: input.subsidy.ratio,
      subsidy_rate_cap: input.subsidy.rate_cap,
      subsidy_term_months: input.subsidy.term_months,
      subsidy_principal_cap: input.subsidy.principal_cap,
      subsidy_mode: input.subsidy.mode,
      created_by: ctx.actor.userId,
    })
    .returning<ProductRow[]>("*");
  const view = productView(row);
  await appendAudit(trx, ctx, { action: "loan_product.create", entityType: "loan_product", entityId: row.id, countyCode: row.county_code, after: view });
  return view;
}

export function productScope(q: Knex.QueryBuilder, actor: Actor) {
  q.whereIn("county_code", actor.countyCodes);
  if (actor.role === "loan_officer" || actor.role === "bank_manager") q.andWhere("bank_id", actor.bankId ?? "");
  return q;
}

export async function listProducts(db: Db, actor: Actor, q: z.infer<typeof LoanProductQuery>) {
  requireRole(actor, ...LOAN_READERS);
  const query = productScope(db("loan_products").select("*"), actor);
  if (q.bank_id) query.andWhere("bank_id", q.bank_id);
  if (q.county_code) query.andWhere("county_code", q.county_code);
  if (q.code) query.andWhere("code", q.code);
  if (q.latest === "true") {
    query.whereRaw(`version = (SELECT max(p2.version) FROM loan_products p2 WHERE p2.bank_id = loan_products.bank_id AND p2.county_code = loan_products.county_code AND p2.code = loan_products.code)`);
  }
  if (q.in_force_on) query.whereRaw(`loan_products.id = (${IN_FORCE_SQL})`, [q.in_force_on]);
  const { rows, next_cursor } = await page<ProductRow & Record<string, unknown>>(query, "id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(productView), next_cursor };
}

/** `versionsInForce` (queries.ts) as a correlated subquery on `loan_products`: the id of the version in force on `?`. */
const IN_FORCE_SQL = `SELECT p2.id FROM loan_products p2
  WHERE p2.bank_id = loan_products.bank_id AND p2.county_code = loan_products.county_code AND p2.code = loan_products.code AND p2.effective_from <= ?::date
  ORDER BY p2.effective_from DESC, p2.version DESC LIMIT 1`;

export async function productInForce(db: Db, actor: Actor, key: { bankId: string; countyCode: string; code: string }, on: string): Promise<ProductRow | undefined> {
  return productScope(versionsInForce(db, key, on), actor).first<ProductRow | undefined>();
}

export async function getProduct(db: Db, actor: Actor, id: string) {
  requireRole(actor, ...LOAN_READERS);
  const row = await productScope(db("loan_products").where({ id }), actor).first<ProductRow | undefined>();
  if (!row) throw notFound("loan product");
  return productView(row);
}

/**
 * The contract rate of a product for a term on a date: LPR (1y ≤ 12 months, 5y above) + spread, or
 * fixed. The LPR is the one in force on that date in the rate table, whatever the date — a loan
 * priced on a date years back takes that date's LPR. `lpr` is the LPR priced on (null when fixed).
 */
export async function priceLoan(db: Db, product: ProductRow, termMonths: number, on: string): Promise<{ rate: string; basis: string; lprDate: string | null; lpr: string | null }> {
  if (product.rate_rule === "FIXED") return { rate: Rate.format(product.fixed_rate!), basis: "FIXED", lprDate: null, lpr: null };
  const lpr = await lprOn(db, on);
  if (!lpr) {
    throw new AppError("LOAN_NO_RATE_TABLE", { zh: `${on} 及以前没有公布的 LPR；请管理员在 /rate-tables 录入`, en: `No LPR is published on or before ${on}; an admin adds it under /rate-tables` });
  }
  const base = termMonths <= 12 ? lpr.lpr_1y : lpr.lpr_5y;
  const rate = new D(base).plus(product.rate_spread);
  if (rate.lte(0)) throw new AppError("RULE_VIOLATION", { zh: "该产品的加点使利率为零或负数", en: "The product's spread makes the rate zero or negative" });
  return { rate: Rate.format(rate), basis: termMonths <= 12 ? "LPR_1Y" : "LPR_5Y", lprDate: lpr.publication_date, lpr: Rate.format(base) };
}
