import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import { buildDeps } from "../src/bootstrap.js";
import { loadConfig } from "../src/config.js";
import { migrateLatest } from "../src/db/knex.js";
import { transaction } from "../src/db/transaction.js";
import { AppError } from "../src/lib/errors.js";
import type { Ctx } from "../src/lib/context.js";
import type { Role } from "../src/http/auth.js";
import type { Upload } from "../src/http/upload.js";
import { type MigrationProblem, migrateLoans, readMigrationFile } from "../src/modules/loans/index.js";
import { out, progressBar } from "./cli.js";

/**
 * `npm run migrate:loans -- FILE.xlsx|.csv|.json [--dry-run] --as USERNAME [--county CODE]`:
 * migrates a bank's existing loans (存量贷款迁移) with their repayments to date, as the named bank
 * manager — the same checks and the same history replay as `POST /loan-migrations`, all loans in one
 * transaction (any problem migrates nothing), with a progress bar. `--dry-run` lists every problem
 * and stores nothing. A file run again reports its loans as already present.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "dry-run": { type: "boolean", default: false }, as: { type: "string" }, county: { type: "string" } },
});
const path = positionals[0];
const username = values.as ?? "";
const format = path ? ({ ".csv": "csv", ".xlsx": "xlsx", ".json": "json" } as const)[extname(path).toLowerCase() as ".csv" | ".xlsx" | ".json"] : undefined;
if (!path || !username || !format) {
  process.stderr.write("usage: npm run migrate:loans -- FILE.xlsx|.csv|.json [--dry-run] --as USERNAME [--county CODE]\n");
  process.exit(2);
}
const problemLine = (p: MigrationProblem) => `  ${p.sheet === "loans" ? "贷款" : "还款"} 第 ${p.row} 行 ${p.column}: ${p.code} ${p.message}`;

const deps = buildDeps(loadConfig());
const { db } = deps;
try {
  await migrateLatest(db);
  const user = await db("users").where({ username, active: true }).first<{ id: string; role: Role; county_codes: string[]; bank_id: string | null } | undefined>();
  if (!user || user.role !== "bank_manager") {
    process.stderr.write(`${username}: no active bank manager of that name (a bank manager migrates the loans of the bank)\n`);
    process.exit(2);
  }
  const bytes = readFileSync(path);
  const upload: Upload = format === "json" ? { format, body: JSON.parse(bytes.toString("utf8")) } : { format, bytes };
  const ctx: Ctx = {
    actor: { kind: "staff", userId: user.id, role: user.role, countyCodes: user.county_codes, bankId: user.bank_id, operatorId: null, villageCode: null },
    requestId: `migrate-loans-${Date.now()}`,
    clock: deps.clock,
  };
  const file = await readMigrationFile(upload);
  const bars: Record<string, ReturnType<typeof progressBar>> = {};
  const t0 = performance.now();
  const result = await transaction(db, (trx) =>
    migrateLoans(trx, ctx, deps.pii, file, {
      dryRun: values["dry-run"],
      countyCode: values.county,
      format: file.format,
      onProgress: (stage, done, total) => {
        bars[stage] ??= progressBar(stage === "check" ? "检查 check" : "写入 write", total);
        bars[stage].update(done);
      },
    }),
  );
  for (const b of Object.values(bars)) b.stop();
  for (const p of result.problems) out(problemLine(p));
  out(
    `${result.dry_run ? "dry run: " : ""}${result.loans} loans, ${result.repayments} repayments read; ${result.dry_run ? `${result.to_migrate} to migrate` : `${result.migrated} migrated`}, ` +
      `${result.already_present} already present, ${result.problem_count} problems; outstanding principal ${result.outstanding_principal}; ` +
      `brought to ${result.brought_to}; ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  );
  if (result.problem_count > 0) process.exitCode = 1;
} catch (e) {
  if (!(e instanceof AppError)) throw e;
  process.stderr.write(`${e.code}: ${e.detail ?? ""}\n`);
  for (const p of (e.errors ?? []) as MigrationProblem[]) process.stderr.write(`${p.sheet ? problemLine(p) : `  ${p.path}: ${p.message}`}\n`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
