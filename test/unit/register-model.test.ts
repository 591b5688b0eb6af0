import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { D } from "../../src/lib/money.js";
import { type Approval, ageOn, checkStatusChange, perCapita, type StatusChangeInput } from "../../src/modules/register/model.js";

const EXIT: Approval[] = [
  { step: "VILLAGE_PROPOSAL", date: "2025-05-01", by: "新市村两委" },
  { step: "DEMOCRATIC_REVIEW", date: "2025-05-05", by: "村民代表大会" },
  { step: "HOUSEHOLD_SIGNATURE", date: "2025-05-08", by: "户主" },
  { step: "PUBLIC_NOTICE", date: "2025-05-10", by: "新市村" },
  { step: "TOWNSHIP_REVIEW", date: "2025-05-20", by: "营根镇" },
  { step: "COUNTY_APPROVAL", date: "2025-05-30", by: "县扶贫开发领导小组" },
];
const exit = (over: Partial<StatusChangeInput> = {}): StatusChangeInput => ({
  from: "POOR",
  to: "EXITED",
  effectiveDate: "2025-05-30",
  approvals: EXIT,
  noticeStart: "2025-05-10",
  noticeEnd: "2025-05-17",
  today: "2025-06-02",
  ...over,
});
const withDate = (step: string, date: string) => EXIT.map((a) => (a.step === step ? { ...a, date } : a));
const messages = (c: StatusChangeInput) => checkStatusChange(c).map((p) => `${p.path}: ${p.message.en}`);
const messagesZh = (c: StatusChangeInput) => checkStatusChange(c).map((p) => `${p.path}: ${p.message.zh}`);

describe("checkStatusChange", () => {
  it("accepts the full exit process with a 7-day notice", () => {
    expect(checkStatusChange(exit())).toEqual([]);
  });

  it("names each missing step of the exit process", () => {
    const without = EXIT.filter((a) => a.step !== "HOUSEHOLD_SIGNATURE" && a.step !== "TOWNSHIP_REVIEW");
    expect(messages(exit({ approvals: without }))).toEqual([
      "body.approvals: missing approval step HOUSEHOLD_SIGNATURE",
      "body.approvals: missing approval step TOWNSHIP_REVIEW",
    ]);
    expect(messagesZh(exit({ approvals: without }))).toEqual([
      "body.approvals: 缺少审批环节：农户签字认可（HOUSEHOLD_SIGNATURE）",
      "body.approvals: 缺少审批环节：乡镇审核（TOWNSHIP_REVIEW）",
    ]);
  });

  it("needs a public notice of at least 7 days, and the township review after it ends", () => {
    expect(messages(exit({ noticeEnd: "2025-05-16" }))).toEqual(["body.notice_end: the public notice must run at least 7 days (it ran 6)"]);
    expect(messagesZh(exit({ noticeEnd: "2025-05-16" }))).toEqual(["body.notice_end: 公示期不少于 7 天（实际 6 天）"]);
    expect(messages(exit({ noticeStart: undefined, noticeEnd: undefined }))).toEqual(["body.notice_start: a public notice period (notice_start, notice_end) is required"]);
    expect(messages(exit({ noticeEnd: "2025-05-21" }))).toEqual(["body.approvals: the township review comes after the notice period ends"]);
  });

  it("needs the steps in the order of the process", () => {
    expect(messages(exit({ approvals: withDate("HOUSEHOLD_SIGNATURE", "2025-05-03") }))).toEqual([
      "body.approvals: HOUSEHOLD_SIGNATURE (2025-05-03) is dated before DEMOCRATIC_REVIEW (2025-05-05)",
    ]);
    // The order of the array does not matter, only the dates.
    expect(checkStatusChange(exit({ approvals: [...EXIT].reverse() }))).toEqual([]);
  });

  it("refuses a step twice, approvals in the future and effective dates before the county approval or after today", () => {
    expect(messages(exit({ approvals: [...EXIT, EXIT[0]] }))).toContain("body.approvals: each step may appear once");
    expect(messages(exit({ approvals: withDate("COUNTY_APPROVAL", "2025-06-03"), effectiveDate: "2025-06-03" }))).toEqual([
      "body.approvals: COUNTY_APPROVAL is dated in the future",
      "body.effective_date: the effective date is in the future",
    ]);
    expect(messages(exit({ effectiveDate: "2025-05-29" }))).toEqual(["body.effective_date: the change takes effect on or after the county approval"]);
  });

  it("lets monitoring and removal go through village, township and county", () => {
    const three: Approval[] = [
      { step: "VILLAGE_PROPOSAL", date: "2025-04-01", by: "村" },
      { step: "TOWNSHIP_REVIEW", date: "2025-04-02", by: "镇" },
      { step: "COUNTY_APPROVAL", date: "2025-04-03", by: "县" },
    ];
    const base = { effectiveDate: "2025-04-03", approvals: three, today: "2025-06-02" };
    expect(checkStatusChange({ ...base, from: "POOR", to: "MONITORED" })).toEqual([]);
    expect(checkStatusChange({ ...base, from: "EXITED", to: "MONITORED" })).toEqual([]);
    expect(checkStatusChange({ ...base, from: "MONITORED", to: "REMOVED" })).toEqual([]);
    // Returning to poverty also needs the democratic review.
    expect(messages({ ...base, from: "EXITED", to: "POOR" })).toEqual(["body.approvals: missing approval step DEMOCRATIC_REVIEW"]);
  });

  it("keeps REMOVED final and refuses a change to the same status", () => {
    for (const to of ["POOR", "EXITED", "MONITORED", "REMOVED"] as const) {
      expect(messages(exit({ from: "REMOVED", to }))).toEqual([`body.to_status: a household cannot go from REMOVED to ${to}`]);
    }
    expect(messages(exit({ from: "POOR", to: "POOR" }))).toEqual(["body.to_status: a household cannot go from POOR to POOR"]);
    expect(messagesZh(exit({ from: "REMOVED", to: "POOR" }))).toEqual(["body.to_status: 农户状态不能从已清退变为贫困户"]);
  });
});

