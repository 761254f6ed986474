/**
 * The HTML reports in Chromium: the bundled vega-embed turns each chart interactive offline, a
 * hover shows a tooltip, the wheel zooms the time axis, and the page asks nothing of the network.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { screenshot, withChromium } from "@tributary/shared/testing/browser";
import { runNotebooks } from "../runner/run-notebooks.ts";

const dir = mkdtempSync(join(tmpdir(), "tributary-interactive-"));
let html: string;

beforeAll(async () => {
  const nb = join(dir, "chart.ts");
  await Bun.write(
    nb,
    [
      "// %% A chart",
      'import { display, lineChart } from "@tributary/notebooks/kit";',
      "const t0 = Date.parse('2024-03-04T00:00:00Z');",
      "display(await lineChart(Array.from({ length: 48 }, (_, i) => ({ x: t0 + i * 3_600_000, y: 10 + (i % 7), series: i % 2 ? 'ETH/USD' : 'BTC/USD' })), { title: 'hourly', yTitle: 'value', intervalMs: 3_600_000 }));",
      "",
    ].join("\n"),
  );
  const result = await runNotebooks({ names: [nb], outDir: join(dir, "out") });
  expect(result.ok).toBe(true);
  html = result.notebooks[0]?.htmlPath as string;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("charts answer hover and zoom in Chromium with no network request", async () => {
  await withChromium(async (context) => {
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file://")) requests.push(r.url());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`file://${html}`, { waitUntil: "load" });
    await page.waitForSelector("figure.chart.interactive .live svg", { timeout: 20_000 });
    const labels = async (): Promise<string[]> =>
      page.$$eval("figure.chart .live .role-axis-label text", (ts) => ts.map((t) => t.textContent ?? ""));
    const before = await labels();

    // Hover the first point: vega-tooltip shows its values.
    const point = await page.$("figure.chart .live .mark-symbol path");
    expect(point).not.toBeNull();
    await point?.hover();
    await page.waitForSelector("#vg-tooltip-element.visible", { timeout: 5000 });
    const tip = await page.$eval("#vg-tooltip-element", (e) => e.textContent ?? "");
    expect(tip).toContain("2024-03-0");

    // Wheel over the plot: the time axis zooms, so its labels change.
    const box = await (await page.$("figure.chart .live svg"))?.boundingBox();
    expect(box).toBeDefined();
    if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -600);
    await page.waitForTimeout(300);
    expect(await labels()).not.toEqual(before);
    await screenshot(page, "notebooks", "interactive-chart");
    expect({ requests, problems }).toEqual({ requests: [], problems: [] });
  });
}, 90_000);
