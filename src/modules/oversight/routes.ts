import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf, requireRole } from "../../http/auth.js";
import { doc } from "../../http/openapi.js";
import { page } from "../../http/pagination.js";
import { parse } from "../../http/validate.js";
import { verifyAuditChain } from "../../lib/audit.js";
import { auditKeys } from "../../lib/audit-keys.js";
import { sealFile, sealSummaries, sealsQuery, verifyAgainstSeal } from "../../lib/audit-seal.js";
import { notFound } from "../../http/errors.js";
import type { Actor } from "../../http/auth.js";
import { reconcile } from "../../lib/ledger.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { z } from "../../http/zod.js";
import { acknowledgeAlert, listAlerts } from "./alerts.js";
import {
  Alert,
  AlertList,
  AlertQuery,
  AuditList,
  AuditQuery,
  AuditVerify,
  Reconciliation,
  SealFileSchema,
  SealGetQuery,
  SealKey,
  SealList,
  SealParams,
  SealQuery,
  SealVerify,
  VerifyQuery,
} from "./schemas.js";

const TAG = "Oversight 监管";
doc({ method: "get", path: "/audit-log", operationId: "listAuditLog", tag: TAG, summary: "Audit log of your counties (every write: who, when, before/after, request id)", query: AuditQuery, response: AuditList, roles: "admin, regulator" });
doc({
  method: "get",
  path: "/audit-log/verify",
  operationId: "getAuditLogVerification",
  tag: TAG,
  summary: "Verify the audit hash chains of your counties (against a kept seal with `seal_id`)",
  description:
    "Recomputes every row's hash under the audit key; names each row that was edited, deleted or reordered. With `seal_id`, checks that seal's signature and that every chain of its county still has, at the sealed position, the sealed hash (answer: AuditSealVerify).",
  query: VerifyQuery,
  response: z.union([AuditVerify, SealVerify]),
  roles: "admin, regulator",
});
doc({
  method: "post",
  path: "/audit-log/verify",
  tag: TAG,
  summary: "Verify the audit log against a seal file an auditor kept",
  description:
    "The body is a seal file as downloaded from `/audit-log/seals/{id}?download=1`. Checks its Ed25519 signature with this installation's public key, then that every chain of the seal's county (or the system) verifies from its first row under the audit key and still has, at each sealed position, the sealed hash. Names the chain and the rows that differ. Changes nothing. A seal of a county outside yours is 404.",
  body: SealFileSchema,
  response: SealVerify,
  roles: "admin, regulator",
  errors: [400, 401, 403, 404],
});
doc({
  method: "get",
  path: "/audit-log/seal-key",
  tag: TAG,
  summary: "The public key the audit seals are signed with (Ed25519)",
  description: "Keep it apart from the database: with it and a seal file anyone can check that the seal was made here and not altered.",
  response: SealKey,
  roles: "any staff",
  errors: [401],
});
doc({
  method: "get",
  path: "/audit-log/seals",
  tag: TAG,
  summary: "Daily seals of the audit chain heads of your counties (signed, one per business date and county)",
  query: SealQuery,
  response: SealList,
  roles: "admin (also the system's), regulator",
});
doc({
  method: "get",
  path: "/audit-log/seals/:id",
  tag: TAG,
  summary: "One seal as the file an auditor keeps (`?download=1` to save it)",
  description: "The JSON seal file: the sealed chain heads, the date, the signing key's fingerprint and the Ed25519 signature. Post it back to `POST /audit-log/verify` to check the log against it.",
  params: SealParams,
  query: SealGetQuery,
  response: SealFileSchema,
  roles: "admin (also the system's), regulator",
});
doc({
  method: "get",
  path: "/ledger/reconciliation",
  tag: TAG,
  summary: "Ledger reconciliation: trial balance and every sub-ledger against its business records",
  response: Reconciliation,
  roles: "admin, regulator, finance_officer",
});

