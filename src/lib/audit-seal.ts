import { createHash, sign, verify } from "node:crypto";
import type { Knex } from "knex";
import { type AuditProblem, attestLegacyChains, type ChainHeadRow, chainHeads, headProblems, walkChain } from "./audit.js";
import type { AuditKeys } from "./audit-keys.js";
import { canonicalJson } from "./canonical-json.js";

/**
 * Daily seals of the audit chains. For a business date, each scope (a county, or `system`) gets one
 * record of every one of its chains (chain, last position, last hash, where its keyed rows start) as
 * of the moment of sealing, signed with an Ed25519 key the database does not hold, and linked to the
 * scope's previous seal. A seal is only made from a verified state: the rows added since the previous
 * seal (all rows, for a scope's first seal) are verified first, and a scope that does not verify is
 * refused, not sealed. The seal file (`SealFile`) is what an auditor keeps; `verifyAgainstSeal` checks
 * the database against it.
 */

export const SEAL_FORMAT = "huinong-audit-seal/1";

export interface SealedChain {
  chain: string;
  last_seq: number;
  last_hash: string;
  keyed_from_seq: number;
}

/** What is signed: Ed25519 over the canonical JSON of this object (keys sorted, no spaces, UTF-8). */
export interface SealPayload {
  format: typeof SEAL_FORMAT;
  algorithm: "Ed25519";
  scope: string;
  business_date: string;
  sealed_at: string;
  key_fingerprint: string;
  /** SHA-256 (hex) of the signature of the scope's previous seal; null for its first. */
  previous_seal: string | null;
  chains: SealedChain[];
}

/** The file an auditor keeps: the payload, its signature (base64) and the seal's id here. */
export interface SealFile extends SealPayload {
  id?: number;
  signature: string;
}

interface SealRow {
  id: number;
  business_date: string;
  scope: string;
  sealed_at: Date;
  key_fingerprint: string;
  payload: string;
  signature: string;
}

export interface SealSummary {
  id: number;
  scope: string;
  business_date: string;
  sealed_at: string;
  key_fingerprint: string;
  chains: number;
  rows: number;
}

function fileOf(row: SealRow): SealFile {
  return { id: Number(row.id), ...(JSON.parse(row.payload) as SealPayload), signature: row.signature };
}

function summaryOf(row: SealRow): SealSummary {
  const f = fileOf(row);
  return {
    id: f.id!,
    scope: f.scope,
    business_date: f.business_date,
    sealed_at: f.sealed_at,
    key_fingerprint: f.key_fingerprint,
    chains: f.chains.length,
    rows: f.chains.reduce((n, c) => n + c.last_seq, 0),
  };
}

/** The fields a signature covers, in a fixed shape (a file's extra fields and its id are not signed). */
export function payloadOf(f: SealPayload): SealPayload {
  return {
    format: f.format,
    algorithm: f.algorithm,
    scope: f.scope,
    business_date: f.business_date,
    sealed_at: f.sealed_at,
    key_fingerprint: f.key_fingerprint,
    previous_seal: f.previous_seal,
    chains: f.chains.map((c) => ({ chain: c.chain, last_seq: c.last_seq, last_hash: c.last_hash, keyed_from_seq: c.keyed_from_seq })),
  };
}

export function signSeal(keys: AuditKeys, payload: SealPayload): string {
  return sign(null, Buffer.from(canonicalJson(payloadOf(payload)), "utf8"), keys.sealPrivateKey).toString("base64");
}

/** Whether the seal was signed by this installation's key: a problem when not, none when it was. */
export function sealSignatureProblem(keys: AuditKeys, file: SealFile): AuditProblem | undefined {
  if (file.key_fingerprint !== keys.fingerprint) {
    return { chain: file.scope, seq: 0, id: null, problem: "SEAL_KEY_UNKNOWN", detail: `the seal names key ${file.key_fingerprint}; this installation's seal key is ${keys.fingerprint}` };
  }
  let ok = false;
  try {
    ok = verify(null, Buffer.from(canonicalJson(payloadOf(file)), "utf8"), keys.sealPublicKey, Buffer.from(file.signature, "base64"));
  } catch {
    ok = false;
  }
  return ok ? undefined : { chain: file.scope, seq: 0, id: null, problem: "SEAL_SIGNATURE_INVALID", detail: "the seal's signature does not match its content: the seal was altered or not made here" };
}

