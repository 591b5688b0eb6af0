import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { z } from "zod";
import { type Actor, requireRole } from "../../http/auth.js";
import { AppError, forbidden, notFound, registerErrorCodes } from "../../http/errors.js";
import { decodeCursor, encodeCursor, page } from "../../http/pagination.js";
import { appendAudit, type AuditRecord } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { ACCOUNTS, postJournalEntry, registerPartyBalanceCheck, reverseJournalEntry, unreversedEntriesOf } from "../../lib/ledger.js";
import { D, Money, Rate } from "../../lib/money.js";
import { maskName } from "../../lib/pii.js";
import { householdScope } from "../register/index.js";
import { findAsset } from "../assets/index.js";
import {
  DEFAULT_RULE,
  type EligibilityReason,
  type IncomeSplit,
  type MultiplierReason,
  parsePeriod,
  payableFrom,
  type RuleParams,
  SplitError,
  splitIncome,
} from "./model.js";
import { type Beneficiaries, type DistributionRow, distributionScope, dividendRows, findDistribution, postPaymentBatch, writeShares } from "./queries.js";
import type {
  DistributionCreate,
  DistributionQuery,
  NoticeQuery,
  ObjectionCreate,
  ObjectionResolve,
  PayBody,
  ReturnBody,
  ReverseBody,
  RuleCreate,
  RuleQuery,
  SharesQuery,
} from "./schemas.js";

type Db = Knex | Knex.Transaction;

registerErrorCodes({
  NO_CONFIRMED_INCOME: { status: 422, title: "No confirmed income", description: "There is no confirmed return report for the asset (or the village's assets) and period." },
  INCOME_ALREADY_DISTRIBUTED: { status: 409, title: "Income already distributed", description: "The confirmed income of this period is already used by another distribution; a report's income is distributed once." },
  NO_BENEFICIARIES: { status: 422, title: "No beneficiaries", description: "No household is eligible on the reference date." },
  EARMARKS_EXCEED_INCOME: { status: 422, title: "Earmarks exceed the income", description: "Collective retention and earmarks take more than the distributable income." },
  NOTICE_PERIOD_NOT_OVER: { status: 422, title: "Notice period not over", description: "Nothing is paid before the public notice has run 7 days (payable from notice date + 7)." },
  OPEN_OBJECTIONS: { status: 409, title: "Open objections", description: "Objections to the notice must be dismissed or upheld first." },
});

const READERS = ["admin", "regulator", "finance_officer", "village_officer"] as const;
const RULE_WRITERS = ["admin"] as const;
const RUNNERS = ["admin", "village_officer"] as const;
const PAYERS = ["admin"] as const;

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

// ---------- rules ----------

interface RuleRow {
  id: string;
  county_code: string;
  scope: "ASSET" | "VILLAGE";
  asset_id: string | null;
  village_code: string | null;
  version: number;
  effective_from: string;
  collective_retention_ratio: string;
  earmarks: { name: string; kind: "FIXED" | "RATIO"; amount?: string; ratio?: string }[];
  weight_basis: "HOUSEHOLD" | "MEMBER";
  base_weight: string;
  multiplier_no_labour: string;
  multiplier_serious_illness: string;
  multiplier_dibao_tekun: string;
  transition_months: number;
  annual_cap_per_household: string | null;
  note: string | null;
  created_by: string;
  created_at: Date;
}

const num = (v: string) => new D(v).toString();

function paramsOf(r: RuleRow): RuleParams {
  return {
    collectiveRetentionRatio: num(r.collective_retention_ratio),
    earmarks: r.earmarks,
    weightBasis: r.weight_basis,
    baseWeight: num(r.base_weight),
    multiplierNoLabour: num(r.multiplier_no_labour),
    multiplierSeriousIllness: num(r.multiplier_serious_illness),
    multiplierDibaoTekun: num(r.multiplier_dibao_tekun),
    transitionMonths: r.transition_months,
    annualCapPerHousehold: r.annual_cap_per_household === null ? null : Money.format(r.annual_cap_per_household),
  };
}

export function ruleView(r: RuleRow) {
  return {
    id: r.id,
    county_code: r.county_code,
    scope: r.scope,
    asset_id: r.asset_id,
    village_code: r.village_code,
    version: r.version,
    effective_from: r.effective_from,
    collective_retention_ratio: Rate.format(r.collective_retention_ratio),
    earmarks: r.earmarks,
    weight_basis: r.weight_basis,
    base_weight: num(r.base_weight),
    multipliers: { no_labour: num(r.multiplier_no_labour), serious_illness_or_disability: num(r.multiplier_serious_illness), dibao_tekun: num(r.multiplier_dibao_tekun) },
    transition_months: r.transition_months,
    annual_cap_per_household: r.annual_cap_per_household === null ? null : Money.format(r.annual_cap_per_household),
    note: r.note,
    created_by: r.created_by,
    created_at: iso(r.created_at),
  };
}

