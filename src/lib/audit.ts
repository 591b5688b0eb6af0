import { createHash } from "node:crypto";
import type { Knex } from "knex";
import { canonicalJson } from "./canonical-json.js";
import type { Ctx } from "./context.js";

/**
 * The audit log: every write, who, when, what (before and after) and the request id. Append-only
 * (a trigger refuses UPDATE and DELETE) and hash-chained, in a few parallel chains per county
 * (`CHAINS_PER_SCOPE`): each row's hash covers its content and the previous row's hash in its
 * chain, and `audit_chain_heads` holds the last sequence and hash of each chain, so an edited,
 * deleted or truncated row is found by `verifyAuditChain`.
 */
export interface AuditRecord {
  action: string;
  entityType: string;
  entityId: string;
  countyCode: string | null;
  before?: unknown;
  after?: unknown;
}

const GENESIS = "0".repeat(64);
const SYSTEM_CHAIN = "system";

/**
 * Each county (and the system) has this many chains: `469030`, `469030.1` … `469030.15`. A
 * transaction appends to whichever of its county's chains no other transaction holds, so writes
 * of one county wait for one another only when all of them are held at once.
 */
export const CHAINS_PER_SCOPE = 16;

/** The chains of a county or of the system, the first named as the scope itself. */
export function chainsOf(scope: string): string[] {
  return Array.from({ length: CHAINS_PER_SCOPE }, (_, k) => (k === 0 ? scope : `${scope}.${k}`));
}

interface ChainHead {
  last_seq: number | string;
  last_hash: string;
}

/**
 * Locks one chain head of the scope until commit and returns it: the first one free (no waiting),
 * the heads created on first use, and when every one is held, a random one waited for.
 */
async function lockChainHead(trx: Knex.Transaction, scope: string): Promise<{ chain: string; head: ChainHead }> {
  const chains = chainsOf(scope);
  const free = () =>
    trx.raw<{ rows: (ChainHead & { chain: string })[] }>(
      "SELECT chain, last_seq, last_hash FROM audit_chain_heads WHERE chain = ANY(?::text[]) ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED",
      [chains],
    );
  let picked = (await free()).rows[0];
  if (!picked) {
    await trx.raw("INSERT INTO audit_chain_heads (chain, last_seq, last_hash) SELECT c, 0, ? FROM unnest(?::text[]) c ON CONFLICT (chain) DO NOTHING", [GENESIS, chains]);
    picked = (await free()).rows[0];
  }
  if (picked) return { chain: picked.chain, head: picked };
  // Every chain of the scope is held: wait for one (row-level lock, released at the holder's commit).
  const chain = chains[Math.floor(Math.random() * chains.length)];
  const locked = await trx.raw<{ rows: ChainHead[] }>("SELECT last_seq, last_hash FROM audit_chain_heads WHERE chain = ? FOR UPDATE", [chain]);
  return { chain, head: locked.rows[0] };
}

interface HashedFields {
  chain: string;
  seq: number;
  occurred_at: string;
  actor_id: string | null;
  actor_role: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  county_code: string | null;
  request_id: string | null;
  before: unknown;
  after: unknown;
}

export function auditHash(prevHash: string, f: HashedFields): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(f)).digest("hex");
}

