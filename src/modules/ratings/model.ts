import { addDays, addMonths, format, parseISO } from "date-fns";
import type { Bilingual } from "../../lib/i18n.js";
import { D, type Dec, Money } from "../../lib/money.js";

/**
 * Scoring of credit ratings (评级): pure functions over a scorecard version, the household's
 * register facts and the officer's / village's assessed levels. No I/O; plain data in and out.
 */

export const LABOUR_CAPACITIES = ["ORDINARY", "SKILLED", "WEAK", "NONE"] as const;
export type LabourCapacity = (typeof LABOUR_CAPACITIES)[number];

/** Household statuses that may be rated and borrow (docs/DOMAIN.md#household-status). */
export const ELIGIBLE_STATUSES = ["POOR", "EXITED", "MONITORED"] as const;

/** The household cap of poverty loans, all members together (docs/DOMAIN.md#credit-line). No grade may grant more. */
export const HOUSEHOLD_LOAN_CAP = "50000.00";

export const RATING_STATUSES = ["PENDING", "EFFECTIVE", "SUPERSEDED", "REJECTED"] as const;
export type StoredRatingStatus = (typeof RATING_STATUSES)[number];
/** What a reader sees: an EFFECTIVE rating past its `valid_until` reads as EXPIRED. */
export const RATING_VIEW_STATUSES = [...RATING_STATUSES, "EXPIRED"] as const;
export type RatingViewStatus = (typeof RATING_VIEW_STATUSES)[number];

/** The five checks (五验) the officer records for every rating. */
export const FIVE_CHECKS = ["documents", "neighbours", "phone", "cross_team", "repeat_question"] as const;

export interface AssessedLevel {
  level: string;
  points: number;
  description: string;
}
export interface Band {
  /** Inclusive lower bound, a decimal string (yuan for income, labour units for labour). */
  min: string;
  points: number;
}
interface IndicatorBase {
  code: string;
  name: string;
  points: number;
  description?: string;
}
/** Levels assessed by the loan officer (诚信、产业、资产、负债) or by the village review (邻里评价). */
export interface AssessedIndicator extends IndicatorBase {
  kind: "ASSESSED";
  assessed_by: "OFFICER" | "VILLAGE_REVIEW";
  levels: AssessedLevel[];
}
/** Bands over the per-capita net income of the latest year in the register. */
export interface IncomeIndicator extends IndicatorBase {
  kind: "INCOME_BANDS";
  bands: Band[];
  /** Points when the register has no income record (documented in CONTEXT.md: 0 by default). */
  missing_points: number;
}
/** Bands over labour units: Σ members × the weight of their labour capacity. */
export interface LabourIndicator extends IndicatorBase {
  kind: "LABOUR_BANDS";
  weights: Record<LabourCapacity, string>;
  bands: Band[];
}
export type Indicator = AssessedIndicator | IncomeIndicator | LabourIndicator;

export interface GradeBand {
  grade: string;
  min_score: number;
  credit_line: string;
}

export interface ScorecardDef {
  name: string;
  validity_months: number;
  indicators: Indicator[];
  grades: GradeBand[];
}

/** What the register says about a household, read at rating time. */
export interface RegisterFacts {
  /** Latest year's per-capita net income, or null when none is recorded. */
  income: { year: number; per_capita_net_income: string } | null;
  /** Members by labour capacity. */
  labour: Record<LabourCapacity, number>;
}

export interface Assessment {
  level: string;
  evidence?: string;
}

export interface IndicatorResult {
  code: string;
  name: string;
  source: "OFFICER" | "VILLAGE_REVIEW" | "REGISTER";
  points: number;
  max_points: number;
  input: Record<string, string | number | null>;
  reason: string;
}

export interface ScoreResult {
  score: number;
  grade: string;
  credit_line: string;
  explanation: IndicatorResult[];
}