/** A new version of the rule of an asset or a village (the versions before it stay as they were). */
export async function createRule(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof RuleCreate>) {
  requireRole(ctx.actor, ...RULE_WRITERS);
  let county: string;
  if (input.scope === "ASSET") {
    if (!input.asset_id || input.village_code) throw new AppError("VALIDATION_FAILED", "An ASSET rule names its asset_id (and no village_code)", [{ path: "body.asset_id", message: "required for scope ASSET" }]);
    const a = await findAsset(trx, ctx.actor, input.asset_id);
    if (!a) throw notFound("asset");
    county = a.county_code;
  } else {
    if (!input.village_code || input.asset_id) throw new AppError("VALIDATION_FAILED", "A VILLAGE rule names its village_code (and no asset_id)", [{ path: "body.village_code", message: "required for scope VILLAGE" }]);
    const v = await trx("divisions").where({ code: input.village_code, level: "VILLAGE" }).whereIn("county_code", ctx.actor.countyCodes).first();
    if (!v) throw notFound("village");
    county = input.village_code.slice(0, 6);
  }
  for (const [k, v] of Object.entries(input.multipliers)) {
    if (new D(v).lt(1)) throw new AppError("VALIDATION_FAILED", "Multipliers are at least 1", [{ path: `body.multipliers.${k}`, message: "≥ 1" }]);
  }
  if (new D(input.base_weight).lte(0)) throw new AppError("VALIDATION_FAILED", "The base weight is positive", [{ path: "body.base_weight", message: "> 0" }]);
  const ratios = new D(input.collective_retention_ratio).plus(Money.sum(input.earmarks.filter((e) => e.kind === "RATIO").map((e) => new D(e.ratio!))));
  if (ratios.gt(1)) throw new AppError("EARMARKS_EXCEED_INCOME", "Retention and ratio earmarks add up to more than 1", [{ path: "body.earmarks", message: "ratios ≤ 1 in all" }]);
  const target = input.scope === "ASSET" ? { asset_id: input.asset_id } : { village_code: input.village_code };
  const last = await trx("distribution_rules").where({ scope: input.scope, ...target }).max<{ v: number | null }[]>({ v: "version" });
  const [row] = await trx("distribution_rules")
    .insert({
      county_code: county,
      scope: input.scope,
      asset_id: input.asset_id ?? null,
      village_code: input.village_code ?? null,
      version: (last[0].v ?? 0) + 1,
      effective_from: input.effective_from ?? ctx.clock.today(),
      collective_retention_ratio: input.collective_retention_ratio,
      earmarks: JSON.stringify(input.earmarks),
      weight_basis: input.weight_basis,
      base_weight: input.base_weight,
      multiplier_no_labour: input.multipliers.no_labour,
      multiplier_serious_illness: input.multipliers.serious_illness_or_disability,
      multiplier_dibao_tekun: input.multipliers.dibao_tekun,
      transition_months: input.transition_months,
      annual_cap_per_household: input.annual_cap_per_household,
      note: input.note ?? null,
      created_by: ctx.actor.userId,
      created_at: ctx.clock.now(),
    })
    .returning<RuleRow[]>("*");
  const view = ruleView(row);
  await appendAudit(trx, ctx, { action: "distribution_rule.create", entityType: "distribution_rule", entityId: row.id, countyCode: county, after: view });
  return view;
}

export async function listRules(db: Db, ctx: Ctx, q: z.infer<typeof RuleQuery>) {
  requireRole(ctx.actor, ...READERS);
  const query = db("distribution_rules as r").whereIn("r.county_code", ctx.actor.countyCodes).select("r.*");
  if (ctx.actor.role === "village_officer") {
    const v = ctx.actor.villageCode ?? "";
    query.andWhere((w) => w.where("r.village_code", v).orWhereIn("r.asset_id", db("assets").where({ village_code: v }).select("id")));
  }
  if (q.asset_id) query.andWhere("r.asset_id", q.asset_id);
  if (q.village_code) query.andWhere("r.village_code", q.village_code);
  if (q.scope) query.andWhere("r.scope", q.scope);
  const { rows, next_cursor } = await page<RuleRow & Record<string, unknown>>(query, "r.id", (r) => r.id, q.limit, q.cursor);
  return { items: rows.map(ruleView), next_cursor };
}

/** The rule a distribution uses: the asset's newest version effective on the date, else the village's, else the defaults. */
async function resolveRule(db: Db, assetId: string | null, villageCode: string, referenceDate: string): Promise<{ ruleId: string | null; params: RuleParams }> {
  const newest = (q: Knex.QueryBuilder) => q.where("effective_from", "<=", referenceDate).orderBy("version", "desc").first<RuleRow | undefined>();
  const own = assetId ? await newest(db("distribution_rules").where({ scope: "ASSET", asset_id: assetId })) : undefined;
  const rule = own ?? (await newest(db("distribution_rules").where({ scope: "VILLAGE", village_code: villageCode })));
  return rule ? { ruleId: rule.id, params: paramsOf(rule) } : { ruleId: null, params: DEFAULT_RULE };
}

// ---------- views ----------

async function incomesOf(db: Db, distributionId: string) {
  return db("distribution_incomes").where({ distribution_id: distributionId }).orderBy("report_id").select<{ report_id: string; asset_id: string; amount: string; released_at: Date | null }[]>();
}

async function objectionsOf(db: Db, distributionId: string) {
  const rows = await db("distribution_objections").where({ distribution_id: distributionId }).orderBy("recorded_at").select();
  return rows.map(objectionView);
}

function objectionView(o: Record<string, unknown>) {
  return {
    id: o.id as string,
    distribution_id: o.distribution_id as string,
    household_id: (o.household_id as string | null) ?? null,
    raised_by: o.raised_by as string,
    content: o.content as string,
    status: o.status as "OPEN" | "DISMISSED" | "UPHELD",
    resolution: (o.resolution as string | null) ?? null,
    recorded_by: o.recorded_by as string,
    recorded_at: iso(o.recorded_at as Date)!,
    resolved_by: (o.resolved_by as string | null) ?? null,
    resolved_at: iso((o.resolved_at as Date | null) ?? null),
  };
}

interface ShareRow {
  household_id: string;
  household_no: string;
  head_name: string | null;
  village_code: string;
  status_at_reference: string;
  eligibility: EligibilityReason;
  exit_date: string | null;
  transition_ends: string | null;
  members: number;
  multiplier: string;
  multiplier_reason: MultiplierReason | null;
  weight: string;
  uncapped_amount: string;
  amount: string;
  capped: boolean;
  payment_status: "PENDING" | "PAID" | "FAILED" | "RETURNED";
  bank_reference: string | null;
  paid_on: string | null;
  failure_reason: string | null;
}

function shareView(s: ShareRow) {
  return {
    ...s,
    multiplier: num(s.multiplier),
    weight: num(s.weight),
    uncapped_amount: Money.format(s.uncapped_amount),
    amount: Money.format(s.amount),
  };
}

