import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { exitApprovals, householdBody, idNumber } from "../helpers/factories.js";
import { useTestApp } from "../helpers/harness.js";

/**
 * Random and mutated bodies thrown at every write of the register. Whatever arrives, the answer is
 * never a 5xx, a rejection is problem+json with a code, and a rejected request writes nothing
 * (the register and audit row counts stay as they were); an accepted one leaves an audit row.
 */
const t = useTestApp();
const API = "/api/v1";
// Bounded so the file stays well under a minute on a busy two-core machine.
const RUNS = 100;

async function counts(): Promise<Record<string, number>> {
  const { rows } = await t.db.raw<{ rows: Record<string, number>[] }>(`SELECT
    (SELECT count(*)::int FROM divisions) AS divisions,
    (SELECT count(*)::int FROM households) AS households,
    (SELECT count(*)::int FROM household_members) AS members,
    (SELECT count(*)::int FROM household_incomes) AS incomes,
    (SELECT count(*)::int FROM household_status_changes) AS status_changes,
    (SELECT count(*)::int FROM audit_log) AS audit,
    (SELECT coalesce(sum(version), 0)::int FROM households) AS versions`);
  return rows[0];
}

/** Values a careless or hostile client might put in a field. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\ud800",
    "0000-01-01",
    "1899-12-31",
    "9999-12-31",
    "2025-02-30",
    "2025-06-03",
    -1,
    0,
    1.5,
    1e308,
    "1e309",
    "99999999999999999.99",
    "NaN",
    "469030198005170011",
    "46903019800517001x",
    "HEAD",
    "EXITED",
    "REMOVED",
    [],
    {},
    null,
    true,
    "x".repeat(5000),
  ),
);

/** Characters that text columns, jsonb or a careless query builder may choke on. */
const poison = fc.constantFrom("\u0000", "a\u0000b", "\ud800", "x\udc00", "\u202e", "\ufeff", "\uffff", "𠮷", "'; DROP TABLE households; --", "\\", '"', "%00");

type Path = (string | number)[];
type Mutation =
  | { kind: "delete"; path: Path }
  | { kind: "set"; path: Path; value: unknown }
  | { kind: "add"; key: string; value: unknown }
  | { kind: "poison"; path: Path; value: string };

function mutations(paths: Path[], textPaths: Path[]): fc.Arbitrary<Mutation[]> {
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...paths) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("set" as const), path: fc.constantFrom(...paths), value: oddValue }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("add" as const), key: fc.string({ unit: "binary", maxLength: 10 }), value: oddValue }) },
    // A free-text field that is otherwise fine, with a hostile character added.
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("poison" as const), path: fc.constantFrom(...textPaths), value: poison }) },
  );
  return fc.array(one, { minLength: 1, maxLength: 2 });
}

function mutate(body: object, ms: Mutation[]): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  for (const m of ms) {
    if (m.kind === "add") {
      copy[m.key] = m.value;
      continue;
    }
    let node: unknown = copy;
    for (const step of m.path.slice(0, -1)) node = node && typeof node === "object" ? (node as Record<string | number, unknown>)[step] : undefined;
    if (!node || typeof node !== "object") continue;
    const last = m.path[m.path.length - 1];
    const at = node as Record<string | number, unknown>;
    if (m.kind === "delete") delete at[last];
    else if (m.kind === "poison") at[last] = typeof at[last] === "string" ? `${at[last]}${m.value}` : m.value;
    else at[last] = m.value;
  }
  return copy;
}

/** Random JSON, random objects of anything, and mutations of a valid body. */
function bodies(valid: () => object, paths: Path[], textPaths: Path[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }), { maxKeys: 6 }) },
    { weight: 4, arbitrary: mutations(paths, textPaths).map((ms) => mutate(valid(), ms)) },
  );
}

function toJson(body: unknown): string {
  // JSON.stringify(undefined) is undefined: send an empty body then.
  return JSON.stringify(body) ?? "";
}

