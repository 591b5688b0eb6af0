import type { Knex } from "knex";

type Db = Knex | Knex.Transaction;

export type Unit = "households" | "people" | "count" | "yuan" | "ratio";

/** One figure of the county summary. Counts are numbers; money and ratios decimal strings. */
export interface Figure {
  key: string;
  label_zh: string;
  label: string;
  unit: Unit;
  value: number | string;
}

/** The county and month a summary is computed for. */
export interface SummaryMonth {
  countyCode: string;
  /** First and last day of the month (YYYY-MM-DD). */
  monthStart: string;
  monthEnd: string;
}

/** A module's part of the county summary, computed in SQL as of the month's last day. */
export interface FigureSource {
  name: string;
  /** Where its figures stand in the summary (ascending), whichever module registers first. */
  order: number;
  compute(db: Db, p: SummaryMonth): Promise<Figure[]>;
}

const sources: FigureSource[] = [];
export function registerFigureSource(s: FigureSource): void {
  if (sources.some((x) => x.name === s.name)) return;
  sources.push(s);
  sources.sort((a, b) => a.order - b.order);
}
export function figureSources(): readonly FigureSource[] {
  return sources;
}

/** A ratio as a decimal string with four places ("0.0000" when the denominator is 0). */
export function ratioSql(num: string, den: string): string {
  return `round(CASE WHEN (${den}) = 0 THEN 0 ELSE (${num})::numeric / (${den}) END, 4)`;
}

/**
 * The status of every household as of a date, from the status history: the last change on or
 * before the date; else, when the first change came later, the status it changed from; else the
 * current status. Households registered after the date are left out.
 */
export function householdStatusAsOf(db: Db, countyCode: string, asOf: string): Knex.QueryBuilder {
  return db
    .from("households as h")
    .where("h.county_code", countyCode)
    .andWhereRaw("(h.created_at AT TIME ZONE 'Asia/Shanghai')::date <= ?", [asOf])
    .select(
      "h.id",
      "h.village_code",
      db.raw(
        `COALESCE(
          (SELECT c.to_status FROM household_status_changes c WHERE c.household_id = h.id AND c.effective_date <= ? ORDER BY c.effective_date DESC, c.created_at DESC LIMIT 1),
          (SELECT c.from_status FROM household_status_changes c WHERE c.household_id = h.id AND c.effective_date > ? ORDER BY c.effective_date, c.created_at LIMIT 1),
          h.status) AS status`,
        [asOf, asOf],
      ),
    );
}

export const registerFigures: FigureSource = {
  name: "register",
  order: 10,
  async compute(db, p) {
    const statuses = householdStatusAsOf(db, p.countyCode, p.monthEnd);
    const { rows } = await db.raw<{ rows: { status: string; households: number; people: number }[] }>(
      `SELECT s.status, count(*)::int AS households, coalesce(sum(mc.n), 0)::int AS people
         FROM ? s CROSS JOIN LATERAL (SELECT count(*) AS n FROM household_members m WHERE m.household_id = s.id) mc
        GROUP BY s.status`,
      [statuses],
    );
    const by = new Map(rows.map((r) => [r.status, r]));
    const label: Record<string, [string, string]> = {
      POOR: ["贫困户", "poor"],
      EXITED: ["脱贫户", "exited"],
      MONITORED: ["监测户", "monitored"],
      REMOVED: ["清退户", "removed"],
    };
    const out: Figure[] = [];
    for (const s of ["POOR", "EXITED", "MONITORED", "REMOVED"]) {
      out.push({ key: `households_${s.toLowerCase()}`, label_zh: `${label[s][0]}户数`, label: `Households ${label[s][1]}`, unit: "households", value: Number(by.get(s)?.households ?? 0) });
      out.push({ key: `people_${s.toLowerCase()}`, label_zh: `${label[s][0]}人数`, label: `People in households ${label[s][1]}`, unit: "people", value: Number(by.get(s)?.people ?? 0) });
    }
    return out;
  },
};
registerFigureSource(registerFigures);
