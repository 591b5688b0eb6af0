import type { Knex } from "knex";
import { describe, expect, it } from "vitest";
import { type AuditActor, appendAudit, auditHash, CHAINS_PER_SCOPE, chainsOf, hashedFieldsOf, legacyAuditHash, verifyAuditChain } from "../../src/lib/audit.js";
import { USERS } from "../helpers/fixture.js";
import { onPostgres, TEST_AUDIT_KEYS, useTestApp } from "../helpers/harness.js";

const t = useTestApp();
const ctx = (): AuditActor => ({ actor: { userId: USERS.admin.userId, role: "admin" }, requestId: "req-unit", clock: t.clock });

/** Writes `n` audit rows on the chain of a (made-up) county, one transaction each; returns their ids in order. */
async function chainOf(county: string, n: number): Promise<number[]> {
  for (let i = 1; i <= n; i++) {
    await t.db.transaction((trx) =>
      appendAudit(trx, ctx(), {
        action: "test.write",
        entityType: "thing",
        entityId: `${county}-${i}`,
        countyCode: county,
        before: i > 1 ? { amount: `${i - 1}00.00` } : undefined,
        after: { amount: `${i}00.00`, note: "惠农", at: new Date("2025-06-02T04:00:00Z") },
      }),
    );
  }
  const rows = await t.db("audit_log").where({ chain: county }).orderBy("seq").select("id", "seq");
  expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  return rows.map((r) => Number(r.id));
}

