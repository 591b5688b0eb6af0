import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, forbidden, notFound, registerErrorCodes } from "../../http/errors.js";
import { page } from "../../http/pagination.js";
import { appendAudit, type AuditRecord } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { D, Money, Rate } from "../../lib/money.js";
import { type Bilingual, joinedMessages } from "../../lib/i18n.js";
import { parsePeriod } from "./model.js";
import {
  ASSET_STATUS_ZH,
  type AssetStatus,
  type ChangeKind,
  checkContract,
  checkRightsSeparate,
  contractMinimum,
  type Problem,
  REPORT_STATUS_ZH,
  statusChangeAllowed,
} from "./model.js";
import {
  type AssetRow,
  assetsQuery,
  beneficiaryHouseholdsOf,
  beneficiaryVillagesOf,
  findAsset,
  findReport,
  fundingOf,
  historyOf,
  type ReportRow,
  reportsQuery,
} from "./queries.js";
import type { AssetCreate, AssetPatch, AssetQuery, ReturnReportConfirm, ReturnReportCreate, ReturnReportDispute, ReturnReportQuery } from "./schemas.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  RIGHTS_NOT_SEPARATE: {
    status: 422,
    title: { zh: "四权未分置", en: "Rights not separate" },
    description: { zh: "资产的所有权、经营权、收益权、监督权须由四个不同主体持有。", en: "The four rights of an asset (ownership, management, income, oversight) must be held by four different parties." },
  },
  INVALID_CONTRACT: {
    status: 422,
    title: { zh: "经营合同无效", en: "Invalid management contract" },
    description: { zh: "经营合同的条款不一致（日期、租金或分成、保底收益）。", en: "The management contract's terms are inconsistent (dates, rent or share, guaranteed minimum)." },
  },
  REPORT_EXISTS: {
    status: 409,
    title: { zh: "收益申报已存在", en: "Report exists" },
    description: { zh: "该资产此期间的收益申报已提交或已确认；有异议的可重新提交。", en: "A return report for this asset and period is already submitted or confirmed; a disputed one may be resubmitted." },
  },
  PERIOD_NOT_ENDED: {
    status: 422,
    title: { zh: "期间未结束", en: "Period not ended" },
    description: { zh: "收益申报的期间须已结束且在经营合同期内。", en: "A return report covers a period that has ended and lies within the management contract." },
  },
  BELOW_CONTRACT_MINIMUM: {
    status: 422,
    title: { zh: "低于合同保底", en: "Below the contract minimum" },
    description: { zh: "应付金额低于合同对该期间的保证（固定租金或保底收益率）。", en: "The amount payable is below what the contract guarantees for the period (fixed rent or guaranteed minimum rate)." },
  },
});

/** Assets are registered and changed by the county (admin); the oversight department (regulator) and others read. */
const ASSET_WRITERS = ["admin"] as const;
const ASSET_READERS = ["admin", "regulator", "finance_officer", "village_officer", "operator"] as const;

// ---------- views ----------

function iso(v: Date | string | null): string | null {
  return v === null ? null : new Date(v).toISOString();
}

type Related = {
  funding: { asset_id: string; source: string; amount: string; note: string | null }[];
  villages: { asset_id: string; village_code: string }[];
  households: { asset_id: string; household_id: string }[];
};

async function relatedOf(db: Db, ids: string[]): Promise<Related> {
  return { funding: await fundingOf(db, ids), villages: await beneficiaryVillagesOf(db, ids), households: await beneficiaryHouseholdsOf(db, ids) };
}