doc({
  method: "get",
  path: "/alerts",
  tag: TAG,
  summary: "Alerts raised by every module (overdue loans, NPL, fund leverage, trustee arrears, exposure, missing return reports, unpaid distributions, idle assets, unpaid claims, failed daily jobs)",
  description: "County staff see all alerts of their counties; bank staff those of their bank; operators their own; village officers their village's.",
  query: AlertQuery,
  response: AlertList,
  roles: "any staff",
});
doc({ method: "post", path: "/alerts/:id/acknowledge", tag: TAG, summary: "Acknowledge an alert (recorded with who and when)", params: z.object({ id: z.string().uuid() }), response: Alert, roles: "any staff who can see it" });

/** The audit scopes a caller may verify and see the seals of: their counties, and for admins the system chain too. */
function auditScopesOf(actor: Actor): string[] {
  return actor.role === "admin" ? [...actor.countyCodes, "system"] : actor.countyCodes;
}

export function oversightRoutes(deps: Deps): Router {
  const { db, clock } = deps;
  const r = Router();

  r.get("/alerts", async (req, res) => {
    res.json(await listAlerts(db, actorOf(req), parse(AlertQuery, req.query, "query")));
  });
  r.post(
    "/alerts/:id/acknowledge",
    command(db, async (req, trx) => ({ status: 200, body: await acknowledgeAlert(trx, ctxOf(req, clock), parse(z.object({ id: z.string().uuid() }), req.params, "params").id) })),
  );

  r.get("/audit-log", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator");
    const q = parse(AuditQuery, req.query, "query");
    const query = db("audit_log").whereIn("county_code", q.county_code ? [q.county_code].filter((c) => actor.countyCodes.includes(c)) : actor.countyCodes);
    if (q.entity_type) query.andWhere("entity_type", q.entity_type);
    if (q.entity_id) query.andWhere("entity_id", q.entity_id);
    if (q.action) query.andWhere("action", q.action);
    query.select("id", "chain", "seq", "occurred_at", "actor_id", "actor_role", "action", "entity_type", "entity_id", "county_code", "request_id", "before", "after", "hash");
    const { rows, next_cursor } = await page<{ id: number; occurred_at: Date }>(query, "id", (row) => String(row.id), q.limit, q.cursor);
    res.json({ items: rows.map((row) => ({ ...row, id: Number(row.id), occurred_at: new Date(row.occurred_at).toISOString() })), next_cursor });
  });

  r.get("/audit-log/verify", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator");
    const q = parse(VerifyQuery, req.query, "query");
    if (q.seal_id !== undefined) {
      const file = await sealFile(db, q.seal_id, auditScopesOf(actor));
      if (!file) throw notFound("seal");
      res.json(await verifyAgainstSeal(db, auditKeys(), file));
      return;
    }
    res.json(await verifyAuditChain(db, { scopes: auditScopesOf(actor) }));
  });
  r.post("/audit-log/verify", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator");
    const file = parse(SealFileSchema, req.body, "body");
    if (!auditScopesOf(actor).includes(file.scope)) throw notFound("seal scope");
    res.json(await verifyAgainstSeal(db, auditKeys(), file));
  });
  r.get("/audit-log/seal-key", (req, res) => {
    actorOf(req);
    const keys = auditKeys();
    res.json({ algorithm: "Ed25519", public_key_pem: keys.sealPublicKey.export({ format: "pem", type: "spki" }).toString(), fingerprint: keys.fingerprint });
  });
  r.get("/audit-log/seals", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator");
    const q = parse(SealQuery, req.query, "query");
    const { rows, next_cursor } = await page<Record<string, unknown>>(sealsQuery(db, auditScopesOf(actor), q), "id", (row) => String(row.id), q.limit, q.cursor);
    res.json({ items: sealSummaries(rows), next_cursor });
  });
  r.get("/audit-log/seals/:id", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator");
    const { id } = parse(SealParams, req.params, "params");
    const q = parse(SealGetQuery, req.query, "query");
    const file = await sealFile(db, id, auditScopesOf(actor));
    if (!file) throw notFound("seal");
    if (q.download) res.attachment(`audit-seal-${file.scope}-${file.business_date}-${file.id}.json`);
    res.json(file);
  });

  r.get("/ledger/reconciliation", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator", "finance_officer");
    res.json(await reconcile(db, actor.countyCodes));
  });
  return r;
}
