import { Amount, CountyCode, IsoDate, ListQuery, Uuid, VillageCode, z, StatusLabel } from "../../http/zod.js";
import { FIVE_CHECKS, LABOUR_CAPACITIES, RATING_VIEW_STATUSES } from "./model.js";

export const IdParam = z.object({ id: Uuid });

const Code = z.string().regex(/^[A-Z][A-Z0-9_]{1,31}$/, "upper-case code, e.g. CREDIT_RECORD");
const Points = z.number().int().min(0).max(100);
const BandMin = z.string().regex(/^\d{1,12}(\.\d{1,2})?$/, "a non-negative decimal string, e.g. \"4000.00\"");

// ---------- scorecards ----------

const Level = z.object({ level: Code, points: Points, description: z.string().trim().min(1).max(200) }).strict();
const Band = z.object({ min: BandMin.openapi({ description: "Inclusive lower bound" }), points: Points }).strict();
const IndicatorBase = {
  code: Code,
  name: z.string().trim().min(1).max(50),
  points: Points.openapi({ description: "Maximum points of the indicator; all indicators add up to 100" }),
  description: z.string().max(300).optional(),
};
const AssessedIndicator = z
  .object({
    ...IndicatorBase,
    kind: z.literal("ASSESSED"),
    assessed_by: z.enum(["OFFICER", "VILLAGE_REVIEW"]).openapi({ description: "Who assesses the level: the loan officer, or the village review (村评议)" }),
    levels: z.array(Level).min(2).max(10),
  })
  .strict()
  .openapi("AssessedIndicator", { description: "Levels assessed with evidence by the loan officer or the village review" });
const IncomeIndicator = z
  .object({
    ...IndicatorBase,
    kind: z.literal("INCOME_BANDS"),
    bands: z.array(Band).min(1).max(20).openapi({ description: "Bands over the per-capita net income (yuan) of the latest year in the register" }),
    missing_points: Points.default(0).openapi({ description: "Points when the register has no income record" }),
  })
  .strict()
  .openapi("IncomeIndicator");
const Weight = z.string().regex(/^\d{1,2}(\.\d{1,2})?$/, "a decimal weight, e.g. \"0.5\"");
const LabourIndicator = z
  .object({
    ...IndicatorBase,
    kind: z.literal("LABOUR_BANDS"),
    weights: z.object({ ORDINARY: Weight, SKILLED: Weight, WEAK: Weight, NONE: Weight }).strict().openapi({ description: "Labour units per member by labour capacity" }),
    bands: z.array(Band).min(1).max(20).openapi({ description: "Bands over the household's labour units" }),
  })
  .strict()
  .openapi("LabourIndicator");
const Indicator = z.discriminatedUnion("kind", [AssessedIndicator, IncomeIndicator, LabourIndicator]);
const GradeBand = z
  .object({
    grade: z.string().regex(/^[A-Z]{1,4}[+-]?$/, "e.g. AAA"),
    min_score: Points,
    credit_line: Amount.openapi({ description: "Credit line (授信额度) granted at this grade" }),
  })
  .strict();

export const ScorecardCreate = z
  .object({
    county_code: CountyCode,
    name: z.string().trim().min(1).max(100),
    validity_months: z.number().int().min(1).max(60).default(12).openapi({ description: "How long an approved rating stays effective" }),
    indicators: z.array(Indicator).min(1).max(20),
    grades: z.array(GradeBand).min(1).max(10),
  })
  .strict()
  .openapi("ScorecardCreate", { description: "A new scorecard version for a county: indicator points add up to 100; grade bands with their credit lines" });

export const Scorecard = z
  .object({
    id: Uuid,
    county_code: z.string(),
    version: z.number().int(),
    name: z.string(),
    validity_months: z.number().int(),
    indicators: z.array(Indicator),
    grades: z.array(z.object({ grade: z.string(), min_score: z.number().int(), credit_line: Amount })),
    created_by: Uuid.nullable(),
    created_at: z.string(),
  })
  .openapi("Scorecard");
export const ScorecardQuery = ListQuery.extend({ county_code: CountyCode.optional() });
export const ScorecardList = z.object({ items: z.array(Scorecard), next_cursor: z.string().nullable() }).openapi("ScorecardList");

// ---------- ratings ----------