export function assetView(a: AssetRow, rel: Related, history?: Record<string, unknown>[]) {
  const funding = rel.funding.filter((f) => f.asset_id === a.id);
  return {
    id: a.id,
    county_code: a.county_code,
    name: a.name,
    asset_type: a.asset_type,
    book_value: Money.format(a.book_value),
    build_date: a.build_date,
    status: a.status,
    status_since: a.status_since,
    funding_sources: funding.map((f) => ({ source: f.source, amount: Money.format(f.amount), note: f.note })),
    funding_total: Money.format(Money.sum(funding.map((f) => f.amount))),
    rights: {
      ownership: { holder: "VILLAGE_COLLECTIVE" as const, village_code: a.village_code, village_name: a.village_name },
      management: {
        holder: "OPERATOR" as const,
        operator_id: a.operator_id,
        operator_name: a.operator_name,
        form: a.management_form,
        contract_start: a.contract_start,
        contract_end: a.contract_end,
        return_terms: a.return_terms,
        annual_rent: a.annual_rent === null ? null : Money.format(a.annual_rent),
        net_income_share: a.net_income_share === null ? null : Rate.format(a.net_income_share),
        guaranteed_min_rate: Rate.format(a.guaranteed_min_rate),
      },
      income: {
        holder: "HOUSEHOLDS" as const,
        scheme: a.income_scheme,
        village_codes: rel.villages.filter((v) => v.asset_id === a.id).map((v) => v.village_code),
        household_ids: rel.households.filter((h) => h.asset_id === a.id).map((h) => h.household_id),
      },
      oversight: { holder: "DEPARTMENT" as const, body: a.oversight_body, division_code: a.oversight_division_code },
    },
    version: a.version,
    created_at: iso(a.created_at)!,
    updated_at: iso(a.updated_at)!,
    ...(history
      ? {
          history: history.map((c) => ({
            id: c.id,
            kind: c.kind,
            effective_date: c.effective_date,
            reason: c.reason,
            before: c.before ?? null,
            after: c.after,
            actor_id: c.actor_id,
            created_at: iso(c.created_at as Date),
          })),
        }
      : {}),
  };
}

export function reportView(r: ReportRow) {
  return {
    id: r.id,
    asset_id: r.asset_id,
    village_code: r.village_code,
    operator_id: r.operator_id,
    period: r.period,
    period_start: r.period_start,
    period_end: r.period_end,
    revenue: Money.format(r.revenue),
    costs: Money.format(r.costs),
    net_income: Money.format(r.net_income),
    amount_payable: Money.format(r.amount_payable),
    contract_minimum: Money.format(r.contract_minimum),
    attachments: r.attachments,
    note: r.note,
    status: r.status,
    resubmits_id: r.resubmits_id,
    dispute_reason: r.dispute_reason,
    submitted_by: r.submitted_by,
    submitted_at: iso(r.submitted_at)!,
    reviewed_by: r.reviewed_by,
    reviewed_at: iso(r.reviewed_at),
    distribution_id: r.distribution_id ?? null,
  };
}

// ---------- checks shared by create and patch ----------

type ManagementInput = z.infer<typeof AssetCreate>["management"];
type IncomeInput = z.infer<typeof AssetCreate>["income_rights"];
type OversightInput = z.infer<typeof AssetCreate>["oversight"];

async function villageName(trx: Knex.Transaction, actor: Actor, code: string, path: string): Promise<string> {
  const v = await trx("divisions").where({ code, level: "VILLAGE" }).whereIn("county_code", actor.countyCodes).first<{ name: string } | undefined>();
  if (!v) throw new AppError("VALIDATION_FAILED", { zh: `村 ${code} 未在您管辖的县登记`, en: `Village ${code} is not registered in your counties` }, [{ path, message: UNKNOWN_VILLAGE }]);
  return v.name;
}

async function operatorName(trx: Knex.Transaction, countyCode: string, id: string): Promise<string> {
  const o = await trx("operators").where({ id, county_code: countyCode }).first<{ name: string } | undefined>();
  if (!o) {
    throw new AppError("VALIDATION_FAILED", { zh: "该经营主体未在资产所在县登记", en: "The operator is not registered in the asset's county" }, [
      { path: "body.management.operator_id", message: { zh: "未知的经营主体", en: "unknown operator" } },
    ]);
  }
  return o.name;
}

function contractProblems(m: ManagementInput, bookValue: string) {
  return checkContract({
    returnTerms: m.return_terms,
    annualRent: m.annual_rent ?? null,
    netIncomeShare: m.net_income_share ?? null,
    guaranteedMinRate: m.guaranteed_min_rate,
    bookValue,
    contractStart: m.contract_start,
    contractEnd: m.contract_end,
  });
}