/** A problem with one field, its message in Chinese and English. */
export interface Problem {
  path: string;
  message: Bilingual;
}

/** The default scorecard (src/modules/ratings/CONTEXT.md#default-scorecard) (what a county starts with; counties publish their own versions). */
export const DEFAULT_SCORECARD: ScorecardDef = {
  name: "扶贫小额信贷农户信用评级标准 (默认)",
  validity_months: 12,
  indicators: [
    {
      kind: "ASSESSED",
      code: "CREDIT_RECORD",
      name: "诚信记录",
      points: 25,
      assessed_by: "OFFICER",
      description: "Credit record: arrears and the PBoC credit report",
      levels: [
        { level: "CLEAN", points: 25, description: "no arrears, no bad PBoC record" },
        { level: "SETTLED", points: 15, description: "past arrears, all settled; no bad record now" },
        { level: "BAD", points: 0, description: "arrears outstanding or a bad PBoC record" },
      ],
    },
    {
      kind: "INCOME_BANDS",
      code: "INCOME",
      name: "家庭收入",
      points: 20,
      description: "Per-capita net income of the latest year in the register",
      bands: [
        { min: "0.00", points: 4 },
        { min: "4000.00", points: 10 },
        { min: "6000.00", points: 14 },
        { min: "8000.00", points: 17 },
        { min: "10000.00", points: 20 },
      ],
      missing_points: 0,
    },
    {
      kind: "LABOUR_BANDS",
      code: "LABOUR",
      name: "劳动力",
      points: 15,
      description: "Labour units of the members: ordinary or skilled 1, weak 0.5, none 0",
      weights: { ORDINARY: "1", SKILLED: "1", WEAK: "0.5", NONE: "0" },
      bands: [
        { min: "0", points: 0 },
        { min: "0.5", points: 5 },
        { min: "1", points: 10 },
        { min: "2", points: 15 },
      ],
    },
    {
      kind: "ASSESSED",
      code: "PROJECT",
      name: "产业项目",
      points: 15,
      assessed_by: "OFFICER",
      description: "A production project and skills (四有两好一项目)",
      levels: [
        { level: "RUNNING", points: 15, description: "a production project running and the skills for it" },
        { level: "PLANNED", points: 8, description: "a project planned, or skills without a project" },
        { level: "NONE", points: 0, description: "no project and no skills" },
      ],
    },
    {
      kind: "ASSESSED",
      code: "ASSETS",
      name: "家庭资产",
      points: 10,
      assessed_by: "OFFICER",
      description: "Housing, livestock, land",
      levels: [
        { level: "HIGH", points: 10, description: "safe housing and substantial livestock or land" },
        { level: "MEDIUM", points: 6, description: "safe housing and some livestock or land" },
        { level: "LOW", points: 3, description: "housing only" },
        { level: "NONE", points: 0, description: "no assets of note" },
      ],
    },
    {
      kind: "ASSESSED",
      code: "REPUTATION",
      name: "遵纪守法与邻里评价",
      points: 10,
      assessed_by: "VILLAGE_REVIEW",
      description: "Law-abidance, neighbours' and the village review's view",
      levels: [
        { level: "GOOD", points: 10, description: "law-abiding, well regarded by neighbours and the village review" },
        { level: "FAIR", points: 6, description: "no violations; mixed views" },
        { level: "POOR", points: 0, description: "violations or a negative village review" },
      ],
    },
    {
      kind: "ASSESSED",
      code: "DEBT",
      name: "负债",
      points: 5,
      assessed_by: "OFFICER",
      description: "Existing debt",
      levels: [
        { level: "NONE", points: 5, description: "no debt" },
        { level: "LOW", points: 3, description: "debt well within the household's means" },
        { level: "HIGH", points: 0, description: "heavy debt" },
      ],
    },
  ],
  grades: [
    { grade: "AAA", min_score: 90, credit_line: "50000.00" },
    { grade: "AA", min_score: 80, credit_line: "30000.00" },
    { grade: "A", min_score: 70, credit_line: "10000.00" },
    { grade: "B", min_score: 60, credit_line: "0.00" },
    { grade: "C", min_score: 0, credit_line: "0.00" },
  ],
};