const Check = z
  .object({
    date: IsoDate,
    by: z.string().trim().min(1).max(100).openapi({ description: "Who did the check" }),
    note: z.string().trim().min(2).max(1000).openapi({ description: "What was checked and found" }),
  })
  .strict();
export const FiveChecks = z
  .object(Object.fromEntries(FIVE_CHECKS.map((c) => [c, Check])) as Record<(typeof FIVE_CHECKS)[number], typeof Check>)
  .strict()
  .openapi("FiveChecks", {
    description: "五验: documents (验证件), neighbours (访邻居), phone (电话核实), cross-team (交叉复核), repeat question (重复提问); every one recorded",
  });
export const VillageReview = z
  .object({
    date: IsoDate,
    reviewed_by: z.string().trim().min(1).max(100).openapi({ description: "The village review body, e.g. 新市村评议小组" }),
    note: z.string().trim().min(2).max(1000),
  })
  .strict()
  .openapi("VillageReview", { description: "村级评议: the village review that assessed law-abidance and neighbours' view" });
const AssessmentInput = z
  .object({ level: Code, evidence: z.string().trim().min(2).max(1000).optional() })
  .strict();
export const Assessments = z
  .record(Code, AssessmentInput)
  .openapi({ description: "Level of each assessed indicator of the county's current scorecard, by indicator code, e.g. {\"CREDIT_RECORD\": {\"level\": \"CLEAN\", \"evidence\": \"征信报告无不良\"}}" });

export const RatingCreate = z
  .object({
    assessments: Assessments,
    checks: FiveChecks,
    village_review: VillageReview,
  })
  .strict()
  .openapi("RatingCreate", { description: "The score is computed by the server from the county's current scorecard, the register and these levels; it is never sent" });

const IndicatorResult = z
  .object({
    code: z.string(),
    name: z.string(),
    source: z.enum(["OFFICER", "VILLAGE_REVIEW", "REGISTER"]),
    points: z.number().int(),
    max_points: z.number().int(),
    input: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
    reason: z.string(),
  })
  .openapi("IndicatorResult");

export const Rating = z
  .object({
    id: Uuid,
    household_id: Uuid,
    county_code: z.string(),
    village_code: z.string(),
    bank_id: Uuid,
    scorecard_version_id: Uuid,
    scorecard_version: z.number().int(),
    status: z.enum(RATING_VIEW_STATUSES).openapi({ description: "PENDING (awaiting a bank manager), EFFECTIVE, EXPIRED (effective but past valid_until), SUPERSEDED, REJECTED" }),
    status_label: StatusLabel,
    score: z.number().int().min(0).max(100),
    grade: z.string(),
    credit_line: Amount,
    explanation: z.array(IndicatorResult).openapi({ description: "Each indicator's points, the input it used and why; the score is their sum" }),
    evidence: z.object({ checks: FiveChecks, village_review: VillageReview }),
    rated_on: IsoDate,
    created_by: Uuid,
    created_at: z.string(),
    decided_by: Uuid.nullable(),
    decided_at: z.string().nullable(),
    decision_note: z.string().nullable(),
    valid_from: IsoDate.nullable(),
    valid_until: IsoDate.nullable(),
    superseded_by: Uuid.nullable(),
    superseded_on: IsoDate.nullable(),
  })
  .openapi("Rating");
export const RatingList = z.object({ items: z.array(Rating), next_cursor: z.string().nullable() }).openapi("RatingList");
export const RatingQuery = ListQuery.extend({
  status: z.enum(RATING_VIEW_STATUSES).optional(),
  county_code: CountyCode.optional(),
  village_code: VillageCode.optional(),
  household_id: Uuid.optional(),
  grade: z.string().max(8).optional(),
});

export const RatingApprove = z.object({ note: z.string().trim().max(1000).optional() }).strict().openapi("RatingApprove");
export const RatingReject = z.object({ reason: z.string().trim().min(2).max(1000) }).strict().openapi("RatingReject");