async function checkIncomeRights(trx: Knex.Transaction, countyCode: string, i: IncomeInput): Promise<void> {
  if (i.scheme === "VILLAGES") {
    if (i.village_codes.length === 0 || i.household_ids.length > 0) {
      throw new AppError("VALIDATION_FAILED", { zh: "按村受益（VILLAGES）须列出受益村，不列农户", en: "A VILLAGES scheme names its beneficiary villages (and no households)" }, [
        { path: "body.income_rights.village_codes", message: { zh: "至少一个村，且不填 household_ids", en: "at least one village, no household_ids" } },
      ]);
    }
    const found = await trx("divisions").whereIn("code", i.village_codes).where({ level: "VILLAGE", county_code: countyCode }).count<{ n: number }[]>({ n: "*" });
    if (Number(found[0].n) !== new Set(i.village_codes).size) {
      throw new AppError("VALIDATION_FAILED", { zh: "有受益村未在资产所在县登记", en: "A beneficiary village is not registered in the asset's county" }, [
        { path: "body.income_rights.village_codes", message: UNKNOWN_VILLAGE },
      ]);
    }
  } else {
    if (i.household_ids.length === 0 || i.village_codes.length > 0) {
      throw new AppError("VALIDATION_FAILED", { zh: "按户受益（HOUSEHOLDS）须列出受益农户，不列村", en: "A HOUSEHOLDS scheme names its households (and no villages)" }, [
        { path: "body.income_rights.household_ids", message: { zh: "至少一户，且不填 village_codes", en: "at least one household, no village_codes" } },
      ]);
    }
    const found = await trx("households").whereIn("id", i.household_ids).where({ county_code: countyCode }).whereNot({ status: "REMOVED" }).count<{ n: number }[]>({ n: "*" });
    if (Number(found[0].n) !== new Set(i.household_ids).size) {
      throw new AppError("VALIDATION_FAILED", { zh: "所列农户中有未在资产所在县登记（或已清退）的", en: "A named household is not registered (or removed) in the asset's county" }, [
        { path: "body.income_rights.household_ids", message: { zh: "未知的农户", en: "unknown household" } },
      ]);
    }
  }
}

async function writeIncomeRights(trx: Knex.Transaction, assetId: string, countyCode: string, i: IncomeInput): Promise<void> {
  await trx("asset_beneficiary_villages").where({ asset_id: assetId }).delete();
  await trx("asset_beneficiary_households").where({ asset_id: assetId }).delete();
  const villages = [...new Set(i.village_codes)];
  const households = [...new Set(i.household_ids)];
  if (villages.length) await trx("asset_beneficiary_villages").insert(villages.map((v) => ({ asset_id: assetId, village_code: v, county_code: countyCode })));
  for (let k = 0; k < households.length; k += 1000) {
    await trx("asset_beneficiary_households").insert(households.slice(k, k + 1000).map((h) => ({ asset_id: assetId, household_id: h, county_code: countyCode })));
  }
}

async function writeFunding(trx: Knex.Transaction, assetId: string, countyCode: string, f: z.infer<typeof AssetCreate>["funding_sources"]): Promise<void> {
  await trx("asset_funding_sources").where({ asset_id: assetId }).delete();
  await trx("asset_funding_sources").insert(f.map((s, i) => ({ asset_id: assetId, position: i + 1, county_code: countyCode, source: s.source, amount: s.amount, note: s.note ?? null })));
}

const UNKNOWN_VILLAGE: Bilingual = { zh: "未知的村", en: "unknown village" };
const ANOTHER_COUNTY: Bilingual = { zh: "属于其他县", en: "another county" };

/** The problems' messages as one detail, in each language. */
function rightsProblem(problems: Problem[]): void {
  if (problems.length) throw new AppError("RIGHTS_NOT_SEPARATE", joinedMessages(problems), problems);
}

function contractProblem(problems: Problem[]): void {
  if (problems.length) throw new AppError("INVALID_CONTRACT", joinedMessages(problems), problems);
}

function oversightElsewhere(): AppError {
  return new AppError("VALIDATION_FAILED", { zh: "监管单位须位于资产所在县", en: "The oversight body sits in the asset's county" }, [
    { path: "body.oversight.division_code", message: ANOTHER_COUNTY },
  ]);
}

// ---------- assets ----------