async function sharesPage(db: Db, distributionId: string, q: z.infer<typeof SharesQuery>) {
  if (q.limit === 0) return { items: [], next_cursor: null };
  // The page is cut on the shares alone (primary-key order), then joined to the register.
  const after = decodeCursor(q.cursor);
  const inner = db("distribution_shares").where("distribution_id", distributionId).select("*").orderBy("household_id").limit(q.limit + 1);
  if (q.village_code) inner.andWhere("village_code", q.village_code);
  if (after !== undefined) inner.andWhere("household_id", ">", after);
  const rows = (await db
    .from(inner.as("s"))
    .join("households as h", "h.id", "s.household_id")
    .leftJoin("household_members as head", function () {
      this.on("head.household_id", "s.household_id").andOnVal("head.relation", "HEAD");
    })
    .select("s.*", "h.household_no", "head.name as head_name")
    .orderBy("s.household_id")) as ShareRow[];
  const more = rows.length > q.limit;
  const kept = more ? rows.slice(0, q.limit) : rows;
  return { items: kept.map(shareView), next_cursor: more ? encodeCursor(kept[kept.length - 1].household_id) : null };
}

async function distributionView(db: Db, d: DistributionRow, shares?: z.infer<typeof SharesQuery>) {
  const payments = await db("distribution_shares").where({ distribution_id: d.id }).groupBy("payment_status").select("payment_status").count<{ payment_status: string; n: number }[]>({ n: "*" });
  const sharePage = shares ? await sharesPage(db, d.id, shares) : undefined;
  return {
    id: d.id,
    county_code: d.county_code,
    scope: d.scope,
    asset_id: d.asset_id,
    village_code: d.village_code,
    period: d.period,
    reference_date: d.reference_date,
    status: d.status,
    rule_id: d.rule_id,
    rule: d.rule as unknown as Record<string, unknown>,
    incomes: (await incomesOf(db, d.id)).map((i) => ({ report_id: i.report_id, asset_id: i.asset_id, amount: Money.format(i.amount) })),
    income_total: Money.format(d.income_total),
    retention_amount: Money.format(d.retention_amount),
    earmarks: d.earmarks.map((e) => ({ name: e.name, amount: Money.format(e.amount) })),
    earmarks_total: Money.format(d.earmarks_total),
    cap_excess: Money.format(d.cap_excess),
    collective_total: Money.format(d.collective_total),
    pool_amount: Money.format(d.pool_amount),
    shares_total: Money.format(d.shares_total),
    household_count: d.household_count,
    total_weight: num(d.total_weight),
    excluded: d.excluded,
    computations: d.computations,
    computed_at: iso(d.computed_at)!,
    notice_date: d.notice_date,
    payable_from: d.payable_from,
    approved_by: d.approved_by,
    approved_at: iso(d.approved_at),
    paid_total: Money.format(d.paid_total),
    returned_total: Money.format(d.returned_total),
    paid_on: d.paid_on,
    reversed_at: iso(d.reversed_at),
    reversal_reason: d.reversal_reason,
    payments: Object.fromEntries(payments.map((p) => [p.payment_status, Number(p.n)])),
    objections: await objectionsOf(db, d.id),
    version: d.version,
    ...(sharePage ? { shares: sharePage.items, shares_next_cursor: sharePage.next_cursor } : {}),
  };
}

/** The audit form of a distribution: its figures, not its shares. */
function auditShape(d: DistributionRow) {
  const { rule: _r, ...rest } = d;
  return rest;
}

// ---------- compute ----------

/** The beneficiaries of a distribution: the asset's income-rights scheme, or the village itself. */
async function beneficiariesOf(db: Db, d: Pick<DistributionRow, "scope" | "asset_id" | "village_code">): Promise<Beneficiaries> {
  if (d.scope === "VILLAGE") return { villages: [d.village_code] };
  const a = await db("assets").where({ id: d.asset_id }).first<{ income_scheme: string }>();
  if (a.income_scheme === "HOUSEHOLDS") return { assetHouseholds: d.asset_id! };
  const villages = await db("asset_beneficiary_villages").where({ asset_id: d.asset_id }).orderBy("village_code").pluck("village_code");
  return { villages };
}

/**
 * (Re)computes a DRAFT: the split of the income (model.ts), then one statement that reads
 * eligibility and weights from the register as of the reference date, allocates the pool to the
 * fen by largest remainder, applies the annual cap and writes the shares (queries.ts
 * `writeShares`; model.ts `allocateLargestRemainder` is its reference), and the totals on the
 * distribution (the schema checks that they add up).
 */
async function compute(trx: Knex.Transaction, ctx: Ctx, d: DistributionRow, incomeTotal: string): Promise<void> {
  const income = Money.of(incomeTotal);
  let split: IncomeSplit | undefined;
  let splitFailure: string | undefined;
  try {
    split = splitIncome(income, d.rule);
  } catch (err) {
    if (!(err instanceof SplitError)) throw err;
    splitFailure = err.message;
  }
  const cap = d.rule.annualCapPerHousehold === null ? null : Money.of(d.rule.annualCapPerHousehold);
  const written = await writeShares(trx, {
    countyCode: d.county_code,
    beneficiaries: await beneficiariesOf(trx, d),
    referenceDate: d.reference_date,
    rule: d.rule,
    year: d.period_year,
    distributionId: d.id,
    // When the earmarks exceed the income nothing is shared; the statement still tells whether anyone is eligible.
    pool: split?.pool ?? Money.zero,
    cap,
  });
  if (written.households === 0 && income.gt(0)) {
    throw new AppError("NO_BENEFICIARIES", `No household of the beneficiaries is eligible on ${d.reference_date} (${JSON.stringify(written.excluded)})`);
  }
  if (!split) throw new AppError("EARMARKS_EXCEED_INCOME", splitFailure ?? "the earmarks exceed the income");
  if (!new D(written.allocated).eq(split.pool)) throw new Error(`allocation does not add up: ${written.allocated} ≠ pool ${Money.format(split.pool)}`);
  const earmarksTotal = Money.sum(split.earmarks.map((e) => e.amount));
  const capExcess = new D(written.cap_excess);
  const collectiveTotal = split.retention.plus(earmarksTotal).plus(capExcess);
  const sharesTotal = new D(written.shares_total);
  if (!collectiveTotal.plus(sharesTotal).eq(income)) {
    throw new Error(`distribution does not add up: ${Money.format(collectiveTotal)} + ${Money.format(sharesTotal)} ≠ ${Money.format(income)}`);
  }
  await trx("distributions")
    .where({ id: d.id })
    .update({
      income_total: Money.format(income),
      retention_amount: Money.format(split.retention),
      earmarks: JSON.stringify(split.earmarks.map((e) => ({ name: e.name, amount: Money.format(e.amount) }))),
      earmarks_total: Money.format(earmarksTotal),
      cap_excess: Money.format(capExcess),
      collective_total: Money.format(collectiveTotal),
      pool_amount: Money.format(split.pool),
      shares_total: Money.format(sharesTotal),
      household_count: written.households,
      total_weight: written.total_weight,
      excluded: JSON.stringify(written.excluded),
      computed_at: ctx.clock.now(),
      updated_at: ctx.clock.now(),
    });
}

