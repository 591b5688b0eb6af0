/** The public notice (公示) and the objections raised during it. */
import type { Knex } from "knex";
import type { z } from "zod";
import { requireRole } from "../../http/auth.js";
import { AppError, notFound } from "../../http/errors.js";
import { appendAudit, type AuditRecord } from "../../lib/audit.js";
import type { Ctx } from "../../lib/context.js";
import { reverseJournalEntry, unreversedEntriesOf } from "../../lib/ledger.js";
import { statusLabel } from "../../lib/labels.js";
import { D, Money } from "../../lib/money.js";
import { maskName } from "../../lib/pii.js";
import { payableFrom } from "./model.js";
import { type DistributionRow, findDistribution } from "./queries.js";
import type { NoticeQuery, ObjectionCreate, ObjectionResolve } from "./schemas.js";
import { notInState, READERS, RUNNERS } from "./common.js";
import { compute, locked, reload } from "./compute.js";
import { num } from "./rules.js";
import { auditShape, distributionView, objectionView } from "./views.js";

type Db = Knex | Knex.Transaction;

/** Publishes the list (公示): the notice runs at least 7 days; payment is possible from notice date + 7. */
export async function noticeDistribution(trx: Knex.Transaction, ctx: Ctx, id: string) {
  const d = await locked(trx, ctx, id, RUNNERS);
  if (d.status !== "DRAFT") throw notInState(d.status, { zh: "只有草稿可以公示", en: "only a DRAFT is put on notice" });
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
export function objectionsOpen(d: DistributionRow, today: string): boolean {
  return d.status === "NOTICED" || (d.status === "APPROVED" && new D(d.paid_total).isZero() && d.payable_from !== null && today < d.payable_from);
}

export async function raiseObjection(trx: Knex.Transaction, ctx: Ctx, id: string, input: z.infer<typeof ObjectionCreate>) {
  const d = await locked(trx, ctx, id, RUNNERS);
  if (!objectionsOpen(d, ctx.clock.today())) {
    throw new AppError("INVALID_STATE", {
      zh: `只能在名单公示期间且尚未兑付时登记异议（收益分配的状态为${statusLabel("distribution", d.status, "zh")}）`,
      en: `Objections are recorded while the list is on notice and nothing is paid (the distribution is ${d.status})`,
    });
  }
  if (input.household_id) {
    const h = await trx("households").where({ id: input.household_id, county_code: d.county_code }).first();
    if (!h) {
      throw new AppError("VALIDATION_FAILED", { zh: "未知的农户", en: "Unknown household" }, [
        { path: "body.household_id", message: { zh: "不是该收益分配所在县的农户", en: "not in the distribution's county" } },
      ]);
    }
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
export async function reverseEntries(trx: Knex.Transaction, ctx: Ctx, d: DistributionRow, memo: string): Promise<number> {
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
  if (o.status !== "OPEN") throw new AppError("INVALID_STATE", { zh: `该异议已${o.status === "UPHELD" ? "采纳" : "驳回"}`, en: `The objection is already ${o.status}` });
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
