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