interface ReportPick {
  id: string;
  asset_id: string;
  amount_payable: string;
  used_by: string | null;
}

/** The confirmed reports a new distribution takes, locked; refuses income already used. */
async function takeIncome(trx: Knex.Transaction, scope: "ASSET" | "VILLAGE", target: string, period: string): Promise<ReportPick[]> {
  const q = trx("asset_return_reports as r")
    .leftJoin("distribution_incomes as di", function () {
      this.on("di.report_id", "r.id").andOnNull("di.released_at");
    })
    .where("r.period", period)
    .andWhere("r.status", "CONFIRMED")
    .select("r.id", "r.asset_id", "r.amount_payable", "di.distribution_id as used_by")
    .orderBy("r.id")
    .forUpdate("r");
  if (scope === "ASSET") q.andWhere("r.asset_id", target);
  else {
    // The village's own assets whose only beneficiary is the village: their income is the village's to share.
    q.join("assets as a", "a.id", "r.asset_id")
      .andWhere("a.village_code", target)
      .andWhere("a.income_scheme", "VILLAGES")
      .whereNotExists(trx("asset_beneficiary_villages as bv").whereRaw("bv.asset_id = a.id").andWhereNot("bv.village_code", target).select(1));
  }
  const rows = (await q) as ReportPick[];
  const free = rows.filter((r) => !r.used_by);
  if (rows.length > 0 && free.length === 0) {
    throw new AppError("INCOME_ALREADY_DISTRIBUTED", `The confirmed income of ${period} is already used by distribution ${rows[0].used_by}`, undefined, 409);
  }
  if (free.length === 0) {
    const pending = await trx("asset_return_reports as r")
      .where("r.period", period)
      .andWhere("r.status", "SUBMITTED")
      .modify((w) => (scope === "ASSET" ? w.andWhere("r.asset_id", target) : w.andWhere("r.village_code", target)))
      .first("r.id");
    throw new AppError("NO_CONFIRMED_INCOME", pending ? `The return report of ${period} (${pending.id}) awaits the village's confirmation` : `No confirmed return report for ${period}`);
  }
  return free;
}

export async function createDistribution(trx: Knex.Transaction, ctx: Ctx, input: z.infer<typeof DistributionCreate>) {
  requireRole(ctx.actor, ...RUNNERS);
  if (input.reference_date > ctx.clock.today()) {
    throw new AppError("VALIDATION_FAILED", "The reference date is not after today (the register is not known ahead)", [{ path: "body.reference_date", message: "not after today" }]);
  }
  const period = parsePeriod(input.period)!;
  let villageCode: string;
  let county: string;
  if (input.asset_id) {
    const a = await findAsset(trx, ctx.actor, input.asset_id);
    if (!a) throw notFound("asset");
    if (ctx.actor.role === "village_officer" && a.village_code !== ctx.actor.villageCode) throw forbidden("Only the owning village runs an asset's distribution");
    villageCode = a.village_code;
    county = a.county_code;
  } else {
    villageCode = input.village_code!;
    county = villageCode.slice(0, 6);
    if (!ctx.actor.countyCodes.includes(county) || (ctx.actor.role === "village_officer" && ctx.actor.villageCode !== villageCode)) throw notFound("village");
    const v = await trx("divisions").where({ code: villageCode, level: "VILLAGE" }).first();
    if (!v) throw notFound("village");
  }
  const scope = input.asset_id ? "ASSET" : "VILLAGE";
  const reports = await takeIncome(trx, scope, input.asset_id ?? villageCode, input.period);
  const income = Money.sum(reports.map((r) => r.amount_payable));
  const { ruleId, params } = await resolveRule(trx, input.asset_id ?? null, villageCode, input.reference_date);
  const zero = "0.00";
  const [row] = await trx("distributions")
    .insert({
      county_code: county,
      scope,
      asset_id: input.asset_id ?? null,
      village_code: villageCode,
      period: input.period,
      period_year: period.year,
      reference_date: input.reference_date,
      rule_id: ruleId,
      rule: JSON.stringify(params),
      status: "DRAFT",
      income_total: zero,
      retention_amount: zero,
      earmarks_total: zero,
      cap_excess: zero,
      collective_total: zero,
      pool_amount: zero,
      shares_total: zero,
      household_count: 0,
      total_weight: "0",
      computed_at: ctx.clock.now(),
      created_by: ctx.actor.userId,
      created_at: ctx.clock.now(),
      updated_at: ctx.clock.now(),
    })
    .returning<DistributionRow[]>("*");
  await trx("distribution_incomes").insert(reports.map((r) => ({ distribution_id: row.id, report_id: r.id, asset_id: r.asset_id, county_code: county, amount: r.amount_payable })));
  await compute(trx, ctx, row, Money.format(income));
  const d = (await trx("distributions").where({ id: row.id }).first()) as DistributionRow;
  const view = await distributionView(trx, d, { limit: 1000 });
  await appendAudit(trx, ctx, { action: "distribution.compute", entityType: "distribution", entityId: d.id, countyCode: county, after: { ...auditShape(d), incomes: view.incomes } });
  return view;
}

