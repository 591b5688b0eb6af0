import type { Knex } from "knex";
import { transaction } from "../src/db/transaction.js";
import type { Clock } from "../src/lib/clock.js";
import type { Ctx } from "../src/lib/context.js";
import type { Pii } from "../src/lib/pii.js";
import type { Role } from "../src/http/auth.js";
import { type ImportResultView, runRegisterImport } from "../src/modules/register/index.js";

interface ImportUser {
  id: string;
  role: Role;
  county_codes: string[];
  bank_id: string | null;
  operator_id: string | null;
  village_code: string | null;
}

/** The context of an active staff user acting from the command line, or undefined when there is none of that name. */
export async function actAs(db: Knex, username: string, clock: Clock, requestId: string): Promise<Ctx | undefined> {
  const user = await db("users").where({ username, active: true }).first<ImportUser | undefined>();
  if (!user) return undefined;
  return {
    actor: { kind: "staff", userId: user.id, role: user.role, countyCodes: user.county_codes, bankId: user.bank_id, operatorId: user.operator_id, villageCode: user.village_code },
    requestId,
    clock,
  };
}

/**
 * What `npm run import:register` does with a file, and what the benchmark measures: the register
 * import of the API (the same checks, the same set-based writes), in one transaction, as `ctx`'s user.
 */
export async function importRegisterFile(
  db: Knex,
  ctx: Ctx,
  pii: Pii,
  file: { name: string; content: Buffer; dryRun: boolean; countyCode?: string; onProgress?: (done: number, total: number) => void },
): Promise<ImportResultView> {
  return transaction(db, (trx) =>
    runRegisterImport(trx, ctx, pii, { fileName: file.name, content: file.content, dryRun: file.dryRun, countyCode: file.countyCode, onProgress: file.onProgress }),
  );
}
