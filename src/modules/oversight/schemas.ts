import { ListQuery, z } from "../../http/zod.js";

export const AuditQuery = ListQuery.extend({
  entity_type: z.string().max(50).optional(),
  entity_id: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  county_code: z.string().regex(/^\d{6}$/).optional(),
});
export const AuditEntry = z
  .object({
    id: z.number().int(),
    chain: z.string().openapi({ description: "One of the county's 16 hash chains: the county code, or the code and .1 … .15 (likewise `system`)", example: "469030.3" }),
    seq: z.number().int().openapi({ description: "Position in its chain, from 1" }),
    occurred_at: z.string(),
    actor_id: z.string().nullable(),
    actor_role: z.string().nullable(),
    action: z.string(),
    entity_type: z.string(),
    entity_id: z.string(),
    county_code: z.string().nullable(),
    request_id: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    hash: z.string(),
  })
  .openapi("AuditEntry");
export const AuditList = z.object({ items: z.array(AuditEntry), next_cursor: z.string().nullable() }).openapi("AuditList");
export const AuditVerify = z
  .object({
    ok: z.boolean(),
    chains: z.number().int().openapi({ description: "Chains holding rows (a county's spare chains stay empty until its writes overlap)" }),
    checked: z.number().int().openapi({ description: "Rows whose hash was recomputed" }),
    problems: z.array(z.object({ chain: z.string(), seq: z.number().int(), id: z.number().int().nullable(), problem: z.string(), detail: z.string() })),
  })
  .openapi("AuditVerify");
export const Reconciliation = z
  .object({
    ok: z.boolean(),
    trial_balance: z.object({ debits: z.string(), credits: z.string(), balanced: z.boolean() }),
    checks: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        ok: z.boolean(),
        differences: z.array(z.object({ ref: z.string(), ledger: z.string(), records: z.string() })),
      }),
    ),
  })
  .openapi("Reconciliation");

export const AlertQuery = ListQuery.extend({
  state: z.enum(["open", "cleared", "all"]).default("open"),
  kind: z.string().max(100).optional(),
  severity: z.enum(["INFO", "WARNING", "CRITICAL"]).optional(),
  entity_type: z.string().max(50).optional(),
  entity_id: z.string().max(100).optional(),
  acknowledged: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});
export const Alert = z
  .object({
    id: z.string().uuid(),
    county_code: z.string(),
    kind: z.string(),
    severity: z.enum(["INFO", "WARNING", "CRITICAL"]),
    entity_type: z.string(),
    entity_id: z.string(),
    bank_id: z.string().nullable(),
    operator_id: z.string().nullable(),
    village_code: z.string().nullable(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    business_date: z.string().nullable(),
    raised_at: z.string(),
    updated_at: z.string(),
    cleared_at: z.string().nullable(),
    acknowledged_by: z.string().nullable(),
    acknowledged_at: z.string().nullable(),
    open: z.boolean(),
  })
  .openapi("Alert");
export const AlertList = z.object({ items: z.array(Alert), next_cursor: z.string().nullable() }).openapi("AlertList");