async function locked(trx: Knex.Transaction, ctx: Ctx, id: string, roles: readonly Actor["role"][]): Promise<DistributionRow> {
  requireRole(ctx.actor, ...roles);
  const d = await findDistribution(trx, ctx.actor, id, { forUpdate: true });
  if (!d) throw notFound("distribution");
  if (ctx.actor.role === "village_officer" && d.village_code !== ctx.actor.villageCode) throw forbidden("Only the village running the distribution may do this");
  return d;
}

const reload = async (trx: Knex.Transaction, id: string) => (await trx("distributions").where({ id }).first()) as DistributionRow;

/** Recomputes a DRAFT (e.g. after the register was corrected) with the same income, rule and reference date. */
export async function recomputeDistribution(trx: Knex.Transaction, ctx: Ctx, id: string) {
  const d = await locked(trx, ctx, id, RUNNERS);
  if (d.status !== "DRAFT") throw new AppError("INVALID_STATE", `The distribution is ${d.status}; only a DRAFT is recomputed`);
  await compute(trx, ctx, d, d.income_total);
  await trx("distributions").where({ id }).update({ computations: d.computations + 1, version: d.version + 1 });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.recompute", entityType: "distribution", entityId: id, countyCode: d.county_code, before: auditShape(d), after: auditShape(after) });
  return distributionView(trx, after, { limit: 1000 });
}

export async function getDistribution(db: Db, ctx: Ctx, id: string, q: z.infer<typeof SharesQuery>) {
  requireRole(ctx.actor, ...READERS);
  const d = await findDistribution(db, ctx.actor, id);
  if (!d) throw notFound("distribution");
  return distributionView(db, d, q);
}

export async function listDistributions(db: Db, ctx: Ctx, q: z.infer<typeof DistributionQuery>) {
  requireRole(ctx.actor, ...READERS);
  const query = distributionScope(db("distributions as d").select("d.*"), ctx.actor);
  if (q.asset_id) query.andWhere("d.asset_id", q.asset_id);
  if (q.village_code) query.andWhere("d.village_code", q.village_code);
  if (q.period) query.andWhere("d.period", q.period);
  if (q.status) query.andWhere("d.status", q.status);
  const { rows, next_cursor } = await page<DistributionRow & Record<string, unknown>>(query, "d.id", (r) => r.id, q.limit, q.cursor);
  const items = [];
  for (const d of rows) items.push(await distributionView(db, d));
  return { items, next_cursor };
}

// ---------- notice and objections ----------

/** Publishes the list (公示): the notice runs at least 7 days; payment is possible from notice date + 7. */
export async function noticeDistribution(trx: Knex.Transaction, ctx: Ctx, id: string) {
  const d = await locked(trx, ctx, id, RUNNERS);
  if (d.status !== "DRAFT") throw new AppError("INVALID_STATE", `The distribution is ${d.status}; only a DRAFT is put on notice`);
  const today = ctx.clock.today();
  await trx("distributions").where({ id }).update({ status: "NOTICED", notice_date: today, payable_from: payableFrom(today), version: d.version + 1, updated_at: ctx.clock.now() });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.notice", entityType: "distribution", entityId: id, countyCode: d.county_code, before: { status: d.status }, after: { status: after.status, notice_date: after.notice_date, payable_from: after.payable_from } });
  return distributionView(trx, after);
}

/** The public list per village: masked names and ID numbers, weights and amounts (printable). */
export async function noticeList(db: Db, ctx: Ctx, id: string, q: z.infer<typeof NoticeQuery>) {
  requireRole(ctx.actor, ...READERS);
  const d = await findDistribution(db, ctx.actor, id);
  if (!d) throw notFound("distribution");
  const village = ctx.actor.role === "village_officer" ? ctx.actor.villageCode : q.village_code;
  const rows = await db("distribution_shares as s")
    .join("households as h", "h.id", "s.household_id")
    .join("divisions as v", "v.code", "s.village_code")
    .leftJoin("household_members as head", function () {
      this.on("head.household_id", "s.household_id").andOnVal("head.relation", "HEAD");
    })
    .where("s.distribution_id", id)
    .modify((w) => {
      if (village) w.andWhere("s.village_code", village);
    })
    .orderBy(["s.village_code", "h.household_no"])
    .select<{ village_code: string; village_name: string; household_no: string; head_name: string | null; id_number_masked: string | null; members: number; weight: string; amount: string }[]>(
      "s.village_code",
      "v.name as village_name",
      "h.household_no",
      "head.name as head_name",
      "head.id_number_masked",
      "s.members",
      "s.weight",
      "s.amount",
    );
  const villages = new Map<string, { village_code: string; village_name: string; households: number; total: string; items: object[] }>();
  const basis = d.rule.weightBasis === "MEMBER" ? "按人" : "按户";
  for (const r of rows) {
    const v = villages.get(r.village_code) ?? { village_code: r.village_code, village_name: r.village_name, households: 0, total: "0.00", items: [] };
    v.households += 1;
    v.total = Money.format(Money.of(v.total).plus(r.amount));
    v.items.push({ household_no: r.household_no, head_name: maskName(r.head_name ?? ""), id_number: r.id_number_masked, members: r.members, weight: num(r.weight), basis, amount: Money.format(r.amount) });
    villages.set(r.village_code, v);
  }
  return {
    distribution_id: d.id,
    title: `扶贫资产收益分配公示 ${d.period}`,
    period: d.period,
    notice_date: d.notice_date,
    payable_from: d.payable_from,
    villages: [...villages.values()],
  };
}

/** Nothing is paid yet and the notice still runs: the time objections may be raised. */
function objectionsOpen(d: DistributionRow, today: string): boolean {
  return d.status === "NOTICED" || (d.status === "APPROVED" && new D(d.paid_total).isZero() && d.payable_from !== null && today < d.payable_from);
}

