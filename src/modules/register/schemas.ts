import { DOWNLOAD_FORMATS } from "../../http/export.js";
import { Amount, CountyCode, IsoDate, ListQuery, Uuid, VillageCode, z, StatusLabel } from "../../http/zod.js";
import {
  APPROVAL_STEPS,
  HEALTH,
  HOUSEHOLD_STATUSES,
  HOUSEHOLD_TYPES,
  HOUSING,
  LABOUR,
  POVERTY_CAUSES,
  RELATIONS,
  SCHOOLING,
} from "./model.js";

export const IdParam = z.object({ id: Uuid });

// Divisions (GB/T 2260)
export const DivisionCreate = z
  .object({
    code: z.string().regex(/^(\d{6}|\d{9}|\d{12})$/, "6 (county), 9 (township) or 12 (village) digits"),
    name: z.string().trim().min(1).max(100),
  })
  .strict()
  .openapi("DivisionCreate");
export const Division = z
  .object({
    code: z.string(),
    name: z.string(),
    level: z.enum(["COUNTY", "TOWNSHIP", "VILLAGE"]),
    parent_code: z.string().nullable(),
    county_code: z.string(),
  })
  .openapi("Division");
export const DivisionQuery = ListQuery.extend({
  level: z.enum(["COUNTY", "TOWNSHIP", "VILLAGE"]).optional(),
  parent_code: z.string().regex(/^\d{6,9}$/).optional(),
  county_code: CountyCode.optional(),
});
export const DivisionList = z.object({ items: z.array(Division), next_cursor: z.string().nullable() }).openapi("DivisionList");

// Members
export const Phone = z.string().regex(/^1\d{10}$|^0\d{9,11}$/, "a mainland mobile (11 digits) or landline number");
export const MemberCreate = z
  .object({
    name: z.string().trim().min(1).max(50),
    id_number: z.string().min(1).max(20).openapi({ description: "18-character resident ID number (GB 11643)", example: "46903019800101001X" }),
    relation: z.enum(RELATIONS),
    health: z.enum(HEALTH).default("HEALTHY"),
    labour_capacity: z.enum(LABOUR).default("ORDINARY"),
    schooling: z.enum(SCHOOLING).default("NOT_IN_SCHOOL"),
    on_dibao: z.boolean().default(false),
    on_tekun: z.boolean().default(false),
  })
  .strict()
  .openapi("MemberCreate");
export const Member = z
  .object({
    id: Uuid,
    household_id: Uuid,
    name: z.string(),
    id_number: z.string().openapi({ description: "Masked (469030********123X) unless your role may see it whole" }),
    id_number_masked: z.boolean(),
    relation: z.enum(RELATIONS),
    sex: z.enum(["M", "F"]),
    birth_date: IsoDate,
    health: z.enum(HEALTH),
    labour_capacity: z.enum(LABOUR),
    schooling: z.enum(SCHOOLING),
    on_dibao: z.boolean(),
    on_tekun: z.boolean(),
  })
  .openapi("Member");
export const MemberList = z.object({ items: z.array(Member), next_cursor: z.string().nullable() }).openapi("MemberList");

// Households
const Income = z.object({ year: z.number().int().min(2000).max(2100), net_income: Amount }).strict();
export const HouseholdCreate = z
  .object({
    village_code: VillageCode,
    household_type: z.enum(HOUSEHOLD_TYPES),
    status: z.enum(["POOR", "MONITORED"]).default("POOR").openapi({ description: "New registrations are POOR or MONITORED; other statuses come through status changes" }),
    status_since: IsoDate.optional(),
    main_cause: z.enum(POVERTY_CAUSES),
    secondary_causes: z.array(z.enum(POVERTY_CAUSES)).max(2).default([]),
    housing_safety: z.enum(HOUSING).default("SAFE"),
    phone: Phone.optional(),
    bank_account: z.string().regex(/^\d{12,25}$/, "12 to 25 digits").optional(),
    bank_name: z.string().max(100).optional(),
    members: z.array(MemberCreate).min(1).max(30).openapi({ description: "Exactly one with relation HEAD" }),
    incomes: z.array(Income).max(20).default([]),
  })
  .strict()
  .openapi("HouseholdCreate");
