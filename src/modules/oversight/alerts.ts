import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { requireRole } from "../../http/auth.js";
import { page } from "../../http/pagination.js";
import { appendAudit } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";

type Db = Knex | Knex.Transaction;

/**
 * Who sees which alert: county staff (admin, regulator, finance) every alert of their counties;
 * bank staff those that name their bank; an operator those that name it; a village officer those
 * of its village.
 */
export function alertScope(q: Knex.QueryBuilder, actor: Actor): Knex.QueryBuilder {
  q.whereIn("a.county_code", actor.countyCodes);
  switch (actor.role) {
    case "loan_officer":
    case "bank_manager":
      q.andWhere("a.bank_id", actor.bankId ?? "");
      break;
    case "operator":
      q.andWhere("a.operator_id", actor.operatorId ?? "");
      break;
    case "village_officer":
      q.andWhere("a.village_code", actor.villageCode ?? "");
      break;
    default:
      break;
  }
  return q;
}

const COLUMNS = [
  "a.id",
  "a.county_code",
  "a.kind",
  "a.severity",
  "a.entity_type",
  "a.entity_id",
  "a.bank_id",
  "a.operator_id",
  "a.village_code",
  "a.message",
  "a.details",
  "a.business_date",
  "a.raised_at",
  "a.updated_at",
  "a.cleared_at",
  "a.acknowledged_by",
  "a.acknowledged_at",
];

function view(r: Record<string, unknown>) {
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  return { ...r, raised_at: iso(r.raised_at), updated_at: iso(r.updated_at), cleared_at: iso(r.cleared_at), acknowledged_at: iso(r.acknowledged_at), open: !r.cleared_at };
}

export async function listAlerts(
  db: Db,
  actor: Actor,
  q: { state: "open" | "cleared" | "all"; kind?: string; severity?: string; entity_type?: string; entity_id?: string; acknowledged?: boolean; limit: number; cursor?: string },
) {
  const query = alertScope(db("alerts as a").select(COLUMNS), actor);
  if (q.state === "open") query.whereNull("a.cleared_at");
  if (q.state === "cleared") query.whereNotNull("a.cleared_at");
  if (q.kind) query.andWhere("a.kind", q.kind);
  if (q.severity) query.andWhere("a.severity", q.severity);
  if (q.entity_type) query.andWhere("a.entity_type", q.entity_type);
  if (q.entity_id) query.andWhere("a.entity_id", q.entity_id);
  if (q.acknowledged === true) query.whereNotNull("a.acknowledged_at");
  if (q.acknowledged === false) query.whereNull("a.acknowledged_at");
  const { rows, next_cursor } = await page<{ id: string }>(query, "a.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(view), next_cursor };
}

export async function acknowledgeAlert(trx: Knex.Transaction, ctx: Ctx, id: string) {
  requireRole(ctx.actor, "admin", "regulator", "finance_officer", "bank_manager", "loan_officer", "village_officer", "operator");
  const a = await alertScope(trx("alerts as a").where("a.id", id).forUpdate().select(COLUMNS), ctx.actor).first();
  if (!a) throw notFound("alert");
  if (a.acknowledged_at) throw new AppError("INVALID_STATE", { zh: "该预警已被确认", en: "The alert was already acknowledged" });
  const now = ctx.clock.now();
  await trx("alerts").where({ id }).update({ acknowledged_by: ctx.actor.userId, acknowledged_at: now });
  await appendAudit(trx, ctx, { action: "alert.acknowledge", entityType: "alert", entityId: id, countyCode: a.county_code, after: { kind: a.kind, entity_id: a.entity_id } });
  return view({ ...a, acknowledged_by: ctx.actor.userId, acknowledged_at: now });
}