// ---------- scorecard rules ----------

const abovePoints = (max: number): Bilingual => ({ zh: `超过该指标的满分 ${max} 分`, en: `above the indicator's ${max} points` });

function checkBands(bands: Band[], max: number, path: string, problems: Problem[]): void {
  if (bands.length === 0) return void problems.push({ path, message: { zh: "至少要有一个分档", en: "at least one band" } });
  if (!new D(bands[0].min).isZero()) problems.push({ path: `${path}.0.min`, message: { zh: "第一个分档须从 0 开始", en: "the first band starts at 0" } });
  for (let i = 1; i < bands.length; i++) {
    if (!new D(bands[i].min).gt(bands[i - 1].min)) problems.push({ path: `${path}.${i}.min`, message: { zh: "各分档的下限须严格递增", en: "bands go up strictly" } });
  }
  bands.forEach((b, i) => {
    if (b.points > max) problems.push({ path: `${path}.${i}.points`, message: abovePoints(max) });
  });
  if (Math.max(...bands.map((b) => b.points)) !== max) {
    problems.push({ path, message: { zh: `最高的分档须给满该指标的 ${max} 分`, en: `the best band gives the indicator's ${max} points` } });
  }
}

/** The problems with a scorecard version (empty when it may be published). */
export function validateScorecard(def: ScorecardDef): Problem[] {
  const problems: Problem[] = [];
  const total = def.indicators.reduce((s, i) => s + i.points, 0);
  if (total !== 100) problems.push({ path: "body.indicators", message: { zh: `各指标分值合计为 ${total}，应为 100`, en: `indicator points add up to ${total}, not 100` } });
  const codes = new Set<string>();
  def.indicators.forEach((ind, i) => {
    const path = `body.indicators.${i}`;
    if (codes.has(ind.code)) problems.push({ path: `${path}.code`, message: { zh: `指标 ${ind.code} 出现了两次`, en: `indicator ${ind.code} appears twice` } });
    codes.add(ind.code);
    if (ind.kind === "ASSESSED") {
      const levels = new Set<string>();
      ind.levels.forEach((l, j) => {
        if (levels.has(l.level)) problems.push({ path: `${path}.levels.${j}.level`, message: { zh: `级别 ${l.level} 出现了两次`, en: `level ${l.level} appears twice` } });
        levels.add(l.level);
        if (l.points > ind.points) problems.push({ path: `${path}.levels.${j}.points`, message: abovePoints(ind.points) });
      });
      if (ind.levels.length > 0 && Math.max(...ind.levels.map((l) => l.points)) !== ind.points) {
        problems.push({ path: `${path}.levels`, message: { zh: `最高的级别须给满该指标的 ${ind.points} 分`, en: `the best level gives the indicator's ${ind.points} points` } });
      }
    } else {
      checkBands(ind.bands, ind.points, `${path}.bands`, problems);
      if (ind.kind === "INCOME_BANDS" && ind.missing_points > ind.points) {
        problems.push({ path: `${path}.missing_points`, message: abovePoints(ind.points) });
      }
    }
  });
  const grades = [...def.grades].sort((a, b) => b.min_score - a.min_score);
  const names = new Set(def.grades.map((g) => g.grade));
  if (names.size !== def.grades.length) problems.push({ path: "body.grades", message: { zh: "每个等级只能出现一次", en: "each grade appears once" } });
  if (new Set(def.grades.map((g) => g.min_score)).size !== def.grades.length) problems.push({ path: "body.grades", message: { zh: "每个 min_score 只能出现一次", en: "each min_score appears once" } });
  if (!def.grades.some((g) => g.min_score === 0)) {
    problems.push({ path: "body.grades", message: { zh: "须有一个 min_score 为 0 的等级，使任何得分都有等级", en: "a grade with min_score 0 catches every score" } });
  }
  def.grades.forEach((g, i) => {
    if (new D(g.credit_line).gt(HOUSEHOLD_LOAN_CAP)) {
      problems.push({ path: `body.grades.${i}.credit_line`, message: { zh: `超过户均上限 ${HOUSEHOLD_LOAN_CAP} 元`, en: `above the household cap of ${HOUSEHOLD_LOAN_CAP}` } });
    }
  });
  for (let i = 1; i < grades.length; i++) {
    if (new D(grades[i].credit_line).gt(grades[i - 1].credit_line)) {
      problems.push({
        path: "body.grades",
        message: { zh: `等级 ${grades[i].grade} 的授信额度高于更好的等级 ${grades[i - 1].grade}`, en: `grade ${grades[i].grade} grants more than the better grade ${grades[i - 1].grade}` },
      });
    }
  }
  return problems;
}

