import { z } from "../../http/zod.js";

export const TokenRequest = z
  .object({
    username: z.string().min(1).max(100),
    password: z.string().min(1).max(200),
  })
  .strict()
  .openapi("TokenRequest");

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    role: z.string(),
    must_change_password: z.boolean().openapi({ description: "The password is temporary: this token may only change it (POST /auth/password) or log out" }),
  })
  .openapi("TokenResponse");

const NewPassword = z.string().min(1).max(200).openapi({ description: "At least 10 characters with letters and digits; not containing the username; not a common password." });
export const PasswordChange = z.object({ current_password: z.string().min(1).max(200), new_password: NewPassword }).strict().openapi("PasswordChange");