export async function raiseObjection(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ObjectionCreate>) {
  const d = await locked(trx, ctx, id, RUNNERS);
  if (!objectionsOpen(d, ctx.clock.today())) throw new AppError("INVALID_STATE", `Objections are recorded while the list is on notice and nothing is paid (the distribution is ${d.status})`);
  if (input.household_id) {
    const h = await trx("households").where({ id: input.household_id, county_code: d.county_code }).first();
    if (!h) throw new AppError("VALIDATION_FAILED", "Unknown household", [{ path: "body.household_id", message: "not in the distribution's county" }]);
  }
  const [o] = await trx("distribution_objections")
    .insert({
      distribution_id: id,
      county_code: d.county_code,
      household_id: input.household_id ?? null,
      raised_by: input.raised_by,
      content: input.content,
      status: "OPEN",
      recorded_by: ctx.actor.userId,
      recorded_at: ctx.clock.now(),
    })
    .returning("*");
  const view = objectionView(o);
  await appendAudit(trx, ctx, { action: "distribution.objection", entityType: "distribution", entityId: id, countyCode: d.county_code, after: view });
  return view;
}

/** Reverses every entry a distribution posted that is not yet reversed (a correction, never an edit). */
async function reverseEntries(trx: Knex.Transaction, ctx: Ctx, d: DistributionRow, memo: string): Promise<number> {
  const entries = await unreversedEntriesOf(trx, "distribution", d.id);
  for (const e of entries) {
    await reverseJournalEntry(trx, e.id, { entryDate: ctx.clock.today(), memo: `${memo} (reversal of ${e.id})`, actorId: ctx.actor.userId });
  }
  return entries.length;
}

export async function resolveObjection(trx: Knex.Transaction, ctx: Ctx, id: string, objectionId: string, input: z.infer<typeof ObjectionResolve>) {
  const d = await locked(trx, ctx, id, RUNNERS);
  const o = await trx("distribution_objections").where({ id: objectionId, distribution_id: id }).forUpdate().first();
  if (!o) throw notFound("objection");
  if (o.status !== "OPEN") throw new AppError("INVALID_STATE", `The objection is already ${o.status}`);
  const now = ctx.clock.now();
  await trx("distribution_objections").where({ id: objectionId }).update({ status: input.decision, resolution: input.resolution, resolved_by: ctx.actor.userId, resolved_at: now });
  const audits: AuditRecord[] = [
    { action: `distribution.objection.${input.decision.toLowerCase()}`, entityType: "distribution", entityId: id, countyCode: d.county_code, before: objectionView(o), after: { status: input.decision, resolution: input.resolution } },
  ];
  if (input.decision === "UPHELD") {
    // Back to DRAFT: undo an approval's postings, then recompute from the (corrected) register.
    if (d.status === "APPROVED") await reverseEntries(trx, ctx, d, "objection upheld");
    await trx("distributions").where({ id }).update({ status: "DRAFT", notice_date: null, payable_from: null, approved_by: null, approved_at: null, updated_at: now });
    const draft = await reload(trx, id);
    await compute(trx, ctx, draft, draft.income_total);
    await trx("distributions").where({ id }).update({ computations: d.computations + 1, version: d.version + 1 });
    const after = await reload(trx, id);
    audits.push({ action: "distribution.recompute", entityType: "distribution", entityId: id, countyCode: d.county_code, before: auditShape(d), after: auditShape(after) });
  }
  await appendAudit(trx, ctx, audits);
  return distributionView(trx, await reload(trx, id), { limit: 1000 });
}

// ---------- approval, payment, returns, reversal ----------

/**
 * The regulator approves (oversight right). The income is recognised and put in the pool, and
 * the collective's part (retention, earmarks, cap excess) leaves the pool at once:
 *   1001 cash ← 4101 asset return income (per report); 4101 → 2301 pool; 2301 → 5201 collective.
 * What stays in the pool is exactly the households' shares.
 */
export async function approveDistribution(trx: Knex.Transaction, ctx: Ctx, id: string) {
  const d = await locked(trx, ctx, id, ["regulator"]);
  if (d.status !== "NOTICED") throw new AppError("INVALID_STATE", `The distribution is ${d.status}; only a noticed one is approved`);
  const open = await trx("distribution_objections").where({ distribution_id: id, status: "OPEN" }).count<{ n: number }[]>({ n: "*" });
  if (Number(open[0].n) > 0) throw new AppError("OPEN_OBJECTIONS", `${open[0].n} objection(s) to the notice are still open`, undefined, 409);
  const incomes = await incomesOf(trx, id);
  const today = ctx.clock.today();
  const common = { countyCode: d.county_code, entryDate: today, refType: "distribution", refId: id, actorId: ctx.actor.userId };
  const pool = { account: ACCOUNTS.DISTRIBUTION_POOL, partyType: "distribution", partyId: id } as const;
  await postJournalEntry(trx, {
    ...common,
    kind: "distribution.income",
    memo: `asset return income ${d.period}`,
    lines: [
      { account: ACCOUNTS.CASH, debit: d.income_total, partyType: "distribution", partyId: id },
      ...incomes.map((i) => ({ account: ACCOUNTS.ASSET_RETURN_INCOME, credit: Money.format(i.amount), partyType: "return_report", partyId: i.report_id })),
    ],
  });
  await postJournalEntry(trx, {
    ...common,
    kind: "distribution.pool",
    memo: `income into the distribution pool ${d.period}`,
    lines: [
      { account: ACCOUNTS.ASSET_RETURN_INCOME, debit: d.income_total, partyType: "distribution", partyId: id },
      { ...pool, credit: d.income_total },
    ],
  });
  const collective = { account: ACCOUNTS.COLLECTIVE_RETENTION, partyType: "village", partyId: d.village_code } as const;
  await postJournalEntry(trx, {
    ...common,
    kind: "distribution.retention",
    memo: "collective retention, earmarks and cap excess",
    lines: [
      { ...pool, debit: d.collective_total },
      { ...collective, credit: d.retention_amount },
      ...d.earmarks.map((e) => ({ ...collective, credit: Money.format(e.amount) })),
      { ...collective, credit: d.cap_excess },
    ],
  });
  await trx("distributions").where({ id }).update({ status: "APPROVED", approved_by: ctx.actor.userId, approved_at: ctx.clock.now(), version: d.version + 1, updated_at: ctx.clock.now() });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.approve", entityType: "distribution", entityId: id, countyCode: d.county_code, before: { status: d.status }, after: { status: after.status, approved_by: after.approved_by } });
  return distributionView(trx, after);
}

