import type { Knex } from "knex";
import type { Deps } from "../../src/deps.js";
import { appendAudit } from "../../src/lib/audit.js";
import { hashPassword } from "../../src/lib/password.js";
import { DEMO_COUNTY, FIRST_VILLAGE } from "./demo.js";

/**
 * What the portal demo page (/portal-demo) offers a partner's developer to try at once: a registered
 * partner with a known secret, and a household of 新市村 that borrowed and received a dividend, with
 * a known PIN (already changed, so the first call is not a PIN change). Demo values only: a
 * production start never seeds the demo, and the page's sample answers 404 without it.
 */
export const DEMO_PARTNER = { client_id: "demo-portal", name: "惠农门户演示（合作方示例）", client_secret: "Huinong-Demo-Portal-2026" };
export const DEMO_PIN = "258147";

export async function seedPortalDemo(deps: Pick<Deps, "db" | "clock">, trx: Knex.Transaction): Promise<{ household_id: string } | null> {
  const household = await trx("households as h")
    .where("h.village_code", FIRST_VILLAGE)
    .whereNot("h.status", "REMOVED")
    .whereExists(trx("loans as l").whereRaw("l.household_id = h.id").whereNotNull("l.disbursed_on"))
    .whereExists(trx("distribution_shares as s").whereRaw("s.household_id = h.id"))
    .orderBy("h.household_no")
    .first<{ id: string } | undefined>("h.id");
  if (!household) return null;
  const village = await trx("users").where({ role: "village_officer", village_code: FIRST_VILLAGE }).orderBy("created_at").first<{ id: string }>("id");
  const now = deps.clock.now();
  await trx("partners")
    .insert({ client_id: DEMO_PARTNER.client_id, name: DEMO_PARTNER.name, secret_hash: await hashPassword(DEMO_PARTNER.client_secret), county_codes: [DEMO_COUNTY.code] })
    .onConflict("client_id")
    .ignore();
  await trx("household_credentials")
    .insert({ household_id: household.id, county_code: DEMO_COUNTY.code, pin_hash: await hashPassword(DEMO_PIN), must_change: false, failures: 0, issued_by: village.id, issued_at: now, changed_at: now })
    .onConflict("household_id")
    .ignore();
  const sample = { client_id: DEMO_PARTNER.client_id, client_secret: DEMO_PARTNER.client_secret, household_id: household.id, pin: DEMO_PIN };
  await trx("app_meta").insert({ key: "portal_demo", value: JSON.stringify(sample) }).onConflict("key").merge();
  await appendAudit(trx, { actor: null, requestId: "seed", clock: deps.clock }, {
    action: "seed.portal_demo",
    entityType: "partner",
    entityId: DEMO_PARTNER.client_id,
    countyCode: DEMO_COUNTY.code,
    after: { household_id: household.id },
  });
  return { household_id: household.id };
}
