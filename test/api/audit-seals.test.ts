import { createHash, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import type { Knex } from "knex";
import { describe, expect, it } from "vitest";
import { markLegacyChains } from "../../db/migrations/20261201000200_audit_seals.js";
import { type AuditActor, appendAudit, auditHash, hashedFieldsOf, legacyAuditHash, verifyAuditChain } from "../../src/lib/audit.js";
import { auditKeysOf } from "../../src/lib/audit-keys.js";
import { type SealFile, sealAuditChains, signSeal, verifyAgainstSeal } from "../../src/lib/audit-seal.js";
import { canonicalJson } from "../../src/lib/canonical-json.js";
import { COB_STEPS, runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { expectProblem } from "../helpers/expect.js";
import { COUNTY, USERS } from "../helpers/fixture.js";
import { onPostgres, TEST_AUDIT_KEYS, useTestApp } from "../helpers/harness.js";

const API = "/api/v1";
const t = useTestApp({ today: "2025-06-10" });
const ctx = (): AuditActor => ({ actor: { userId: USERS.admin.userId, role: "admin" }, requestId: "req-seal", clock: t.clock });

/** Writes `n` audit rows of a county (null: the system), one transaction each, as the modules do. */
async function write(county: string | null, n: number, tag: string): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await t.db.transaction((trx) =>
      appendAudit(trx, ctx(), { action: "test.write", entityType: "thing", entityId: `${tag}-${i}`, countyCode: county, after: { amount: `${i}00.00`, note: "惠农" } }),
    );
  }
}

interface Row {
  id: number;
  chain: string;
  seq: number;
  occurred_at: Date;
  actor_id: string | null;
  actor_role: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  county_code: string | null;
  request_id: string | null;
  before: unknown;
  after: unknown;
  prev_hash: string;
  hash: string;
}
const fieldsOf = (r: Row) => hashedFieldsOf(r);

/**
 * What someone with database superuser access (and no audit key) would do: switch the append-only
 * trigger off, edit a row, recompute that row's and every later row's hash with `rehash` and move
 * the chain head, so that the chain is consistent again.
 */
