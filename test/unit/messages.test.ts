import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import "../../src/modules.js"; // every module registers its error codes on import
import "../../src/jobs/close-of-business.js";
import "../../src/http/auth.js";
import { allErrorCodes, notFound } from "../../src/lib/errors.js";
import { ALERT_KIND_STYLE, ALERT_KINDS, alertInLanguage, isAlertKind } from "../../src/lib/alerts.js";
import { langOf, splitBilingual, textIn } from "../../src/lib/i18n.js";
import { labelAnswer, STATUS_LABELS } from "../../src/lib/labels.js";
import { ALERT_KINDS as TRUSTEESHIP_ALERTS } from "../../src/modules/trusteeship/common.js";
import { CLAIM_UNPAID_ALERT } from "../../src/modules/subsidies/reminders.js";
import { JOB_FAILED_ALERT } from "../../src/jobs/runner.js";
import { DPD_BUCKETS } from "../../src/modules/loans/model.js";

const CJK = /[\u4e00-\u9fff]/;

describe("the message catalogue", () => {
  const codes = Object.entries(allErrorCodes());

  it("has every error code the API can answer, modules' included", () => {
    expect(codes.length).toBeGreaterThan(90);
    expect(Object.keys(allErrorCodes())).toEqual(expect.arrayContaining(["NOT_FOUND", "LOAN_BORROWER_AGE", "WEAK_PASSWORD", "REGISTER_IMPORT_REJECTED", "DUPLICATE_BANK_REFERENCE", "COB_FUTURE_DATE"]));
  });

  it.each(codes)("%s has a Chinese and an English title and description", (_code, spec) => {
    for (const text of [spec.title, spec.description]) {
      expect(text.zh, "Chinese").toMatch(CJK);
      expect(text.en.trim().length, "English").toBeGreaterThan(0);
      expect(text.en, "English without Chinese characters").not.toMatch(/^[\u4e00-\u9fff]/);
    }
  });
});