/** The problems with the assessed levels sent for a scorecard (each assessed indicator once, a known level). */
export function checkAssessments(def: ScorecardDef, assessments: Record<string, Assessment>, path = "body.assessments"): Problem[] {
  const problems: Problem[] = [];
  const assessed = new Map(def.indicators.filter((i): i is AssessedIndicator => i.kind === "ASSESSED").map((i) => [i.code, i]));
  for (const code of Object.keys(assessments)) {
    if (!assessed.has(code)) problems.push({ path: `${path}.${code}`, message: { zh: `评分卡中没有需评估的指标 ${code}`, en: `the scorecard has no assessed indicator ${code}` } });
  }
  for (const [code, ind] of assessed) {
    const a = assessments[code];
    const levels = ind.levels.map((l) => l.level);
    if (!a) {
      problems.push({ path: `${path}.${code}`, message: { zh: `必填：取 ${levels.join("、")} 之一`, en: `required: one of ${levels.join(", ")}` } });
    } else if (!ind.levels.some((l) => l.level === a.level)) {
      problems.push({ path: `${path}.${code}.level`, message: { zh: `不是指标 ${code} 的级别：应取 ${levels.join("、")} 之一`, en: `not a level of ${code}: one of ${levels.join(", ")}` } });
    }
  }
  return problems;
}

// ---------- scoring ----------

function bandOf(bands: Band[], value: Dec): Band | undefined {
  let found: Band | undefined;
  for (const b of bands) if (value.gte(b.min)) found = b;
  return found;
}

const LABOUR_WORDS: Record<LabourCapacity, string> = { ORDINARY: "ordinary", SKILLED: "skilled", WEAK: "weak", NONE: "without labour capacity" };