/** Completes the distribution when no share is left to pay (all paid or returned). */
async function closeIfDone(trx: Knex.Transaction, id: string, paidOn: string): Promise<void> {
  const left = await trx("distribution_shares").where({ distribution_id: id }).whereIn("payment_status", ["PENDING", "FAILED"]).count<{ n: number }[]>({ n: "*" });
  if (Number(left[0].n) === 0) await trx("distributions").where({ id }).update({ status: "PAID", paid_on: paidOn });
}

/**
 * Records a bank batch: every listed (or every unpaid) share is PAID with its bank reference, the
 * listed failures stay unpaid (FAILED) for a retry or a return, and one journal entry takes the
 * paid shares out of the pool. Refused before the notice period ends.
 */
export async function payDistribution(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof PayBody>) {
  const d = await locked(trx, ctx, id, PAYERS);
  if (d.status !== "APPROVED") throw new AppError("INVALID_STATE", `The distribution is ${d.status}; only an approved one is paid`);
  const today = ctx.clock.today();
  const paidOn = input.paid_on ?? today;
  if (today < d.payable_from! || paidOn < d.payable_from!) {
    throw new AppError("NOTICE_PERIOD_NOT_OVER", `The notice of ${d.notice_date} runs 7 days: payable from ${d.payable_from}`);
  }
  if (paidOn > today) throw new AppError("VALIDATION_FAILED", "The payment date is in the future", [{ path: "body.paid_on", message: "not after today" }]);
  const failed = new Set(input.failures.map((f) => f.household_id));
  if (input.payments?.some((p) => failed.has(p.household_id))) {
    throw new AppError("VALIDATION_FAILED", "A household is both paid and failed", [{ path: "body.failures", message: "not also in payments" }]);
  }
  const listed = [...(input.payments ?? []).map((p) => p.household_id), ...failed];
  if (listed.length) {
    const open = await trx("distribution_shares").where({ distribution_id: id }).whereIn("household_id", listed).whereIn("payment_status", ["PENDING", "FAILED"]).pluck("household_id");
    const missing = listed.filter((h) => !open.includes(h));
    if (missing.length) throw new AppError("INVALID_STATE", `Not an unpaid share of this distribution: ${missing.slice(0, 5).join(", ")}`);
  }
  const batchId = randomUUID();
  if (input.payments) {
    await trx.raw(
      `UPDATE distribution_shares s SET payment_status = 'PAID', bank_reference = p.bank_reference, paid_on = ?::date, payment_batch = ?::uuid,
         failure_reason = NULL, attempts = s.attempts + 1
       FROM json_to_recordset(?::json) AS p(household_id uuid, bank_reference text)
       WHERE s.distribution_id = ?::uuid AND s.household_id = p.household_id AND s.payment_status IN ('PENDING', 'FAILED')`,
      [paidOn, batchId, JSON.stringify(input.payments), id],
    );
  } else {
    await trx.raw(
      `UPDATE distribution_shares s SET payment_status = 'PAID', bank_reference = ? || ':' || h.household_no, paid_on = ?::date, payment_batch = ?::uuid,
         failure_reason = NULL, attempts = s.attempts + 1
       FROM households h
       WHERE s.distribution_id = ?::uuid AND h.id = s.household_id AND s.payment_status IN ('PENDING', 'FAILED')
         AND s.household_id NOT IN (SELECT (jsonb_array_elements_text(?::jsonb))::uuid)`,
      [input.batch_reference, paidOn, batchId, id, JSON.stringify([...failed])],
    );
  }
  for (const f of input.failures) {
    await trx("distribution_shares")
      .where({ distribution_id: id, household_id: f.household_id })
      .update({ payment_status: "FAILED", failure_reason: f.reason, attempts: trx.raw("attempts + 1") });
  }
  const paid = await trx("distribution_shares").where({ payment_batch: batchId }).select<{ household_id: string; amount: string; bank_reference: string }[]>("household_id", "amount", "bank_reference");
  const total = Money.sum(paid.map((p) => p.amount));
  let entryId: string | null = null;
  if (total.gt(0)) {
    entryId = await postPaymentBatch(trx, {
      distributionId: id,
      countyCode: d.county_code,
      batchId,
      entryDate: paidOn,
      total: Money.format(total),
      actorId: ctx.actor.userId,
      memo: `dividend payment batch ${input.batch_reference}`,
    });
  }
  await trx("distributions")
    .where({ id })
    .update({ paid_total: Money.format(Money.of(d.paid_total).plus(total)), version: d.version + 1, updated_at: ctx.clock.now() });
  await closeIfDone(trx, id, paidOn);
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, [
    {
      action: "distribution.pay",
      entityType: "distribution",
      entityId: id,
      countyCode: d.county_code,
      before: { status: d.status, paid_total: d.paid_total },
      after: { status: after.status, paid_total: after.paid_total, batch_reference: input.batch_reference, paid: paid.length, failed: input.failures, journal_entry_id: entryId },
    },
    ...paid.map((p) => ({
      action: "distribution.share.paid",
      entityType: "household",
      entityId: p.household_id,
      countyCode: d.county_code,
      after: { distribution_id: id, amount: Money.format(p.amount), bank_reference: p.bank_reference, paid_on: paidOn },
    })),
  ]);
  return distributionView(trx, after);
}

