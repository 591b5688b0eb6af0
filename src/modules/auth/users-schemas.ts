import { ROLES } from "../../http/auth.js";
import { CountyCode, ListQuery, Uuid, VillageCode, z } from "../../http/zod.js";

const Username = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{2,49}$/, "3 to 50 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
  .openapi({ example: "xinshi-cun" });
export const Password = z.string().min(1).max(200).openapi({ description: "At least 10 characters with letters and digits; not containing the username; not a common password." });
const Role = z.enum(ROLES);

export const UserCreate = z
  .object({
    username: Username,
    display_name: z.string().trim().min(1).max(100),
    role: Role,
    county_codes: z.array(CountyCode).min(1).max(20),
    bank_id: Uuid.optional().openapi({ description: "loan_officer, bank_manager (a bank manager creates loan officers of the own bank: may be left out)" }),
    operator_id: Uuid.optional().openapi({ description: "operator" }),
    village_code: VillageCode.optional().openapi({ description: "village_officer" }),
    password: Password.openapi({ description: "Initial password, to be changed at the first login." }),
  })
  .strict()
  .openapi("UserCreate");

export const UserPatch = z
  .object({
    display_name: z.string().trim().min(1).max(100).optional(),
    role: Role.optional(),
    county_codes: z.array(CountyCode).min(1).max(20).optional(),
    bank_id: Uuid.nullable().optional(),
    operator_id: Uuid.nullable().optional(),
    village_code: VillageCode.nullable().optional(),
    active: z.boolean().optional().openapi({ description: "false disables the user (the delete: users are never removed); true enables again" }),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, "send at least one field")
  .openapi("UserPatch");

export const UserListQuery = ListQuery.extend({
  role: Role.optional(),
  active: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});

export const UserIdParam = z.object({ id: Uuid });

export const User = z
  .object({
    id: z.string(),
    username: z.string(),
    display_name: z.string(),
    role: Role,
    county_codes: z.array(z.string()),
    bank_id: z.string().nullable(),
    operator_id: z.string().nullable(),
    village_code: z.string().nullable(),
    active: z.boolean(),
    must_change_password: z.boolean(),
    password_changed_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("User");

export const UserList = z.object({ items: z.array(User), next_cursor: z.string().nullable() }).openapi("UserList");

export const PasswordReset = z.object({ password: Password.openapi({ description: "Temporary password; the user must change it at the next login." }) }).strict().openapi("PasswordReset");
export const PasswordResetDone = z
  .object({ user_id: z.string(), must_change_password: z.literal(true), sessions_ended: z.literal(true) })
  .openapi("PasswordResetDone");

