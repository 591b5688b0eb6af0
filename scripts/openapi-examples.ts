import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import supertest from "supertest";
import { createApp } from "../src/app.js";
import { createDb, migrateLatest } from "../src/db/knex.js";
import type { Deps } from "../src/deps.js";
import { EXAMPLES_DIR } from "../src/http/openapi.js";
import { auditKeysOf, useAuditKeys } from "../src/lib/audit-keys.js";
import { FixedClock } from "../src/lib/clock.js";
import { createLogger } from "../src/lib/logger.js";
import { Pii } from "../src/lib/pii.js";
import { DEMO_COUNTY, DEMO_PASSWORD, FIRST_VILLAGE, seedDemoCounty } from "../db/seeds/demo.js";
import { out } from "./cli.js";

/**
 * `npx tsx scripts/openapi-examples.ts`: seeds the demo county in a database in memory (fixed seed and
 * date), asks the API the questions partners ask most, and writes each answer to
 * src/http/examples/<operationId>.json, where the OpenAPI document takes it as the example of that
 * operation's success answer. Keys, tokens and secrets are made for this run only and thrown away.
 * test/api/openapi-examples.test.ts checks every stored example against its operation's schema.
 */
const TODAY = "2026-11-20";
const db = createDb({});
await migrateLatest(db);
useAuditKeys(auditKeysOf(randomBytes(32), generateKeyPairSync("ed25519").privateKey));
const deps: Deps = {
  db,
  clock: new FixedClock(TODAY),
  logger: createLogger("silent"),
  pii: new Pii({ encKey: randomBytes(32), hashKey: randomBytes(32) }),
  jwt: { secret: randomBytes(32).toString("hex"), issuer: "huinong", audience: "huinong-api", ttlSeconds: 3600 },
  settings: { bodyLimit: "1mb", loginMaxFailures: 5, loginLockSeconds: 900 },
};
await seedDemoCounty(deps, { households: 60, seed: 469030 });
const http = supertest(createApp(deps));
const API = "/api/v1";

const written: string[] = [];
function keep(operationId: string, res: supertest.Response, status = 200): Record<string, unknown> {
  if (res.status !== status) throw new Error(`${operationId}: ${res.status} ${JSON.stringify(res.body)}`);
  mkdirSync(EXAMPLES_DIR, { recursive: true });
  writeFileSync(new URL(`${operationId}.json`, EXAMPLES_DIR), `${JSON.stringify(res.body, null, 2)}\n`);
  written.push(operationId);
  return res.body as Record<string, unknown>;
}

async function login(username: string): Promise<string> {
  const res = await http.post(`${API}/auth/token`).send({ username, password: DEMO_PASSWORD });
  if (username === "admin") keep("login", res);
  return `Bearer ${(res.body as { access_token: string }).access_token}`;
}
const admin = await login("admin");
const officer = await login("officer");
const village = await login("village");
const get = (auth: string, path: string) => http.get(`${API}${path}`).set("Authorization", auth);

// Register
const households = keep("listHouseholds", await get(admin, `/households?limit=2&village_code=${FIRST_VILLAGE}`));
const householdId = (households.items as { id: string }[])[0].id;
keep("getHousehold", await get(admin, `/households/${householdId}`));

// Loans: the list, one active loan, its schedule and repayments, and a repayment recorded now.
const loans = keep("listLoans", await get(officer, "/loans?limit=2&status=DISBURSED"));
const loanId = (loans.items as { id: string }[])[0].id;
const loan = keep("getLoan", await get(officer, `/loans/${loanId}`));
keep("getLoanSchedule", await get(officer, `/loans/${loanId}/schedule`));
keep("listLoanRepayments", await get(officer, `/loans/${loanId}/repayments?limit=2`));
const due = (loan as { payoff_amount?: string }).payoff_amount ?? "100.00";
const amount = Number(due) > 500 ? "500.00" : due;
keep(
  "createLoanRepayment",
  await http.post(`${API}/loans/${loanId}/repayments`).set("Authorization", officer).set("Idempotency-Key", "example-repayment-1").send({ amount, reference: "HK20261120001" }),
  201,
);

// Distributions
const distributions = keep("listDistributions", await get(admin, "/distributions?limit=2"));
const distributionId = (distributions.items as { id: string }[])[0].id;
keep("getDistribution", await get(admin, `/distributions/${distributionId}?limit=3`));
keep("getCountySummary", await get(admin, `/reports/county-summary?county_code=${DEMO_COUNTY.code}&month=${TODAY.slice(0, 7)}`));

// Portal: a partner, a household's PIN, then the household's own reads through the partner.
const partner = (await http.post(`${API}/partners`).set("Authorization", admin).send({ client_id: "demo-bank-app", name: "琼中农商行 手机银行", county_codes: [DEMO_COUNTY.code] })).body as {
  client_id: string;
  client_secret: string;
};
// A household of the first village with a dividend and a loan, so that the portal's lists are not empty.
const rich = (await db("distribution_shares as s")
  .join("households as h", "h.id", "s.household_id")
  .join("loans as l", "l.household_id", "h.id")
  .where("h.village_code", FIRST_VILLAGE)
  .whereIn("l.status", ["DISBURSED", "EXTENDED"])
  .orderBy("h.household_no")
  .first("h.id")) as { id: string } | undefined;
const portalHousehold = rich?.id ?? householdId;
const headId = ((await get(village, `/households/${portalHousehold}`)).body as { members: { relation: string; id_number: string }[] }).members.find((m) => m.relation === "HEAD")!.id_number;
const pin = ((await http.post(`${API}/households/${portalHousehold}/portal-pin`).set("Authorization", village)).body as { pin: string }).pin;
const portal = keep("portalLogin", await http.post(`${API}/portal/token`).send({ client_id: partner.client_id, client_secret: partner.client_secret, id_number: headId, pin }));
const household = `Bearer ${(portal as { access_token: string }).access_token}`;
keep("getPortalProfile", await get(household, "/portal/me"));
const portalLoans = keep("listPortalLoans", await get(household, "/portal/me/loans"));
const portalLoan = (portalLoans.items as { id: string }[])[0];
if (portalLoan) keep("getPortalLoanSchedule", await get(household, `/portal/me/loans/${portalLoan.id}/schedule`));
keep("listPortalDividends", await get(household, "/portal/me/dividends"));
keep("listPortalSubsidies", await get(household, "/portal/me/subsidies"));
keep("getPortalSummary", await get(household, `/portal/me/summary?year=${TODAY.slice(0, 4)}`));

out(`wrote ${written.length} examples to ${EXAMPLES_DIR.pathname}: ${written.join(", ")}`);
await db.destroy();