describe("perCapita", () => {
  it("divides the household's net income by its members, half-up to the fen", () => {
    expect(perCapita("24000.00", 2)).toBe("12000.00");
    expect(perCapita("10000.00", 3)).toBe("3333.33");
    expect(perCapita("10000.00", 6)).toBe("1666.67");
    expect(perCapita("0.05", 2)).toBe("0.03");
    expect(perCapita("7", 1)).toBe("7.00");
    expect(perCapita("5000.00", 0)).toBe("5000.00");
  });

  it("is within half a fen per member of the total (property)", () => {
    const amount = fc.bigInt({ min: 0n, max: 10_000_000_00n }).map((fen) => new D(fen.toString()).div(100).toFixed(2));
    fc.assert(
      fc.property(amount, fc.integer({ min: 1, max: 30 }), (net, n) => {
        const pc = perCapita(net, n);
        expect(pc).toMatch(/^\d+\.\d{2}$/);
        expect(new D(pc).times(n).minus(net).abs().lte(new D("0.005").times(n))).toBe(true);
      }),
    );
  });
});

describe("ageOn", () => {
  it("counts whole years, turning a year older on the birthday", () => {
    expect(ageOn("1980-05-17", "2025-05-16")).toBe(44);
    expect(ageOn("1980-05-17", "2025-05-17")).toBe(45);
    expect(ageOn("2007-06-02", "2025-06-01")).toBe(17);
    expect(ageOn("2007-06-02", "2025-06-02")).toBe(18);
    expect(ageOn("1960-12-31", "2025-01-01")).toBe(64);
  });

  it("puts a 29 February birthday on 1 March in common years", () => {
    expect(ageOn("2000-02-29", "2025-02-28")).toBe(24);
    expect(ageOn("2000-02-29", "2025-03-01")).toBe(25);
    expect(ageOn("2000-02-29", "2024-02-29")).toBe(24);
  });
});