async function throwAt(method: "post" | "patch", path: string, arb: fc.Arbitrary<unknown>, as: "village" | "admin" = "village"): Promise<{ accepted: number; rejected: number }> {
  const tally = { accepted: 0, rejected: 0 };
  // Runs are sequential and nothing else writes meanwhile, so one run's "after" is the next one's "before".
  let last = await counts();
  await fc.assert(
    fc.asyncProperty(arb, async (body) => {
      const before = last;
      const res = await t.http[method](path).set("Authorization", `Bearer ${t.token(as)}`).set("Content-Type", "application/json").send(toJson(body));
      expect(res.status, `${method} ${path} ${toJson(body).slice(0, 300)} → ${JSON.stringify(res.body)}`).toBeLessThan(500);
      const after = await counts();
      last = after;
      if (res.status >= 400) {
        tally.rejected++;
        expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
        expect(res.body.code).toEqual(expect.any(String));
        expect(res.body.status).toBe(res.status);
        expect(after, `a rejected ${method} ${path} wrote something: ${toJson(body).slice(0, 300)}`).toEqual(before);
      } else {
        tally.accepted++;
        expect(after.audit).toBeGreaterThan(before.audit);
      }
    }),
    { numRuns: RUNS },
  );
  return tally;
}

describe("fuzzing the register's writes", () => {
  let household: string;
  beforeAll(async () => {
    const res = await t.as("village").post(`${API}/households`, { ...householdBody(), status_since: "2016-03-01" });
    household = res.body.id;
  });

  it("POST /divisions", async () => {
    const tally = await throwAt("post", `${API}/divisions`, bodies(() => ({ code: "469030105", name: "中平镇" }), [["code"], ["name"]], [["name"]]), "admin");
    expect(tally.rejected).toBeGreaterThan(0);
    // Village officers may not register divisions at all: whatever they send is refused.
    const refused = await t.as("village").post(`${API}/divisions`, { code: "469030106", name: "和平镇" });
    expect(refused.status).toBe(403);
  });

  it("POST /households", async () => {
    const tally = await throwAt(
      "post",
      `${API}/households`,
      bodies(
        () => householdBody(),
        [
          ["village_code"],
          ["household_type"],
          ["status"],
          ["main_cause"],
          ["secondary_causes"],
          ["secondary_causes", 0],
          ["phone"],
          ["bank_account"],
          ["members"],
          ["members", 0],
          ["members", 0, "id_number"],
          ["members", 0, "relation"],
          ["members", 0, "name"],
          ["members", 1, "id_number"],
          ["members", 1, "health"],
          ["incomes"],
          ["incomes", 0, "year"],
          ["incomes", 0, "net_income"],
        ],
        [["bank_name"], ["members", 0, "name"], ["members", 1, "name"]],
      ),
    );
    expect(tally.rejected).toBeGreaterThan(0);
  });

  it("POST /households/{id}/members", async () => {
    const valid = () => ({ name: "王小明", id_number: idNumber("2012-09-01"), relation: "CHILD", schooling: "PRIMARY" });
    await throwAt("post", `${API}/households/${household}/members`, bodies(valid, [["name"], ["id_number"], ["relation"], ["health"], ["labour_capacity"], ["schooling"], ["on_dibao"]], [["name"], ["id_number"]]));
  });

  it("PATCH /households/{id}", async () => {
    const valid = () => ({ housing_safety: "RENOVATED", phone: "13700001111", bank_account: "6217001234567890123", incomes: [{ year: 2025, net_income: "18000.00" }] });
    await throwAt(
      "patch",
      `${API}/households/${household}`,
      bodies(valid, [["version"], ["housing_safety"], ["phone"], ["bank_account"], ["bank_name"], ["main_cause"], ["secondary_causes"], ["incomes"], ["incomes", 0, "year"], ["incomes", 0, "net_income"]], [["bank_name"]]),
    );
  });

  it("POST /households/{id}/status-changes", async () => {
    await throwAt(
      "post",
      `${API}/households/${household}/status-changes`,
      bodies(
        () => exitApprovals(),
        [
          ["to_status"],
          ["effective_date"],
          ["reason"],
          ["notice_start"],
          ["notice_end"],
          ["approvals"],
          ["approvals", 0],
          ["approvals", 0, "date"],
          ["approvals", 3, "step"],
          ["approvals", 5, "date"],
          ["approvals", 4, "by"],
        ],
        [["reason"], ["approvals", 0, "by"], ["approvals", 2, "note"]],
      ),
    );
  });
});