/** Failed shares given up (e.g. the account is closed): they leave the pool back to the collective. */
export async function returnShares(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ReturnBody>) {
  const d = await locked(trx, ctx, id, PAYERS);
  if (d.status !== "APPROVED") throw new AppError("INVALID_STATE", `The distribution is ${d.status}; shares are returned from an approved one`);
  const ids = [...new Set(input.household_ids)];
  const rows = await trx("distribution_shares").where({ distribution_id: id, payment_status: "FAILED" }).whereIn("household_id", ids).select<{ household_id: string; amount: string }[]>("household_id", "amount");
  if (rows.length !== ids.length) throw new AppError("INVALID_STATE", "Only failed shares of this distribution are returned");
  await trx("distribution_shares").where({ distribution_id: id }).whereIn("household_id", ids).update({ payment_status: "RETURNED", failure_reason: input.reason });
  const total = Money.sum(rows.map((r) => r.amount));
  const entryId = await postJournalEntry(trx, {
    countyCode: d.county_code,
    entryDate: ctx.clock.today(),
    kind: "distribution.returned",
    refType: "distribution",
    refId: id,
    memo: `unpaid shares returned to the collective: ${input.reason}`,
    actorId: ctx.actor.userId,
    lines: [
      { account: ACCOUNTS.DISTRIBUTION_POOL, debit: total, partyType: "distribution", partyId: id },
      { account: ACCOUNTS.COLLECTIVE_RETENTION, credit: total, partyType: "village", partyId: d.village_code },
    ],
  });
  await trx("distributions")
    .where({ id })
    .update({ returned_total: Money.format(Money.of(d.returned_total).plus(total)), version: d.version + 1, updated_at: ctx.clock.now() });
  await closeIfDone(trx, id, ctx.clock.today());
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, [
    { action: "distribution.return", entityType: "distribution", entityId: id, countyCode: d.county_code, after: { returned: rows.length, total: Money.format(total), reason: input.reason, journal_entry_id: entryId, status: after.status } },
    ...rows.map((r) => ({ action: "distribution.share.returned", entityType: "household", entityId: r.household_id, countyCode: d.county_code, after: { distribution_id: id, amount: Money.format(r.amount), reason: input.reason } })),
  ]);
  return distributionView(trx, after);
}

/**
 * Corrects a paid (or approved) distribution the only way allowed: every entry it posted is
 * reversed, it becomes REVERSED, and its income is released for a corrected distribution.
 */
export async function reverseDistribution(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ReverseBody>) {
  const d = await locked(trx, ctx, id, ["regulator"]);
  if (d.status !== "PAID" && d.status !== "APPROVED") throw new AppError("INVALID_STATE", `The distribution is ${d.status}; a DRAFT or NOTICED one is recomputed, not reversed`);
  const reversed = await reverseEntries(trx, ctx, d, input.reason);
  const now = ctx.clock.now();
  await trx("distribution_incomes").where({ distribution_id: id }).whereNull("released_at").update({ released_at: now });
  await trx("distributions").where({ id }).update({ status: "REVERSED", reversed_at: now, reversal_reason: input.reason, version: d.version + 1, updated_at: now });
  const after = await reload(trx, id);
  await appendAudit(trx, ctx, { action: "distribution.reverse", entityType: "distribution", entityId: id, countyCode: d.county_code, before: { status: d.status }, after: { status: after.status, reason: input.reason, entries_reversed: reversed } });
  return distributionView(trx, after);
}

// ---------- dividends of a household ----------

const ELIGIBILITY_WORDS: Record<EligibilityReason, string> = { POOR: "贫困户", MONITORED: "监测户", EXITED_IN_TRANSITION: "脱贫户过渡期内" };
const MULTIPLIER_WORDS: Record<MultiplierReason, string> = { NO_LABOUR: "无劳动能力", SERIOUS_ILLNESS_OR_DISABILITY: "重病或残疾", DIBAO_TEKUN: "低保/特困" };

/**
 * Every dividend of a household (for staff and, later, the partner portal): the asset(s), the
 * period, its weight and why, the amount, the status and the paid date. Shares of distributions
 * still in DRAFT are left out (they may change); no jurisdiction check here — callers scope.
 */
export async function dividendsOfHousehold(db: Db, householdId: string) {
  const rows = await dividendRows(db, householdId);
  return rows.map((r) => {
    const why = [
      r.eligibility === "EXITED_IN_TRANSITION" && r.transition_ends ? `${ELIGIBILITY_WORDS[r.eligibility]}(至${r.transition_ends}前)` : ELIGIBILITY_WORDS[r.eligibility],
      r.multiplier_reason ? `${MULTIPLIER_WORDS[r.multiplier_reason]} ×${num(r.multiplier)}` : "基础权重",
      `${r.members}人`,
      r.capped ? "已达年度上限" : null,
    ]
      .filter(Boolean)
      .join("；");
    const status = r.distribution_status === "REVERSED" ? "REVERSED" : r.payment_status === "PENDING" ? r.distribution_status : r.payment_status;
    return {
      distribution_id: r.distribution_id,
      scope: r.scope,
      assets: r.assets ?? [],
      village_code: r.village_code,
      period: r.period,
      reference_date: r.reference_date,
      weight: num(r.weight),
      members: r.members,
      multiplier: num(r.multiplier),
      eligibility: r.eligibility,
      multiplier_reason: r.multiplier_reason,
      transition_ends: r.transition_ends,
      why,
      amount: Money.format(r.amount),
      capped: r.capped,
      status,
      paid_on: r.paid_on,
    };
  });
}

export async function householdDividends(db: Db, ctx: Ctx, householdId: string) {
  requireRole(ctx.actor, "admin", "village_officer", "regulator", "finance_officer");
  const h = await householdScope(db("households as h").where("h.id", householdId).select("h.id"), ctx.actor).first();
  if (!h) throw notFound("household");
  return { items: await dividendsOfHousehold(db, householdId), next_cursor: null };
}

// ---------- reconciliation ----------

/** A distribution's pool (2301) holds exactly its unpaid shares once approved, and nothing before or after. */
registerPartyBalanceCheck({
  name: "distribution-pool",
  description: "Each distribution's pool account (2301) = its approved shares not yet paid or returned (zero once paid, before approval and after a reversal)",
  account: ACCOUNTS.DISTRIBUTION_POOL,
  partyType: "distribution",
  normal: "credit",
  recordsSql: `SELECT id, county_code, CASE WHEN status IN ('APPROVED', 'PAID') THEN shares_total - paid_total - returned_total ELSE 0 END AS amount FROM distributions`,
});

