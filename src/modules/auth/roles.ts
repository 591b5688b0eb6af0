import type { Role } from "../../http/auth.js";

/** Which jurisdiction fields a role is bound by. */
export const ROLE_FIELDS: Record<Role, { village: boolean; bank: boolean; operator: boolean }> = {
  admin: { village: false, bank: false, operator: false },
  village_officer: { village: true, bank: false, operator: false },
  loan_officer: { village: false, bank: true, operator: false },
  bank_manager: { village: false, bank: true, operator: false },
  finance_officer: { village: false, bank: false, operator: false },
  operator: { village: false, bank: false, operator: true },
  regulator: { village: false, bank: false, operator: false },
};