export async function createAsset(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof AssetCreate>) {
  requireRole(ctx.actor, ...ASSET_WRITERS);
  const county = input.village_code.slice(0, 6);
  if (!ctx.actor.countyCodes.includes(county)) throw notFound("village");
  const vName = await villageName(trx, ctx.actor, input.village_code, "body.village_code");
  const oName = await operatorName(trx, county, input.management.operator_id);
  if (input.oversight.division_code.slice(0, 6) !== county) throw oversightElsewhere();
  contractProblem(contractProblems(input.management, input.book_value));
  rightsProblem(checkRightsSeparate({ villageName: vName, operatorName: oName, oversightBody: input.oversight.body }));
  await checkIncomeRights(trx, county, input.income_rights);
  const m = input.management;
  const now = ctx.clock.now();
  const [row] = await trx("assets")
    .insert({
      county_code: county,
      village_code: input.village_code,
      name: input.name,
      asset_type: input.asset_type,
      book_value: input.book_value,
      build_date: input.build_date,
      status: input.status,
      status_since: ctx.clock.today(),
      operator_id: m.operator_id,
      management_form: m.form,
      contract_start: m.contract_start,
      contract_end: m.contract_end,
      return_terms: m.return_terms,
      annual_rent: m.annual_rent ?? null,
      net_income_share: m.net_income_share ?? null,
      guaranteed_min_rate: m.guaranteed_min_rate,
      income_scheme: input.income_rights.scheme,
      oversight_body: input.oversight.body,
      oversight_division_code: input.oversight.division_code,
      created_by: ctx.actor.userId,
      created_at: now,
      updated_at: now,
    })
    .returning<{ id: string }[]>("id");
  await writeFunding(trx, row.id, county, input.funding_sources);
  await writeIncomeRights(trx, row.id, county, input.income_rights);
  await trx("asset_changes").insert({
    asset_id: row.id,
    county_code: county,
    kind: "CREATED",
    effective_date: ctx.clock.today(),
    reason: "registered",
    before: null,
    after: JSON.stringify(input),
    actor_id: ctx.actor.userId,
    created_at: now,
  });
  const view = await getAsset(trx, ctx, row.id);
  await appendAudit(trx, ctx, { action: "asset.create", entityType: "asset", entityId: row.id, countyCode: county, after: { ...view, history: undefined } });
  return view;
}

export async function getAsset(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...ASSET_READERS);
  const a = await findAsset(db, ctx.actor, id);
  if (!a) throw notFound("asset");
  return assetView(a, await relatedOf(db, [id]), await historyOf(db, id));
}

export async function listAssets(db: Db, ctx: Ctx, q: z.infer<typeof AssetQuery>) {
  requireRole(ctx.actor, ...ASSET_READERS);
  const query = assetsQuery(db, ctx.actor);
  if (q.village_code) query.andWhere("a.village_code", q.village_code);
  if (q.asset_type) query.andWhere("a.asset_type", q.asset_type);
  if (q.status) query.andWhere("a.status", q.status);
  if (q.operator_id) query.andWhere("a.operator_id", q.operator_id);
  const { rows, next_cursor } = await page<AssetRow & Record<string, unknown>>(query, "a.id", (r) => r.id, q.limit, q.cursor);
  const rel = await relatedOf(db, rows.map((r) => r.id));
  return { items: rows.map((a) => assetView(a, rel)), next_cursor };
}

/**
 * Changes an asset: details, status, or one of the four rights. Each changed part is one row in
 * the asset's history (before, after, reason, effective date) and one audit record.
 */
