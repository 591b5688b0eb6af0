import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const CONFIG = resolve(ROOT, "dependency-cruiser.config.cjs");
const BIN = resolve(ROOT, "node_modules/.bin/depcruise");

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Runs the boundary check (the same command and rules as `npm run deps`) on a tree. */
async function violations(cwd: string, paths: string[]): Promise<Violation[]> {
  const out = await run(BIN, ["--config", CONFIG, "--output-type", "json", ...paths], { cwd, maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  return (JSON.parse(out.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe("module boundaries (dependency-cruiser)", () => {
  it("refuses a deep import, a cycle between modules and lib reaching up into http", async () => {
    const found = await violations(resolve(ROOT, "test/fixtures/boundaries"), ["src"]);
    const seen = found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(seen).toContain("module-face-only: src/modules/beta/service.ts → src/modules/alpha/internal.ts");
    expect(seen).toContain("lib-is-the-bottom: src/lib/money.ts → src/http/problem.ts");
    expect(found.some((v) => v.rule.name === "no-cycle" && v.from.startsWith("src/modules/"))).toBe(true);
  }, 60_000);

  it("finds none in the code itself", async () => {
    const found = await violations(ROOT, ["src", "scripts", "db"]);
    expect(found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 120_000);
});