export const CreditLineQuery = z.object({ as_of: IsoDate.optional().openapi({ description: "Business date (default today)" }) });
export const CreditLine = z
  .object({
    household_id: Uuid,
    as_of: IsoDate,
    status: z.enum(["EFFECTIVE", "EXPIRED", "NONE"]).openapi({ description: "Whether the household has a rating valid on as_of; EXPIRED and NONE grant no line" }),
    grade: z.string().nullable(),
    line: Amount.openapi({ description: "Credit line (授信额度) of the valid rating; 0.00 without one" }),
    used: Amount.openapi({ description: "Outstanding principal of the household's disbursed and extended poverty loans (all members, all banks)" }),
    available: Amount.openapi({ description: "min(line, 50,000 household cap) − used, not below 0" }),
    valid_until: IsoDate.nullable(),
    rating_id: Uuid.nullable(),
    bank_id: Uuid.nullable().openapi({ description: "Bank whose manager approved the rating (granting bank)" }),
  })
  .openapi("CreditLine");

// ---------- bulk ----------

export const BulkRow = z
  .object({
    household_id: z.string().openapi({ description: "Household id (UUID)" }),
    assessments: z.record(z.string(), z.union([z.string(), AssessmentInput])).openapi({ description: "Level per assessed indicator: \"CLEAN\" or {level, evidence}" }),
    checks: FiveChecks.optional().openapi({ description: "Overrides the request's checks for this household" }),
    village_review: VillageReview.optional(),
  })
  .strict();
export const BulkRate = z
  .object({
    village_code: VillageCode.optional().openapi({ description: "If given, every row must be a household of this village" }),
    checks: FiveChecks.optional().openapi({ description: "The five checks of the whole-village rating session (整村授信), unless a row brings its own" }),
    village_review: VillageReview.optional().openapi({ description: "The village review meeting of the session, unless a row brings its own" }),
    rows: z.array(z.unknown()).max(20000).optional().openapi({ description: "JSON rows: {household_id, assessments, checks?, village_review?}" }),
    csv: z
      .string()
      .max(5_000_000)
      .optional()
      .openapi({
        description:
          "CSV instead of rows: a header `household_id,<INDICATOR_CODE>,...` (one column per assessed indicator of the scorecard, each cell a level), then one line per household; UTF-8, comma-separated, double quotes for fields with commas",
        example: "household_id,CREDIT_RECORD,PROJECT,ASSETS,REPUTATION,DEBT\n2b1c6a0e-8f7e-4a53-9a52-0c3c9b7d5e11,CLEAN,RUNNING,MEDIUM,GOOD,NONE",
      }),
  })
  .strict()
  .refine((b) => (b.rows === undefined) !== (b.csv === undefined), { message: "send either rows or csv", path: ["rows"] })
  .openapi("BulkRate");
export const BulkResult = z
  .object({
    created: z.number().int(),
    rejected: z.number().int(),
    results: z.array(
      z.object({
        row: z.number().int().openapi({ description: "1-based row number (CSV: data line number, header excluded)" }),
        household_id: z.string().nullable(),
        outcome: z.enum(["CREATED", "REJECTED"]),
        rating_id: Uuid.optional(),
        score: z.number().int().optional(),
        grade: z.string().optional(),
        credit_line: Amount.optional(),
        errors: z
          .array(z.object({ path: z.string(), message: z.string().openapi({ description: "In the language of the answer (Chinese by default, English with Accept-Language: en)" }) }))
          .optional(),
      }),
    ),
  })
  .openapi("BulkRateResult");

// ---------- summary ----------

export const SummaryQuery = z.object({
  county_code: CountyCode,
  as_of: IsoDate.optional().openapi({ description: "Business date (default today)" }),
});
export const Summary = z
  .object({
    county_code: z.string(),
    as_of: IsoDate,
    scope: z.enum(["COUNTY", "BANK", "VILLAGE"]).openapi({ description: "Bank staff see their bank's ratings; village officers their village" }),
    eligible_households: z.number().int().openapi({ description: "Households POOR, EXITED or MONITORED" }),
    households_rated: z.number().int().openapi({ description: "Eligible households with a rating valid on as_of" }),
    rated_share: z.string().openapi({ description: "households_rated / eligible_households, 4 places", example: "0.6250" }),
    lines_granted: Amount.openapi({ description: "授信总额: sum of the credit lines of the valid ratings" }),
    households_with_line: z.number().int().openapi({ description: "Valid ratings with a line above 0" }),
    pending: z.number().int(),
    expired: z.number().int().openapi({ description: "Households whose latest approved rating has expired" }),
    by_grade: z.array(z.object({ grade: z.string(), households: z.number().int(), lines: Amount })),
  })
  .openapi("RatingSummary");
