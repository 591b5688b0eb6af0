import { addDays, format, parseISO } from "date-fns";
import { makeIdNumber } from "../../src/lib/id-number.js";
import type { TestApp } from "./harness.js";
import { VILLAGE, type UserName } from "./fixture.js";

let seq = Math.floor(Math.random() * 400);
/** A valid, unique-per-file ID number for a birth date (sequence parity sets the sex). */
export function idNumber(birth = "1980-05-17", county = "469030"): string {
  seq = (seq + 1) % 1000;
  return makeIdNumber(county, birth, seq);
}

export interface MemberSpec {
  name?: string;
  birth?: string;
  relation?: string;
  health?: string;
  labour_capacity?: string;
  on_dibao?: boolean;
  on_tekun?: boolean;
  id_number?: string;
}

export function householdBody(opts: { village?: string; members?: MemberSpec[]; status?: string; household_type?: string; incomes?: { year: number; net_income: string }[] } = {}) {
  const village = opts.village ?? VILLAGE;
  const members = (opts.members ?? [{ relation: "HEAD" }, { relation: "SPOUSE", birth: "1982-03-03" }]).map((m, i) => ({
    name: m.name ?? (i === 0 ? "王建国" : "李秀兰"),
    id_number: m.id_number ?? idNumber(m.birth ?? "1980-05-17", village.slice(0, 6)),
    relation: m.relation ?? (i === 0 ? "HEAD" : "CHILD"),
    health: m.health ?? "HEALTHY",
    labour_capacity: m.labour_capacity ?? "ORDINARY",
    ...(m.on_dibao !== undefined ? { on_dibao: m.on_dibao } : {}),
    ...(m.on_tekun !== undefined ? { on_tekun: m.on_tekun } : {}),
  }));
  return {
    village_code: village,
    household_type: opts.household_type ?? "GENERAL",
    ...(opts.status ? { status: opts.status } : {}),
    main_cause: "LACK_OF_CAPITAL",
    secondary_causes: ["LACK_OF_SKILLS"],
    phone: "13812345678",
    bank_account: "6217001234567890123",
    bank_name: "测试农商银行",
    members,
    incomes: opts.incomes ?? [{ year: 2024, net_income: "24000.00" }],
  };
}

/** Registers a household through the API and returns the response body. */
export async function createHousehold(t: TestApp, opts: Parameters<typeof householdBody>[0] & { as?: UserName } = {}) {
  const res = await t.as(opts.as ?? "admin").post("/api/v1/households", householdBody(opts));
  if (res.status !== 201) throw new Error(`household not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; village_code: string; county_code: string; members: { id: string; id_number: string }[]; status: string };
}

/** The approvals of a complete exit (脱贫) ending on `approved`, with a 7-day notice. */
const shift = (d: string, n: number) => format(addDays(parseISO(d), n), "yyyy-MM-dd");

/** An exit (脱贫) effective on a date, with every approval step and the 7-day public notice before it. */
export function exitBody(effective: string) {
  return {
    to_status: "EXITED",
    effective_date: effective,
    reason: "人均纯收入稳定超过国家扶贫标准，两不愁三保障",
    notice_start: shift(effective, -25),
    notice_end: shift(effective, -18),
    approvals: [
      { step: "VILLAGE_PROPOSAL", date: shift(effective, -30), by: "村两委" },
      { step: "DEMOCRATIC_REVIEW", date: shift(effective, -28), by: "村民代表大会" },
      { step: "HOUSEHOLD_SIGNATURE", date: shift(effective, -26), by: "户主" },
      { step: "PUBLIC_NOTICE", date: shift(effective, -25), by: "村委会" },
      { step: "TOWNSHIP_REVIEW", date: shift(effective, -15), by: "营根镇" },
      { step: "COUNTY_APPROVAL", date: effective, by: "县扶贫开发领导小组" },
    ],
  };
}

/** A removal (清退: registered in error) effective on a date, with its approval steps. */
export function removeBody(effective: string) {
  return {
    to_status: "REMOVED",
    effective_date: effective,
    reason: "识别不准，家庭有财政供养人员，予以清退",
    approvals: [
      { step: "VILLAGE_PROPOSAL", date: shift(effective, -10), by: "村两委" },
      { step: "TOWNSHIP_REVIEW", date: shift(effective, -5), by: "营根镇" },
      { step: "COUNTY_APPROVAL", date: effective, by: "县扶贫开发领导小组" },
    ],
  };
}

export function exitApprovals(approved = "2025-05-30") {
  return {
    to_status: "EXITED",
    effective_date: approved,
    reason: "人均纯收入稳定超过国家扶贫标准，两不愁三保障",
    notice_start: "2025-05-10",
    notice_end: "2025-05-17",
    approvals: [
      { step: "VILLAGE_PROPOSAL", date: "2025-05-01", by: "新市村两委" },
      { step: "DEMOCRATIC_REVIEW", date: "2025-05-05", by: "村民代表大会" },
      { step: "HOUSEHOLD_SIGNATURE", date: "2025-05-08", by: "户主" },
      { step: "PUBLIC_NOTICE", date: "2025-05-10", by: "新市村" },
      { step: "TOWNSHIP_REVIEW", date: "2025-05-20", by: "营根镇" },
      { step: "COUNTY_APPROVAL", date: approved, by: "县扶贫开发领导小组" },
    ],
  };
}

export interface PortalPartner {
  client_id: string;
  client_secret: string;
}

/** A partner (portal client) of the county, registered by the admin: its id and the secret shown once. */
export async function registerPartner(t: TestApp, clientId: string, rate = 600): Promise<PortalPartner> {
  const res = await t.as("admin").post("/api/v1/partners", { client_id: clientId, name: `伙伴 ${clientId}`, county_codes: ["469030"], rate_limit_per_minute: rate });
  if (res.status !== 201) throw new Error(`partner: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A household of 新市村 signed in to the portal through a partner (its head's ID number and a new PIN): its id and token. */
export async function portalSignIn(t: TestApp, partner: PortalPartner, householdId?: string): Promise<{ id: string; token: string }> {
  const id = householdId ?? (await createHousehold(t)).id;
  const head = (await t.as("village").get(`/api/v1/households/${id}`)).body.members[0].id_number as string;
  const pin = (await t.as("village").post(`/api/v1/households/${id}/portal-pin`)).body.pin as string;
  const tok = await t.http.post("/api/v1/portal/token").send({ client_id: partner.client_id, client_secret: partner.client_secret, id_number: head, pin });
  if (tok.status !== 200) throw new Error(`portal token: ${tok.status} ${JSON.stringify(tok.body)}`);
  return { id, token: tok.body.access_token as string };
}
