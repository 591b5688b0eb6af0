/** The roles of staff users, and who is acting in a request (its jurisdiction bounds every query). */
export const ROLES = [
  "admin",
  "village_officer",
  "loan_officer",
  "bank_manager",
  "finance_officer",
  "operator",
  "regulator",
] as const;
export type Role = (typeof ROLES)[number];

/** Who is acting and where: every query a request triggers is bounded by this. */
export interface Actor {
  kind: "staff";
  userId: string;
  role: Role;
  countyCodes: string[];
  bankId: string | null;
  operatorId: string | null;
  villageCode: string | null;
}
