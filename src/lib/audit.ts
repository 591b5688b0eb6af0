import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Knex } from "knex";
import { preparedRaw } from "./prepared.js";
import { auditKeys } from "./audit-keys.js";
import { canonicalJson } from "./canonical-json.js";
import type { Ctx } from "./context.js";

/**
 * The audit log: every write, who, when, what (before and after) and the request id. Append-only
 * (a trigger refuses UPDATE and DELETE) and hash-chained, in a few parallel chains per county
 * (`CHAINS_PER_SCOPE`): each row's hash covers its content and the previous row's hash in its
 * chain, and `audit_chain_heads` holds the last sequence and hash of each chain, so an edited,
 * deleted or truncated row is found by `verifyAuditChain`. The hash is an HMAC-SHA256 under
 * `AUDIT_HMAC_KEY`, which the database does not hold, so someone who can write to the database
 * cannot recompute the hashes of rows they changed; rows written before the key was introduced keep
 * their unkeyed SHA-256 (see `keyed_from_seq` and `attestLegacyChains`). The daily signed seals of
 * the chain heads are in `audit-seal.ts`.
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
async function lockChainHead(trx: Knex.Transaction, scope: string, along?: AlongStatement): Promise<{ chain: string; head: ChainHead; alongRows: number }> {
  const chains = chainsOf(scope);
  const free = async (with_?: AlongStatement) => {
    const rows = await preparedRaw<Partial<ChainHead> & { chain: string | null; along_rows: number }>(
      trx,
      `${with_ ? `WITH along AS (${with_.sql}) ` : ""}
       SELECT h.chain, h.last_seq, h.last_hash, ${with_ ? "(SELECT count(*)::int FROM along)" : "0"} AS along_rows
         FROM (SELECT 1) one LEFT JOIN LATERAL (
           SELECT chain, last_seq, last_hash FROM audit_chain_heads WHERE chain = ANY(?::text[]) ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED) h ON true`,
      [...(with_?.bindings ?? []), chains],
    );
    return rows[0];
  };
  const first = await free(along);
  let picked = first.chain === null ? undefined : first;
  if (!picked) {
    await trx.raw("INSERT INTO audit_chain_heads (chain, last_seq, last_hash) SELECT c, 0, ? FROM unnest(?::text[]) c ON CONFLICT (chain) DO NOTHING", [GENESIS, chains]);
    const again = await free();
    picked = again.chain === null ? undefined : again;
  }
  if (picked) return { chain: picked.chain!, head: { last_seq: picked.last_seq!, last_hash: picked.last_hash! }, alongRows: first.along_rows };
  // Every chain of the scope is held: wait for one (row-level lock, released at the holder's commit).
  const chain = chains[Math.floor(Math.random() * chains.length)];
  const locked = await trx.raw<{ rows: ChainHead[] }>("SELECT last_seq, last_hash FROM audit_chain_heads WHERE chain = ? FOR UPDATE", [chain]);
  return { chain, head: locked.rows[0], alongRows: first.along_rows };
}

/**
 * A data-modifying statement with a RETURNING clause that the audit flush sends in the same round
 * trip as its first query (a command's stored answer goes with it); the flush gives back how many
 * rows it returned.
 */
export interface AlongStatement {
  sql: string;
  bindings: readonly Knex.RawBinding[];
}

export interface HashedFields {
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

/** A row's hash: HMAC-SHA256 under the audit key of the previous hash, a newline and the row's canonical JSON. */
export function auditHash(key: Buffer, prevHash: string, f: HashedFields): string {
  return createHmac("sha256", key).update(prevHash).update("\n").update(canonicalJson(f)).digest("hex");
}

/** The rule of the rows written before the key (below their chain's `keyed_from_seq`): the same, unkeyed. */
export function legacyAuditHash(prevHash: string, f: HashedFields): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(f)).digest("hex");
}

/**
 * The attestation of a chain's unkeyed part, written once it has been verified: covers the chain,
 * where the keyed rows start and the hash of the last unkeyed row, so none of them can be changed
 * without the key.
 */
export function legacyAttestation(key: Buffer, chain: string, keyedFromSeq: number, lastLegacyHash: string): string {
  return createHmac("sha256", key).update(`audit-legacy\n${chain}\n${keyedFromSeq}\n${lastLegacyHash}`).digest("hex");
}

