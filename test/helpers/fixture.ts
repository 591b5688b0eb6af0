import type { Knex } from "knex";
import { type Actor, type JwtSettings, signStaffToken } from "../../src/http/auth.js";
import { hashPassword } from "../../src/lib/password.js";

/**
 * Reference data every test database starts with: two counties, divisions, banks, and staff of
 * every role with fixed ids so tests mint their tokens directly. Business data (households,
 * loans…) each test file builds itself through the API.
 */
export const COUNTY = "469030";
export const OTHER_COUNTY = "469025";
export const TOWNSHIP = "469030100";
export const VILLAGE = "469030100201";
export const VILLAGE_2 = "469030100202";
export const OTHER_VILLAGE = "469025100201";
export const BANK = "0b000000-0000-4000-8000-00000000000a";
export const OTHER_BANK = "0b000000-0000-4000-8000-00000000000b";
export const OPERATOR = "0c000000-0000-4000-8000-00000000000a";
export const TEST_PASSWORD = "test-password-1";

type UserSpec = Omit<Actor, "kind"> & { username: string };
const u = (n: number) => `0a000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

export const USERS = {
  admin: { userId: u(1), username: "t-admin", role: "admin", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: null },
  village: { userId: u(2), username: "t-village", role: "village_officer", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: VILLAGE },
  village2: { userId: u(3), username: "t-village2", role: "village_officer", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: VILLAGE_2 },
  officer: { userId: u(4), username: "t-officer", role: "loan_officer", countyCodes: [COUNTY], bankId: BANK, operatorId: null, villageCode: null },
  officer2: { userId: u(5), username: "t-officer2", role: "loan_officer", countyCodes: [COUNTY], bankId: BANK, operatorId: null, villageCode: null },
  manager: { userId: u(6), username: "t-manager", role: "bank_manager", countyCodes: [COUNTY], bankId: BANK, operatorId: null, villageCode: null },
  otherBankManager: { userId: u(7), username: "t-manager-b", role: "bank_manager", countyCodes: [COUNTY], bankId: OTHER_BANK, operatorId: null, villageCode: null },
  finance: { userId: u(8), username: "t-finance", role: "finance_officer", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: null },
  operator: { userId: u(9), username: "t-operator", role: "operator", countyCodes: [COUNTY], bankId: null, operatorId: OPERATOR, villageCode: null },
  regulator: { userId: u(10), username: "t-regulator", role: "regulator", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: null },
  otherAdmin: { userId: u(11), username: "t-admin-b", role: "admin", countyCodes: [OTHER_COUNTY], bankId: null, operatorId: null, villageCode: null },
  otherRegulator: { userId: u(12), username: "t-regulator-b", role: "regulator", countyCodes: [OTHER_COUNTY], bankId: null, operatorId: null, villageCode: null },
  otherVillage: { userId: u(13), username: "t-village-b", role: "village_officer", countyCodes: [OTHER_COUNTY], bankId: null, operatorId: null, villageCode: OTHER_VILLAGE },
  /** A second finance officer of the county: the checker of a claim the first one generated. */
  finance2: { userId: u(28), username: "t-finance2", role: "finance_officer", countyCodes: [COUNTY], bankId: null, operatorId: null, villageCode: null },
} satisfies Record<string, UserSpec>;
export type UserName = keyof typeof USERS;

export async function seedFixture(db: Knex): Promise<void> {
  await db("divisions").insert([
    { code: COUNTY, name: "琼中黎族苗族自治县", level: "COUNTY", parent_code: null, county_code: COUNTY },
    { code: OTHER_COUNTY, name: "儋州市(测试)", level: "COUNTY", parent_code: null, county_code: OTHER_COUNTY },
  ]);
  await db("divisions").insert([
    { code: TOWNSHIP, name: "营根镇", level: "TOWNSHIP", parent_code: COUNTY, county_code: COUNTY },
    { code: "469025100", name: "那大镇", level: "TOWNSHIP", parent_code: OTHER_COUNTY, county_code: OTHER_COUNTY },
  ]);
  await db("divisions").insert([
    { code: VILLAGE, name: "新市村", level: "VILLAGE", parent_code: TOWNSHIP, county_code: COUNTY },
    { code: VILLAGE_2, name: "百花村", level: "VILLAGE", parent_code: TOWNSHIP, county_code: COUNTY },
    { code: OTHER_VILLAGE, name: "石屋村", level: "VILLAGE", parent_code: "469025100", county_code: OTHER_COUNTY },
  ]);
  await db("banks").insert([
    { id: BANK, name: "测试农商银行", short_name: "测试农商行" },
    { id: OTHER_BANK, name: "测试邮储银行", short_name: "测试邮储" },
  ]);
  const hash = await hashPassword(TEST_PASSWORD);
  await db("users").insert(
    Object.values(USERS).map((x) => ({
      id: x.userId,
      username: x.username,
      password_hash: hash,
      display_name: x.username,
      role: x.role,
      county_codes: x.countyCodes,
      bank_id: x.bankId,
      operator_id: x.operatorId,
      village_code: x.villageCode,
    })),
  );
}

export function tokenFor(jwt: JwtSettings, who: UserName): string {
  const { username: _u, ...actor } = USERS[who];
  return signStaffToken(jwt, actor as Omit<Actor, "kind">);
}
