/**
 * End to end: every notebook runs against a deterministic lake with the pipeline's dataset contract,
 * writes an `.ipynb` that validates against nbformat 4.5 with no error output, and an HTML page
 * that headless Chromium renders with its charts (screenshots in test-artifacts/notebooks/).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromiumAvailable, withChromium } from "@tributary/shared/testing/browser";
import { countMarkItems, plotAreas, VEGA_LITE_MIME } from "../src/charts/index.ts";
import { validateNotebook } from "../src/format/validate.ts";
import { listNotebooks, type RunNotebooksResult, runNotebooks } from "../src/runner/run-notebooks.ts";
import { buildLakeFixture, type LakeFixture } from "../src/testing/lake-fixture.ts";
import { buildTesouroSampleLake } from "../src/testing/tesouro-sample-lake.ts";

const ARTIFACTS = resolve(import.meta.dir, "../../../test-artifacts/notebooks");
const NAMES = ["data-quality", "market-overview", "microstructure", "tesouro"];

interface NotebookJson {
  readonly cells: readonly {
    readonly cell_type: string;
    readonly outputs?: readonly { readonly output_type: string; readonly data?: Record<string, unknown> }[];
  }[];
}

let root: string;
let fixture: LakeFixture;
let full: RunNotebooksResult;

function load(result: RunNotebooksResult, name: string): NotebookJson {
  const nb = result.notebooks.find((n) => n.name === name);
  if (!nb) throw new Error(`no result for ${name}`);
  return JSON.parse(readFileSync(nb.ipynbPath, "utf8")) as NotebookJson;
}

function outputs(nb: NotebookJson) {
  return nb.cells.flatMap((c) => c.outputs ?? []);
}

function text(nb: NotebookJson): string {
  return JSON.stringify(nb);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "tributary-notebooks-e2e-"));
  fixture = await buildLakeFixture(join(root, "lake"), { book: { minutes: 60 } });
  full = await runNotebooks({
    outDir: join(root, "out"),
    env: { ...process.env, LAKE_URI: fixture.dir },
    timeoutMs: 120_000,
  });
}, 180_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("notebooks on a full lake", () => {
  test("the four notebooks exist and all run without an error output", () => {
    expect(listNotebooks().map((p) => p.split("/").pop())).toEqual(NAMES.map((n) => `${n}.ts`));
    expect(full.notebooks.map((n) => [n.name, n.ok, n.errors])).toEqual(NAMES.map((n) => [n, true, []]));
    for (const name of NAMES) {
      expect(outputs(load(full, name)).filter((o) => o.output_type === "error")).toEqual([]);
    }
    expect(full.ok).toBe(true);
  });

  test("every .ipynb validates against the nbformat 4.5 schema", () => {
    for (const name of NAMES) {
      const result = validateNotebook(load(full, name));
      expect({ name, errors: result.errors }).toEqual({ name, errors: [] });
    }
  });

  test("charts carry SVG, the Vega-Lite spec and text", () => {
    const expected: Record<string, number> = {
      "market-overview": 5,
      microstructure: 14,
      tesouro: 6,
      "data-quality": 4,
    };
    for (const name of NAMES) {
      const charts = outputs(load(full, name)).filter((o) => o.data?.["image/svg+xml"] !== undefined);
      expect({ name, charts: charts.length }).toEqual({ name, charts: expected[name] ?? -1 });
      for (const c of charts) {
        expect(c.data?.["application/vnd.vegalite.v5+json"]).toBeDefined();
        expect(c.data?.["text/plain"]).toBeDefined();
      }
    }
  });

  test("market overview draws one candle body per 1-minute candle in its 180-minute window", () => {
    const nb = load(full, "market-overview");
    const svg = outputs(nb)
      .map((o) => o.data?.["image/svg+xml"])
      .find((s) => Array.isArray(s) && s.join("").includes("1-minute candles"));
    const joined = (svg as string[]).join("");
    const body = joined.slice(joined.indexOf("body_marks"));
    expect((body.slice(0, body.indexOf("</g>")).match(/<path/g) ?? []).length).toBe(180);
  });

  test("microstructure draws the order book next to the trades over one window, with its checksum health", () => {
    expect(fixture.bookMessages).toBeGreaterThan(0);
    const nb = load(full, "microstructure");
    const charts = outputs(nb)
      .filter((o) => o.data?.["image/svg+xml"] !== undefined)
      .map((o) => ({
        output: o,
        title: String(o.data?.["text/plain"]),
        svg: [o.data?.["image/svg+xml"]].flat().join(""),
        spec: o.data?.[VEGA_LITE_MIME] as BookChartSpec,
      }));
    for (const symbol of fixture.symbols) {
      const chart = (part: string) => {
        const found = charts.find((c) => c.title.includes(`${symbol} · ${part}`));
        if (!found) throw new Error(`no chart "${symbol} · ${part}"`);
        return found;
      };
      // 60 minutes of book: 2-minute buckets, the trades' candles of the same buckets.
      const candles = chart("trades, 2-minute candles");
      const spread = chart("spread and microprice against the mid");
      const depth = chart("depth near the mid");
      const imbalance = chart("imbalance");
      expect(countMarkItems(candles.svg, "body")).toBe(30);
      expect(countMarkItems(spread.svg, "line")).toBe(2);
      expect(new Set(spread.spec.data.values.map((v) => v.series))).toEqual(
        new Set(["spread", "microprice − mid"]),
      );
      expect(countMarkItems(imbalance.svg, "line")).toBe(3);
      // Depth: one bar per bucket, side and band with quantity in it; bids above zero, asks below.
      const bars = depth.spec.data.values;
      expect(countMarkItems(depth.svg, "bars")).toBe(bars.length);
      expect(bars.filter((b) => (b.y1 ?? 0) > 0 && b.series === "0–10 bps").length).toBeGreaterThanOrEqual(
        30,
      );
      expect(bars.filter((b) => (b.y1 ?? 0) < 0 && b.series === "0–10 bps").length).toBeGreaterThanOrEqual(
        30,
      );
      // One time axis for the four charts, so they line up under each other.
      const domains = [candles.spec.vconcat?.[0]?.layer?.[0], spread.spec, depth.spec, imbalance.spec].map(
        (s) => JSON.stringify(s?.encoding?.x?.scale?.domain),
      );
      // The window: the book's last 60 minutes and one second, in whole 2-minute buckets.
      expect(JSON.parse(domains[0] ?? "null")).toMatchObject([
        { year: 2024, month: 3, date: 5, hours: 23, minutes: 0 },
        { year: 2024, month: 3, date: 6, hours: 0, minutes: 2 },
      ]);
      expect(new Set(domains).size).toBe(1);
      // And one plot left edge and width (the candles' two panels too): a vertical line meets one instant.
      const areas = [candles, spread, depth, imbalance].flatMap((c) => plotAreas(c.svg));
      expect(areas.length).toBe(5);
      expect(new Set(areas.map((a) => `${a.x} ${a.width}`)).size).toBe(1);
      for (const c of [candles, spread, depth, imbalance]) {
        const marks = Math.max(c.spec.data.values.length, drawnMarks(c.svg));
        const bytes = JSON.stringify(c.output).length;
        expect({ title: c.title, marks: marks <= MAX_MARKS }).toEqual({ title: c.title, marks: true });
        expect({ title: c.title, bytes: bytes <= FRAME_BYTES + BYTES_PER_MARK * marks }).toEqual({
          title: c.title,
          bytes: true,
        });
      }
    }
    const t = JSON.stringify(outputs(nb));
    expect(t).not.toContain("No order-book data");
    // book-market.ts plays one checksum mismatch per symbol.
    expect(t).toContain("2 checksum mismatches**");
    expect(t).toContain("hour_utc");
  });

  test("data quality's silver recount finds the trade ids the fixture skipped and agrees with gold", () => {
    expect(fixture.skippedTradeIds).toBeGreaterThan(0);
    const t = text(load(full, "data-quality"));
    expect(t).toContain(`${fixture.skippedTradeIds} missing trade ids in the window`);
    expect(t).toContain(`✓ Gold reports ${fixture.skippedTradeIds} missing trades`);
    expect(t).toContain("✓ **Silver uniqueness:**");
  });

  test("HTML pages need nothing from the network: SVG inline, the chart runtime beside them", () => {
    for (const nb of full.notebooks) {
      const html = readFileSync(nb.htmlPath, "utf8");
      expect(html).not.toMatch(/<link |@import|src="http|href="http/);
      const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
      expect(
        scripts.filter((a) => !/type="application\/json"|src="tributary-charts\.js"/.test(a ?? "")),
      ).toEqual([]);
      expect(html).toContain("<svg");
    }
    expect(statSync(join(full.outDir, "tributary-charts.js")).size).toBeGreaterThan(100_000);
  });

  test("index.json lists the run for the console", () => {
    const index = JSON.parse(readFileSync(join(full.outDir, "index.json"), "utf8")) as {
      notebooks: { name: string; ok: boolean; html: string }[];
    };
    expect(index.notebooks.map((n) => [n.name, n.ok, n.html])).toEqual(
      NAMES.map((n) => [n, true, `${n}.html`]),
    );
  });
});

describe("notebooks on a partial lake", () => {
  test("with market data only, every notebook still runs and Tesouro explains what is missing", async () => {
    const lake = join(root, "market-only");
    await buildLakeFixture(lake, { hours: 2, tesouro: false });
    const result = await runNotebooks({
      outDir: join(root, "out-market"),
      env: { ...process.env, LAKE_URI: lake },
    });
    expect(result.notebooks.map((n) => [n.name, n.ok, n.errors])).toEqual(NAMES.map((n) => [n, true, []]));
    expect(text(load(result, "tesouro"))).toContain("No Tesouro Direto data in this lake");
    expect(JSON.stringify(outputs(load(result, "microstructure")))).toContain(
      "No order-book data in this lake.",
    );
  }, 120_000);

  test("with an empty lake, every notebook runs and says which datasets are absent", async () => {
    const result = await runNotebooks({
      outDir: join(root, "out-empty"),
      env: { ...process.env, LAKE_URI: join(root, "empty-lake") },
    });
    expect(result.notebooks.map((n) => [n.name, n.ok])).toEqual(NAMES.map((n) => [n, true]));
    expect(text(load(result, "market-overview"))).toContain("No hourly candles yet");
    expect(text(load(result, "microstructure"))).toContain("No trades.");
    expect(JSON.stringify(outputs(load(result, "microstructure")))).toContain(
      "No order-book data in this lake.",
    );
    expect(text(load(result, "data-quality"))).toContain("No quality metrics.");
  }, 120_000);
});

interface BookChartSpec {
  readonly data: { readonly values: readonly { readonly series?: string; readonly y1?: number }[] };
  readonly encoding?: { readonly x?: { readonly scale?: { readonly domain?: unknown } } };
  readonly vconcat?: readonly { readonly layer?: readonly Pick<BookChartSpec, "encoding">[] }[];
}

/** Items drawn by every mark of a rendered chart. */
function drawnMarks(svg: string): number {
  const names = new Set([...svg.matchAll(/role-mark (\w+)_marks"/g)].map((m) => m[1] as string));
  return [...names].reduce((n, name) => n + countMarkItems(svg, name), 0);
}

/** What a chart may weigh: a frame (axes, legend, title) plus a bounded number of bytes per drawn mark. */
const FRAME_BYTES = 24_000;
const BYTES_PER_MARK = 450;
/** More marks than this in one 840 px chart are a smear, not a picture. */
const MAX_MARKS = 400;

describe("Tesouro on the real sample (the demo's 361 base dates × 8 bond types)", () => {
  test("every chart is legible and the file weighs what it shows", async () => {
    const lake = join(root, "tesouro-sample");
    expect(await buildTesouroSampleLake(lake)).toBeGreaterThan(19_000);
    const result = await runNotebooks({
      names: ["tesouro"],
      outDir: join(root, "out-tesouro"),
      env: { ...process.env, LAKE_URI: lake },
    });
    expect(result.notebooks.map((n) => [n.name, n.ok, n.errors])).toEqual([["tesouro", true, []]]);
    const nb = load(result, "tesouro");
    const charts = outputs(nb).filter((o) => o.data?.["image/svg+xml"] !== undefined);
    expect(charts.length).toBe(10);
    let budget = 0;
    for (const c of charts) {
      const spec = c.data?.["application/vnd.vegalite.v5+json"] as {
        data: { values: unknown[] };
        layer?: unknown[];
      };
      // A labelled heatmap draws a rect and a label per cell.
      const marks = spec.data.values.length * (spec.layer?.length ?? 1);
      const bytes = JSON.stringify(c).length;
      const title = String(c.data?.["text/plain"]);
      expect({ title, marks: marks <= MAX_MARKS }).toEqual({ title, marks: true });
      expect({ title, bytes: bytes <= FRAME_BYTES + BYTES_PER_MARK * marks }).toEqual({ title, bytes: true });
      budget += FRAME_BYTES + BYTES_PER_MARK * marks;
    }
    // Tables, markdown, code and metadata on top of the charts' budget.
    const nbBytes = statSync(result.notebooks[0]?.ipynbPath ?? "").size;
    expect(nbBytes).toBeLessThan(budget + 40_000);
    expect(nbBytes).toBeLessThan(600_000);
    const t = text(nb);
    expect(t).toContain("**Tesouro IGPM+ com Juros Semestrais** quotes one maturity (2031-01-01)");
    expect(t).toContain("19912 of 19918 quotes (all but 6) carry their type's usual spread");
    expect(t).toContain("Net change of the buy rate per month (bp), 2023-11 to 2025-05");
    expect(t).toContain("Daily change of the buy rate (bp), last 20 trading days to 2025-05-02");
    expect(t).toContain(
      "Heatmap: Daily change of the buy rate (bp), last 20 trading days to 2025-05-02 (160 cells)",
    );
  }, 120_000);
});

describe("HTML in headless Chromium", () => {
  test("each page renders its charts with no console errors; screenshots are saved", async () => {
    expect({ chromium: chromiumAvailable(), hint: "apt-get update && apt-get install -y chromium" }).toEqual({
      chromium: true,
      hint: "apt-get update && apt-get install -y chromium",
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    await withChromium(
      async (context) => {
        for (const nb of full.notebooks) {
          const page = await context.newPage();
          const problems: string[] = [];
          page.on("console", (m) => {
            if (m.type() === "error") problems.push(`console: ${m.text()}`);
          });
          page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
          page.on("request", (r) => {
            if (!r.url().startsWith("file://")) problems.push(`network: ${r.url()}`);
          });
          await page.goto(`file://${nb.htmlPath}`, { waitUntil: "load" });
          const sizes = await page.$$eval("figure.chart svg", (svgs) =>
            svgs.map((s) => {
              const r = s.getBoundingClientRect();
              return {
                w: Math.round(r.width),
                h: Math.round(r.height),
                marks: s.querySelectorAll(".role-mark *").length,
              };
            }),
          );
          expect(sizes.length).toBeGreaterThan(0);
          for (const s of sizes) {
            expect(s.w).toBeGreaterThan(100);
            expect(s.h).toBeGreaterThan(50);
            expect(s.marks).toBeGreaterThan(0);
          }
          const title = await page.title();
          expect(title).toContain("Tributary notebook");
          const shot = join(ARTIFACTS, `${nb.name}.png`);
          await page.screenshot({ path: shot, fullPage: true });
          if (nb.name === "microstructure") {
            // The order-book section on its own, to judge by eye.
            const section = await page.$eval("#the-order-book", (h) => {
              const doc = h.ownerDocument;
              const top = h.getBoundingClientRect().top + (doc.defaultView?.scrollY ?? 0);
              return { top, height: doc.documentElement.scrollHeight - top };
            });
            await page.screenshot({
              path: join(ARTIFACTS, "microstructure-order-book.png"),
              fullPage: true,
              clip: { x: 0, y: section.top - 10, width: 1100, height: section.height + 10 },
            });
          }
          expect(statSync(shot).size).toBeGreaterThan(50_000);
          expect({ page: nb.name, problems }).toEqual({ page: nb.name, problems: [] });
          await page.close();
        }
      },
      { viewport: { width: 1100, height: 900 } },
    );
  }, 120_000);
});
