import type { Knex } from "knex";

export type Severity = "INFO" | "WARNING" | "CRITICAL";

export interface AlertInput {
  countyCode: string;
  kind: string;
  severity: Severity;
  entityType: string;
  entityId: string;
  message: string;
  details?: Record<string, unknown>;
  businessDate?: string;
  bankId?: string | null;
  operatorId?: string | null;
  villageCode?: string | null;
}

/** Raises an alert, or refreshes the open one of the same kind for the same entity. */
export async function raiseAlert(db: Knex | Knex.Transaction, a: AlertInput, now: Date): Promise<void> {
  await db.raw(
    `INSERT INTO alerts (county_code, kind, severity, entity_type, entity_id, bank_id, operator_id, village_code, message, details, business_date, raised_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, entity_type, entity_id) WHERE cleared_at IS NULL
     DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message, details = EXCLUDED.details,
                   business_date = EXCLUDED.business_date, updated_at = EXCLUDED.updated_at`,
    [
      a.countyCode,
      a.kind,
      a.severity,
      a.entityType,
      a.entityId,
      a.bankId ?? null,
      a.operatorId ?? null,
      a.villageCode ?? null,
      a.message,
      JSON.stringify(a.details ?? {}),
      a.businessDate ?? null,
      now,
      now,
    ],
  );
}

/** Clears the open alert of a kind for an entity (the condition no longer holds). */
export async function clearAlert(db: Knex | Knex.Transaction, kind: string, entityType: string, entityId: string, now: Date): Promise<void> {
  await db("alerts").where({ kind, entity_type: entityType, entity_id: entityId }).whereNull("cleared_at").update({ cleared_at: now, updated_at: now });
}
