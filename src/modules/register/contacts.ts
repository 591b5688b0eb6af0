/**
 * Who a household is and how to reach it, for other modules' work lists (the bank's worklist): the
 * household number, village, head, the names of the members asked for, and the phone — masked unless
 * the actor is one of the roles that see personal data whole (`seesPiiWhole`: the village officer of
 * the household's village). Bounded by the actor's jurisdiction; two statements for any number of ids.
 */
import type { Knex } from "knex";
import type { Actor } from "../../http/auth.js";
import type { Pii } from "../../lib/pii.js";
import { householdScope } from "./queries.js";
import { seesPiiWhole } from "./service.js";

type Db = Knex | Knex.Transaction;

export interface HouseholdContact {
  household_id: string;
  household_no: string;
  village_code: string;
  village_name: string;
  head_name: string | null;
  phone: string | null;
  phone_masked: boolean;
}

export async function contactsOf(
  db: Db,
  actor: Actor,
  pii: Pii,
  ids: { householdIds: string[]; memberIds: string[] },
): Promise<{ households: Map<string, HouseholdContact>; memberNames: Map<string, string> }> {
  const householdIds = [...new Set(ids.householdIds)];
  const memberIds = [...new Set(ids.memberIds)];
  const rows = householdIds.length
    ? await householdScope(
        db("households as h")
          .join("divisions as v", "v.code", "h.village_code")
          .leftJoin("household_members as head", function () {
            this.on("head.household_id", "h.id").andOnVal("head.relation", "HEAD");
          })
          .whereIn("h.id", householdIds)
          .select("h.id", "h.household_no", "h.village_code", "v.name as village_name", "head.name as head_name", "h.phone_enc", "h.phone_masked"),
        actor,
      )
    : [];
  const households = new Map<string, HouseholdContact>();
  for (const h of rows as { id: string; household_no: string; village_code: string; village_name: string; head_name: string | null; phone_enc: string | null; phone_masked: string | null }[]) {
    const whole = seesPiiWhole(actor, h);
    households.set(h.id, {
      household_id: h.id,
      household_no: h.household_no,
      village_code: h.village_code,
      village_name: h.village_name,
      head_name: h.head_name,
      phone: whole && h.phone_enc ? pii.decrypt(h.phone_enc) : h.phone_masked,
      phone_masked: !whole,
    });
  }
  const members = memberIds.length
    ? await db("household_members as m").whereIn("m.id", memberIds).whereIn("m.county_code", actor.countyCodes).select("m.id", "m.name")
    : [];
  return { households, memberNames: new Map((members as { id: string; name: string }[]).map((m) => [m.id, m.name])) };
}