export async function patchAsset(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof AssetPatch>) {
  requireRole(ctx.actor, ...ASSET_WRITERS);
  const before = await findAsset(trx, ctx.actor, id, { forUpdate: true });
  if (!before) throw notFound("asset");
  if (input.version !== undefined && input.version !== before.version) {
    throw new AppError("CONFLICT", {
      zh: `资产已被修改（当前版本 ${before.version}，您提交的是版本 ${input.version}）；请重新加载后重试`,
      en: `The asset changed (version ${before.version}, you sent ${input.version}); reload and retry`,
    });
  }
  if (before.status === "DISPOSED") throw new AppError("INVALID_STATE", { zh: "资产已处置，不能再修改", en: "A disposed asset is closed; it cannot change" });
  const beforeView = assetView(before, await relatedOf(trx, [id]));
  const effective = input.effective_date ?? ctx.clock.today();
  if (effective > ctx.clock.today()) {
    throw new AppError("VALIDATION_FAILED", { zh: "生效日期不能晚于今天", en: "The effective date is in the future" }, [
      { path: "body.effective_date", message: { zh: "不能晚于今天", en: "not after today" } },
    ]);
  }
  const changes: { kind: ChangeKind; before: unknown; after: unknown }[] = [];
  const update: Record<string, unknown> = {};

  if (input.name !== undefined || input.book_value !== undefined || input.funding_sources !== undefined) {
    if (input.name !== undefined) update.name = input.name;
    if (input.book_value !== undefined) update.book_value = input.book_value;
    if (input.funding_sources) await writeFunding(trx, id, before.county_code, input.funding_sources);
    changes.push({
      kind: "DETAILS",
      before: { name: beforeView.name, book_value: beforeView.book_value, funding_sources: beforeView.funding_sources },
      after: {
        name: input.name ?? beforeView.name,
        book_value: input.book_value ?? beforeView.book_value,
        funding_sources: input.funding_sources ?? beforeView.funding_sources,
      },
    });
  }
  if (input.status !== undefined) {
    if (!statusChangeAllowed(before.status, input.status as AssetStatus)) {
      throw new AppError("INVALID_STATE", {
        zh: `资产状态不能从「${ASSET_STATUS_ZH[before.status]}」变为「${ASSET_STATUS_ZH[input.status as AssetStatus]}」`,
        en: `An asset cannot go from ${before.status} to ${input.status}`,
      });
    }
    if (effective < before.status_since) {
      throw new AppError("VALIDATION_FAILED", { zh: "生效日期早于当前状态的开始日期", en: "Before the current status began" }, [
        { path: "body.effective_date", message: { zh: `须为 ${before.status_since} 或之后`, en: `on or after ${before.status_since}` } },
      ]);
    }
    update.status = input.status;
    update.status_since = effective;
    changes.push({ kind: "STATUS", before: { status: before.status, status_since: before.status_since }, after: { status: input.status, status_since: effective } });
  }
  let vName = before.village_name;
  if (input.village_code !== undefined && input.village_code !== before.village_code) {
    if (input.village_code.slice(0, 6) !== before.county_code) {
      throw new AppError("VALIDATION_FAILED", { zh: "所有权只能转给同一县的村集体", en: "Ownership moves to a village collective of the same county" }, [
        { path: "body.village_code", message: ANOTHER_COUNTY },
      ]);
    }
    vName = await villageName(trx, ctx.actor, input.village_code, "body.village_code");
    update.village_code = input.village_code;
    changes.push({ kind: "OWNERSHIP", before: beforeView.rights.ownership, after: { holder: "VILLAGE_COLLECTIVE", village_code: input.village_code, village_name: vName } });
  }
  let oName = before.operator_name;
  if (input.management) {
    const m = input.management;
    oName = await operatorName(trx, before.county_code, m.operator_id);
    contractProblem(contractProblems(m, (input.book_value ?? before.book_value) as string));
    Object.assign(update, {
      operator_id: m.operator_id,
      management_form: m.form,
      contract_start: m.contract_start,
      contract_end: m.contract_end,
      return_terms: m.return_terms,
      annual_rent: m.annual_rent ?? null,
      net_income_share: m.net_income_share ?? null,
      guaranteed_min_rate: m.guaranteed_min_rate,
    });
    changes.push({ kind: "MANAGEMENT", before: beforeView.rights.management, after: { holder: "OPERATOR", operator_name: oName, ...m } });
  }
  if (input.income_rights) {
    await checkIncomeRights(trx, before.county_code, input.income_rights);
    await writeIncomeRights(trx, id, before.county_code, input.income_rights);
    update.income_scheme = input.income_rights.scheme;
    changes.push({ kind: "INCOME_RIGHTS", before: beforeView.rights.income, after: { holder: "HOUSEHOLDS", ...input.income_rights } });
  }
  if (input.oversight) {
    if (input.oversight.division_code.slice(0, 6) !== before.county_code) throw oversightElsewhere();
    update.oversight_body = input.oversight.body;
    update.oversight_division_code = input.oversight.division_code;
    changes.push({ kind: "OVERSIGHT", before: beforeView.rights.oversight, after: { holder: "DEPARTMENT", ...input.oversight } });
  }
  if (changes.length === 0) {
    throw new AppError("VALIDATION_FAILED", { zh: "没有要修改的内容", en: "Nothing to change" }, [{ path: "body", message: { zh: "请至少填写一个要修改的字段", en: "name at least one field to change" } }]);
  }
  rightsProblem(
    checkRightsSeparate({
      villageName: vName,
      operatorName: oName,
      oversightBody: (input.oversight?.body ?? before.oversight_body) as string,
    }),
  );
  const now = ctx.clock.now();
  await trx("assets")
    .where({ id })
    .update({ ...update, version: before.version + 1, updated_at: now });
  await trx("asset_changes").insert(
    changes.map((c) => ({
      asset_id: id,
      county_code: before.county_code,
      kind: c.kind,
      effective_date: effective,
      reason: input.reason,
      before: JSON.stringify(c.before),
      after: JSON.stringify(c.after),
      actor_id: ctx.actor.userId,
      created_at: now,
    })),
  );
  const audits: AuditRecord[] = changes.map((c) => ({
    action: `asset.${c.kind.toLowerCase()}`,
    entityType: "asset",
    entityId: id,
    countyCode: before.county_code,
    before: c.before,
    after: { ...(c.after as object), reason: input.reason, effective_date: effective },
  }));
  const view = await getAsset(trx, ctx, id);
  await appendAudit(trx, ctx, audits);
  return view;
}

