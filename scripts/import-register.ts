import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { buildDeps } from "../src/bootstrap.js";
import { loadConfig } from "../src/config.js";
import { migrateLatest } from "../src/db/knex.js";
import { AppError } from "../src/http/errors.js";
import { registerImportErrors } from "../src/modules/register/index.js";
import { out, progressBar } from "./cli.js";
import { actAs, importRegisterFile } from "./register-import-run.js";

/**
 * `npm run import:register -- FILE.xlsx|FILE.csv --as USERNAME [--dry-run] [--county CODE] [--errors OUT.xlsx]`:
 * imports a county's register file (建档立卡, the national system's export) as the named village
 * officer or county admin — the same checks and writes as POST /register-imports, in one
 * transaction, with progress on stderr. A dry run checks every row and changes nothing; otherwise
 * the file is applied whole, or not at all when a row has a problem. The problems are printed
 * (row, column, code, message) and, with --errors, written as the workbook to fix and send back.
 * Exit status: 0 done, 1 the file has problems, 2 bad usage or unknown user.
 */
const usage = "usage: npm run import:register -- FILE.xlsx|FILE.csv --as USERNAME [--dry-run] [--county CODE] [--errors OUT.xlsx]\n";
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { as: { type: "string" }, "dry-run": { type: "boolean", default: false }, county: { type: "string" }, errors: { type: "string" } },
  });
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (positionals.length !== 1 || !values.as) {
  process.stderr.write(usage);
  process.exit(2);
}
const path = positionals[0];
let content: Buffer;
try {
  content = readFileSync(path);
} catch (err) {
  process.stderr.write(`${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}\n`);
  process.exit(2);
}
const deps = buildDeps(loadConfig(), {});
let code = 0;
try {
  await migrateLatest(deps.db);
  const ctx = await actAs(deps.db, values.as, deps.clock, `import-register-${Date.now()}`);
  if (!ctx || !["village_officer", "admin"].includes(ctx.actor.role)) {
    process.stderr.write(`${values.as}: no active village officer or county admin of that name (they are who register households)\n`);
    process.exit(2);
  }
  let bar: ReturnType<typeof progressBar> | undefined;
  const started = performance.now();
  const r = await importRegisterFile(deps.db, ctx, deps.pii, {
    name: basename(path),
    content,
    dryRun: values["dry-run"],
    countyCode: values.county,
    onProgress: (done, total) => {
      bar ??= progressBar(`register ${values["dry-run"] ? "check" : "import"}`, total);
      bar.update(done);
    },
  });
  bar?.stop();
  const seconds = (performance.now() - started) / 1000;
  out(`import ${r.id}: ${r.status} — ${r.rows} rows, ${r.households} households, ${r.problem_rows} rows with problems (${r.problem_count} problems) in ${seconds.toFixed(1)} s`);
  if (r.outcome) {
    const o = r.outcome;
    out(
      `${r.dry_run ? "would add" : "added"} ${o.households_added} households and ${o.people_added} people; ${r.dry_run ? "would update" : "updated"} ` +
        `${o.households_updated} households and ${o.people_updated} people (${o.people_unchanged} unchanged); ${o.status_changes} status changes`,
    );
  }
  for (const p of r.problems ?? []) out(`  row ${p.row}  ${p.column}  ${p.code}  ${p.message}`);
  if (values.errors && r.problem_rows > 0) {
    const { content: xlsx } = await registerImportErrors(deps.db, ctx, deps.pii, r.id);
    writeFileSync(values.errors, xlsx);
    out(`the rows with problems: ${values.errors}`);
  }
  code = r.problem_count > 0 ? 1 : 0;
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  process.stderr.write(`${err.code}: ${err.detail ?? ""}\n${(err.errors ?? []).map((e) => `  ${e.path}: ${e.message}\n`).join("")}`);
  code = err.status === 404 ? 2 : 1;
} finally {
  await deps.db.destroy();
}
process.exit(code);
