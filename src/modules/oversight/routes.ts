import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf, requireRole } from "../../http/auth.js";
import { doc } from "../../http/openapi.js";
import { page } from "../../http/pagination.js";
import { parse } from "../../http/validate.js";
import { verifyAuditChain } from "../../lib/audit.js";
import { reconcile } from "../../lib/ledger.js";
import { command } from "../../http/command.js";
import { ctxOf } from "../../http/ctx.js";
import { z } from "../../http/zod.js";
import { acknowledgeAlert, listAlerts } from "./alerts.js";
import { Alert, AlertList, AlertQuery, AuditList, AuditQuery, AuditVerify, Reconciliation } from "./schemas.js";

const TAG = "Oversight 监管";
doc({ method: "get", path: "/audit-log", tag: TAG, summary: "Audit log of your counties (every write: who, when, before/after, request id)", query: AuditQuery, response: AuditList, roles: "admin, regulator" });
doc({
  method: "get",
  path: "/audit-log/verify",
  tag: TAG,
  summary: "Verify the audit hash chains of your counties",
  description: "Recomputes every row's hash; names each row that was edited, deleted or reordered.",
  response: AuditVerify,
  roles: "admin, regulator",
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
  summary: "Alerts raised by every module (overdue loans, NPL, fund leverage, trustee arrears, exposure, missing return reports, unpaid distributions, idle assets, unpaid claims)",
  description: "County staff see all alerts of their counties; bank staff those of their bank; operators their own; village officers their village's.",
  query: AlertQuery,
  response: AlertList,
  roles: "any staff",
});
doc({ method: "post", path: "/alerts/:id/acknowledge", tag: TAG, summary: "Acknowledge an alert (recorded with who and when)", params: z.object({ id: z.string().uuid() }), response: Alert, roles: "any staff who can see it" });

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
    const scopes = actor.role === "admin" ? [...actor.countyCodes, "system"] : actor.countyCodes;
    res.json(await verifyAuditChain(db, { scopes }));
  });

  r.get("/ledger/reconciliation", async (req, res) => {
    const actor = actorOf(req);
    requireRole(actor, "admin", "regulator", "finance_officer");
    res.json(await reconcile(db, actor.countyCodes));
  });
  return r;
}