// ---------- return reports ----------

export async function submitReport(trx: Knex.Transaction, ctx: Ctx, assetId: string, input: z.infer<typeof ReturnReportCreate>) {
  requireRole(ctx.actor, "operator");
  const a = await findAsset(trx, ctx.actor, assetId, { forUpdate: true });
  if (!a) throw notFound("asset");
  const period = parsePeriod(input.period)!;
  if (period.end >= ctx.clock.today()) {
    throw new AppError("PERIOD_NOT_ENDED", { zh: `申报期间 ${input.period} 于 ${period.end} 结束；请在期间结束后申报`, en: `The period ${input.period} ends on ${period.end}; report after it ends` });
  }
  if (period.end < a.contract_start || period.start > a.contract_end) {
    throw new AppError("PERIOD_NOT_ENDED", {
      zh: `申报期间 ${input.period} 不在经营合同期限内（${a.contract_start} 至 ${a.contract_end}）`,
      en: `The period ${input.period} lies outside the management contract (${a.contract_start} to ${a.contract_end})`,
    });
  }
  const revenue = Money.of(input.revenue);
  const costs = Money.of(input.costs);
  const net = new D(input.net_income);
  if (!revenue.minus(costs).eq(net)) {
    throw new AppError("VALIDATION_FAILED", { zh: "净收益须等于收入减成本", en: "Net income is revenue minus costs" }, [
      { path: "body.net_income", message: { zh: `应为 ${Money.format(revenue.minus(costs))}`, en: `expected ${Money.format(revenue.minus(costs))}` } },
    ]);
  }
  const minimum = contractMinimum(
    { returnTerms: a.return_terms, annualRent: a.annual_rent, netIncomeShare: a.net_income_share, guaranteedMinRate: a.guaranteed_min_rate, bookValue: a.book_value },
    period,
    net,
  );
  if (Money.of(input.amount_payable).lt(minimum)) {
    throw new AppError("BELOW_CONTRACT_MINIMUM", { zh: `合同保证 ${input.period} 的应付收益至少为 ${Money.format(minimum)} 元`, en: `The contract guarantees at least ${Money.format(minimum)} for ${input.period}` }, [
      { path: "body.amount_payable", message: { zh: `至少 ${Money.format(minimum)} 元`, en: `at least ${Money.format(minimum)}` } },
    ]);
  }
  const live = await trx("asset_return_reports").where({ asset_id: assetId, period: input.period }).whereNot({ status: "DISPUTED" }).first();
  if (live) {
    throw new AppError(
      "REPORT_EXISTS",
      { zh: `${input.period} 已有一份${REPORT_STATUS_ZH[live.status as keyof typeof REPORT_STATUS_ZH]}的收益申报（${live.id}）`, en: `A ${live.status.toLowerCase()} report for ${input.period} exists (${live.id})` },
      undefined,
      409,
    );
  }
  const disputed = await trx("asset_return_reports").where({ asset_id: assetId, period: input.period, status: "DISPUTED" }).orderBy("submitted_at", "desc").first<{ id: string } | undefined>();
  const [row] = await trx("asset_return_reports")
    .insert({
      asset_id: assetId,
      county_code: a.county_code,
      village_code: a.village_code,
      operator_id: a.operator_id,
      period: input.period,
      period_start: period.start,
      period_end: period.end,
      revenue: input.revenue,
      costs: input.costs,
      net_income: Money.format(net),
      amount_payable: input.amount_payable,
      contract_minimum: Money.format(minimum),
      attachments: JSON.stringify(input.attachments),
      note: input.note ?? null,
      status: "SUBMITTED",
      resubmits_id: disputed?.id ?? null,
      submitted_by: ctx.actor.userId,
      submitted_at: ctx.clock.now(),
    })
    .returning<{ id: string }[]>("id");
  const report = (await reportsQuery(trx).where("r.id", row.id).first()) as ReportRow;
  const view = reportView(report);
  await appendAudit(trx, ctx, { action: "asset.return_report.submit", entityType: "asset_return_report", entityId: row.id, countyCode: a.county_code, after: view });
  return view;
}

