/** Operators (合作社, 龙头企业, 农投公司) and the county policy on their exposure. */
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { D, Money, Rate } from "../../lib/money.js";
import { maskBankAccount, type Pii } from "../../lib/pii.js";
import { checkCreditCode, CREDIT_CODE_PROBLEM_TEXT, exposureLimit } from "./model.js";
import { exposureOf, findOperator, type OperatorRow, operatorScope, paymentRecordOf, policyOn } from "./queries.js";
import type { OperatorCreate, OperatorQuery, PolicyCreate, PolicyQuery } from "./schemas.js";
import { READERS } from "./common.js";

type Db = Knex | Knex.Transaction;

/** Bank account whole only for the county admin and the operator itself (PIPL, like households' data). */
export function seesAccountWhole(actor: Actor, o: Pick<OperatorRow, "id">): boolean {
  return actor.role === "admin" || (actor.role === "operator" && actor.operatorId === o.id);
}

export async function limitOf(db: Db, o: OperatorRow, on: string): Promise<string> {
  const p = await policyOn(db, o.county_code, on);
  return exposureLimit(Money.format(o.registered_capital), p.exposure_multiple, p.exposure_cap === null ? null : Money.format(p.exposure_cap));
}

export async function operatorView(db: Db, ctx: Ctx, pii: Pii, o: OperatorRow, exposure: { open: string; active: number } | undefined, withRecord: boolean) {
  const today = ctx.clock.today();
  const limit = await limitOf(db, o, today);
  const open = Money.format(exposure?.open ?? "0");
  const record = withRecord ? await paymentRecordOf(db, o.id, today) : undefined;
  return {
    id: o.id,
    county_code: o.county_code,
    name: o.name,
    credit_code: o.credit_code,
    operator_type: o.operator_type,
    legal_representative: o.legal_representative,
    registered_capital: Money.format(o.registered_capital),
    bank_account: seesAccountWhole(ctx.actor, o) && o.bank_account_enc ? pii.decrypt(o.bank_account_enc) : o.bank_account_masked,
    bank_name: o.bank_name,
    rating: o.rating,
    exposure: open,
    exposure_limit: limit,
    over_limit: Money.of(open).gt(limit),
    active_contracts: exposure?.active ?? 0,
    ...(record
      ? {
          payment_record: {
            installments_due: record.due,
            paid_on_time: record.on_time,
            paid_late: record.late,
            in_arrears: record.in_arrears,
            amount_due_to_date: Money.format(record.amount_due),
            amount_paid: Money.format(record.amount_paid),
            amount_in_arrears: Money.format(record.amount_in_arrears),
          },
        }
      : {}),
    created_at: new Date(o.created_at).toISOString(),
  };
}

export async function createOperator(trx: Knex.Transaction, ctx: Ctx, pii: Pii, input: z.infer<typeof OperatorCreate>) {
  requireRole(ctx.actor, "admin");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  const checked = checkCreditCode(input.credit_code);
  if (!checked.ok) {
    const problem = CREDIT_CODE_PROBLEM_TEXT[checked.problem];
    throw new AppError("INVALID_CREDIT_CODE", { zh: `统一社会信用代码：${problem.zh}`, en: `Unified social credit code: ${problem.en}` }, [{ path: "body.credit_code", message: problem }]);
  }
  if (await trx("operators").where({ county_code: input.county_code, credit_code: checked.value }).first()) {
    throw new AppError("CONFLICT", {
      zh: `${input.county_code} 已登记统一社会信用代码为 ${checked.value} 的经营主体`,
      en: `An operator with credit code ${checked.value} is already registered in ${input.county_code}`,
    });
  }
  if (input.id && (await trx("operators").where({ id: input.id }).first())) throw new AppError("CONFLICT", { zh: `经营主体 ${input.id} 已存在`, en: `Operator ${input.id} already exists` });
  const now = ctx.clock.now();
  const [o] = await trx("operators")
    .insert({
      ...(input.id ? { id: input.id } : {}),
      county_code: input.county_code,
      name: input.name,
      credit_code: checked.value,
      operator_type: input.operator_type,
      legal_representative: input.legal_representative,
      registered_capital: Money.format(input.registered_capital),
      bank_account_enc: input.bank_account ? pii.encrypt(input.bank_account) : null,
      bank_account_masked: input.bank_account ? maskBankAccount(input.bank_account) : null,
      bank_name: input.bank_name ?? null,
      rating: input.rating ?? null,
      created_by: ctx.actor.userId,
      created_at: now,
      updated_at: now,
    })
    .returning<OperatorRow[]>("*");
  const { bank_account_enc: _enc, ...audited } = o;
  await appendAudit(trx, ctx, { action: "operator.create", entityType: "operator", entityId: o.id, countyCode: o.county_code, after: audited });
  return operatorView(trx, ctx, pii, o, undefined, false);
}