function sameHex(a: string | null | undefined, b: string): boolean {
  if (typeof a !== "string" || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
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

/**
 * Writes the records held back on this transaction, in the order they were appended, with `along`
 * (if given) in the same round trip as the first query; returns how many rows `along` returned.
 */
export async function flushAudit(trx: Knex.Transaction, along?: AlongStatement): Promise<number> {
  const held = buffered.get(trx) ?? [];
  buffered.delete(trx);
  let alongRows = 0;
  let pending = along;
  for (const h of held) {
    const n = await writeAudit(trx, h.ctx, h.records, pending);
    if (pending && n !== undefined) {
      alongRows = n;
      pending = undefined;
    }
  }
  if (pending) {
    const { rows } = await trx.raw<{ rows: { n: number }[] }>(`WITH along AS (${pending.sql}) SELECT count(*)::int AS n FROM along`, [...pending.bindings]);
    alongRows = rows[0].n;
  }
  return alongRows;
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
  await writeAudit(trx, ctx, list.map((r) => ({ ...r, before: jsonValue(r.before), after: jsonValue(r.after) })));
}

// A chain's batch of records and its new head, in one statement (see `writeAudit`).
const APPEND_SQL = `WITH appended AS (
    INSERT INTO audit_log (chain, seq, occurred_at, actor_id, actor_role, request_id, action, entity_type, entity_id, county_code, before, after, prev_hash, hash)
    SELECT ?, ?::bigint + u.k, ?::timestamptz, ?::uuid, ?, ?, u.action, u.entity_type, u.entity_id, u.county_code, u.before, u.after, u.prev_hash, u.hash
      FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::jsonb[], ?::jsonb[], ?::text[], ?::text[])
           WITH ORDINALITY AS u(action, entity_type, entity_id, county_code, before, after, prev_hash, hash, k)
     ORDER BY u.k
    RETURNING 1)
  UPDATE audit_chain_heads SET last_seq = ?, last_hash = ? WHERE chain = ?`;

/** Writes records whose `before` and `after` are already plain JSON values; returns the rows `along` returned, if it was sent. */
async function writeAudit(trx: Knex.Transaction, ctx: AuditActor, list: AuditRecord[], along?: AlongStatement): Promise<number | undefined> {
  const byChain = new Map<string, AuditRecord[]>();
  for (const r of list) {
    const chain = r.countyCode ?? SYSTEM_CHAIN;
    const arr = byChain.get(chain) ?? [];
    arr.push(r);
    byChain.set(chain, arr);
  }
  const occurredAt = ctx.clock.now();
  const key = auditKeys().hmacKey;
  let alongRows: number | undefined;
  for (const scope of [...byChain.keys()].sort()) {
    const locked = await lockChainHead(trx, scope, alongRows === undefined ? along : undefined);
    const { chain, head } = locked;
    if (along && alongRows === undefined) alongRows = locked.alongRows;
    const firstSeq = Number(head.last_seq);
    let seq = firstSeq;
    let prev = head.last_hash;
    const rows: { action: string; entity_type: string; entity_id: string; county_code: string | null; before: string | null; after: string | null; prev_hash: string; hash: string }[] = [];
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
        before: r.before ?? null,
        after: r.after ?? null,
      };
      const hash = auditHash(key, prev, fields);
      rows.push({
        action: fields.action,
        entity_type: fields.entity_type,
        entity_id: fields.entity_id,
        county_code: fields.county_code,
        before: fields.before === null ? null : JSON.stringify(fields.before),
        after: fields.after === null ? null : JSON.stringify(fields.after),
        prev_hash: prev,
        hash,
      });
      prev = hash;
    }
    // The rows and the new head in one statement, whatever the batch's size: the values shared by
    // the batch once, the others as one array per column (a thousand rows bind 14 parameters, not
    // 14,000); the n-th row of the arrays takes the n-th sequence number after the head.
    // (typed as knex's string arrays; the nulls among them go to the database as NULL)
    const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]) as string[];
    await preparedRaw(trx, APPEND_SQL, [
      chain,
      firstSeq,
      occurredAt,
      ctx.actor?.userId ?? null,
      ctx.actor?.role ?? null,
      ctx.requestId ?? null,
      col("action"),
      col("entity_type"),
      col("entity_id"),
      col("county_code"),
      col("before"),
      col("after"),
      col("prev_hash"),
      col("hash"),
      seq,
      prev,
      chain,
    ]);
  }
  return alongRows;
}

export type AuditProblemKind =
  | "HASH_MISMATCH"
  | "BROKEN_LINK"
  | "MISSING_ROWS"
  | "HEAD_MISMATCH"
  | "LEGACY_UNATTESTED"
  | "SEAL_MISMATCH"
  | "SEAL_SIGNATURE_INVALID"
  | "SEAL_KEY_UNKNOWN";

export interface AuditProblem {
  chain: string;
  seq: number;
  id: number | null;
  problem: AuditProblemKind;
  detail: string;
}

interface AuditRow extends Omit<HashedFields, "occurred_at"> {
  id: number;
  occurred_at: Date;
  prev_hash: string;
  hash: string;
}