/** Values as they come back from jsonb (dates as ISO strings, undefined dropped). */
function jsonValue(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

export type AuditActor = Pick<Ctx, "requestId" | "clock"> & { actor: { userId: string; role: string } | null };

/**
 * Records held back until the end of a transaction (see `bufferAudit`): appending locks the chain
 * head until commit, so the shorter the time between the append and the commit, the more writes of
 * one county can run at once.
 */
const buffered = new WeakMap<Knex.Transaction, { ctx: AuditActor; records: AuditRecord[] }[]>();

/** From now on, `appendAudit` on this transaction is held back until `flushAudit` (called just before commit). */
export function bufferAudit(trx: Knex.Transaction): void {
  buffered.set(trx, []);
}

/** Writes the records held back on this transaction, in the order they were appended. */
export async function flushAudit(trx: Knex.Transaction): Promise<void> {
  const held = buffered.get(trx);
  buffered.delete(trx);
  for (const h of held ?? []) await writeAudit(trx, h.ctx, h.records);
}

/**
 * Appends records to the audit log inside the caller's transaction. Inside a `command` the write
 * is held back to the end of the transaction; elsewhere it is written at once (call it last: it
 * locks the chain head).
 */
export async function appendAudit(trx: Knex.Transaction, ctx: AuditActor, records: AuditRecord | AuditRecord[]): Promise<void> {
  const list = Array.isArray(records) ? records : [records];
  if (list.length === 0) return;
  const held = buffered.get(trx);
  if (held) {
    held.push({ ctx: { actor: ctx.actor, requestId: ctx.requestId, clock: ctx.clock }, records: list.map((r) => ({ ...r, before: jsonValue(r.before), after: jsonValue(r.after) })) });
    return;
  }
  await writeAudit(trx, ctx, list);
}

async function writeAudit(trx: Knex.Transaction, ctx: AuditActor, list: AuditRecord[]): Promise<void> {
  const byChain = new Map<string, AuditRecord[]>();
  for (const r of list) {
    const chain = r.countyCode ?? SYSTEM_CHAIN;
    const arr = byChain.get(chain) ?? [];
    arr.push(r);
    byChain.set(chain, arr);
  }
  const occurredAt = ctx.clock.now();
  for (const scope of [...byChain.keys()].sort()) {
    const { chain, head } = await lockChainHead(trx, scope);
    let seq = Number(head.last_seq);
    let prev = head.last_hash;
    const rows = [];
    for (const r of byChain.get(scope)!) {
      seq += 1;
      const fields: HashedFields = {
        chain,
        seq,
        occurred_at: occurredAt.toISOString(),
        actor_id: ctx.actor?.userId ?? null,
        actor_role: ctx.actor?.role ?? null,
        action: r.action,
        entity_type: r.entityType,
        entity_id: r.entityId,
        county_code: r.countyCode,
        request_id: ctx.requestId ?? null,
        before: jsonValue(r.before),
        after: jsonValue(r.after),
      };
      const hash = auditHash(prev, fields);
      rows.push({
        ...fields,
        occurred_at: occurredAt,
        before: fields.before === null ? null : JSON.stringify(fields.before),
        after: fields.after === null ? null : JSON.stringify(fields.after),
        prev_hash: prev,
        hash,
      });
      prev = hash;
    }
    // The rows and the new head in one statement (a large batch in slices first).
    let i = 0;
    for (; rows.length - i > 1000; i += 1000) await trx("audit_log").insert(rows.slice(i, i + 1000));
    const insert = trx("audit_log").insert(rows.slice(i)).toSQL();
    await trx.raw(`WITH appended AS (${insert.sql} RETURNING 1) UPDATE audit_chain_heads SET last_seq = ?, last_hash = ? WHERE chain = ?`, [...insert.bindings, seq, prev, chain]);
  }
}

export interface AuditProblem {
  chain: string;
  seq: number;
  id: number | null;
  problem: "HASH_MISMATCH" | "BROKEN_LINK" | "MISSING_ROWS" | "HEAD_MISMATCH";
  detail: string;
}

interface AuditRow extends Omit<HashedFields, "occurred_at"> {
  id: number;
  occurred_at: Date;
  prev_hash: string;
  hash: string;
}

/**
 * Walks every chain of the given scopes (county codes, `system`; all when none are given) in order,
 * recomputing hashes; reports each row that was edited, removed or reordered.
 */
export async function verifyAuditChain(db: Knex | Knex.Transaction, opts: { scopes?: string[]; batch?: number } = {}) {
  const batch = opts.batch ?? 5000;
  const heads = await db("audit_chain_heads")
    .modify((q) => {
      if (opts.scopes) q.whereRaw("split_part(chain, '.', 1) = ANY(?::text[])", [opts.scopes]);
    })
    .orderBy("chain")
    .select<{ chain: string; last_seq: number; last_hash: string }[]>();
  const problems: AuditProblem[] = [];
  let checked = 0;
  let chains = 0; // chains in use (a county's spare chains stay empty until writes overlap)
  for (const head of heads) {
    let expectedSeq = 1;
    let prev = GENESIS;
    let lastSeq = 0;
    for (;;) {
      const rows = await db("audit_log")
        .where("chain", head.chain)
        .andWhere("seq", ">=", expectedSeq)
        .orderBy("seq")
        .limit(batch)
        .select<AuditRow[]>();
      if (rows.length === 0) break;
      for (const r of rows) {
        const seq = Number(r.seq);
        if (seq !== expectedSeq) {
          problems.push({ chain: head.chain, seq: expectedSeq, id: null, problem: "MISSING_ROWS", detail: `rows ${expectedSeq}..${seq - 1} are missing before row id ${r.id}` });
        }
        if (r.prev_hash !== prev) {
          problems.push({ chain: head.chain, seq, id: Number(r.id), problem: "BROKEN_LINK", detail: `row id ${r.id} does not follow the previous row's hash` });
        }
        const recomputed = auditHash(r.prev_hash, {
          chain: r.chain,
          seq,
          occurred_at: new Date(r.occurred_at).toISOString(),
          actor_id: r.actor_id,
          actor_role: r.actor_role,
          action: r.action,
          entity_type: r.entity_type,
          entity_id: r.entity_id,
          county_code: r.county_code,
          request_id: r.request_id,
          before: r.before,
          after: r.after,
        });
        if (recomputed !== r.hash) {
          problems.push({ chain: head.chain, seq, id: Number(r.id), problem: "HASH_MISMATCH", detail: `row id ${r.id} was changed after it was written` });
        }
        prev = r.hash;
        lastSeq = seq;
        expectedSeq = seq + 1;
        checked += 1;
      }
    }
    if (lastSeq > 0 || Number(head.last_seq) > 0) chains += 1;
    if (Number(head.last_seq) !== lastSeq || head.last_hash !== prev) {
      problems.push({ chain: head.chain, seq: Number(head.last_seq), id: null, problem: "HEAD_MISMATCH", detail: `the chain should end at row ${head.last_seq} but ends at ${lastSeq}` });
    }
  }
  return { ok: problems.length === 0, chains, checked, problems };
}
