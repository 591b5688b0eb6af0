import type { Knex } from "knex";
import type { Response } from "supertest";
import { expect } from "vitest";
import { checkCharacter } from "../../src/lib/id-number.js";

/** Asserts an RFC 9457 problem answer with a code and, when given, an error naming `path`. */
export function expectProblem(res: Response, status: number, code: string, path?: string): void {
  expect({ status: res.status, code: res.body?.code }, JSON.stringify(res.body)).toEqual({ status, code });
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body.status).toBe(status);
  expect(typeof res.body.type).toBe("string");
  expect(typeof res.body.title).toBe("string");
  if (path !== undefined) {
    const paths = ((res.body.errors ?? []) as { path: string }[]).map((e) => e.path);
    expect(paths, JSON.stringify(res.body)).toContain(path);
  }
}

/** Row counts of the register and audit tables (to prove a rejected request wrote nothing). */
export async function registerCounts(db: Knex) {
  const one = async (table: string) => Number((await db(table).count<{ n: string }[]>("* as n"))[0].n);
  return {
    divisions: await one("divisions"),
    households: await one("households"),
    members: await one("household_members"),
    incomes: await one("household_incomes"),
    statusChanges: await one("household_status_changes"),
    audit: await one("audit_log"),
    idempotencyKeys: await one("idempotency_keys"),
  };
}

/** A valid ID number whose check character is X (seq is searched from `from`). */
export function idNumberEndingInX(division = "469030", birth = "19750308", from = 100): string {
  for (let s = from; s < from + 1000; s++) {
    const first17 = `${division}${birth}${String(s % 1000).padStart(3, "0")}`;
    if (checkCharacter(first17) === "X") return `${first17}X`;
  }
  throw new Error("no X check character found");
}