export interface ChainHeadRow {
  chain: string;
  last_seq: number | string;
  last_hash: string;
  keyed_from_seq: number | string;
  keyed_from_mac: string | null;
}

/** The rows of a chain are checked from `from` (a position and the hash it must still have; genesis when absent) through `to`. */
export interface WalkOptions {
  key: Buffer;
  batch?: number;
  from?: { seq: number; hash: string };
  to?: number;
  /** Positions whose stored hash must be the one given (a seal's): a differing or missing row is a SEAL_MISMATCH. */
  expect?: { seq: number; hash: string };
}

export interface WalkResult {
  problems: AuditProblem[];
  checked: number;
  lastSeq: number;
  lastHash: string;
}

/** A stored row's hashed fields, as its hash was computed (timestamps as ISO strings). */
export function hashedFieldsOf(r: Omit<HashedFields, "occurred_at" | "seq"> & { seq: number | string; occurred_at: Date | string }): HashedFields {
  return {
    chain: r.chain,
    seq: Number(r.seq),
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
  };
}

function recompute(key: Buffer, head: ChainHeadRow, r: AuditRow, seq: number): string {
  const fields = { ...hashedFieldsOf(r), seq };
  return seq < Number(head.keyed_from_seq) ? legacyAuditHash(r.prev_hash, fields) : auditHash(key, r.prev_hash, fields);
}

/**
 * Walks one chain in order, recomputing each row's hash under its rule (unkeyed below the chain's
 * `keyed_from_seq`, keyed from there), and reports each row that was edited, removed or reordered,
 * an unkeyed part that is not attested under the key, and (with `expect`) a sealed position whose row
 * no longer has the sealed hash.
 */
export async function walkChain(db: Knex | Knex.Transaction, head: ChainHeadRow, opts: WalkOptions): Promise<WalkResult> {
  const batch = opts.batch ?? 5000;
  const chain = head.chain;
  const keyedFrom = Number(head.keyed_from_seq);
  const problems: AuditProblem[] = [];
  let checked = 0;
  let expectedSeq = 1;
  let prev = GENESIS;
  let lastSeq = 0;
  let expectSeen = false;
  let legacyAttested = keyedFrom <= 1;
  const checkExpect = (r: AuditRow, seq: number) => {
    if (!opts.expect || seq !== opts.expect.seq) return;
    expectSeen = true;
    if (r.hash !== opts.expect.hash) {
      problems.push({ chain, seq, id: Number(r.id), problem: "SEAL_MISMATCH", detail: `row id ${r.id} at position ${seq} does not have the hash the seal recorded` });
    }
  };
  const checkLegacyEnd = (r: AuditRow, seq: number) => {
    if (seq !== keyedFrom - 1) return;
    legacyAttested = sameHex(head.keyed_from_mac, legacyAttestation(opts.key, chain, keyedFrom, r.hash));
  };
  if (opts.from && opts.from.seq > 0) {
    // Resume from a sealed point: its row must still be there with the sealed hash.
    const r = await db("audit_log").where({ chain, seq: opts.from.seq }).first<AuditRow | undefined>();
    if (!r) {
      problems.push({ chain, seq: opts.from.seq, id: null, problem: "SEAL_MISMATCH", detail: `the sealed row at position ${opts.from.seq} is missing` });
      return { problems, checked, lastSeq, lastHash: prev };
    }
    if (r.hash !== opts.from.hash || recompute(opts.key, head, r, opts.from.seq) !== r.hash) {
      problems.push({ chain, seq: opts.from.seq, id: Number(r.id), problem: "SEAL_MISMATCH", detail: `row id ${r.id} at position ${opts.from.seq} no longer has the sealed hash` });
    }
    if (opts.from.seq >= keyedFrom - 1) legacyAttested = true; // the seal covered the unkeyed part
    prev = opts.from.hash;
    lastSeq = opts.from.seq;
    expectedSeq = opts.from.seq + 1;
  }
  for (;;) {
    const q = db("audit_log").where("chain", chain).andWhere("seq", ">=", expectedSeq);
    if (opts.to !== undefined) q.andWhere("seq", "<=", opts.to);
    const rows = await q.orderBy("seq").limit(batch).select<AuditRow[]>();
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expectedSeq) {
        problems.push({ chain, seq: expectedSeq, id: null, problem: "MISSING_ROWS", detail: `rows ${expectedSeq}..${seq - 1} are missing before row id ${r.id}` });
      }
      if (r.prev_hash !== prev) {
        problems.push({ chain, seq, id: Number(r.id), problem: "BROKEN_LINK", detail: `row id ${r.id} does not follow the previous row's hash` });
      }
      if (recompute(opts.key, head, r, seq) !== r.hash) {
        problems.push({ chain, seq, id: Number(r.id), problem: "HASH_MISMATCH", detail: `row id ${r.id} was changed after it was written` });
      }
      checkExpect(r, seq);
      checkLegacyEnd(r, seq);
      prev = r.hash;
      lastSeq = seq;
      expectedSeq = seq + 1;
      checked += 1;
    }
  }
  if (!legacyAttested) {
    problems.push({
      chain,
      seq: keyedFrom - 1,
      id: null,
      problem: "LEGACY_UNATTESTED",
      detail: `rows 1..${keyedFrom - 1} are hashed without the key and that part of the chain is not attested under it`,
    });
  }
  if (opts.expect && !expectSeen && opts.expect.seq > 0) {
    problems.push({ chain, seq: opts.expect.seq, id: null, problem: "SEAL_MISMATCH", detail: `the sealed row at position ${opts.expect.seq} is missing` });
  }
  return { problems: problems.sort((a, b) => a.seq - b.seq), checked, lastSeq, lastHash: prev };
}

