import { describe, expect, test } from "bun:test";
import { JUPYTER_DISPLAY } from "../kit/display.ts";
import { barChart, barSpec } from "./bar.ts";
import { type Candle, candlestick, candlestickSpec } from "./candlestick.ts";
import { countMarkItems, VEGA_LITE_MIME } from "./chart.ts";
import { heatmap, heatmapSpec } from "./heatmap.ts";
import { binValues, histogram, histogramSpec } from "./histogram.ts";
import { lineChart, lineSpec } from "./line.ts";

/** Deterministic candles as the lake returns them: decimal strings, RFC 3339 µs times. */
function candles(n: number): Candle[] {
  return Array.from({ length: n }, (_, i) => {
    const open = 100 + i;
    const close = i % 3 === 0 ? open - 0.5 : open + 0.75;
    return {
      start: `2024-03-04T00:${String(i).padStart(2, "0")}:00.000000Z`,
      open: open.toFixed(10),
      high: (Math.max(open, close) + 1).toFixed(10),
      low: (Math.min(open, close) - 1).toFixed(10),
      close: close.toFixed(10),
      volume: (1 + (i % 4) * 0.25).toFixed(10),
      vwap: ((open + close) / 2).toFixed(10),
    };
  });
}

describe("candlestick", () => {
  test("N candles render N bodies, N wicks and N volume bars, plus one VWAP line", async () => {
    const chart = await candlestick(candles(12), { title: "BTC/USD 1m", intervalMs: 60_000 });
    expect(countMarkItems(chart.svg, "body")).toBe(12);
    expect(countMarkItems(chart.svg, "wick")).toBe(12);
    expect(countMarkItems(chart.svg, "volume")).toBe(12);
    expect(countMarkItems(chart.svg, "vwap")).toBe(1);
  });

  test("bodies are coloured by direction: green when close ≥ open, red otherwise", async () => {
    const chart = await candlestick(candles(6), { title: "t", intervalMs: 60_000 });
    const body = chart.svg.slice(
      chart.svg.indexOf("body_marks"),
      chart.svg.indexOf("</g>", chart.svg.indexOf("body_marks")),
    );
    expect((body.match(/fill="#ef5350"/g) ?? []).length).toBe(2); // i = 0 and 3 close below open
    expect((body.match(/fill="#26a69a"/g) ?? []).length).toBe(4);
  });

  test("without VWAP values no VWAP line is drawn", async () => {
    const chart = await candlestick(
      candles(5).map((c) => ({ ...c, vwap: null })),
      { title: "t", intervalMs: 60_000 },
    );
    expect(countMarkItems(chart.svg, "vwap")).toBe(0);
    expect(countMarkItems(chart.svg, "body")).toBe(5);
  });

  test("the display bundle carries SVG, the Vega-Lite spec and a text summary", async () => {
    const chart = await candlestick(candles(3), { title: "ETH/USD 1h", intervalMs: 3_600_000 });
    const bundle = chart[JUPYTER_DISPLAY]();
    expect(String(bundle["image/svg+xml"])).toStartWith("<svg");
    expect(bundle[VEGA_LITE_MIME]).toBe(chart.spec);
    expect(String(bundle["text/plain"])).toContain("3 candles");
    expect(String(bundle["text/plain"])).toContain("last close 102.7500000000");
  });

  test("spec snapshot", () => {
    expect(candlestickSpec(candles(4), { title: "BTC/USD 1m", intervalMs: 60_000 })).toMatchSnapshot();
  });
});

describe("line", () => {
  test("one line mark per series, invalid points dropped", async () => {
    const points = [
      { x: "2024-03-04T00:00:00Z", y: "1.5", series: "BTC/USD" },
      { x: "2024-03-04T00:01:00Z", y: 2, series: "BTC/USD" },
      { x: "2024-03-04T00:00:00Z", y: 3, series: "ETH/USD" },
      { x: "2024-03-04T00:01:00Z", y: null, series: "ETH/USD" },
      { x: "2024-03-04T00:02:00Z", y: 4, series: "ETH/USD" },
    ];
    const chart = await lineChart(points, { title: "spread", yTitle: "bps" });
    expect(countMarkItems(chart.svg, "line")).toBe(2);
    expect(chart.text).toContain("2 series, 4 points");
  });

  test("spec snapshot (quantitative x)", () => {
    expect(
      lineSpec(
        [
          { x: 1, y: "10.5", series: "2024-03-01" },
          { x: 5, y: "11.25", series: "2024-03-01" },
        ],
        { title: "curve", yTitle: "rate", xType: "quantitative", points: true },
      ),
    ).toMatchSnapshot();
  });
});

