/// <reference lib="dom" />
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import ExcelJS from "exceljs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { raiseAlert } from "../../src/lib/alerts.js";
import { FixedClock } from "../../src/lib/clock.js";
import { seedPortalDemo } from "../../db/seeds/demo-portal.js";
import { buildCounty, type County } from "../api/county-scenario.js";
import { TEST_PASSWORD, TOWNSHIP, USERS, VILLAGE } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) process.stderr.write(`browser test skipped: ${CHROMIUM} not installed (apt-get install chromium)\n`);
const PORT = 3107;

const t = useTestApp({ today: "2024-10-08" });

/**
 * The dashboard's figures by township, village and bank in Chromium, at a desktop width and a
 * phone's: the drill-down by clicking rows, the breadcrumbs back up, the downloads of what is shown,
 * the loading and error states, and no sideways scrolling of the page on the phone.
 */
describe.skipIf(!haveChromium && !process.env.CI)("dashboard drill-down in Chromium", () => {
  let server: Server;
  let browser: Browser;
  let county: County;
  const base = `http://127.0.0.1:${PORT}`;
  beforeAll(async () => {
    county = await buildCounty(t);
    // The portal demo's sample credentials, as the demo seed leaves them (a household of 新市村 with a loan and a dividend).
    expect(await t.db.transaction((trx) => seedPortalDemo(t.deps, trx))).toEqual({ household_id: county.h.A.id });
    // A long alert message: on a phone it must wrap inside its block, not widen the page.
    await raiseAlert(t.db, { countyCode: "469030", kind: "trustee.return_arrears", severity: "WARNING", entityType: "trusteeship", entityId: "t-1", message: "琼中绿橙种植专业合作社委托经营收益拖欠：2025年第二季度应付400.00元逾期未付，已通知村两委与乡镇经管站跟进催收" }, new Date());
    const app = createApp({ ...t.deps, clock: new FixedClock(new Date()) });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(PORT, "127.0.0.1", () => resolve(s));
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  async function open(width: number, height: number, who: keyof typeof USERS = "regulator"): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/dashboard`);
    await page.fill("#username", USERS[who].username);
    await page.fill("#password", TEST_PASSWORD);
    await page.click("#login-button");
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    return { page, errors };
  }
  const rows = (page: Page) => page.locator("#figures-body tr").evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.key, tr.children[0].textContent]));
  const shown = (page: Page, state: string) => page.waitForSelector(`body[data-figures="${state}"]`, { timeout: 20_000 });
  const noSideways = (page: Page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));

  async function drillDown(page: Page) {
    await shown(page, "township:");
    expect(await rows(page)).toEqual(expect.arrayContaining([[TOWNSHIP, "营根镇"]]));
    expect(await page.locator("#figures-foot td").first().textContent()).toContain("合计（琼中黎族苗族自治县）");
    await page.click(`#figures-body tr[data-key="${TOWNSHIP}"]`);
    await shown(page, `village:${TOWNSHIP}`);
    expect((await rows(page)).map((r) => r[1])).toEqual(["新市村", "百花村"]);
    expect(await page.locator("#crumbs").textContent()).toBe("琼中黎族苗族自治县›营根镇");
    await page.click(`#figures-body tr[data-key="${VILLAGE}"]`);
    await shown(page, `bank:${TOWNSHIP}/${VILLAGE}`);
    expect((await rows(page)).map((r) => r[1])).toEqual(["测试农商行"]);
    expect(await page.locator("#figures-body tr td").nth(3).textContent()).toBe("56,000.00");
    expect(await page.locator("#crumbs").textContent()).toBe("琼中黎族苗族自治县›营根镇›新市村");
    expect(await page.locator("#figures-body tr.drill").count()).toBe(0); // the last level
  }

  it("drills from the county to a township, a village and its banks, and back, at 1280×800", async () => {
    const { page, errors } = await open(1280, 800);
    await drillDown(page);

    // Downloads of what is shown: the village's banks.
    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    expect(csv.suggestedFilename()).toMatch(new RegExp(`^figures-bank-${VILLAGE}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    const text = readFileSync((await csv.path())!, "utf8");
    expect(text.split(/\r?\n/)[0]).toContain("银行,符合条件户数");
    expect(text).toContain("测试农商行");
    expect(text).toContain("56000.00");
    const [xlsx] = await Promise.all([page.waitForEvent("download"), page.click("#export-xlsx")]);
    expect(xlsx.suggestedFilename()).toMatch(/\.xlsx$/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile((await xlsx.path())!);
    const ws = wb.worksheets[0];
    expect(ws.views[0]).toMatchObject({ state: "frozen", ySplit: 1 });
    expect(ws.getRow(2).getCell(2).value).toBe("测试农商行");

    // Breadcrumbs back up to the county.
    await page.click('#crumbs a[data-depth="0"]');
    await shown(page, "township:");
    // By bank: the bank, then its townships.
    await page.click("#view-bank");
    await shown(page, "bank:");
    expect((await rows(page)).map((r) => r[1])).toEqual(["测试农商行"]);
    await page.click("#figures-body tr.drill");
    await shown(page, "township:0b000000-0000-4000-8000-00000000000a");
    expect(await page.locator("#crumbs").textContent()).toBe("琼中黎族苗族自治县（按银行）›测试农商行");

    // While the answer is on its way: a spinner and skeleton rows.
    await page.route("**/api/v1/reports/figures?*", async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.click('#crumbs a[data-depth="0"]');
    await page.waitForSelector("#figures-loading:not(.hidden)");
    expect(await page.locator("#figures-body tr.skeleton").count()).toBeGreaterThan(0);
    await shown(page, "bank:");
    expect(await page.locator("#figures-loading").isHidden()).toBe(true);
    await page.unroute("**/api/v1/reports/figures?*");

    // A failure says so in Chinese, and the retry button loads again.
    await page.route("**/api/v1/reports/figures?*", (route) =>
      route.fulfill({ status: 500, contentType: "application/problem+json", body: JSON.stringify({ status: 500, title: "Internal error", detail: "Internal error" }) }),
    );
    await page.click("#view-area");
    await shown(page, "error");
    const message = await page.locator("#figures-error-text").textContent();
    expect(message).toContain("数据加载失败：服务器出错（HTTP 500）");
    await page.unroute("**/api/v1/reports/figures?*");
    await page.click("#figures-retry");
    await shown(page, "township:");
    expect(await page.locator("#figures-error").isHidden()).toBe(true);

    await drillDown(page);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-drilldown-desktop.png", fullPage: true });
    expect(existsSync("test-results/dashboard-drilldown-desktop.png")).toBe(true);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it("works on a phone (375×812): no sideways scrolling, the alerts stacked, the figures table scrolls in its own box", async () => {
    const { page, errors } = await open(375, 812);
    let w = await noSideways(page);
    expect(w.scroll).toBeLessThanOrEqual(w.inner);
    // The alerts: each one a block of labelled lines inside the card.
    const alert = page.locator("#alerts-body tr").filter({ hasText: "乡镇经管站跟进催收" });
    expect(await alert.evaluate((tr) => getComputedStyle(tr).display)).toBe("block");
    const box = await page.locator("#alerts-table").evaluate((t) => ({ table: t.scrollWidth, wrap: (t.parentElement as HTMLElement).clientWidth }));
    expect(box.table).toBeLessThanOrEqual(box.wrap);
    // The figures table may be wider than the phone, but only inside its own scrolling box.
    const wrap = await page.locator("#figures .table-wrap").evaluate((el) => ({ overflow: getComputedStyle(el).overflowX, width: el.getBoundingClientRect().width }));
    expect(wrap.overflow).toBe("auto");
    expect(wrap.width).toBeLessThanOrEqual(375);

    await drillDown(page);
    w = await noSideways(page);
    expect(w.scroll).toBeLessThanOrEqual(w.inner);
    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    expect(readFileSync((await csv.path())!, "utf8")).toContain("测试农商行");
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-drilldown-phone.png", fullPage: true });
    expect(existsSync("test-results/dashboard-drilldown-phone.png")).toBe(true);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it("shows a village officer the figures of its own village only, without the county's summary", async () => {
    const { page, errors } = await open(1280, 800, "village");
    await shown(page, "township:");
    expect(await page.locator("#summary-card").isHidden()).toBe(true);
    expect(await rows(page)).toEqual([[TOWNSHIP, "营根镇"]]);
    expect(await page.locator("#figures-foot td").first().textContent()).toBe("合计（新市村）");
    await page.click(`#figures-body tr[data-key="${TOWNSHIP}"]`);
    await shown(page, `village:${TOWNSHIP}`);
    expect(await rows(page)).toEqual([[VILLAGE, "新市村"]]);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it("lets a partner's developer try the portal demo with the sample credentials shown on the page", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/portal-demo`);
    expect(await page.locator("#howto").textContent()).toContain("POST /api/v1/portal/token");
    await page.waitForSelector("body[data-sample=ready]");
    expect(await page.locator("#s-client-id").textContent()).toBe("demo-portal");
    expect(await page.locator("#s-id-number").textContent()).toMatch(/^\d{17}[\dX]$/);
    // A wrong PIN: the message says so in Chinese.
    await page.click("#fill");
    await page.fill("#pin", "000001");
    await page.click("#submit");
    await page.waitForSelector("body[data-result=error]");
    expect(await page.locator("#error").textContent()).toBe("查询失败：合作方凭证、身份证号或 PIN 不正确");
    // The sample credentials: the household's own money, and the calls made.
    await page.click("#fill");
    await page.click("#submit");
    await page.waitForSelector("body[data-result=ok]", { timeout: 20_000 });
    expect(await page.locator("#me").textContent()).toContain("新市村");
    expect(await page.locator("#dividends tr").count()).toBeGreaterThan(0);
    expect(await page.locator("#dividends").textContent()).toContain("已发放");
    expect(await page.locator("#loans").textContent()).toContain("30000.00");
    expect(await page.locator("#log li").allTextContents()).toEqual(expect.arrayContaining(["POST /portal/token → 200", "GET /portal/me/dividends → 200"]));
    const w = await noSideways(page);
    expect(w.scroll).toBeLessThanOrEqual(w.inner);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/portal-demo-phone.png", fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
