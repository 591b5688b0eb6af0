import type { Deps } from "../../src/deps.js";
import { transaction } from "../../src/db/transaction.js";
import type { Actor, Role } from "../../src/http/auth.js";
import { FixedClock } from "../../src/lib/clock.js";
import type { Ctx } from "../../src/lib/context.js";
import { D, Money } from "../../src/lib/money.js";
import { AssetCreate, ReturnReportConfirm, ReturnReportCreate } from "../../src/modules/assets/schemas.js";
import { confirmReport, createAsset, submitReport } from "../../src/modules/assets/service.js";
import { DistributionCreate, PayBody, RuleCreate } from "../../src/modules/distributions/schemas.js";
import { approveDistribution, createDistribution, createRule, noticeDistribution, payDistribution } from "../../src/modules/distributions/service.js";
import { COB_STEPS, runCloseOfBusiness } from "../../src/jobs/close-of-business.js";
import { LoanApply, LoanProductCreate, RateTableCreate, RepaymentCreate } from "../../src/modules/loans/schemas.js";
import { applyLoan, cancel, createProduct, createRateTable, decide, disburse, getLoan, getSchedule, repay } from "../../src/modules/loans/service.js";
import { BulkRate } from "../../src/modules/ratings/schemas.js";
import { approveRating, rateBulk, rejectRating } from "../../src/modules/ratings/service.js";
import { DepositCreate, FundCreate } from "../../src/modules/riskfund/schemas.js";
import { createFund, deposit } from "../../src/modules/riskfund/service.js";
import { ClaimCreate } from "../../src/modules/subsidies/schemas.js";
import { generateClaim } from "../../src/modules/subsidies/service.js";
import { OperatorCreate, PaymentCreate, TrusteeshipCreate } from "../../src/modules/trusteeship/schemas.js";
import { createOperator, createTrusteeship, recordPayment } from "../../src/modules/trusteeship/service.js";
import { DEMO_BANKS, DEMO_COUNTY, DEMO_OPERATOR_ID, FIRST_VILLAGE, rng } from "./demo.js";
import { addDays } from "../../src/lib/dates.js";
import { LPR_HISTORY } from "./lpr-history.js";

/**
 * Business activity of the demo county, so every role has something to look at on the first
 * start: operators, LPR tables, a loan product, a risk fund, ratings of the demo village (新市村),
 * loans in every state with their repayments, trusteeship contracts, a photovoltaic asset with its
 * return reports, a paid distribution of the year before last, a subsidy claim, and the alerts the
 * jobs raise. Everything goes through the modules' services as the demo users, each step on a
 * fixed clock at its business date (dated back from today), so ledger entries and audit records
 * are what the API would have written. One transaction; deterministic for a given today.
 *
 * One POOR household of the demo village is left alone, the only one there without a rating: the
 * README walk-through (scripts/walkthrough.sh) rates it and lends to it.
 */
export const SECOND_OPERATOR_ID = "0c000000-0000-4000-8000-000000000002";
const VILLAGE_2 = "469030100203"; // 百花村

/** The first day of a date's month, its last day, and the last day of the month after it. */
const monthStartOf = (date: string) => `${date.slice(0, 8)}01`;
const monthEndOf = (date: string) => {
  const [y, m] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
};
const monthEndAfter = (monthEnd: string) => monthEndOf(addDays(monthEnd, 1));

export interface DemoActivity {
  skipped?: true;
  ratings: number;
  loans: number;
  trusteeships: number;
  assets: number;
  alerts: number;
}

type DemoUser = "admin" | "village" | "officer" | "manager" | "finance" | "operator" | "regulator";

interface RatedHousehold {
  household_id: string;
  credit_line: string;
  rating_id: string;
}