export async function listReports(db: Db, ctx: Ctx, assetId: string, q: z.infer<typeof ReturnReportQuery>) {
  requireRole(ctx.actor, ...ASSET_READERS);
  const a = await findAsset(db, ctx.actor, assetId);
  if (!a) throw notFound("asset");
  const query = reportsQuery(db).where("r.asset_id", assetId);
  if (q.period) query.andWhere("r.period", q.period);
  if (q.status) query.andWhere("r.status", q.status);
  const { rows, next_cursor } = await page<ReportRow & Record<string, unknown>>(query, "r.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(reportView), next_cursor };
}

export async function getReport(db: Db, ctx: Ctx, id: string) {
  requireRole(ctx.actor, ...ASSET_READERS);
  const r = await findReport(db, ctx.actor, id);
  if (!r) throw notFound("return report");
  return reportView(r);
}

async function reviewable(trx: Knex.Transaction, ctx: Ctx, id: string): Promise<ReportRow> {
  requireRole(ctx.actor, "village_officer");
  const r = await findReport(trx, ctx.actor, id, { forUpdate: true });
  if (!r) throw notFound("return report");
  if (r.village_code !== ctx.actor.villageCode) throw forbidden({ zh: "只有资产所属村的村干部才能确认收益申报或提出异议", en: "Only the village officer of the owning village confirms or disputes its reports" });
  if (r.status !== "SUBMITTED") {
    throw new AppError("INVALID_STATE", {
      zh: `收益申报状态为「${REPORT_STATUS_ZH[r.status]}」；只有待确认的收益申报才能确认或提出异议`,
      en: `The report is ${r.status}; only a submitted report is reviewed`,
    });
  }
  return r;
}

/** The owning village confirms the report: its amount payable becomes income a distribution may use, once. */
export async function confirmReport(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ReturnReportConfirm>) {
  const r = await reviewable(trx, ctx, id);
  await trx("asset_return_reports").where({ id }).update({ status: "CONFIRMED", reviewed_by: ctx.actor.userId, reviewed_at: ctx.clock.now(), note: input.note ?? r.note });
  const view = reportView((await reportsQuery(trx).where("r.id", id).first()) as ReportRow);
  await appendAudit(trx, ctx, { action: "asset.return_report.confirm", entityType: "asset_return_report", entityId: id, countyCode: r.county_code, before: { status: r.status }, after: view });
  return view;
}

/** The owning village disputes the report: it goes back to the operator, who resubmits. */
export async function disputeReport(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ReturnReportDispute>) {
  const r = await reviewable(trx, ctx, id);
  await trx("asset_return_reports").where({ id }).update({ status: "DISPUTED", dispute_reason: input.reason, reviewed_by: ctx.actor.userId, reviewed_at: ctx.clock.now() });
  const view = reportView((await reportsQuery(trx).where("r.id", id).first()) as ReportRow);
  await appendAudit(trx, ctx, { action: "asset.return_report.dispute", entityType: "asset_return_report", entityId: id, countyCode: r.county_code, before: { status: r.status }, after: view });
  return view;
}
