/// <reference lib="dom" />
import { existsSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { raiseAlert } from "../../src/lib/alerts.js";
import { FixedClock } from "../../src/lib/clock.js";
import { createHousehold } from "../helpers/factories.js";
import { TEST_PASSWORD, USERS } from "../helpers/fixture.js";
import { useTestApp } from "../helpers/harness.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
// In CI the browser test must run (.ci/run installs Debian's chromium); elsewhere it says why it skips.
if (!haveChromium && !process.env.CI) process.stderr.write(`browser test skipped: ${CHROMIUM} not installed (apt-get install chromium)\n`);

const t = useTestApp({ today: new Date().toISOString().slice(0, 10) });

describe.skipIf(!haveChromium && !process.env.CI)("regulator dashboard in Chromium", () => {
  let server: Server;
  let base = "";
  beforeAll(async () => {
    t.clock.set(new Date());
    await createHousehold(t);
    await raiseAlert(t.db, { countyCode: "469030", kind: "circuit_breaker.tripped", severity: "CRITICAL", entityType: "portfolio", entityId: "469030:test-bank", message: "不良率 3.4% 超过熔断阈值 3%" }, new Date());
    const app = createApp({ ...t.deps, clock: new FixedClock(new Date()) });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  it("logs in, renders the charts and lists the open alert", async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${base}/dashboard`);
      await page.fill("#username", USERS.regulator.username);
      await page.fill("#password", TEST_PASSWORD);
      await page.click("#login-button");
      await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
      // Both charts exist and drew something.
      const charts = await page.evaluate(() => {
        const w = window as unknown as { charts: { data: { datasets: unknown[] } }[] };
        return w.charts.map((c) => c.data.datasets.length);
      });
      expect(charts.length).toBe(2);
      expect(charts[0]).toBeGreaterThan(0);
      const painted = await page.evaluate(() => {
        const c = document.getElementById("chart-households") as HTMLCanvasElement;
        const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      });
      expect(painted).toBeGreaterThan(1000);
      const alerts = await page.locator("#alerts-body tr").allTextContents();
      expect(alerts.some((a) => a.includes("不良率 3.4% 超过熔断阈值 3%"))).toBe(true);
      expect(await page.locator("#kpis .kpi").count()).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      mkdirSync("test-results", { recursive: true });
      await page.screenshot({ path: "test-results/dashboard.png", fullPage: true });
      expect(existsSync("test-results/dashboard.png")).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
