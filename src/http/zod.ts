import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

export { z };

/** Shared field schemas: money and rates are decimal strings, dates business dates; their messages "中文 / English" (answered in the request's language). */
export const Amount = z
  .string()
  .regex(/^\d{1,16}(\.\d{1,2})?$/, "须为以元计的十进制字符串，最多两位小数，如 \"50000.00\" / an amount in yuan as a decimal string with at most two places, e.g. \"50000.00\"")
  .openapi({ example: "50000.00", description: "Yuan, decimal string, two places" });
export const RateStr = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,6})?$/, "须为十进制字符串表示的利率，如 \"0.0345\" / a rate as a decimal string, e.g. \"0.0345\"")
  .openapi({ example: "0.0345", description: "Annual rate as a decimal fraction" });
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "须为 YYYY-MM-DD 格式的日期 / a date as YYYY-MM-DD")
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    // From 1900 on: business and birth dates are modern, and PostgreSQL has no year 0000.
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s && d.getUTCFullYear() >= 1900;
  }, "不是有效日期（YYYY-MM-DD，1900 年及以后） / not a real date (YYYY-MM-DD, from 1900 on)")
  .openapi({ example: "2025-03-20", description: "Business date (Asia/Shanghai), YYYY-MM-DD" });
export const Uuid = z.string().uuid("须为 ID（UUID） / an id (UUID)").openapi({ example: "2b1c6a0e-8f7e-4a53-9a52-0c3c9b7d5e11" });
export const CountyCode = z.string().regex(/^\d{6}$/, "须为 6 位县级行政区划代码（GB/T 2260） / a 6-digit GB/T 2260 county code").openapi({ example: "469030" });
export const VillageCode = z.string().regex(/^\d{12}$/, "须为 12 位村级行政区划代码（GB/T 2260） / a 12-digit GB/T 2260 village code").openapi({ example: "469030100201" });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

/** The display name of a record's `status` code, beside it (src/lib/labels.ts). */
export const StatusLabel = z.string().openapi({
  description: "The display name of `status` in the language of the answer (Chinese by default, English with `Accept-Language: en`), e.g. 已放款 / Disbursed; `status` keeps the code",
});

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional().openapi({ description: "In the language of the answer (Accept-Language; Chinese by default)" }),
    detail_en: z.string().optional().openapi({ description: "In a Chinese answer, the server's specific detail when it was written in English only (amounts, dates, fields)" }),
    code: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });
