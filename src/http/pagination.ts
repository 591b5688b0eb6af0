import type { Knex } from "knex";
import { AppError } from "./errors.js";

const badCursor = () =>
  new AppError("VALIDATION_FAILED", { zh: "分页游标无效", en: "Bad cursor" }, [{ path: "query.cursor", message: { zh: "不是本列表给出的游标", en: "not a cursor from this list" } }]);

/** Keyset pagination: the cursor is the last key of the previous page (opaque to clients). */
export function encodeCursor(key: string): string {
  return Buffer.from(key, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const key = Buffer.from(cursor, "base64url").toString("utf8");
  if (!key || key.length > 100) throw badCursor();
  return key;
}

/** Applies `key > cursor order by key limit n+1` and returns the page with its next cursor. */
export async function page<T extends Record<string, unknown>>(
  q: Knex.QueryBuilder,
  keyColumn: string,
  keyOf: (row: T) => string,
  limit: number,
  cursor: string | undefined,
): Promise<{ rows: T[]; next_cursor: string | null }> {
  const after = decodeCursor(cursor);
  if (after !== undefined) q.andWhere(keyColumn, ">", after);
  let rows: T[];
  try {
    rows = (await q.orderBy(keyColumn).limit(limit + 1)) as T[];
  } catch (err) {
    // A forged cursor whose key does not fit the key column (22P02 invalid text representation, 22021 NUL).
    if (after !== undefined && typeof err === "object" && err !== null && ["22P02", "22021"].includes(String((err as { code?: unknown }).code))) throw badCursor();
    throw err;
  }
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { rows: kept, next_cursor: more ? encodeCursor(keyOf(kept[kept.length - 1])) : null };
}

/**
 * Pages a list read whole in its natural order (newest first, by county and version…): the cursor
 * is the key of the last item of the page, the next page starts after it. Only for lists bounded by
 * one household, one county's handful of versions or a window of notices, where reading every row
 * costs less than it would to express their order as a keyset; a county-wide list uses `page`.
 */
export function pageList<L extends { items: unknown[] }>(
  list: L,
  keyOf: (item: L["items"][number]) => string,
  q: { limit: number; cursor?: string },
): L & { next_cursor: string | null } {
  const after = decodeCursor(q.cursor);
  let start = 0;
  if (after !== undefined) {
    const i = list.items.findIndex((x) => keyOf(x) === after);
    if (i < 0) throw badCursor();
    start = i + 1;
  }
  const items = list.items.slice(start, start + q.limit);
  const more = start + q.limit < list.items.length;
  return { ...list, items, next_cursor: more ? encodeCursor(keyOf(items[items.length - 1])) : null };
}