export async function getOperator(db: Db, ctx: Ctx, pii: Pii, id: string) {
  requireRole(ctx.actor, ...READERS);
  const o = await findOperator(db, ctx.actor, id);
  if (!o) throw notFound("operator");
  return operatorView(db, ctx, pii, o, (await exposureOf(db, [id])).get(id), true);
}

export async function listOperators(db: Db, ctx: Ctx, pii: Pii, q: z.infer<typeof OperatorQuery>) {
  requireRole(ctx.actor, ...READERS);
  const query = operatorScope(db("operators as o").select("o.*"), ctx.actor);
  if (q.county_code) query.andWhere("o.county_code", q.county_code);
  if (q.operator_type) query.andWhere("o.operator_type", q.operator_type);
  if (q.credit_code) query.andWhere("o.credit_code", q.credit_code.toUpperCase());
  const { rows, next_cursor } = await page<OperatorRow & Record<string, unknown>>(query, "o.id", (r) => r.id, q.limit, q.cursor);
  const exposure = await exposureOf(db, rows.map((r) => r.id));
  const items = [];
  for (const o of rows) items.push(await operatorView(db, ctx, pii, o, exposure.get(o.id), false));
  return { items, next_cursor };
}

export function policyView(p: Record<string, unknown>) {
  return {
    id: p.id as string,
    county_code: p.county_code as string,
    effective_from: p.effective_from as string,
    default_annual_rate: Rate.format(p.default_annual_rate as string),
    grace_days: Number(p.grace_days),
    exposure_multiple: new D(p.exposure_multiple as string).toString(),
    exposure_cap: p.exposure_cap === null ? null : Money.format(p.exposure_cap as string),
  };
}

export async function createPolicy(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof PolicyCreate>) {
  requireRole(ctx.actor, "admin");
  if (!ctx.actor.countyCodes.includes(input.county_code)) throw notFound("county");
  if (await trx("trusteeship_policies").where({ county_code: input.county_code, effective_from: input.effective_from }).first()) {
    throw new AppError("CONFLICT", {
      zh: `已有自 ${input.effective_from} 起生效的政策版本；政策版本不能修改，请以其他日期新增一个版本`,
      en: `A policy version effective from ${input.effective_from} already exists; versions are never edited, add one with another date`,
    });
  }
  const [p] = await trx("trusteeship_policies")
    .insert({
      county_code: input.county_code,
      effective_from: input.effective_from,
      default_annual_rate: input.default_annual_rate,
      grace_days: input.grace_days,
      exposure_multiple: input.exposure_multiple,
      exposure_cap: input.exposure_cap,
      created_by: ctx.actor.userId,
      created_at: ctx.clock.now(),
    })
    .returning("*");
  await appendAudit(trx, ctx, { action: "trusteeship_policy.create", entityType: "trusteeship_policy", entityId: p.id, countyCode: input.county_code, after: p });
  return policyView(p);
}

export async function listPolicies(db: Db, ctx: Ctx, q: z.infer<typeof PolicyQuery>) {
  requireRole(ctx.actor, "admin", "regulator", "finance_officer");
  const rows = await db("trusteeship_policies")
    .whereIn("county_code", q.county_code ? [q.county_code].filter((c) => ctx.actor.countyCodes.includes(c)) : ctx.actor.countyCodes)
    .orderBy(["county_code", "effective_from"]);
  return { items: rows.map(policyView), next_cursor: null };
}
