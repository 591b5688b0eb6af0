import { IsoDate, Uuid, z, StatusLabel } from "../../http/zod.js";

const Pin = z.string().regex(/^\d{6}$/, "6 位数字 / 6 digits");

export const PortalTokenRequest = z
  .object({
    client_id: z.string().min(1).max(100),
    client_secret: z.string().min(1).max(200),
    id_number: z.string().min(1).max(20).openapi({ description: "The household head's resident ID number" }),
    pin: Pin,
  })
  .strict()
  .openapi("PortalTokenRequest");
export const PortalTokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    scope: z.literal("household:read"),
    must_change_pin: z.boolean(),
  })
  .openapi("PortalTokenResponse");
export const PinChangeRequest = z
  .object({
    client_id: z.string().min(1).max(100),
    client_secret: z.string().min(1).max(200),
    id_number: z.string().min(1).max(20),
    pin: Pin,
    new_pin: Pin,
  })
  .strict()
  .openapi("PinChangeRequest");
export const PinIssueResponse = z
  .object({
    household_id: Uuid,
    pin: z.string().openapi({ description: "Shown once: hand it to the household, which must change it at first use" }),
    issued_at: z.string(),
  })
  .openapi("PinIssueResponse");
export const PartnerCreate = z
  .object({
    client_id: z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/, "3 至 63 个小写字母、数字或连字符 / 3-63 lower-case letters, digits and dashes"),
    name: z.string().trim().min(1).max(100),
    county_codes: z.array(z.string().regex(/^\d{6}$/)).min(1).max(50),
    rate_limit_per_minute: z.number().int().min(1).max(100000).default(600),
  })
  .strict()
  .openapi("PartnerCreate");
export const PartnerCreated = z
  .object({
    client_id: z.string(),
    name: z.string(),
    county_codes: z.array(z.string()),
    rate_limit_per_minute: z.number().int(),
    client_secret: z.string().openapi({ description: "Shown once" }),
  })
  .openapi("PartnerCreated");
export const PortalMe = z
  .object({
    household_id: Uuid,
    household_no: z.string(),
    head_name: z.string().openapi({ description: "Masked (张*明)" }),
    head_id_number: z.string().openapi({ description: "Masked" }),
    status: z.string(),
    status_label: StatusLabel,
    status_since: IsoDate,
    exit_date: IsoDate.nullable(),
    county_code: z.string(),
    village_code: z.string(),
    village_name: z.string(),
    township_name: z.string(),
    member_count: z.number().int(),
    bank_account: z.string().nullable(),
  })
  .openapi("PortalMe");

export const ClientIdParam = z.object({ client_id: z.string().min(1).max(64) });
export const PartnerSummary = z
  .object({
    client_id: z.string(),
    name: z.string(),
    county_codes: z.array(z.string()),
    rate_limit_per_minute: z.number().int(),
    active: z.boolean(),
    secret_rotated_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi("PartnerSummary");
export const PartnerList = z.object({ items: z.array(PartnerSummary), next_cursor: z.string().nullable() }).openapi("PartnerList");
export const PartnerSecretRotated = z
  .object({ client_id: z.string(), client_secret: z.string().openapi({ description: "Shown once; the old secret no longer works" }), rotated_at: z.string() })
  .openapi("PartnerSecretRotated");
export const PartnerRevoked = z
  .object({ client_id: z.string(), name: z.string(), county_codes: z.array(z.string()), active: z.literal(false), revoked_at: z.string() })
  .openapi("PartnerRevoked");

/** The answers of the portal's hot reads (also compiled into their serializers, hot.ts). */
export const SummaryQuery = z.object({ year: z.coerce.number().int().min(2000).max(2100).optional() });
export const PortalSummary = z
  .object({ year: z.number().int(), items: z.array(z.object({ kind: z.string(), label_zh: z.string(), amount: z.string() })), total: z.string() })
  .openapi("PortalSummary");
export const PortalDividends = z
  .object({
    items: z.array(
      z.object({
        distribution_id: z.string(),
        scope: z.string(),
        assets: z.array(z.unknown()),
        village_code: z.string(),
        period: z.string(),
        reference_date: z.string(),
        weight: z.string(),
        members: z.number().int(),
        multiplier: z.string(),
        eligibility: z.string(),
        multiplier_reason: z.string().nullable(),
        transition_ends: z.string().nullable(),
        why: z.string(),
        amount: z.string(),
        capped: z.boolean(),
        status: z.string(),
        paid_on: z.string().nullable(),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("PortalDividends");
