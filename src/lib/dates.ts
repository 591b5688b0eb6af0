/**
 * Calendar arithmetic on business dates (`YYYY-MM-DD` strings, no time zone): the one
 * implementation every module's model uses for day counts and due dates.
 */

const DAY_MS = 86_400_000;

/*
 * The close of business's model walks loans date by date over years (a late entry, a migrated
 * loan's history), converting the same few thousand dates again and again: both directions are
 * remembered (bounded; cleared when full).
 */
const CACHE_LIMIT = 50_000;
const dayNumbers = new Map<string, number>();
const dateStrings = new Map<number, string>();

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  let n = dayNumbers.get(date);
  if (n === undefined) {
    const [y, m, d] = date.split("-").map(Number);
    n = Math.round(Date.UTC(y, m - 1, d) / DAY_MS);
    if (dayNumbers.size >= CACHE_LIMIT) dayNumbers.clear();
    dayNumbers.set(date, n);
  }
  return n;
}
export function fromDayNumber(n: number): string {
  let s = dateStrings.get(n);
  if (s === undefined) {
    s = new Date(n * DAY_MS).toISOString().slice(0, 10);
    if (dateStrings.size >= CACHE_LIMIT) dateStrings.clear();
    dateStrings.set(n, s);
  }
  return s;
}
/** Whether a string is a real calendar date written `YYYY-MM-DD` (not 2025-02-30). */
export function isIsoDate(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(v) && fromDayNumber(dayNumber(v)) === v;
}
export function addDays(date: string, days: number): string {
  return fromDayNumber(dayNumber(date) + days);
}
/** Days from a to b (b − a): interest days of a span counting the first day and not the last (算头不算尾). */
export function daysBetween(a: string, b: string): number {
  return dayNumber(b) - dayNumber(a);
}
function lastDayOfMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}
/** The same day `months` later, or that month's last day when it has none (Jan 31 + 1 → Feb 28/29). */
export function addMonthsClamped(date: string, months: number): string {
  const [y, m, d] = date.split("-").map(Number);
  const idx = y * 12 + (m - 1) + months;
  const ny = Math.floor(idx / 12);
  const nm = (idx % 12) + 1;
  const nd = Math.min(d, lastDayOfMonth(ny, nm));
  return `${String(ny).padStart(4, "0")}-${String(nm).padStart(2, "0")}-${String(nd).padStart(2, "0")}`;
}