/** Runs `fn` with the append-only trigger off, as someone with direct database access could. */
async function tamper(fn: (db: Knex) => Promise<unknown>): Promise<void> {
  await t.db.raw("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
  try {
    await fn(t.db);
  } finally {
    await t.db.raw("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
  }
}

describe("audit hash chain", () => {
  it("verifies intact chains, one per county plus the system chain, written in batches too", async () => {
    await chainOf("100001", 3);
    await t.db.transaction((trx) =>
      appendAudit(trx, ctx(), [
        { action: "batch.a", entityType: "thing", entityId: "a", countyCode: "100001" },
        { action: "batch.b", entityType: "thing", entityId: "b", countyCode: null, after: { note: "system" } },
        { action: "batch.c", entityType: "thing", entityId: "c", countyCode: "100001" },
      ]),
    );
    const r = await verifyAuditChain(t.db, { scopes: ["100001", "system"] });
    expect(r).toEqual({ ok: true, chains: 2, checked: 6, problems: [] });
    const heads = await t.db("audit_chain_heads").whereIn("chain", ["100001", "system"]).orderBy("chain");
    expect(heads.map((h) => [h.chain, Number(h.last_seq)])).toEqual([["100001", 5], ["system", 1]]);
    const rows = await t.db("audit_log").where({ chain: "100001" }).orderBy("seq");
    for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
    expect(rows[0].prev_hash).toBe("0".repeat(64));
  });

  it("stores a batch's records as they were hashed, in order, whatever characters they carry", async () => {
    // Quotes, backslashes, braces, commas and NULL-like text: what an array of values must carry intact.
    const odd = ['a"b', "c\\d", "{e,f}", "NULL", "", "惠农 \"引号\""];
    await t.db.transaction((trx) =>
      appendAudit(
        trx,
        ctx(),
        odd.map((v, k) => ({ action: "batch.odd", entityType: "thing", entityId: v === "" ? `empty-${k}` : v, countyCode: "100011", before: k % 2 ? null : { v }, after: { v, k, nested: [v, { v }] } })),
      ),
    );
    const rows = await t.db("audit_log").where({ chain: "100011" }).orderBy("id");
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.map((r) => r.entity_id)).toEqual(odd.map((v, k) => (v === "" ? `empty-${k}` : v)));
    expect(rows.map((r) => r.after)).toEqual(odd.map((v, k) => ({ v, k, nested: [v, { v }] })));
    expect(rows.map((r) => r.before)).toEqual(odd.map((v, k) => (k % 2 ? null : { v })));
    expect(await verifyAuditChain(t.db, { scopes: ["100011"] })).toMatchObject({ ok: true, checked: 6, problems: [] });
  });

  it("hashes each row with HMAC-SHA256 under the audit key, so a row rehashed without the key is found", async () => {
    const ids = await chainOf("100010", 3);
    const rows = await t.db("audit_log").where({ chain: "100010" }).orderBy("seq");
    const fields = (r: (typeof rows)[number]) => hashedFieldsOf(r);
    for (const r of rows) {
      expect(r.hash).toBe(auditHash(TEST_AUDIT_KEYS.hmacKey, r.prev_hash, fields(r)));
      expect(r.hash).not.toBe(legacyAuditHash(r.prev_hash, fields(r)));
    }
    // The last row edited and its hash and the head recomputed the unkeyed way (all the old rule needed).
    const last = rows[2];
    const edited = { ...fields(last), entity_id: "someone-else" };
    const forged = legacyAuditHash(last.prev_hash, edited);
    await tamper(async (db) => {
      await db("audit_log").where({ id: ids[2] }).update({ entity_id: "someone-else", hash: forged });
      await db("audit_chain_heads").where({ chain: "100010" }).update({ last_hash: forged });
    });
    const r = await verifyAuditChain(t.db, { scopes: ["100010"] });
    expect(r.problems).toEqual([{ chain: "100010", seq: 3, id: ids[2], problem: "HASH_MISMATCH", detail: `row id ${ids[2]} was changed after it was written` }]);
    // A verifier with another key accepts none of the rows.
    const other = await verifyAuditChain(t.db, { scopes: ["100001"], key: Buffer.alloc(32, 1) });
    expect(other.problems.every((p) => p.problem === "HASH_MISMATCH")).toBe(true);
    expect(other.problems.length).toBe(other.checked);
  });

  it("refuses UPDATE and DELETE on the audit log", async () => {
    const [id] = await chainOf("100002", 1);
    await expect(t.db("audit_log").where({ id }).update({ action: "x" })).rejects.toThrow(/append-only/);
    await expect(t.db("audit_log").where({ id }).delete()).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(t.db, { scopes: ["100002"] })).ok).toBe(true);
  });

  it("names an edited row (HASH_MISMATCH)", async () => {
    const ids = await chainOf("100003", 5);
    await tamper((db) => db("audit_log").where({ id: ids[2] }).update({ after: JSON.stringify({ amount: "999999.00", note: "惠农", at: "2025-06-02T04:00:00.000Z" }) }));
    const r = await verifyAuditChain(t.db, { scopes: ["100003"] });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([{ chain: "100003", seq: 3, id: ids[2], problem: "HASH_MISMATCH", detail: `row id ${ids[2]} was changed after it was written` }]);
    // Other chains are unaffected.
    expect((await verifyAuditChain(t.db, { scopes: ["100001"] })).ok).toBe(true);
  });

  it("finds an edit of the actor or the time as well as of the content", async () => {
    const ids = await chainOf("100004", 3);
    await tamper(async (db) => {
      await db("audit_log").where({ id: ids[0] }).update({ actor_id: USERS.regulator.userId });
      await db("audit_log").where({ id: ids[1] }).update({ occurred_at: new Date("2025-06-01T04:00:00Z") });
    });
    const r = await verifyAuditChain(t.db, { scopes: ["100004"] });
    expect(r.problems.map((p) => [p.id, p.problem])).toEqual([
      [ids[0], "HASH_MISMATCH"],
      [ids[1], "HASH_MISMATCH"],
    ]);
  });

  it("finds a deleted middle row (MISSING_ROWS and BROKEN_LINK)", async () => {
    const ids = await chainOf("100005", 5);
    await tamper((db) => db("audit_log").where({ id: ids[2] }).delete());
    const r = await verifyAuditChain(t.db, { scopes: ["100005"] });
    expect(r.ok).toBe(false);
    expect(r.checked).toBe(4);
    expect(r.problems.map((p) => ({ seq: p.seq, id: p.id, problem: p.problem }))).toEqual([
      { seq: 3, id: null, problem: "MISSING_ROWS" },
      { seq: 4, id: ids[3], problem: "BROKEN_LINK" },
    ]);
    expect(r.problems[0].detail).toBe(`rows 3..3 are missing before row id ${ids[3]}`);
  });

  it("finds a deleted last row (HEAD_MISMATCH)", async () => {
    const ids = await chainOf("100006", 4);
    await tamper((db) => db("audit_log").where({ id: ids[3] }).delete());
    const r = await verifyAuditChain(t.db, { scopes: ["100006"] });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ chain: "100006", seq: 4, id: null, problem: "HEAD_MISMATCH" })]);
  });

  it("finds a whole chain deleted, and verifies in small batches alike", async () => {
    const ids = await chainOf("100007", 7);
    expect(await verifyAuditChain(t.db, { scopes: ["100007"], batch: 2 })).toMatchObject({ ok: true, checked: 7 });
    await tamper((db) => db("audit_log").where({ id: ids[4] }).update({ entity_id: "someone-else" }));
    const batched = await verifyAuditChain(t.db, { scopes: ["100007"], batch: 2 });
    expect(batched.problems).toEqual([expect.objectContaining({ id: ids[4], problem: "HASH_MISMATCH" })]);
    await tamper((db) => db("audit_log").where({ chain: "100007" }).delete());
    const gone = await verifyAuditChain(t.db, { scopes: ["100007"] });
    expect(gone.problems).toEqual([expect.objectContaining({ problem: "HEAD_MISMATCH", seq: 7 })]);
  });

  it.skipIf(!onPostgres)("lets transactions of one county append at once, each on a chain no other holds, and verifies all of them", async () => {
    const county = "100008";
    const record = (i: number) => ({ action: "test.parallel", entityType: "thing", entityId: `p-${i}`, countyCode: county, after: { i } });
    // The county's first append creates its chains' heads.
    await t.db.transaction((trx) => appendAudit(trx, ctx(), record(-1)));
    // Three transactions append and stay open together: none waits for another's chain head.
    const open: { trx: Knex.Transaction; chain: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const trx = await t.db.transaction();
      await appendAudit(trx, ctx(), record(i));
      const [row] = await trx("audit_log").where({ entity_id: `p-${i}` }).select("chain");
      open.push({ trx, chain: row.chain });
    }
    expect(new Set(open.map((o) => o.chain)).size).toBe(3);
    for (const o of open) expect(chainsOf(county)).toContain(o.chain);
    // Committed in the reverse order; then 40 more, 8 at a time.
    for (const o of open.reverse()) await o.trx.commit();
    for (let b = 0; b < 5; b++) {
      await Promise.all(Array.from({ length: 8 }, (_, k) => t.db.transaction((trx) => appendAudit(trx, ctx(), record(100 + b * 8 + k)))));
    }
    const heads = await t.db("audit_chain_heads").whereIn("chain", chainsOf(county)).select("chain", "last_seq");
    expect(heads).toHaveLength(CHAINS_PER_SCOPE);
    expect(heads.reduce((n, h) => n + Number(h.last_seq), 0)).toBe(44);
    const r = await verifyAuditChain(t.db, { scopes: [county] });
    const used = heads.filter((h) => Number(h.last_seq) > 0).length;
    expect(used).toBeGreaterThanOrEqual(3);
    expect(r).toMatchObject({ ok: true, chains: used, checked: 44 });
    // An edit in a chain other than the first is found by verifying the county.
    const second = await t.db("audit_log").whereIn("chain", chainsOf(county).slice(1)).orderBy("id").first("id");
    await tamper((db) => db("audit_log").where({ id: second.id }).update({ action: "test.edited" }));
    const after = await verifyAuditChain(t.db, { scopes: [county] });
    expect(after.problems).toEqual([expect.objectContaining({ id: second.id, problem: "HASH_MISMATCH" })]);
  });

  it.skipIf(!onPostgres)("waits for a chain when every one of the county's chains is held, and appends to it once freed", async () => {
    const county = "100009";
    const record = (i: number) => ({ action: "test.full", entityType: "thing", entityId: `f-${i}`, countyCode: county });
    await t.db.transaction((trx) => appendAudit(trx, ctx(), record(-1)));
    const held: Knex.Transaction[] = [];
    for (let i = 0; i < CHAINS_PER_SCOPE; i++) {
      const trx = await t.db.transaction();
      await appendAudit(trx, ctx(), record(i));
      held.push(trx);
    }
    // A seventeenth writer finds no free chain and waits for one.
    let done = false;
    const waiting = t.db.transaction((trx) => appendAudit(trx, ctx(), record(99))).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    for (const trx of held) await trx.commit();
    await waiting;
    const r = await verifyAuditChain(t.db, { scopes: [county] });
    expect(r).toMatchObject({ ok: true, chains: CHAINS_PER_SCOPE, checked: CHAINS_PER_SCOPE + 2 });
  });
});