export async function seedDemoActivity(deps: Pick<Deps, "db" | "pii" | "clock">): Promise<DemoActivity> {
  const { db, pii } = deps;
  if (await db("operators").where({ id: DEMO_OPERATOR_ID }).first()) {
    return { skipped: true, ratings: 0, loans: 0, trusteeships: 0, assets: 0, alerts: 0 };
  }
  const today = deps.clock.today();
  const thisYear = Number(today.slice(0, 4));
  const lastYear = thisYear - 1;
  const ago = (days: number) => addDays(today, -days);
  /** A business date, never after today. */
  const upTo = (date: string) => (date < today ? date : today);

  const users = (await db("users").whereIn("username", ["admin", "village", "officer", "manager", "finance", "operator", "regulator"]).select("*")) as {
    id: string;
    username: DemoUser;
    role: Role;
    county_codes: string[];
    bank_id: string | null;
    operator_id: string | null;
    village_code: string | null;
  }[];
  const actors = new Map<DemoUser, Actor>(
    users.map((u) => [
      u.username,
      { kind: "staff", userId: u.id, role: u.role, countyCodes: u.county_codes, bankId: u.bank_id, operatorId: u.operator_id, villageCode: u.village_code },
    ]),
  );
  let step = 0;
  /** The context of a demo user acting on a business date (noon, Asia/Shanghai). */
  const by = (who: DemoUser, date: string): Ctx => {
    const actor = actors.get(who);
    if (!actor) throw new Error(`demo user ${who} is missing`);
    step += 1;
    return { actor, requestId: `seed-demo-${String(step).padStart(4, "0")}`, clock: new FixedClock(upTo(date)) };
  };

  return transaction(db, async (trx) => {
    // ---------- operators (合作社 and 农投公司) ----------
    const opDate = `${lastYear - 1}-01-06`;
    await createOperator(
      trx,
      by("admin", opDate),
      pii,
      OperatorCreate.parse({
        id: DEMO_OPERATOR_ID,
        county_code: DEMO_COUNTY.code,
        name: "琼中绿橙种植专业合作社",
        credit_code: "93469030MA5T000105",
        operator_type: "COOPERATIVE",
        legal_representative: "王海山",
        registered_capital: "1000000.00",
        bank_account: "621700000012345678",
        bank_name: "海南琼中农村商业银行",
        rating: "AA",
      }),
    );
    await createOperator(
      trx,
      by("admin", opDate),
      pii,
      OperatorCreate.parse({
        id: SECOND_OPERATOR_ID,
        county_code: DEMO_COUNTY.code,
        name: "琼中县农业投资有限公司",
        credit_code: "91469030MA5T2XQ38F",
        operator_type: "RURAL_INVESTMENT_COMPANY",
        legal_representative: "符文明",
        registered_capital: "5000000.00",
        bank_name: "中国农业银行琼中支行",
      }),
    );

    // ---------- LPR and the poverty loan product ----------
    for (const r of LPR_HISTORY) {
      if (r.publication_date <= today) await createRateTable(trx, by("admin", r.publication_date), RateTableCreate.parse({ ...r, note: "全国银行间同业拆借中心公布" }));
    }
    const productFrom = ago(430);
    const product = await createProduct(
      trx,
      by("manager", productFrom),
      LoanProductCreate.parse({
        county_code: DEMO_COUNTY.code,
        code: "FPXD",
        name: "扶贫小额信贷（脱贫人口小额信贷）",
        effective_from: productFrom,
        repayment_methods: ["BULLET_QUARTERLY", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"],
      }),
    );

    // ---------- risk compensation fund of the demo bank ----------
    const fund = await createFund(
      trx,
      by("finance", ago(420)),
      FundCreate.parse({ county_code: DEMO_COUNTY.code, bank_id: DEMO_BANKS[0].id, name: "琼中县扶贫小额信贷风险补偿金（琼中农商行）" }),
    );
    await deposit(trx, by("finance", ago(418)), fund.id, DepositCreate.parse({ amount: "2000000.00", reference: "县财政拨入风险补偿金" }));

    // ---------- ratings of the demo village (整村授信) ----------
    // Households in the order the API lists them; the first POOR one is kept for the walk-through.
    const villageHouseholds = (await trx("households")
      .where({ village_code: FIRST_VILLAGE })
      .whereIn("status", ["POOR", "EXITED", "MONITORED"])
      .orderBy("id")
      .select("id", "status")) as { id: string; status: string }[];
    // The walk-through household: POOR, someone able to work (so the rating grants a line) and a
    // borrower of age (19 to 64 this year, as the walk-through picks one).
    const members = (await trx("household_members")
      .whereIn(
        "household_id",
        villageHouseholds.filter((h) => h.status === "POOR").map((h) => h.id),
      )
      .select("household_id", "birth_date", "labour_capacity")) as { household_id: string; birth_date: string | Date; labour_capacity: string }[];
    const yearOf = (d: string | Date) => Number((typeof d === "string" ? d : d.toISOString()).slice(0, 4));
    const reserved = villageHouseholds.find((h) => {
      const ms = members.filter((m) => m.household_id === h.id);
      return (
        h.status === "POOR" &&
        ms.some((m) => m.labour_capacity === "ORDINARY" || m.labour_capacity === "SKILLED") &&
        ms.some((m) => thisYear - yearOf(m.birth_date) >= 19 && thisYear - yearOf(m.birth_date) <= 64)
      );
    })?.id;
    const candidates = villageHouseholds.filter((h) => h.id !== reserved).slice(0, 60);
    const rand = rng(2026);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const assess = (weak: boolean) => ({
      CREDIT_RECORD: weak ? "BAD" : pick(["CLEAN", "CLEAN", "CLEAN", "SETTLED"]),
      PROJECT: pick(["RUNNING", "RUNNING", "PLANNED"]),
      ASSETS: pick(["HIGH", "MEDIUM", "MEDIUM", "LOW"]),
      REPUTATION: weak ? "POOR" : pick(["GOOD", "GOOD", "GOOD", "FAIR"]),
      DEBT: pick(["NONE", "NONE", "LOW"]),
    });
    const session = (date: string) => {
      const check = (note: string) => ({ date, by: "琼中农商行 客户经理", note });
      return {
        village_code: FIRST_VILLAGE,
        checks: {
          documents: check("户口簿、身份证与建档立卡信息一致"),
          neighbours: check("走访左右邻居，反映家庭和睦、勤劳守信"),
          phone: check("电话回访户主，核实借款意愿与家庭情况"),
          cross_team: check("支行交叉复核小组复核一致"),
          repeat_question: check("重复提问家庭收入与产业情况，回答一致"),
        },
        village_review: { date, reviewed_by: "新市村信用评议小组", note: "村两委、驻村工作队与村民代表整村评议" },
      };
    };
    // Most are rated ten months ago and approved; two wait in the manager's queue; one is refused.
    const pendingCount = Math.min(2, Math.max(0, candidates.length - 2));
    const main = candidates.slice(0, candidates.length - pendingCount);
    const queued = candidates.slice(candidates.length - pendingCount);
    const ratedOn = ago(310);
    const bulk = await rateBulk(
      trx,
      by("officer", ratedOn),
      BulkRate.parse({ ...session(ratedOn), rows: main.map((h, i) => ({ household_id: h.id, assessments: assess(i === main.length - 1) })) }),
    );
    const rated: RatedHousehold[] = [];
    const refused = main[main.length - 1]?.id;
    for (const r of bulk.results) {
      if (r.outcome !== "CREATED" || !r.rating_id || !r.household_id) continue;
      if (r.household_id === refused) {
        await rejectRating(trx, by("manager", addDays(ratedOn, 2)), r.rating_id, { reason: "征信报告有未结清逾期，村评议意见较差，暂不授信" });
        continue;
      }
      await approveRating(trx, by("manager", addDays(ratedOn, 2)), r.rating_id, { note: "整村授信审批通过" });
      rated.push({ household_id: r.household_id, credit_line: r.credit_line ?? "0.00", rating_id: r.rating_id });
    }
    if (queued.length > 0) {
      await rateBulk(trx, by("officer", ago(3)), BulkRate.parse({ ...session(ago(3)), rows: queued.map((h) => ({ household_id: h.id, assessments: assess(false) })) }));
    }

    // ---------- loans ----------
    const borrowers = rated.filter((r) => Number(r.credit_line) > 0);
    let nextBorrower = 0;
    const borrowerOf = async (on: string) => {
      for (; nextBorrower < borrowers.length; ) {
        const b = borrowers[nextBorrower++];
        const members = (await trx("household_members").where({ household_id: b.household_id }).orderByRaw("relation = 'HEAD' DESC, birth_date").select("id", "birth_date")) as {
          id: string;
          birth_date: string | Date;
        }[];
        const adult = members.find((m) => {
          const birth = typeof m.birth_date === "string" ? m.birth_date : m.birth_date.toISOString().slice(0, 10);
          const age = Number(on.slice(0, 4)) - Number(birth.slice(0, 4));
          return age >= 20 && age <= 63;
        });
        if (adult) return { ...b, member: adult.id };
      }
      return undefined;
    };
    const officer = (date: string) => by("officer", date);
    const apply = async (on: string, amount: string, term: number, method: string, purpose: string, detail: string) => {
      const b = await borrowerOf(on);
      if (!b) return undefined;
      const want = Math.min(Number(amount), Number(b.credit_line));
      return applyLoan(
        trx,
        officer(on),
        LoanApply.parse({
          household_id: b.household_id,
          borrower_member_id: b.member,
          product_id: product.id,
          amount: want.toFixed(2),
          term_months: term,
          repayment_method: method,
          purpose,
          purpose_detail: detail,
        }),
      );
    };
    // The loans' business is replayed in date order (an agenda of dated steps), and the close of
    // business runs at the end of every month it spans, so the month-end snapshots (逾期率, 不良率 of
    // the monthly reports) are those a county closing every night would have: each is computed from
    // the loans as they stood that evening. (Closing all ~300 nights took minutes on PGlite; the
    // month ends are what the reports read. cob_runs records only today's close, run below.)
    const agenda: { date: string; seq: number; run: () => Promise<void> }[] = [];
    let agendaSeq = 0;
    const at = (date: string, run: () => Promise<void>) => {
      if (date <= today) agenda.push({ date, seq: agendaSeq++, run });
    };
    const closeMonthEnd = async (date: string) => {
      for (const s of COB_STEPS) await s.run(trx, date);
    };
    const replay = async () => {
      let closedThrough: string | undefined;
      for (;;) {
        agenda.sort((x, y) => x.date.localeCompare(y.date) || x.seq - y.seq);
        const next = agenda.shift();
        const until = next ? next.date : today;
        // Month ends from the first step's month up to (not including) the next step's date.
        let end = closedThrough ? monthEndAfter(closedThrough) : monthEndOf(until);
        for (; end < until; end = monthEndAfter(end)) {
          await closeMonthEnd(end);
          closedThrough = end;
        }
        if (!next) return;
        closedThrough ??= addDays(monthStartOf(next.date), -1);
        await next.run();
      }
    };
    let loans = 0;
    /** Apply, approve the next day, disburse the day after; then pay every period due up to `paidThrough` on its due date. */
    const lend = (
      disbursedOn: string,
      amount: string,
      term: number,
      method: string,
      purpose: string,
      detail: string,
      paidThrough: string | null,
      then?: (loanId: string) => void,
    ) =>
      at(addDays(disbursedOn, -2), async () => {
        const a = await apply(addDays(disbursedOn, -2), amount, term, method, purpose, detail);
        if (!a) return;
        loans += 1;
        at(addDays(disbursedOn, -1), async () => {
          await decide(trx, by("manager", addDays(disbursedOn, -1)), a.id, "approve", { note: "符合扶贫小额信贷条件" });
        });
        at(disbursedOn, async () => {
          await disburse(trx, officer(disbursedOn), a.id, { reference: `FK${disbursedOn.replaceAll("-", "")}${String(step).padStart(4, "0")}` });
          if (paidThrough) {
            const schedule = await getSchedule(trx, officer(disbursedOn), a.id);
            for (const p of schedule.periods) {
              if (p.due_date > paidThrough || p.due_date > today) break;
              // What the period asks for on its due date (a prepayment before it lowers its interest).
              at(p.due_date, async () => {
                const due = (await getSchedule(trx, officer(p.due_date), a.id)).periods.find((x) => x.seq === p.seq);
                if (!due || new D(due.outstanding).lte(0)) return;
                await repay(trx, officer(p.due_date), a.id, RepaymentCreate.parse({ amount: due.outstanding, reference: `HK${p.due_date.replaceAll("-", "")}${p.seq}` }));
              });
            }
          }
          then?.(a.id);
        });
      });
    /** An application that stays in the bank's hands, with what the bank did about it. */
    const applyOnly = (on: string, amount: string, term: number, method: string, purpose: string, detail: string, then?: (loanId: string) => void) =>
      at(on, async () => {
        const a = await apply(on, amount, term, method, purpose, detail);
        if (!a) return;
        loans += 1;
        then?.(a.id);
      });
    // Repaid early: two monthly instalments, then the payoff amount (提前结清).
    lend(ago(300), "10000.00", 12, "EQUAL_INSTALLMENT", "BREEDING", "养殖五指山黑猪", ago(231), (id) =>
      at(ago(230), async () => {
        const standing = await getLoan(trx, officer(ago(230)), id);
        if (standing.payoff_amount) await repay(trx, officer(ago(230)), id, RepaymentCreate.parse({ amount: standing.payoff_amount, reference: "提前结清" }));
      }),
    );
    // Performing: every amount paid on its due date (one with a partial prepayment).
    lend(ago(290), "50000.00", 36, "BULLET_QUARTERLY", "PLANTING", "种植绿橙 20 亩", today);
    lend(ago(280), "30000.00", 24, "EQUAL_INSTALLMENT", "BREEDING", "养殖山鸡", today);
    lend(ago(270), "30000.00", 36, "BULLET_QUARTERLY", "PLANTING", "种植槟榔与益智", today, (id) =>
      at(ago(100), async () => {
        await repay(trx, officer(ago(100)), id, RepaymentCreate.parse({ amount: "5000.00", reference: "部分提前还款" }));
      }),
    );
    lend(ago(160), "20000.00", 12, "BULLET_QUARTERLY", "RURAL_TOURISM", "经营农家乐", today);
    lend(ago(100), "50000.00", 36, "BULLET_QUARTERLY", "PROCESSING", "茶叶加工", today);
    lend(ago(25), "30000.00", 36, "BULLET_QUARTERLY", "COMMERCE", "开办农村电商小店", today);
    // In arrears: stopped paying (one 31-90 days past due, one 1-30).
    lend(ago(150), "20000.00", 24, "EQUAL_INSTALLMENT", "BREEDING", "养殖黄牛", ago(75));
    lend(ago(200), "30000.00", 36, "EQUAL_INSTALLMENT", "PLANTING", "种植百香果", ago(32));
    // In the bank's hands: an application to approve, an approved loan to disburse, a rejected and a cancelled one.
    applyOnly(ago(2), "20000.00", 36, "BULLET_QUARTERLY", "PLANTING", "种植咖啡");
    applyOnly(ago(4), "10000.00", 12, "EQUAL_INSTALLMENT", "BREEDING", "养殖蜜蜂", (id) =>
      at(ago(1), async () => {
        await decide(trx, by("manager", ago(1)), id, "approve", { note: "符合条件，待放款" });
      }),
    );
    applyOnly(ago(30), "30000.00", 36, "BULLET_QUARTERLY", "COMMERCE", "购置货车跑运输", (id) =>
      at(ago(28), async () => {
        await decide(trx, by("manager", ago(28)), id, "reject", { note: "用途与产业发展计划不符" });
      }),
    );
    applyOnly(ago(60), "10000.00", 12, "BULLET_QUARTERLY", "PLANTING", "种植南药", (id) =>
      at(ago(55), async () => {
        await cancel(trx, officer(ago(55)), id, { note: "农户申请撤回" });
      }),
    );
    await replay();

    // ---------- subsidy claim of the last quarter ended ----------
    const q = Math.floor((Number(today.slice(5, 7)) - 1) / 3); // quarters of this year ended (0-3)
    const quarter = q === 0 ? `${lastYear}Q4` : `${thisYear}Q${q}`;
    // The product is TO_BANK: the bank generates the batch (its manager), the finance officer approves it.
    await generateClaim(trx, by("manager", today), ClaimCreate.parse({ bank_id: DEMO_BANKS[0].id, county_code: DEMO_COUNTY.code, quarter, mode: "TO_BANK" }));

    // ---------- trusteeship (委托经营) ----------
    const trustees = borrowers.slice(nextBorrower);
    /** An entrusted-fund contract started `daysAgo`, with its first return paid when it has fallen due. */
    const entrust = async (
      householdId: string,
      c: { operatorId: string; source: string; principal: string; daysAgo: number; years: number; frequency: string; note: string; payer: DemoUser; reference: string },
    ) => {
      const start = ago(c.daysAgo);
      const t = await createTrusteeship(
        trx,
        by("admin", start),
        TrusteeshipCreate.parse({ household_id: householdId, operator_id: c.operatorId, source: c.source, principal: c.principal, start_date: start, end_date: addDays(start, 365 * c.years), frequency: c.frequency, note: c.note }),
      );
      const first = t.schedule?.[0];
      if (first && first.due_date <= today) await recordPayment(trx, by(c.payer, first.due_date), t.id, PaymentCreate.parse({ amount: first.amount_due, reference: c.reference }));
    };
    let trusteeships = 0;
    if (trustees[0]) {
      await entrust(trustees[0].household_id, {
        operatorId: DEMO_OPERATOR_ID,
        source: "POVERTY_FUND_SHARE",
        principal: "10000.00",
        daysAgo: 400,
        years: 3,
        frequency: "ANNUAL",
        note: "扶贫资金入股绿橙合作社，保底分红 8%",
        payer: "operator",
        reference: "年度保底收益",
      });
      trusteeships += 1;
    }
    if (trustees[1]) {
      // The first quarter is paid; the next ones are left in arrears.
      await entrust(trustees[1].household_id, {
        operatorId: SECOND_OPERATOR_ID,
        source: "LAND_SHARE",
        principal: "20000.00",
        daysAgo: 250,
        years: 5,
        frequency: "QUARTERLY",
        note: "土地经营权入股县农投公司",
        payer: "admin",
        reference: "第一季度收益",
      });
      trusteeships += 1;
    }

    // ---------- assets and distribution (四权分置) ----------
    const assetFrom = `${lastYear - 1}-01-08`;
    const pv = await createAsset(
      trx,
      by("admin", assetFrom),
      AssetCreate.parse({
        name: "新市村村级光伏扶贫电站",
        asset_type: "PHOTOVOLTAIC",
        village_code: FIRST_VILLAGE,
        funding_sources: [
          { source: "INTEGRATED_AGRICULTURE_FUND", amount: "400000.00", note: "统筹整合涉农资金" },
          { source: "EAST_WEST_COOPERATION", amount: "100000.00", note: "东西部协作" },
        ],
        book_value: "500000.00",
        build_date: "2019-06-30",
        management: {
          operator_id: DEMO_OPERATOR_ID,
          form: "LEASE",
          contract_start: "2020-01-01",
          contract_end: "2034-12-31",
          return_terms: "NET_INCOME_SHARE",
          net_income_share: "0.6",
          guaranteed_min_rate: "0.08",
        },
        income_rights: { scheme: "VILLAGES", village_codes: [FIRST_VILLAGE] },
        oversight: { body: "琼中县农业农村局", division_code: DEMO_COUNTY.code },
      }),
    );
    await createRule(
      trx,
      by("admin", assetFrom),
      RuleCreate.parse({
        scope: "ASSET",
        asset_id: pv.id,
        effective_from: "2020-01-01",
        collective_retention_ratio: "0.2",
        earmarks: [{ name: "电站管护费", kind: "RATIO", ratio: "0.05" }],
        transition_months: 12,
        note: "光伏电站收益：村集体留存 20%，管护 5%，其余按户分配（无劳动能力 ×1.5）",
      }),
    );
    const report = async (period: string, submitOn: string, confirmOn: string, revenue: string, costs: string) => {
      const net = Money.format(new D(revenue).minus(costs));
      const r = await submitReport(
        trx,
        by("operator", submitOn),
        pv.id,
        ReturnReportCreate.parse({
          period,
          revenue,
          costs,
          net_income: net,
          amount_payable: Money.format(Money.toFen(new D(net).times("0.6"))),
          attachments: [{ name: `${period}年度发电收益结算单.pdf` }],
          note: "国网结算电费收入，扣除运维、保险费用",
        }),
      );
      return confirmReport(trx, by("village", confirmOn), r.id, ReturnReportConfirm.parse({ note: "村两委核对电费结算单无误" }));
    };
    // The year before last: reported, confirmed, distributed and paid.
    const before = String(lastYear - 1);
    await report(before, `${lastYear}-01-10`, `${lastYear}-01-15`, "118000.00", "21000.00");
    const d = await createDistribution(trx, by("village", `${lastYear}-01-20`), DistributionCreate.parse({ asset_id: pv.id, period: before, reference_date: `${lastYear}-01-20` }));
    await noticeDistribution(trx, by("village", `${lastYear}-01-20`), d.id);
    await approveDistribution(trx, by("regulator", `${lastYear}-01-28`), d.id);
    await payDistribution(trx, by("admin", `${lastYear}-02-03`), d.id, PayBody.parse({ batch_reference: `FH${before}01` }));
    // Last year: reported and confirmed, ready to distribute.
    await report(String(lastYear), `${thisYear}-01-10`, `${thisYear}-01-15`, "124500.00", "22300.00");

    // A workshop of 百花村 idle for months and never reported on (the oversight jobs flag it).
    await createAsset(
      trx,
      by("admin", ago(200)),
      AssetCreate.parse({
        name: "百花村扶贫车间（藤编加工）",
        asset_type: "WORKSHOP",
        village_code: VILLAGE_2,
        funding_sources: [{ source: "CENTRAL_FUND", amount: "300000.00", note: "中央财政衔接推进乡村振兴补助资金" }],
        book_value: "300000.00",
        build_date: "2022-10-15",
        status: "IDLE",
        management: {
          operator_id: SECOND_OPERATOR_ID,
          form: "CONTRACTING",
          contract_start: "2023-01-01",
          contract_end: "2032-12-31",
          return_terms: "FIXED_RENT",
          annual_rent: "24000.00",
          guaranteed_min_rate: "0.06",
        },
        income_rights: { scheme: "VILLAGES", village_codes: [VILLAGE_2] },
        oversight: { body: "琼中县农业农村局", division_code: DEMO_COUNTY.code },
      }),
    );

    // ---------- today's close of business: loan standing, trusteeship arrears, oversight alerts ----------
    const admin = by("admin", today);
    await runCloseOfBusiness(trx, today, { clock: admin.clock, requestId: admin.requestId, actor: admin.actor });
    const alerts = await trx("alerts").whereNull("cleared_at").count<{ n: number | string }[]>({ n: "*" });

    return { ratings: bulk.created + queued.length, loans, trusteeships, assets: 2, alerts: Number(alerts[0].n) };
  });
}