async function rewrite(chain: string, seq: number, change: Partial<Row>, rehash: (prev: string, f: ReturnType<typeof fieldsOf>) => string): Promise<void> {
  await t.db.transaction(async (trx: Knex.Transaction) => {
    await trx.raw("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    const rows = await trx("audit_log").where({ chain }).andWhere("seq", ">=", seq).orderBy("seq").select<Row[]>();
    let prev = (await trx("audit_log").where({ chain, seq: seq - 1 }).first<Row | undefined>())?.hash ?? "0".repeat(64);
    for (const r of rows) {
      const target = Number(r.seq) === seq;
      const hash = rehash(prev, fieldsOf(target ? { ...r, ...change } : r));
      const set: Record<string, unknown> = { prev_hash: prev, hash };
      if (target) for (const [k, v] of Object.entries(change)) set[k] = k === "after" || k === "before" ? JSON.stringify(v) : v;
      await trx("audit_log").where({ id: r.id }).update(set);
      prev = hash;
    }
    await trx("audit_chain_heads").where({ chain }).update({ last_hash: prev });
    await trx.raw("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
  });
}
const unkeyed = (prev: string, f: ReturnType<typeof fieldsOf>) => legacyAuditHash(prev, f);
const withKey = (prev: string, f: ReturnType<typeof fieldsOf>) => auditHash(TEST_AUDIT_KEYS.hmacKey, prev, f);

async function sealOf(scope: string, date: string): Promise<SealFile> {
  const row = await t.db("audit_seals").where({ scope, business_date: date }).first("id");
  expect(row, `a seal of ${scope} for ${date}`).toBeDefined();
  const res = await t.as("admin").get(`${API}/audit-log/seals/${row.id}`);
  expect(res.status).toBe(200);
  return res.body as SealFile;
}

describe("daily audit seals", () => {
  it("seals every chain head of every county and the system; the kept file checks with the published key and verifies the log", async () => {
    await write(COUNTY, 3, "e");
    await write(null, 1, "e-sys");
    const r = await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-01", { now: new Date("2025-06-01T16:30:00Z") });
    expect(r.refused).toEqual([]);
    expect(r.sealed.map((s) => s.scope)).toEqual([COUNTY, "system"]);
    const county = r.sealed.find((s) => s.scope === COUNTY)!;
    expect(county).toMatchObject({ business_date: "2025-06-01", sealed_at: "2025-06-01T16:30:00.000Z", key_fingerprint: TEST_AUDIT_KEYS.fingerprint, rows: 3 });

    // Listed for the county's admin (and the system's) and regulator; not for another county's.
    const adminList = await t.as("admin").get(`${API}/audit-log/seals`);
    expect(adminList.status).toBe(200);
    expect(adminList.body.items.map((s: { scope: string }) => s.scope).sort()).toEqual([COUNTY, "system"]);
    expect((await t.as("regulator").get(`${API}/audit-log/seals`)).body.items.map((s: { scope: string }) => s.scope)).toEqual([COUNTY]);
    expect((await t.as("otherRegulator").get(`${API}/audit-log/seals`)).body.items).toEqual([]);
    const paged = await t.as("admin").get(`${API}/audit-log/seals?limit=1`);
    expect(paged.body.items).toHaveLength(1);
    expect((await t.as("admin").get(`${API}/audit-log/seals?limit=1&cursor=${paged.body.next_cursor}`)).body.items).toHaveLength(1);
    expect((await t.as("admin").get(`${API}/audit-log/seals?scope=system&from=2025-06-01&to=2025-06-01`)).body.items.map((s: { scope: string }) => s.scope)).toEqual(["system"]);

    // The auditor downloads the file and the public key...
    const dl = await t.as("regulator").get(`${API}/audit-log/seals/${county.id}?download=1`);
    expect(dl.status).toBe(200);
    expect(dl.headers["content-disposition"]).toBe(`attachment; filename=audit-seal-${COUNTY}-2025-06-01-${county.id}.json`);
    const file = dl.body as SealFile;
    const heads = await t.db("audit_chain_heads").where({ chain: COUNTY }).first();
    expect(file).toMatchObject({ id: county.id, format: "huinong-audit-seal/1", algorithm: "Ed25519", scope: COUNTY, business_date: "2025-06-01", previous_seal: null });
    expect(file.chains.find((c) => c.chain === COUNTY)).toEqual({ chain: COUNTY, last_seq: 3, last_hash: heads.last_hash, keyed_from_seq: 1 });
    const key = await t.as("regulator").get(`${API}/audit-log/seal-key`);
    expect(key.body.fingerprint).toBe(file.key_fingerprint);
    // ...and checks the signature on their own, with nothing but node:crypto.
    const pub = createPublicKey(key.body.public_key_pem);
    expect(createHash("sha256").update(pub.export({ format: "der", type: "spki" })).digest("hex")).toBe(file.key_fingerprint);
    const { id: _id, signature, ...signed } = file;
    expect(verify(null, Buffer.from(canonicalJson(signed)), pub, Buffer.from(signature, "base64"))).toBe(true);

    // The file posted back verifies, also after the log has grown past the seal.
    await write(COUNTY, 2, "e-later");
    const checked = await t.as("regulator").post(`${API}/audit-log/verify`, file);
    expect(checked.status).toBe(200);
    expect(checked.body).toEqual({
      ok: true,
      seal: { id: county.id, scope: COUNTY, business_date: "2025-06-01", sealed_at: "2025-06-01T16:30:00.000Z", key_fingerprint: TEST_AUDIT_KEYS.fingerprint, signature_ok: true },
      chains: 1,
      checked: 5,
      problems: [],
    });
    expect((await t.as("admin").get(`${API}/audit-log/verify?seal_id=${county.id}`)).body).toMatchObject({ ok: true, checked: 5, seal: { signature_ok: true } });
  });

  it("seals once per date: a second run keeps the seals made, and the next date's seal links to the previous one", async () => {
    const before = await t.db("audit_seals").where({ business_date: "2025-06-01" }).orderBy("id").select("id", "payload", "signature");
    const again = await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-01");
    expect(again.sealed).toEqual([]);
    expect(again.existing.map((s) => s.id).sort()).toEqual(before.map((b) => Number(b.id)).sort());
    expect(await t.db("audit_seals").where({ business_date: "2025-06-01" }).orderBy("id").select("id", "payload", "signature")).toEqual(before);

    await write(COUNTY, 1, "c");
    const next = await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-02");
    expect(next.sealed.map((s) => s.scope)).toEqual([COUNTY, "system"]);
    const first = await sealOf(COUNTY, "2025-06-01");
    const second = await sealOf(COUNTY, "2025-06-02");
    expect(second.previous_seal).toBe(createHash("sha256").update(first.signature).digest("hex"));
    expect(second.chains.find((c) => c.chain === COUNTY)!.last_seq).toBe(6);
    expect((await t.db("audit_seals").where({ business_date: "2025-06-02" }).count<{ n: number }[]>("* as n"))[0].n).toBe(2);
    // The seals are append-only like the log.
    await expect(t.db("audit_seals").where({ business_date: "2025-06-02" }).delete()).rejects.toThrow(/append-only/);
  });

  it.skipIf(!onPostgres)("makes one seal when two runs seal the same date at once", async () => {
    await write("100103", 2, "twice");
    const [a, b] = await Promise.all([1, 2].map(() => sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-03", { scopes: ["100103"] })));
    const ids = [...a.sealed, ...a.existing, ...b.sealed, ...b.existing].map((s) => s.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(a.sealed.length + b.sealed.length).toBe(1);
  });

  it("rejects a seal whose content or signature was altered, or that another key signed", async () => {
    const file = await sealOf(COUNTY, "2025-06-02");
    const forged = { ...file, chains: file.chains.map((c) => (c.chain === COUNTY ? { ...c, last_seq: c.last_seq - 1 } : c)) };
    const bad = await t.as("admin").post(`${API}/audit-log/verify`, forged);
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ ok: false, seal: { signature_ok: false }, problems: [{ chain: COUNTY, problem: "SEAL_SIGNATURE_INVALID" }] });
    const sig = Buffer.from(file.signature, "base64");
    sig[10] ^= 1;
    expect((await t.as("admin").post(`${API}/audit-log/verify`, { ...file, signature: sig.toString("base64") })).body.problems[0].problem).toBe("SEAL_SIGNATURE_INVALID");
    // Someone with their own key pair signs a seal of their making: it names a key that is not this installation's.
    const other = auditKeysOf(Buffer.alloc(32, 1), generateKeyPairSync("ed25519").privateKey);
    const theirs = { ...file, key_fingerprint: other.fingerprint };
    const mine = await t.as("admin").post(`${API}/audit-log/verify`, { ...theirs, signature: signSeal(other, theirs) });
    expect(mine.body).toMatchObject({ ok: false, problems: [{ problem: "SEAL_KEY_UNKNOWN" }] });
    // ...and with this installation's fingerprint written in, the signature does not check.
    const claimed = { ...file, chains: [] };
    expect((await t.as("admin").post(`${API}/audit-log/verify`, { ...claimed, signature: signSeal(other, claimed) })).body.problems[0].problem).toBe("SEAL_SIGNATURE_INVALID");
    // A seal altered where it is stored is caught the same way.
    const id = file.id!;
    await t.db.raw("ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_append_only");
    try {
      const stored = await t.db("audit_seals").where({ id }).first();
      await t.db("audit_seals").where({ id }).update({ payload: stored.payload.replace(/"last_seq":6/, '"last_seq":5') });
      expect((await t.as("admin").get(`${API}/audit-log/verify?seal_id=${id}`)).body).toMatchObject({ ok: false, problems: [{ problem: "SEAL_SIGNATURE_INVALID" }] });
      await t.db("audit_seals").where({ id }).update({ payload: stored.payload });
    } finally {
      await t.db.raw("ALTER TABLE audit_seals ENABLE TRIGGER audit_seals_append_only");
    }
    expect((await t.as("admin").get(`${API}/audit-log/verify?seal_id=${id}`)).body.ok).toBe(true);
  });

  it("is for admins and regulators of the seal's county: 401, 403, 404 and 400 otherwise", async () => {
    const file = await sealOf(COUNTY, "2025-06-02");
    const system = await sealOf("system", "2025-06-02");
    for (const path of ["/audit-log/seals", `/audit-log/seals/${file.id}`, "/audit-log/seal-key", `/audit-log/verify?seal_id=${file.id}`]) {
      expectProblem(await t.http.get(`${API}${path}`), 401, "UNAUTHENTICATED");
    }
    expectProblem(await t.http.post(`${API}/audit-log/verify`).send(file), 401, "UNAUTHENTICATED");
    for (const who of ["village", "officer", "finance"] as const) {
      expectProblem(await t.as(who).get(`${API}/audit-log/seals`), 403, "FORBIDDEN");
      expectProblem(await t.as(who).get(`${API}/audit-log/seals/${file.id}`), 403, "FORBIDDEN");
      expectProblem(await t.as(who).post(`${API}/audit-log/verify`, file), 403, "FORBIDDEN");
    }
    // The public key is for any staff.
    expect((await t.as("officer").get(`${API}/audit-log/seal-key`)).body).toMatchObject({ algorithm: "Ed25519", fingerprint: TEST_AUDIT_KEYS.fingerprint });
    // Another county's staff: not found; the system's seals are the admins'.
    expectProblem(await t.as("otherAdmin").get(`${API}/audit-log/seals/${file.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("otherRegulator").get(`${API}/audit-log/verify?seal_id=${file.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("otherRegulator").post(`${API}/audit-log/verify`, file), 404, "NOT_FOUND");
    expectProblem(await t.as("regulator").get(`${API}/audit-log/seals/${system.id}`), 404, "NOT_FOUND");
    expectProblem(await t.as("regulator").post(`${API}/audit-log/verify`, system), 404, "NOT_FOUND");
    expect((await t.as("admin").post(`${API}/audit-log/verify`, system)).body.ok).toBe(true);
    expectProblem(await t.as("admin").get(`${API}/audit-log/seals/999999`), 404, "NOT_FOUND");
    // Bad input.
    expectProblem(await t.as("admin").get(`${API}/audit-log/seals/abc`), 400, "VALIDATION_FAILED", "params.id");
    expectProblem(await t.as("admin").get(`${API}/audit-log/verify?seal_id=x`), 400, "VALIDATION_FAILED", "query.seal_id");
    expectProblem(await t.as("admin").get(`${API}/audit-log/seals?from=2025-02-30`), 400, "VALIDATION_FAILED", "query.from");
    expectProblem(await t.as("admin").get(`${API}/audit-log/seals?cursor=${Buffer.from("x").toString("base64url")}`), 400, "VALIDATION_FAILED", "query.cursor");
    const { signature: _s, ...unsigned } = file;
    expectProblem(await t.as("admin").post(`${API}/audit-log/verify`, unsigned), 400, "VALIDATION_FAILED", "body.signature");
    expectProblem(await t.as("admin").post(`${API}/audit-log/verify`, { ...file, chains: [{ chain: COUNTY, last_seq: -1, last_hash: "zz", keyed_from_seq: 1 }] }), 400, "VALIDATION_FAILED");
  });

  it("migrates a chain written under the unkeyed rule: verified and attested, then keyed rows follow and it seals and verifies", async () => {
    const scope = "100101";
    const chain = scope;
    // Three rows as the old code wrote them (unkeyed SHA-256), and the head.
    let prev = "0".repeat(64);
    for (let seq = 1; seq <= 3; seq++) {
      const f = { chain, seq, occurred_at: `2025-05-0${seq}T02:00:00.000Z`, actor_id: USERS.admin.userId, actor_role: "admin", action: "old.write", entity_type: "thing", entity_id: `old-${seq}`, county_code: scope, request_id: "old", before: null, after: { n: seq } };
      const hash = legacyAuditHash(prev, f);
      await t.db("audit_log").insert({ ...f, after: JSON.stringify(f.after), prev_hash: prev, hash });
      prev = hash;
    }
    await t.db("audit_chain_heads").insert({ chain, last_seq: 3, last_hash: prev });
    // The migration marks what is there as the unkeyed part.
    await markLegacyChains(t.db, [chain]);
    expect(await t.db("audit_chain_heads").where({ chain }).first("keyed_from_seq", "keyed_from_mac")).toEqual({ keyed_from_seq: 4, keyed_from_mac: null });
    // Until it is attested under the key, verify says so.
    expect((await verifyAuditChain(t.db, { scopes: [scope] })).problems).toEqual([expect.objectContaining({ chain, seq: 3, problem: "LEGACY_UNATTESTED" })]);
    // New rows are keyed and follow the last unkeyed one.
    await write(scope, 2, "new");
    const rows = await t.db("audit_log").where({ chain }).orderBy("seq").select<Row[]>();
    expect(rows[3].prev_hash).toBe(rows[2].hash);
    expect(rows[3].hash).toBe(auditHash(TEST_AUDIT_KEYS.hmacKey, rows[3].prev_hash, fieldsOf(rows[3])));
    // The first seal verifies the unkeyed part under the old rule, attests it, and seals from there.
    const sealed = await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-03", { scopes: [scope] });
    expect(sealed.refused).toEqual([]);
    expect(sealed.sealed).toEqual([expect.objectContaining({ scope, rows: 5 })]);
    expect((await t.db("audit_chain_heads").where({ chain }).first()).keyed_from_mac).toMatch(/^[0-9a-f]{64}$/);
    expect(await verifyAuditChain(t.db, { scopes: [scope] })).toEqual({ ok: true, chains: 1, checked: 5, problems: [] });
    const file = (await t.db("audit_seals").where({ scope }).first()) as { id: number; payload: string; signature: string };
    const kept: SealFile = { id: Number(file.id), ...JSON.parse(file.payload), signature: file.signature };
    expect(kept.chains[0]).toMatchObject({ chain, last_seq: 5, keyed_from_seq: 4 });
    expect(await verifyAgainstSeal(t.db, TEST_AUDIT_KEYS, kept)).toMatchObject({ ok: true, checked: 5, problems: [] });

    // Passing keyed rows off as unkeyed (moving where the keyed rows start, rehashing without the key) is caught.
    await t.db("audit_chain_heads").where({ chain }).update({ keyed_from_seq: 6 });
    await rewrite(chain, 4, { entity_id: "new-1-changed" }, unkeyed);
    const plain = await verifyAuditChain(t.db, { scopes: [scope] });
    expect(plain.problems).toEqual([expect.objectContaining({ chain, seq: 5, problem: "LEGACY_UNATTESTED" })]);
    const against = await verifyAgainstSeal(t.db, TEST_AUDIT_KEYS, kept);
    expect(against.ok).toBe(false);
    expect(against.problems.map((p) => `${p.chain} ${p.seq} ${p.problem}`).sort()).toEqual([`${chain} 5 LEGACY_UNATTESTED`, `${chain} 5 SEAL_MISMATCH`, `${chain} 5 SEAL_MISMATCH`]);
    expect(against.problems.find((p) => p.id !== null)).toMatchObject({ chain, seq: 5, problem: "SEAL_MISMATCH", detail: expect.stringContaining("does not have the hash the seal recorded") });
  });

  it("refuses to attest and seal an unkeyed chain that does not verify under the old rule", async () => {
    const scope = "100102";
    let prev = "0".repeat(64);
    for (let seq = 1; seq <= 2; seq++) {
      const f = { chain: scope, seq, occurred_at: "2025-05-01T02:00:00.000Z", actor_id: null, actor_role: null, action: "old.write", entity_type: "thing", entity_id: `old-${seq}`, county_code: scope, request_id: null, before: null, after: null };
      const hash = legacyAuditHash(prev, f);
      // The second row was edited before the upgrade: its content no longer gives its hash.
      await t.db("audit_log").insert({ ...f, entity_id: seq === 2 ? "edited" : f.entity_id, prev_hash: prev, hash });
      prev = hash;
    }
    await t.db("audit_chain_heads").insert({ chain: scope, last_seq: 2, last_hash: prev });
    await markLegacyChains(t.db, [scope]);
    const r = await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-03", { scopes: [scope] });
    expect(r.sealed).toEqual([]);
    expect(r.refused).toHaveLength(1);
    expect(r.refused[0].scope).toBe(scope);
    expect(r.refused[0].problems[0]).toMatchObject({ chain: scope, seq: 2, problem: "HASH_MISMATCH" });
    expect(r.refused[0].problems).toContainEqual(expect.objectContaining({ chain: scope, problem: "LEGACY_UNATTESTED" }));
    expect((await t.db("audit_chain_heads").where({ chain: scope }).first()).keyed_from_mac).toBeNull();
  });

  it("is sealed by the close of business as its last step", async () => {
    await write(COUNTY, 1, "cob");
    const r = await runCloseOfBusiness(t.db, "2025-06-04", { clock: t.clock });
    expect(COB_STEPS[COB_STEPS.length - 1].name).toBe("audit_seal");
    expect(r.dates[0].steps.audit_seal.rows).toBeGreaterThanOrEqual(2);
    const seal = await sealOf(COUNTY, "2025-06-04");
    expect(seal.chains.find((c) => c.chain === COUNTY)!.last_seq).toBe(7);
    expect((await t.as("regulator").post(`${API}/audit-log/verify`, seal)).body.ok).toBe(true);
    // The county whose chain was rewritten above is not sealed, and its staff get a critical alert.
    expect(await t.db("audit_seals").where({ scope: "100101", business_date: "2025-06-04" }).first()).toBeUndefined();
    const alert = await t.db("alerts").where({ county_code: "100101", kind: "audit.seal_refused" }).whereNull("cleared_at").first();
    expect(alert).toMatchObject({ severity: "CRITICAL", entity_type: "audit_chain", entity_id: "100101", business_date: "2025-06-04" });
  });

  it("catches history rewritten by a database superuser without the key, against the last seal, naming the chain and the row", async () => {
    await write(COUNTY, 2, "a");
    await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-05");
    const kept = await sealOf(COUNTY, "2025-06-05");
    const sealedSeq = kept.chains.find((c) => c.chain === COUNTY)!.last_seq;
    expect(sealedSeq).toBe(9);
    expect((await t.as("regulator").post(`${API}/audit-log/verify`, kept)).body.ok).toBe(true);
    await write(COUNTY, 1, "a-after");

    // Row 4 gets a different amount; rows 4..10 and the head are recomputed the old (unkeyed) way.
    const victim = await t.db("audit_log").where({ chain: COUNTY, seq: 4 }).first<Row>();
    await rewrite(COUNTY, 4, { after: { amount: "999999.00", note: "惠农" } }, unkeyed);
    const head = await t.db("audit_chain_heads").where({ chain: COUNTY }).first();
    const last = await t.db("audit_log").where({ chain: COUNTY, seq: 10 }).first<Row>();
    expect(head.last_hash).toBe(last.hash); // the chain is consistent again, as the old verify would accept

    const res = await t.as("regulator").post(`${API}/audit-log/verify`, kept);
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.seal.signature_ok).toBe(true);
    expect(res.body.problems[0]).toEqual({ chain: COUNTY, seq: 4, id: Number(victim.id), problem: "HASH_MISMATCH", detail: `row id ${victim.id} was changed after it was written` });
    expect(res.body.problems).toContainEqual(expect.objectContaining({ chain: COUNTY, seq: sealedSeq, problem: "SEAL_MISMATCH" }));
    expect((await t.as("admin").get(`${API}/audit-log/verify?seal_id=${kept.id}`)).body.problems[0]).toMatchObject({ chain: COUNTY, seq: 4, id: Number(victim.id) });
    // The next seal is refused for the county (and only for it), naming the row.
    const refused = await sealAuditChains(t.db, TEST_AUDIT_KEYS, "2025-06-06");
    const county = refused.refused.find((x) => x.scope === COUNTY);
    expect(county?.problems[0]).toMatchObject({ chain: COUNTY, seq: 4, id: Number(victim.id), problem: "HASH_MISMATCH" });
    expect(await t.db("audit_seals").where({ scope: COUNTY, business_date: "2025-06-06" }).first()).toBeUndefined();
    expect(refused.sealed.map((s) => s.scope)).toContain("system");

    // Even someone holding the audit key, who recomputes keyed hashes so that the chain verifies, cannot
    // re-sign the seal: the kept seal names the sealed row that no longer has its hash.
    await rewrite(COUNTY, 4, { after: { amount: "999999.00", note: "惠农" } }, withKey);
    expect((await t.as("admin").get(`${API}/audit-log/verify`)).body.problems.filter((p: { chain: string }) => p.chain === COUNTY)).toEqual([]);
    const sealed = await t.as("regulator").post(`${API}/audit-log/verify`, kept);
    expect(sealed.body.ok).toBe(false);
    expect(sealed.body.problems).toEqual([expect.objectContaining({ chain: COUNTY, seq: sealedSeq, problem: "SEAL_MISMATCH" })]);
  });
});
