import { z } from "zod";
import { splitBilingual } from "../lib/i18n.js";
import { AppError, type FieldError } from "./errors.js";
import { checkQueryKeys } from "./query.js";

// A NUL character or half of a surrogate pair cannot be stored in PostgreSQL text or jsonb as it
// was sent (NUL is refused, a lone surrogate silently becomes U+FFFD), so neither is valid input.
const UNSTORABLE = /\u0000|\p{Surrogate}/u;

/**
 * Whether any string or object key inside `data` cannot be stored faithfully: one iterative pass
 * that allocates nothing per value, so a wide body (tens of thousands of items) costs little.
 */
function hasUnstorableText(data: unknown): boolean {
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (UNSTORABLE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (v !== null && typeof v === "object") {
      for (const k of Object.keys(v)) {
        if (UNSTORABLE.test(k)) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

/** The first string (or object key) inside `data` that the database cannot store faithfully, with its path. */
function unstorableText(data: unknown, path: string[]): FieldError | undefined {
  if (typeof data === "string") {
    return UNSTORABLE.test(data) ? { path: path.join("."), message: { zh: "含有 NUL 字符或无效的 Unicode", en: "contains a NUL character or malformed Unicode" } } : undefined;
  }
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const e = unstorableText(data[i], [...path, String(i)]);
      if (e) return e;
    }
    return undefined;
  }
  if (data !== null && typeof data === "object") {
    for (const [k, v] of Object.entries(data)) {
      if (UNSTORABLE.test(k)) return { path: path.join("."), message: { zh: "某个键含有 NUL 字符或无效的 Unicode", en: "a key contains a NUL character or malformed Unicode" } };
      const e = unstorableText(v, [...path, k]);
      if (e) return e;
    }
  }
  return undefined;
}

/**
 * Parses input with a zod schema; a failure is a 400 naming every field. A query is strict: a
 * parameter the schema does not name, or a repeated one that takes a single value, is a 400
 * (see http/query.ts). The body has already been checked for size and depth (http/body.ts), so
 * the walks below are bounded.
 */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where: "body" | "query" | "params" = "body"): z.infer<S> {
  if (where === "query") checkQueryKeys(schema, data);
  const bad = hasUnstorableText(data) ? unstorableText(data, [where]) : undefined;
  if (bad) throw new AppError("VALIDATION_FAILED", invalid(where, [bad]), [bad]);
  const input = data ?? (where === "body" ? undefined : {});
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  // Only on failure: the same parse with zod's Chinese messages, so each field's message is in both
  // languages (a message a schema writes itself is the same in both, so a schema writes it "中文 / English").
  const zh = schema.safeParse(input, { error: zhCN.localeError }).error?.issues ?? [];
  const errors: FieldError[] = r.error.issues.flatMap((i, n) => {
    const at = [where, ...i.path.map(String)];
    // An unknown field is named by its own path, so a client sees which field to drop.
    if (i.code === "unrecognized_keys") return i.keys.map((k) => ({ path: [...at, k].join("."), message: { zh: `未知字段 "${k}"`, en: `unknown field "${k}"` } }));
    return [{ path: at.join("."), message: splitBilingual(i.message) ?? { zh: zh[n]?.message ?? i.message, en: i.message } }];
  });
  throw new AppError("VALIDATION_FAILED", invalid(where, errors), errors);
}

const WHERE_ZH = { body: "请求体", query: "查询参数", params: "路径参数" } as const;

function invalid(where: keyof typeof WHERE_ZH, errors: FieldError[]) {
  const paths = errors.map((e) => e.path).join(", ");
  return { zh: `${WHERE_ZH[where]}无效：${paths}`, en: `Invalid ${where}: ${paths}` };
}

const zhCN = z.locales.zhCN();