describe("bar", () => {
  test("time bars: one rect per datum, stacked series get consecutive ranges", async () => {
    const bars = [
      { x: "2024-03-04T00:00:00Z", y: 2, series: "a" },
      { x: "2024-03-04T00:00:00Z", y: 3, series: "b" },
      { x: "2024-03-04T01:00:00Z", y: -1, series: "a" },
    ];
    const spec = barSpec(bars, { title: "t", yTitle: "n", intervalMs: 3_600_000 }) as unknown as {
      data: { values: { y0: number; y1: number; series: string }[] };
    };
    expect(spec.data.values.map((v) => [v.series, v.y0, v.y1])).toEqual([
      ["a", 0, 2],
      ["b", 2, 5],
      ["a", 0, -1],
    ]);
    const chart = await barChart(bars, { title: "t", yTitle: "n", intervalMs: 3_600_000 });
    expect(countMarkItems(chart.svg, "bars")).toBe(3);
  });

  test("sign colours: positive green, negative red", async () => {
    const chart = await barChart(
      [
        { x: "2024-03-04T00:00:00Z", y: 0.2 },
        { x: "2024-03-04T00:15:00Z", y: -0.4 },
      ],
      { title: "imbalance", yTitle: "x", intervalMs: 900_000, signColors: true },
    );
    expect(chart.svg).toContain('fill="#26a69a"');
    expect(chart.svg).toContain('fill="#ef5350"');
  });

  test("spec snapshot (categories)", () => {
    expect(
      barSpec(
        [
          { x: "2024-03-01", y: 4, series: "Prefixado" },
          { x: "2024-03-01", y: -2, series: "IPCA+" },
        ],
        { title: "daily change", yTitle: "bp" },
      ),
    ).toMatchSnapshot();
  });
});

describe("histogram", () => {
  test("binValues puts every value in exactly one bin, the maximum included", () => {
    const bins = binValues([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, false);
    expect(bins).toHaveLength(5);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(11);
    expect(bins[4]?.count).toBe(3);
  });

  test("log bins span orders of magnitude and skip non-positive values", () => {
    const bins = binValues([1, 10, 100, 1000, 0, -5], 3, true);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(4);
    expect(bins[0]?.lo).toBeCloseTo(1);
    expect(bins[2]?.hi).toBeCloseTo(1000);
  });

  test("renders one bar per bin and series", async () => {
    const chart = await histogram(
      { "BTC/USD": ["1", "2", "2", "3"], "ETH/USD": [1, 3] },
      { title: "sizes", xTitle: "qty", bins: 4 },
    );
    expect(countMarkItems(chart.svg, "bins")).toBe(8);
  });

  test("spec snapshot", () => {
    expect(
      histogramSpec({ all: [1, 2, 2, 3, 8] }, { title: "sizes", xTitle: "qty", bins: 3 }),
    ).toMatchSnapshot();
  });
});

describe("heatmap", () => {
  test("one rect per cell", async () => {
    const cells = [];
    for (const day of ["Monday", "Tuesday"])
      for (let h = 0; h < 24; h++) cells.push({ x: h, y: day, value: h / 10 });
    const chart = await heatmap(cells, { title: "vol", xTitle: "hour", yTitle: "day", valueTitle: "vol" });
    expect(countMarkItems(chart.svg, "cells")).toBe(48);
  });

  test("spec snapshot", () => {
    expect(
      heatmapSpec(
        [
          { x: 0, y: "Monday", value: "0.5" },
          { x: 1, y: "Monday", value: 0.7 },
        ],
        { title: "vol", xTitle: "hour", yTitle: "day", valueTitle: "vol", xOrder: [0, 1] },
      ),
    ).toMatchSnapshot();
  });
});

describe("a shared time window (timeDomain)", () => {
  const shared = ["2024-03-04T00:00:00Z", "2024-03-04T00:30:00Z"] as const;
  const domainOf = (encoding: unknown): unknown =>
    (encoding as { x: { scale: { domain: unknown } } }).x.scale.domain;
  type Layered = { vconcat: { layer: { encoding: unknown }[] }[] };
  type Single = { encoding: unknown };

  test("candles, lines and time bars over different data take the same x domain when given one", () => {
    const candleSpec = candlestickSpec(candles(4), { title: "c", intervalMs: 60_000, timeDomain: shared });
    const line = lineSpec(
      [
        { x: "2024-03-04T00:05:00Z", y: 1 },
        { x: "2024-03-04T00:20:00Z", y: 2 },
      ],
      { title: "l", yTitle: "y", timeDomain: shared },
    );
    const bars = barSpec([{ x: "2024-03-04T00:10:00Z", y: 3 }], {
      title: "b",
      yTitle: "y",
      intervalMs: 60_000,
      timeDomain: shared,
    });
    const expected = JSON.stringify(domainOf((line as Single).encoding));
    expect(expected).toContain('"hours":0,"minutes":30');
    expect(JSON.stringify(domainOf((candleSpec as unknown as Layered).vconcat[0]?.layer[0]?.encoding))).toBe(
      expected,
    );
    expect(JSON.stringify(domainOf((bars as Single).encoding))).toBe(expected);
  });

  test("without it a line spans its data and time bars at least 12 intervals, as before", () => {
    const line = lineSpec(
      [
        { x: "2024-03-04T00:05:00Z", y: 1 },
        { x: "2024-03-04T00:20:00Z", y: 2 },
      ],
      { title: "l", yTitle: "y" },
    );
    expect(domainOf((line as Single).encoding)).toBeUndefined();
    const bars = barSpec([{ x: "2024-03-04T00:10:00Z", y: 3 }], {
      title: "b",
      yTitle: "y",
      intervalMs: 60_000,
    });
    expect(JSON.stringify(domainOf((bars as Single).encoding))).toContain('"hours":0,"minutes":11');
  });
});
