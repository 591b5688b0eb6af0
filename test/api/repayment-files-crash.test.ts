import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { transaction } from "../../src/db/transaction.js";
import { businessDate } from "../../src/lib/clock.js";
import { addDays } from "../../src/lib/dates.js";
import { receiveRepaymentFile, readRepaymentFile } from "../../src/modules/bankfiles/repayment-files.js";
import { USERS } from "../helpers/fixture.js";
import { withDatabase } from "../helpers/global-setup.js";
import { onPostgres, useTestApp } from "../helpers/harness.js";
import { apply, household, key, product, reconciliationOk, setupRates } from "./loans-helpers.js";

/**
 * A repayment file's processing killed with SIGKILL in the middle (as a power cut would), then
 * taken up again by `npm run repayment-files`: every row is applied exactly once. The processing
 * runs as its own process against the test's database, so this runs on PostgreSQL (PGlite in
 * memory has one process).
 */
const TODAY = businessDate(new Date());
const t = useTestApp({ today: addDays(TODAY, -10) });
const ROOT = join(import.meta.dirname, "..", "..");

beforeAll(async () => {
  if (!onPostgres) return;
  await setupRates(t);
});

async function runCli(args: string[]) {
  const name = (await t.db.raw<{ rows: { d: string }[] }>("SELECT current_database() AS d")).rows[0].d;
  const url = withDatabase(process.env.DATABASE_URL!, name);
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/repayment-files.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATABASE_URL: url, LOG_LEVEL: "warn" },
  });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on("exit", (code, signal) => res({ code, signal })));
  return { child, exited, stderr: () => err };
}

describe.skipIf(!onPostgres)("repayment file killed mid-way (PostgreSQL)", () => {
  it("resumes after kill -9 and applies each row once", async () => {
    const p = await product(t, { rate_rule: "FIXED", fixed_rate: "0.043500" });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = await apply(t, { product_id: p.id, amount: "20000.00", term_months: 12, repayment_method: "BULLET_QUARTERLY", household: await household(t) });
      expect((await t.as("manager").post(`/api/v1/loans/${a.body.id}/approve`, {})).status).toBe(200);
      expect((await t.as("officer").post(`/api/v1/loans/${a.body.id}/disburse`, {}, key())).status).toBe(200);
      ids.push(a.body.id);
    }
    t.clock.set(TODAY);
    const rows = Array.from({ length: 80 }, (_, i) => ({ loan_id: ids[i % 4], value_date: addDays(TODAY, -1), amount: "3.00", reference: `KILL-${i}` }));
    const ctx = { actor: { kind: "staff" as const, ...USERS.officer }, clock: t.clock, requestId: "test" };
    const file = await transaction(t.db, async (trx) => receiveRepaymentFile(trx, ctx as never, await readRepaymentFile({ format: "json", body: { rows } }), {}));

    const first = await runCli(["--id", file.id, "--chunk", "1"]);
    for (let i = 0; ; i++) {
      const f = await t.db("repayment_files").where({ id: file.id }).first<{ rows_done: number }>();
      if (f.rows_done >= 5) break;
      if (first.child.exitCode !== null) throw new Error(`processing ended before it was killed: ${first.stderr()}`);
      if (i > 1200) throw new Error("processing did not start");
      await new Promise((res) => setTimeout(res, 50));
    }
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    const killed = await t.db("repayment_files").where({ id: file.id }).first<{ rows_done: number; status: string }>();
    expect(killed.status).toBe("PROCESSING");
    expect(killed.rows_done).toBeLessThan(80);
    const applied = await t.db("loan_repayments").whereIn("reference", rows.map((r) => r.reference)).count<{ n: number }[]>("* as n");
    expect(Number(applied[0].n)).toBe(killed.rows_done); // what committed is exactly what the rows say

    const second = await runCli(["--id", file.id]);
    expect((await second.exited).code, second.stderr()).toBe(0);
    const done = await t.db("repayment_files").where({ id: file.id }).first<{ status: string; applied: number; rows_done: number }>();
    expect(done).toMatchObject({ status: "DONE", applied: 80, rows_done: 80 });
    const reps = await t.db("loan_repayments").whereIn("reference", rows.map((r) => r.reference)).select("reference");
    expect(reps).toHaveLength(80);
    expect(new Set(reps.map((r) => r.reference)).size).toBe(80);
    await reconciliationOk(t);
  }, 240_000);
});