export const HouseholdPatch = z
  .object({
    version: z.number().int().optional().openapi({ description: "If given, the update applies only to this version (409 otherwise)" }),
    household_type: z.enum(HOUSEHOLD_TYPES).optional(),
    main_cause: z.enum(POVERTY_CAUSES).optional(),
    secondary_causes: z.array(z.enum(POVERTY_CAUSES)).max(2).optional(),
    housing_safety: z.enum(HOUSING).optional(),
    phone: Phone.nullable().optional(),
    bank_account: z.string().regex(/^\d{12,25}$/, "12 to 25 digits").nullable().optional(),
    bank_name: z.string().max(100).nullable().optional(),
    incomes: z.array(Income).max(20).optional().openapi({ description: "Upserts the given years" }),
  })
  .strict()
  .openapi("HouseholdPatch");
export const HouseholdIncome = z.object({ year: z.number().int(), net_income: Amount, per_capita_net_income: Amount });
export const Household = z
  .object({
    id: Uuid,
    household_no: z.string(),
    county_code: z.string(),
    township_code: z.string(),
    village_code: z.string(),
    household_type: z.enum(HOUSEHOLD_TYPES),
    status: z.enum(HOUSEHOLD_STATUSES),
    status_label: StatusLabel,
    status_since: IsoDate,
    exit_date: IsoDate.nullable(),
    main_cause: z.enum(POVERTY_CAUSES),
    secondary_causes: z.array(z.enum(POVERTY_CAUSES)),
    housing_safety: z.enum(HOUSING),
    head_name: z.string().nullable(),
    member_count: z.number().int(),
    phone: z.string().nullable(),
    bank_account: z.string().nullable(),
    bank_name: z.string().nullable(),
    pii_masked: z.boolean(),
    version: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    members: z.array(Member).optional(),
    incomes: z.array(HouseholdIncome).optional(),
  })
  .openapi("Household");
export const HouseholdQuery = ListQuery.extend({
  county_code: CountyCode.optional(),
  township_code: z.string().regex(/^\d{9}$/).optional(),
  village_code: VillageCode.optional(),
  status: z.enum(HOUSEHOLD_STATUSES).optional(),
  household_type: z.enum(HOUSEHOLD_TYPES).optional(),
  main_cause: z.enum(POVERTY_CAUSES).optional(),
  cause: z.enum(POVERTY_CAUSES).optional().openapi({ description: "Main or secondary cause" }),
  id_number: z.string().max(20).optional().openapi({ description: "Find the household of a member by ID number (exact)" }),
});
/** The register download: the list's filters (not the lookup by ID number), no pages, a format. */
export const HouseholdExportQuery = HouseholdQuery.omit({ limit: true, cursor: true, id_number: true, cause: true }).extend({ format: z.enum(DOWNLOAD_FORMATS).default("xlsx") });
export const HouseholdList = z.object({ items: z.array(Household), next_cursor: z.string().nullable() }).openapi("HouseholdList");

// Status changes
export const StatusChangeCreate = z
  .object({
    to_status: z.enum(HOUSEHOLD_STATUSES),
    effective_date: IsoDate,
    reason: z.string().trim().min(2).max(1000),
    approvals: z
      .array(z.object({ step: z.enum(APPROVAL_STEPS), date: IsoDate, by: z.string().trim().min(1).max(100), note: z.string().max(500).optional() }).strict())
      .min(1)
      .max(10),
    notice_start: IsoDate.optional(),
    notice_end: IsoDate.optional(),
  })
  .strict()
  .openapi("StatusChangeCreate");
