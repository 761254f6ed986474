/**
 * The HTML reports in Chromium: the bundled vega-embed turns each chart interactive offline, a
 * hover shows a tooltip, the wheel zooms the time axis, a legend click toggles series, and the page
 * asks nothing of the network.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { screenshot, withChromium } from "@tributary/shared/testing/browser";
import { runNotebooks } from "../runner/run-notebooks.ts";
import { TWELVE_SYMBOLS } from "../testing/many-symbols.ts";

/** playwright-core is the shared testing package's dependency, not this app's. */
type Page = Parameters<typeof screenshot>[0];

const dir = mkdtempSync(join(tmpdir(), "tributary-interactive-"));
let html: string;
let manySeriesHtml: string;
const SYMBOLS = TWELVE_SYMBOLS;

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
  const many = join(dir, "many-series.ts");
  await Bun.write(
    many,
    [
      "// %% Twelve symbols, as a line and as stacked hourly bars",
      'import { barChart, display, lineChart } from "@tributary/notebooks/kit";',
      "const t0 = Date.parse('2024-03-04T00:00:00Z');",
      `const symbols = ${JSON.stringify(SYMBOLS)};`,
      "display(await lineChart(symbols.flatMap((s, k) => Array.from({ length: 24 }, (_, i) => ({ x: t0 + i * 3_600_000, y: 100 + 3 * k + (i % 5), series: s }))), { title: 'hourly mid', yTitle: 'price', intervalMs: 3_600_000 }));",
      "display(await barChart(symbols.flatMap((s, k) => Array.from({ length: 6 }, (_, i) => ({ x: t0 + i * 3_600_000, y: 1 + ((k + i) % 4), series: s }))), { title: 'hourly trades', yTitle: 'trades', intervalMs: 3_600_000 }));",
      "",
    ].join("\n"),
  );
  const result = await runNotebooks({ names: [nb, many], outDir: join(dir, "out") });
  expect(result.ok).toBe(true);
  const htmlOf = (name: string): string => result.notebooks.find((n) => n.name === name)?.htmlPath as string;
  html = htmlOf("chart");
  manySeriesHtml = htmlOf("many-series");
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

/** Opens a report and waits until vega-embed has made its `count` charts live. */
async function openLive(page: Page, path: string, count: number): Promise<void> {
  await page.goto(`file://${path}`, { waitUntil: "load" });
  await page
    .locator("figure.chart.interactive .live svg")
    .nth(count - 1)
    .waitFor({ timeout: 20_000 });
}

/** Re-reads until the value is `want` (vega re-renders after a click asynchronously) or 5 s pass. */
async function settled<T>(read: () => Promise<T>, want: T): Promise<T> {
  const end = Date.now() + 5000;
  let got = await read();
  while (!Bun.deepEquals(got, want) && Date.now() < end) {
    await Bun.sleep(50);
    got = await read();
  }
  return got;
}

test("a legend click shows only its series, another click adds one, clicking them again shows all", async () => {
  await withChromium(async (context) => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await openLive(page, manySeriesHtml, 2);
    const figures = await page.$$("figure.chart.interactive");
    for (const figure of figures) {
      // Opacity of every mark item, by the series its aria-label names (lines, their points, bars).
      const opacities = (): Promise<Record<string, number[]>> =>
        figure.$$eval(".live .role-mark path[aria-label]", (paths) => {
          const out: Record<string, number[]> = {};
          for (const p of paths) {
            const series = /(?:^|; )series: ([^;]+)/.exec(p.getAttribute("aria-label") ?? "")?.[1];
            if (series)
              out[series] = [
                ...(out[series] ?? []),
                Number(p.ownerDocument.defaultView?.getComputedStyle(p).opacity),
              ];
          }
          return out;
        });
      const shown = async (): Promise<string[]> =>
        Object.entries(await opacities())
          .filter(([, os]) => os.every((o) => o === 1))
          .map(([s]) => s)
          .sort();
      const dimmed = async (): Promise<string[]> =>
        Object.entries(await opacities())
          .filter(([, os]) => os.every((o) => o < 0.2))
          .map(([s]) => s)
          .sort();
      // A click where the user sees the label, whatever element vega puts on top to catch it.
      const click = async (series: string): Promise<void> => {
        for (const label of await figure.$$(".live .role-legend-label text")) {
          const box = await label.boundingBox();
          if (box && (await label.textContent()) === series)
            return page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
        }
        throw new Error(`no legend entry for ${series}`);
      };
      const all = [...SYMBOLS].sort();
      const except = (...kept: string[]): string[] => all.filter((s) => !kept.includes(s));

      expect(Object.keys(await opacities()).sort()).toEqual(all);
      expect(await shown()).toEqual(all);

      await click("ETH/USD");
      expect(await settled(shown, ["ETH/USD"])).toEqual(["ETH/USD"]);
      expect(await dimmed()).toEqual(except("ETH/USD"));

      await click("SOL/USD");
      expect(await settled(shown, ["ETH/USD", "SOL/USD"])).toEqual(["ETH/USD", "SOL/USD"]);
      expect(await dimmed()).toEqual(except("ETH/USD", "SOL/USD"));

      await click("SOL/USD");
      await click("ETH/USD");
      expect(await settled(shown, all)).toEqual(all);
    }
    await screenshot(page, "notebooks", "interactive-many-series");
    expect(problems).toEqual([]);
  });
}, 90_000);

test("with twelve series the live legend lists each once and no text leaves the chart", async () => {
  await withChromium(async (context) => {
    const page = await context.newPage();
    await openLive(page, manySeriesHtml, 2);
    for (const figure of await page.$$("figure.chart.interactive")) {
      const legend = await figure.$$eval(".live .role-legend-label text", (ts) =>
        ts.map((t) => t.textContent ?? ""),
      );
      expect(legend.sort()).toEqual([...SYMBOLS].sort());
      // Measured with the browser's own fonts, not vega's headless width estimate.
      const outside = await figure.$eval(".live svg", (svg) => {
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll("text")]
          .filter((t) => t.textContent)
          .filter((t) => {
            const r = t.getBoundingClientRect();
            return (
              r.left < box.left - 0.5 ||
              r.right > box.right + 0.5 ||
              r.top < box.top - 0.5 ||
              r.bottom > box.bottom + 0.5
            );
          })
          .map((t) => t.textContent);
      });
      expect(outside).toEqual([]);
    }
  });
}, 90_000);