/** The chain heads of the given scopes (county codes, `system`; all when none are given), in chain order. */
export async function chainHeads(db: Knex | Knex.Transaction, scopes?: string[]): Promise<ChainHeadRow[]> {
  return db("audit_chain_heads")
    .modify((q) => {
      if (scopes) q.whereRaw("split_part(chain, '.', 1) = ANY(?::text[])", [scopes]);
    })
    .orderBy("chain")
    .select<ChainHeadRow[]>("chain", "last_seq", "last_hash", "keyed_from_seq", "keyed_from_mac");
}

/**
 * Walks every chain of the given scopes (county codes, `system`; all when none are given) in order,
 * recomputing hashes under the audit key; reports each row that was edited, removed or reordered.
 */
export async function verifyAuditChain(db: Knex | Knex.Transaction, opts: { scopes?: string[]; batch?: number; key?: Buffer } = {}) {
  const key = opts.key ?? auditKeys().hmacKey;
  const heads = await chainHeads(db, opts.scopes);
  const problems: AuditProblem[] = [];
  let checked = 0;
  let chains = 0; // chains in use (a county's spare chains stay empty until writes overlap)
  for (const head of heads) {
    const walked = await walkChain(db, head, { key, batch: opts.batch });
    problems.push(...walked.problems);
    checked += walked.checked;
    if (walked.lastSeq > 0 || Number(head.last_seq) > 0) chains += 1;
    problems.push(...headProblems(head, walked));
  }
  return { ok: problems.length === 0, chains, checked, problems };
}

/** The head row must name the chain's last row and its hash. */
export function headProblems(head: ChainHeadRow, walked: WalkResult): AuditProblem[] {
  if (Number(head.last_seq) === walked.lastSeq && head.last_hash === walked.lastHash) return [];
  return [{ chain: head.chain, seq: Number(head.last_seq), id: null, problem: "HEAD_MISMATCH", detail: `the chain should end at row ${head.last_seq} but ends at ${walked.lastSeq}` }];
}

/**
 * Attests, under the key, the unkeyed part of every chain that has one and is not yet attested,
 * after verifying it row by row under the old rule; run at startup and by each seal. A chain whose
 * unkeyed part does not verify is left unattested (verification keeps reporting it) and returned.
 */
export async function attestLegacyChains(db: Knex | Knex.Transaction, key: Buffer = auditKeys().hmacKey): Promise<{ attested: string[]; refused: AuditProblem[] }> {
  const pending = await db("audit_chain_heads")
    .where("keyed_from_seq", ">", 1)
    .whereNull("keyed_from_mac")
    .orderBy("chain")
    .select<ChainHeadRow[]>("chain", "last_seq", "last_hash", "keyed_from_seq", "keyed_from_mac");
  const attested: string[] = [];
  const refused: AuditProblem[] = [];
  for (const head of pending) {
    const keyedFrom = Number(head.keyed_from_seq);
    const walked = await walkChain(db, { ...head, keyed_from_mac: null }, { key, to: keyedFrom - 1 });
    const broken = walked.problems.filter((p) => p.problem !== "LEGACY_UNATTESTED");
    if (broken.length > 0 || walked.lastSeq !== keyedFrom - 1) {
      refused.push(...(broken.length > 0 ? broken : [{ chain: head.chain, seq: keyedFrom - 1, id: null, problem: "MISSING_ROWS" as const, detail: `the unkeyed part ends at row ${walked.lastSeq}, not ${keyedFrom - 1}` }]));
      continue;
    }
    const mac = legacyAttestation(key, head.chain, keyedFrom, walked.lastHash);
    await db("audit_chain_heads").where({ chain: head.chain, keyed_from_seq: keyedFrom }).whereNull("keyed_from_mac").update({ keyed_from_mac: mac });
    attested.push(head.chain);
  }
  return { attested, refused };
}