describe("not found", () => {
  it("names the record in Chinese and English, the generic 未找到该记录 for a record it does not know", () => {
    expect(notFound("loan").detail).toBe("未找到该贷款 / No such loan");
    expect(notFound("loan product").detail).toBe("未找到该贷款产品 / No such loan product");
    expect(notFound("county 469030").detail).toBe("未找到县 469030 / No such county 469030");
    expect(notFound("widget").detail).toBe("未找到该记录 / No such widget");
    expect(notFound().detail).toBe("未找到该记录 / No such resource");
  });

  it("knows every record the code names", () => {
    const named = new Set<string>();
    for (const f of readdirSync("src", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))) {
      for (const m of readFileSync(`src/${f}`, "utf8").matchAll(/notFound\((?:[^()]*\? )?"([^"]+)"/g)) named.add(m[1]);
      for (const m of readFileSync(`src/${f}`, "utf8").matchAll(/notFound\(`([a-z ]+) \$\{/g)) named.add(m[1]);
    }
    expect(named.size).toBeGreaterThan(25);
    expect([...named].filter((what) => notFound(what).detail?.startsWith("未找到该记录"))).toEqual([]);
  });
});

describe("languages", () => {
  const accepts = (header: string) => (...langs: string[]) => {
    // A small stand-in for negotiator: the first offered language whose primary tag the header names.
    const asked = header.split(",").map((x) => x.split(";")[0].trim().toLowerCase());
    for (const a of asked) {
      if (a === "*") return langs[0];
      const hit = langs.find((l) => l.toLowerCase() === a || l.toLowerCase() === a.split("-")[0]);
      if (hit) return hit;
    }
    return false;
  };

  it("is Chinese unless English is asked for", () => {
    expect(langOf(undefined, accepts(""))).toBe("zh");
    expect(langOf("en", accepts("en"))).toBe("en");
    expect(langOf("en-US,en;q=0.9", accepts("en-US,en;q=0.9"))).toBe("en");
    expect(langOf("zh-CN,en;q=0.5", accepts("zh-CN,en;q=0.5"))).toBe("zh");
    expect(langOf("fr", accepts("fr"))).toBe("zh");
  });

  it("splits a text written '中文 / English' and falls back to the catalogue for the missing language", () => {
    expect(splitBilingual("该银行流水号已入账 / this bank reference is already recorded")).toEqual({ zh: "该银行流水号已入账", en: "this bank reference is already recorded" });
    expect(splitBilingual("no Chinese / here")).toBeUndefined();
    const fallback = { zh: "违反业务规则", en: "A rule is broken" };
    expect(textIn("Amount 5.00 is too high", "zh", fallback)).toBe("违反业务规则");
    expect(textIn("Amount 5.00 is too high", "en", fallback)).toBe("Amount 5.00 is too high");
    expect(textIn({ zh: "金额过高", en: "Too high" }, "en")).toBe("Too high");
    expect(textIn(undefined, "zh", fallback)).toBe("违反业务规则");
    // An English sentence quoting a Chinese term is English; a Chinese one is Chinese.
    expect(textIn("The loan is handed over (户贷企用 is banned)", "en", fallback)).toBe("The loan is handed over (户贷企用 is banned)");
    expect(textIn("The loan is handed over (户贷企用 is banned)", "zh", fallback)).toBe("违反业务规则");
    expect(textIn("贷款逾期 45 天", "en", fallback)).toBe("A rule is broken");
  });
});

describe("status labels", () => {
  it.each(Object.entries(STATUS_LABELS))("%s: every code has a Chinese and an English label", (_kind, labels) => {
    for (const l of Object.values(labels)) {
      expect(l.zh).toMatch(CJK);
      expect(l.en).toMatch(/^[A-Z]/);
    }
  });
});

describe("labelled answers", () => {
  it("label the record, each item of a list and the named records it carries, and nothing else", () => {
    expect(labelAnswer("loan", { id: "1", status: "DISBURSED", amount: "1.00" }, "zh")).toEqual({ id: "1", status: "DISBURSED", status_label: "已放款", amount: "1.00" });
    expect(labelAnswer("loan", { items: [{ status: "REPAID" }, { status: "UNKNOWN" }], next_cursor: null }, "en")).toEqual({ items: [{ status: "REPAID", status_label: "Repaid" }, { status: "UNKNOWN" }], next_cursor: null });
    const renewal = labelAnswer("loan", { old_loan: { status: "RENEWED" }, new_loan: { status: "DISBURSED" }, other: { status: "APPROVED" } }, "en", ["old_loan", "new_loan"]);
    expect(renewal).toEqual({ old_loan: { status: "RENEWED", status_label: "Renewed" }, new_loan: { status: "DISBURSED", status_label: "Disbursed" }, other: { status: "APPROVED" } });
  });
});

describe("alert kinds", () => {
  it("are all in the one style, with Chinese and English names", () => {
    for (const [kind, name] of Object.entries(ALERT_KINDS)) {
      expect(kind).toMatch(ALERT_KIND_STYLE);
      expect(name.zh).toMatch(CJK);
      expect(name.en).not.toMatch(CJK);
    }
  });

  it("include every kind the code raises", () => {
    const raised = [
      ...Object.values(TRUSTEESHIP_ALERTS),
      CLAIM_UNPAID_ALERT,
      JOB_FAILED_ALERT,
      ...DPD_BUCKETS.filter((b) => b !== "CURRENT").map((b) => `loan.overdue.${b.toLowerCase()}`),
    ];
    // Kinds written as literals in SQL or in raiseAlert calls, found in the source.
    const files = readdirSync("src", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    for (const f of files) {
      const text = readFileSync(`src/${f}`, "utf8");
      if (!text.includes("alerts")) continue;
      for (const m of text.matchAll(/kind:\s*"([^"]+)",\s*\n?\s*(?:severity|entityType)/g)) raised.push(m[1]);
      for (const m of text.matchAll(/SELECT [^']*'([a-z_]+\.[a-z_.]+)', '(?:INFO|WARNING|CRITICAL)'/g)) raised.push(m[1]);
      for (const m of text.matchAll(/kind: "([^"]+)",\s*entity_type/g)) raised.push(m[1]);
    }
    expect(raised.length).toBeGreaterThan(12);
    expect(raised.filter((k) => !isAlertKind(k))).toEqual([]);
    expect(raised.filter((k) => !ALERT_KIND_STYLE.test(k))).toEqual([]);
    for (const k of ["asset.idle", "asset.return_report_missing", "distribution.unpaid", "compensation.unpaid", "circuit_breaker.tripped", "audit.seal_refused"]) expect(raised).toContain(k);
  });

  it("read in either language", () => {
    const a = { kind: "trustee.return_arrears", severity: "CRITICAL", message: "委托经营收益拖欠 400.00 元 / trustee return in arrears: 400.00 yuan" };
    expect(alertInLanguage(a, "zh")).toMatchObject({ kind_label: "委托经营收益拖欠", severity_label: "严重", message: "委托经营收益拖欠 400.00 元" });
    expect(alertInLanguage(a, "en")).toMatchObject({ kind: "trustee.return_arrears", kind_label: "Trustee return in arrears", severity_label: "Critical", message: "trustee return in arrears: 400.00 yuan" });
    expect(alertInLanguage({ ...a, message: "只有中文" }, "en")).toMatchObject({ message: "Trustee return in arrears" });
  });
});