/** Scores one indicator and says why. */
export function scoreIndicator(ind: Indicator, facts: RegisterFacts, assessments: Record<string, Assessment>): IndicatorResult {
  const base = { code: ind.code, name: ind.name, max_points: ind.points };
  if (ind.kind === "ASSESSED") {
    const a = assessments[ind.code];
    const level = a ? ind.levels.find((l) => l.level === a.level) : undefined;
    if (!a || !level) {
      return { ...base, source: ind.assessed_by, points: 0, input: { level: a?.level ?? null }, reason: "not assessed" };
    }
    return {
      ...base,
      source: ind.assessed_by,
      points: level.points,
      input: { level: level.level, evidence: a.evidence ?? null },
      reason: `${level.level}: ${level.description} → ${level.points} of ${ind.points}`,
    };
  }
  if (ind.kind === "INCOME_BANDS") {
    if (!facts.income) {
      return { ...base, source: "REGISTER", points: ind.missing_points, input: { per_capita_net_income: null, year: null }, reason: `no income recorded → ${ind.missing_points} of ${ind.points}` };
    }
    const value = new D(facts.income.per_capita_net_income);
    const band = bandOf(ind.bands, value);
    const input = { per_capita_net_income: Money.format(value), year: facts.income.year };
    if (!band) return { ...base, source: "REGISTER", points: 0, input, reason: `per-capita net income ${Money.format(value)} (${facts.income.year}) is below every band → 0 of ${ind.points}` };
    return {
      ...base,
      source: "REGISTER",
      points: band.points,
      input,
      reason: `per-capita net income ${Money.format(value)} yuan (${facts.income.year}) is in the band from ${band.min} → ${band.points} of ${ind.points}`,
    };
  }
  let units = new D(0);
  const parts: string[] = [];
  let members = 0;
  for (const cap of LABOUR_CAPACITIES) {
    const n = facts.labour[cap] ?? 0;
    members += n;
    if (n > 0) {
      units = units.plus(new D(ind.weights[cap]).times(n));
      parts.push(`${n} ${LABOUR_WORDS[cap]}`);
    }
  }
  const input = { labour_units: units.toString(), members, ordinary: facts.labour.ORDINARY ?? 0, skilled: facts.labour.SKILLED ?? 0, weak: facts.labour.WEAK ?? 0, none: facts.labour.NONE ?? 0 };
  if (members === 0) return { ...base, source: "REGISTER", points: 0, input, reason: `no members recorded → 0 of ${ind.points}` };
  const band = bandOf(ind.bands, units);
  const points = band?.points ?? 0;
  return {
    ...base,
    source: "REGISTER",
    points,
    input,
    reason: `${parts.join(", ")} = ${units.toString()} labour units${band ? `, band from ${band.min}` : ", below every band"} → ${points} of ${ind.points}`,
  };
}

/** The grade band a score falls in (bands by min_score, highest first). */
export function gradeFor(grades: GradeBand[], score: number): GradeBand {
  const sorted = [...grades].sort((a, b) => b.min_score - a.min_score);
  const g = sorted.find((x) => score >= x.min_score);
  if (!g) throw new Error(`no grade for score ${score}`);
  return g;
}

/** Scores a household under a scorecard version: the score is the sum of the explanation's points. */
export function scoreHousehold(def: ScorecardDef, facts: RegisterFacts, assessments: Record<string, Assessment>): ScoreResult {
  const explanation = def.indicators.map((ind) => scoreIndicator(ind, facts, assessments));
  const score = explanation.reduce((s, r) => s + r.points, 0);
  if (score < 0 || score > 100) throw new Error(`score ${score} outside 0..100`);
  const grade = gradeFor(def.grades, score);
  return { score, grade: grade.grade, credit_line: Money.format(grade.credit_line), explanation };
}

// ---------- validity and credit line ----------

/** Last day a rating approved on `validFrom` is valid: `months` later, less one day (valid 12 months). */
export function validUntil(validFrom: string, months: number): string {
  return format(addDays(addMonths(parseISO(validFrom), months), -1), "yyyy-MM-dd");
}

/** Whether a stored rating is usable on a date. */
export function isValidOn(r: { status: string; valid_from: string | null; valid_until: string | null }, on: string): boolean {
  return r.status === "EFFECTIVE" && r.valid_from !== null && r.valid_until !== null && r.valid_from <= on && on <= r.valid_until;
}

/** What a reader sees as the status on a date. */
export function viewStatus(status: StoredRatingStatus, validUntilDate: string | null, today: string): RatingViewStatus {
  return status === "EFFECTIVE" && validUntilDate !== null && today > validUntilDate ? "EXPIRED" : status;
}

/** Available credit = min(line, household cap) − used, never below zero. */
export function availableCredit(line: Dec | string, used: Dec | string): Dec {
  const cap = D.min(new D(line), new D(HOUSEHOLD_LOAN_CAP));
  return Money.toFen(D.max(new D(0), cap.minus(used)));
}
