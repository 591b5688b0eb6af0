import { IsoDate, ListQuery, z } from "../../http/zod.js";

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
    kind: z.string().openapi({ description: "Lowercase and dotted, e.g. loan.overdue.dpd_31_90, trustee.return_arrears, asset.idle (the list: docs/DOMAIN.md#alerts)" }),
    kind_label: z.string().openapi({ description: "The kind's name in the language of the answer (Accept-Language; Chinese by default)" }),
    severity: z.enum(["INFO", "WARNING", "CRITICAL"]),
    severity_label: z.string().openapi({ description: "提示 / 警告 / 严重 (Info / Warning / Critical), in the language of the answer" }),
    entity_type: z.string(),
    entity_id: z.string(),
    bank_id: z.string().nullable(),
    operator_id: z.string().nullable(),
    village_code: z.string().nullable(),
    message: z.string().openapi({ description: "In the language of the answer (Chinese by default, English with Accept-Language: en)" }),
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

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex characters");
const AuditProblemSchema = z.object({
  chain: z.string(),
  seq: z.number().int(),
  id: z.number().int().nullable(),
  problem: z.string().openapi({
    description:
      "HASH_MISMATCH (the row's content does not give its hash under the key), BROKEN_LINK, MISSING_ROWS, HEAD_MISMATCH, LEGACY_UNATTESTED (rows from before the keyed rule not attested under the key), SEAL_MISMATCH (the row at a sealed position no longer has the sealed hash), SEAL_SIGNATURE_INVALID, SEAL_KEY_UNKNOWN",
  }),
  detail: z.string(),
});
export const SealedChain = z.object({
  chain: z.string(),
  last_seq: z.number().int().min(0),
  last_hash: Hex64,
  keyed_from_seq: z.number().int().min(1).openapi({ description: "First position hashed with the audit key; rows before it were written under the earlier unkeyed rule" }),
});
export const SealFileSchema = z
  .object({
    id: z.number().int().optional().openapi({ description: "The seal's id here (not signed)" }),
    format: z.literal("huinong-audit-seal/1"),
    algorithm: z.literal("Ed25519"),
    scope: z.string().regex(/^(\d{6}|system)$/, "a county code or system"),
    business_date: IsoDate,
    sealed_at: z.string().max(40),
    key_fingerprint: Hex64.openapi({ description: "SHA-256 of the signing public key (SubjectPublicKeyInfo DER)" }),
    previous_seal: Hex64.nullable().openapi({ description: "SHA-256 of the signature (base64 text) of the scope's previous seal" }),
    chains: z.array(SealedChain).max(1000),
    signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "an Ed25519 signature, base64").openapi({ description: "Ed25519 over the canonical JSON (keys sorted, no spaces) of every other field but `id`" }),
  })
  .openapi("AuditSealFile", { description: "A signed seal of one scope's (county's or the system's) audit chain heads for a business date: the file an auditor keeps." });
export const SealSummarySchema = z
  .object({
    id: z.number().int(),
    scope: z.string(),
    business_date: z.string(),
    sealed_at: z.string(),
    key_fingerprint: z.string(),
    chains: z.number().int(),
    rows: z.number().int().openapi({ description: "Rows covered: the sum of the sealed positions" }),
  })
  .openapi("AuditSeal");
export const SealList = z.object({ items: z.array(SealSummarySchema), next_cursor: z.string().nullable() }).openapi("AuditSealList");
export const SealQuery = ListQuery.extend({
  scope: z.string().regex(/^(\d{6}|system)$/, "a county code or system").optional(),
  from: IsoDate.optional(),
  to: IsoDate.optional(),
});
export const SealParams = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
export const SealGetQuery = z.object({ download: z.enum(["1", "true"]).optional().openapi({ description: "Answer as a file to keep (Content-Disposition: attachment)" }) });
export const VerifyQuery = z.object({ seal_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: "Also check against this kept seal" }) });
export const SealVerify = z
  .object({
    ok: z.boolean(),
    seal: z.object({ id: z.number().int().nullable(), scope: z.string(), business_date: z.string(), sealed_at: z.string(), key_fingerprint: z.string(), signature_ok: z.boolean() }),
    chains: z.number().int(),
    checked: z.number().int(),
    problems: z.array(AuditProblemSchema),
  })
  .openapi("AuditSealVerify");
export const SealKey = z
  .object({
    algorithm: z.literal("Ed25519"),
    public_key_pem: z.string(),
    fingerprint: z.string().openapi({ description: "SHA-256 (hex) of the public key's SubjectPublicKeyInfo DER, as named in each seal" }),
  })
  .openapi("AuditSealKey");