const linkOf = (signature: string) => createHash("sha256").update(signature).digest("hex");
const scopeOf = (chain: string) => chain.split(".")[0];

export interface SealResult {
  business_date: string;
  /** Seals made by this call. */
  sealed: SealSummary[];
  /** Scopes already sealed for the date (sealing is once per date and scope): left as they were. */
  existing: SealSummary[];
  /** Scopes not sealed because their chains do not verify, with what was found. */
  refused: { scope: string; problems: AuditProblem[] }[];
}

/**
 * Seals every chain of every scope for a business date (the daily job and the close of business call
 * it; `npm run audit:seal` too). Once per date and scope: a second call for the date returns the seals
 * already made and seals only scopes that had none. Chains written under the old unkeyed rule are
 * verified and attested first (`attestLegacyChains`), so the first seal after the upgrade is made from
 * a verified state.
 */
export async function sealAuditChains(db: Knex | Knex.Transaction, keys: AuditKeys, businessDate: string, opts: { now?: Date; scopes?: string[] } = {}): Promise<SealResult> {
  await attestLegacyChains(db, keys.hmacKey);
  const heads = await chainHeads(db, opts.scopes);
  const byScope = new Map<string, ChainHeadRow[]>();
  for (const h of heads) byScope.set(scopeOf(h.chain), [...(byScope.get(scopeOf(h.chain)) ?? []), h]);
  const already = await db("audit_seals").where({ business_date: businessDate }).select<SealRow[]>();
  const result: SealResult = { business_date: businessDate, sealed: [], existing: already.filter((r) => !opts.scopes || opts.scopes.includes(r.scope)).map(summaryOf), refused: [] };
  const done = new Set(already.map((r) => r.scope));
  for (const [scope, scopeHeads] of [...byScope.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (done.has(scope)) continue;
    const problems: AuditProblem[] = [];
    const previousRow = await db("audit_seals").where({ scope }).andWhere("business_date", "<", businessDate).orderBy("business_date", "desc").first<SealRow | undefined>();
    const previous = previousRow ? fileOf(previousRow) : undefined;
    if (previous) {
      const bad = sealSignatureProblem(keys, previous);
      if (bad) problems.push({ ...bad, detail: `the seal of ${previous.business_date}: ${bad.detail}` });
    }
    const sealedBefore = new Map((previous?.chains ?? []).map((c) => [c.chain, c]));
    for (const c of sealedBefore.values()) {
      if (!scopeHeads.some((h) => h.chain === c.chain)) {
        problems.push({ chain: c.chain, seq: c.last_seq, id: null, problem: "HEAD_MISMATCH", detail: `the chain sealed on ${previous!.business_date} at row ${c.last_seq} has no head any more` });
      }
    }
    for (const head of scopeHeads) {
      const before = sealedBefore.get(head.chain);
      if (before && before.keyed_from_seq !== Number(head.keyed_from_seq)) {
        problems.push({ chain: head.chain, seq: before.last_seq, id: null, problem: "SEAL_MISMATCH", detail: `keyed rows started at ${before.keyed_from_seq} when sealed on ${previous!.business_date} and now at ${head.keyed_from_seq}` });
        continue;
      }
      const to = Number(head.last_seq);
      let walked = await walkChain(db, head, { key: keys.hmacKey, from: before ? { seq: before.last_seq, hash: before.last_hash } : undefined, to });
      if (before && walked.problems.length > 0) {
        // Something changed: walk the chain from its first row to name the first row that differs.
        walked = await walkChain(db, head, { key: keys.hmacKey, to, expect: before.last_seq > 0 ? { seq: before.last_seq, hash: before.last_hash } : undefined });
      }
      problems.push(...walked.problems, ...headProblems(head, walked));
    }
    if (problems.length > 0) {
      result.refused.push({ scope, problems });
      continue;
    }
    const payload: SealPayload = {
      format: SEAL_FORMAT,
      algorithm: "Ed25519",
      scope,
      business_date: businessDate,
      sealed_at: (opts.now ?? new Date()).toISOString(),
      key_fingerprint: keys.fingerprint,
      previous_seal: previousRow ? linkOf(previousRow.signature) : null,
      chains: scopeHeads.map((h) => ({ chain: h.chain, last_seq: Number(h.last_seq), last_hash: h.last_hash, keyed_from_seq: Number(h.keyed_from_seq) })),
    };
    const [row] = await db("audit_seals")
      .insert({
        business_date: businessDate,
        scope,
        sealed_at: payload.sealed_at,
        key_fingerprint: keys.fingerprint,
        payload: canonicalJson(payload),
        signature: signSeal(keys, payload),
      })
      .onConflict(["business_date", "scope"])
      .ignore()
      .returning<SealRow[]>("*");
    if (row) result.sealed.push(summaryOf(row));
    else {
      // Sealed at the same moment by another run: keep that one.
      const other = await db("audit_seals").where({ business_date: businessDate, scope }).first<SealRow>();
      result.existing.push(summaryOf(other));
    }
  }
  return result;
}

export interface SealVerification {
  ok: boolean;
  seal: { id: number | null; scope: string; business_date: string; sealed_at: string; key_fingerprint: string; signature_ok: boolean };
  chains: number;
  checked: number;
  problems: AuditProblem[];
}

/**
 * Checks the database against a seal: first the seal's signature with this installation's public key,
 * then every chain of the seal's scope from its first row, under the audit key, and that each sealed
 * chain still has, at the sealed position, a row with the sealed hash. Names the chain and the rows
 * that differ (in chain and position order, so the first one listed for a chain is where it first differs).
 */
export async function verifyAgainstSeal(db: Knex | Knex.Transaction, keys: AuditKeys, file: SealFile, opts: { batch?: number } = {}): Promise<SealVerification> {
  const seal = { id: file.id ?? null, scope: file.scope, business_date: file.business_date, sealed_at: file.sealed_at, key_fingerprint: file.key_fingerprint };
  const bad = sealSignatureProblem(keys, file);
  if (bad) return { ok: false, seal: { ...seal, signature_ok: false }, chains: 0, checked: 0, problems: [bad] };
  const problems: AuditProblem[] = [];
  const heads = await chainHeads(db, [file.scope]);
  const sealed = new Map(file.chains.map((c) => [c.chain, c]));
  let checked = 0;
  let chains = 0;
  for (const c of sealed.values()) {
    if (!heads.some((h) => h.chain === c.chain)) {
      problems.push({ chain: c.chain, seq: c.last_seq, id: null, problem: "HEAD_MISMATCH", detail: `the chain was sealed at row ${c.last_seq} and has no head any more` });
    }
  }
  for (const head of heads) {
    const c = sealed.get(head.chain);
    if (c && c.keyed_from_seq !== Number(head.keyed_from_seq)) {
      problems.push({ chain: head.chain, seq: c.last_seq, id: null, problem: "SEAL_MISMATCH", detail: `keyed rows started at ${c.keyed_from_seq} when sealed and now at ${head.keyed_from_seq}` });
    }
    const walked = await walkChain(db, head, { key: keys.hmacKey, batch: opts.batch, expect: c && c.last_seq > 0 ? { seq: c.last_seq, hash: c.last_hash } : undefined });
    problems.push(...walked.problems, ...headProblems(head, walked));
    checked += walked.checked;
    if (walked.lastSeq > 0 || Number(head.last_seq) > 0) chains += 1;
  }
  problems.sort((a, b) => (a.chain === b.chain ? a.seq - b.seq : a.chain < b.chain ? -1 : 1));
  return { ok: problems.length === 0, seal: { ...seal, signature_ok: true }, chains, checked, problems };
}

/** The seals of some scopes, in the order they were made (keyset pages by id). */
export function sealsQuery(db: Knex, scopes: string[], filter: { scope?: string; from?: string; to?: string }): Knex.QueryBuilder {
  const q = db("audit_seals").whereIn("scope", filter.scope ? scopes.filter((s) => s === filter.scope) : scopes);
  if (filter.from) q.andWhere("business_date", ">=", filter.from);
  if (filter.to) q.andWhere("business_date", "<=", filter.to);
  return q.select("id", "business_date", "scope", "sealed_at", "key_fingerprint", "payload", "signature");
}

export function sealSummaries(rows: Record<string, unknown>[]): SealSummary[] {
  return rows.map((r) => summaryOf(r as unknown as SealRow));
}

/** One seal as its file, if it is in one of the scopes. */
export async function sealFile(db: Knex, id: number, scopes: string[]): Promise<SealFile | undefined> {
  const row = await db("audit_seals").where({ id }).whereIn("scope", scopes).first<SealRow | undefined>();
  return row ? fileOf(row) : undefined;
}