export const StatusChange = z
  .object({
    id: Uuid,
    household_id: Uuid,
    from_status: z.enum(HOUSEHOLD_STATUSES),
    to_status: z.enum(HOUSEHOLD_STATUSES),
    effective_date: IsoDate,
    reason: z.string(),
    approvals: z.array(z.object({ step: z.string(), date: z.string(), by: z.string(), note: z.string().optional() })),
    notice_start: IsoDate.nullable(),
    notice_end: IsoDate.nullable(),
    actor_id: Uuid,
    source: z.enum(["API", "IMPORT"]).openapi({ description: "API: recorded with its approvals; IMPORT: taken from the national system's register file (approvals empty, `import_id` the import)" }),
    import_id: Uuid.nullable(),
    created_at: z.string(),
  })
  .openapi("StatusChange");
export const StatusChangeList = z.object({ items: z.array(StatusChange), next_cursor: z.string().nullable() }).openapi("StatusChangeList");

// Register imports (建档立卡数据导入)
export const RegisterImportCreate = z
  .object({
    file_name: z.string().trim().min(1).max(200).openapi({ example: "琼中县建档立卡2025.xlsx" }),
    content_base64: z
      .string()
      .min(4)
      .regex(/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/, "the file's bytes in base64")
      .openapi({ description: "The file itself (CSV in UTF-8 or GB18030, or XLSX), base64-encoded; the format is read from its bytes" }),
    dry_run: z.boolean().openapi({ description: "true: check every row and change nothing; false: apply all or nothing" }),
    county_code: CountyCode.optional().openapi({ description: "Only for an admin of several counties: the county of the file" }),
  })
  .strict()
  .openapi("RegisterImportCreate");
export const ImportProblem = z
  .object({
    row: z.number().int().openapi({ description: "Row in the sheet (the header is row 1)" }),
    column: z.string().openapi({ example: "证件号码" }),
    code: z.string().openapi({ example: "INVALID_ID_NUMBER" }),
    message: z.string().openapi({ example: "证件号码校验码不符（GB 11643，ISO 7064 MOD 11-2）" }),
  })
  .openapi("RegisterImportProblem");
export const RegisterImport = z
  .object({
    id: Uuid,
    county_code: z.string(),
    village_code: z.string().nullable().openapi({ description: "The village of a village officer's import; null for a county admin's" }),
    file_name: z.string(),
    file_format: z.enum(["CSV", "XLSX"]),
    dry_run: z.boolean(),
    status: z.enum(["CHECKED", "HAS_PROBLEMS", "REJECTED", "APPLIED"]).openapi({
      description: "CHECKED: dry run, no problem; HAS_PROBLEMS: dry run with problems; REJECTED: applied with problems, nothing changed; APPLIED: written",
    }),
    rows: z.number().int(),
    households: z.number().int(),
    problem_rows: z.number().int(),
    problem_count: z.number().int(),
    outcome: z
      .object({
        households_added: z.number().int(),
        households_updated: z.number().int(),
        people_added: z.number().int(),
        people_updated: z.number().int(),
        people_unchanged: z.number().int(),
        status_changes: z.number().int(),
      })
      .nullable()
      .openapi({ description: "What the file changes (a dry run: would change); null when a row has a problem" }),
    created_by: Uuid,
    created_at: z.string(),
    errors_xlsx: z.string().nullable().openapi({ description: "Where the workbook of the rows with problems is, when there are any" }),
    problems: z.array(ImportProblem).optional().openapi({ description: "Every problem of every row, by row then column (not in lists)" }),
  })
  .openapi("RegisterImport");
export const RegisterImportList = z.object({ items: z.array(RegisterImport), next_cursor: z.string().nullable() }).openapi("RegisterImportList");
export const RegisterImportQuery = ListQuery.extend({ status: z.enum(["CHECKED", "HAS_PROBLEMS", "REJECTED", "APPLIED"]).optional() });
