import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { createDb, migrateLatest, pgliteDirFor } from "../src/db/knex.js";
import { transaction } from "../src/db/transaction.js";
import { appendAudit } from "../src/lib/audit.js";
import { systemClock } from "../src/lib/clock.js";
import { hashPassword } from "../src/lib/password.js";
import { passwordProblems } from "../src/modules/auth/index.js";
import { out } from "./cli.js";

/**
 * `npm run user:create -- --username NAME --county 469030 [--county …] [--display-name 县管理员] [--password P]`:
 * creates a county admin from the command line — the first of a new installation, or one more when
 * every admin is locked out. Migrates first. Without --password a strong one is generated and
 * printed once (it is stored only as a scrypt hash). Works on PGlite (DATA_DIR) and DATABASE_URL.
 */
const USAGE = "usage: npm run user:create -- --username NAME --county 469030 [--county CODE …] [--display-name NAME] [--password PASSWORD]";

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let values: { username?: string; county?: string[]; "display-name"?: string; password?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      username: { type: "string" },
      county: { type: "string", multiple: true },
      "display-name": { type: "string" },
      password: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
if (values.help) {
  out(USAGE);
  process.exit(0);
}
const username = values.username ?? fail("--username is required");
const counties = values.county ?? fail("--county is required");
if (!/^[a-z0-9][a-z0-9._-]{2,49}$/.test(username)) fail("--username: 3 to 50 lowercase letters, digits, '.', '_' or '-'");
for (const c of counties) if (!/^\d{6}$/.test(c)) fail(`--county ${c}: a 6-digit county code`);

/** 24 characters of base64url (144 bits), kept only if it has a letter and a digit like any password. */
function generatePassword(): string {
  for (;;) {
    const p = randomBytes(18).toString("base64url");
    if (passwordProblems(p, username).length === 0) return p;
  }
}
const generated = values.password === undefined;
const password = values.password ?? generatePassword();
const problems = passwordProblems(password, username);
if (problems.length > 0) fail(`--password breaks the policy: ${problems.join("; ")}`);

const config = loadConfig();
const db = createDb({ databaseUrl: config.DATABASE_URL, pgliteDir: config.DATABASE_URL ? undefined : pgliteDirFor(config.DATA_DIR) });
try {
  await migrateLatest(db);
  const created = await transaction(db, async (trx) => {
    if (await trx("users").where({ username }).first("id")) return undefined;
    const [row] = await trx("users")
      .insert({
        username,
        display_name: values["display-name"] ?? "县管理员",
        role: "admin",
        county_codes: [...new Set(counties)],
        password_hash: await hashPassword(password),
        must_change_password: false,
      })
      .returning<{ id: string }[]>("id");
    await appendAudit(trx, { actor: null, requestId: "cli:user-create", clock: systemClock }, {
      action: "user.create",
      entityType: "user",
      entityId: row.id,
      countyCode: counties[0],
      after: { username, role: "admin", county_codes: counties, created_from: "command line" },
    });
    return row;
  });
  if (!created) {
    process.stderr.write(`a user named ${username} already exists; nothing changed\n`);
    process.exitCode = 1;
  } else {
    out(`created admin ${username} (${created.id}) for ${counties.join(", ")}`);
    if (generated) out(`password (shown once, keep it safe): ${password}`);
  }
} finally {
  await db.destroy();
}
