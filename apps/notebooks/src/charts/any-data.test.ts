/**
 * Every chart on empty, one-point, sparse and dense data: an honest "not enough data" panel for
 * nothing, a visible mark for one point, bands as wide as their interval, 24-hour UTC labels only,
 * integer counts without decimals. Specs are snapshotted per case.
 */
import { describe, expect, test } from "bun:test";
import { NOT_ENOUGH_DATA } from "./axes.ts";
import { barChart } from "./bar.ts";
import { candlestick } from "./candlestick.ts";
import { type Chart, countMarkItems } from "./chart.ts";
import { heatmap } from "./heatmap.ts";
import { histogram } from "./histogram.ts";
import { lineChart } from "./line.ts";

const HOUR = 3_600_000;
const T0 = Date.parse("2024-03-04T00:00:00Z");
const SIZES = { empty: 0, one: 1, sparse: 5, dense: 400 } as const;
type Size = keyof typeof SIZES;
const iso = (ms: number): string => new Date(ms).toISOString();
/** Deterministic wave, no randomness. */
const wave = (i: number): number => 100 + 10 * Math.sin(i / 7) + (i % 5);

const makers: Record<string, (n: number) => Promise<Chart>> = {
  candlestick: (n) =>
    candlestick(
      Array.from({ length: n }, (_, i) => ({
        start: iso(T0 + i * HOUR),
        open: wave(i).toFixed(2),
        high: (wave(i) + 3).toFixed(2),
        low: (wave(i) - 3).toFixed(2),
        close: wave(i + 1).toFixed(2),
        volume: (1 + (i % 3)).toFixed(4),
        vwap: wave(i).toFixed(2),
      })),
      { title: "hourly candles", intervalMs: HOUR },
    ),
  line: (n) =>
    lineChart(
      Array.from({ length: n }, (_, i) => ({
        x: iso(T0 + i * HOUR),
        y: wave(i),
        series: i % 2 ? "ETH/USD" : "BTC/USD",
      })),
      { title: "freshness", yTitle: "seconds", intervalMs: HOUR },
    ),
  bars: (n) =>
    barChart(
      Array.from({ length: n }, (_, i) => ({ x: iso(T0 + i * 30 * 60_000), y: (i % 3) - 1 })),
      { title: "imbalance", yTitle: "trades", intervalMs: 30 * 60_000, signColors: true },
    ),
  histogram: (n) =>
    histogram(
      { all: Array.from({ length: n }, (_, i) => wave(i) * (1 + (i % 11))) },
      { title: "sizes", xTitle: "notional", logX: true },
    ),
  heatmap: (n) =>
    heatmap(
      Array.from({ length: n }, (_, i) => ({
        x: i % 24,
        y: ["Mon", "Tue", "Wed"][Math.floor(i / 24) % 3] as string,
        value: wave(i),
      })),
      { title: "volatility", xTitle: "hour", yTitle: "weekday", valueTitle: "%" },
    ),
};

const MARK: Record<string, string> = {
  candlestick: "body",
  line: "line",
  bars: "bars",
  histogram: "bins",
  heatmap: "cells",
};

/** Axis labels as rendered (text inside role-axis-label groups). */
function axisLabels(svg: string): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(/role-axis-label[^>]*>([\s\S]*?)<\/g>/g)) {
    for (const t of (m[1] ?? "").matchAll(/<text[^>]*>([^<]*)<\/text>/g)) out.push(t[1] ?? "");
  }
  return out;
}

describe.each(Object.keys(makers))("%s on any data", (name) => {
  const make = makers[name] as (n: number) => Promise<Chart>;

  test.each(Object.keys(SIZES) as Size[])("%s", async (size) => {
    const n = SIZES[size];
    const chart = await make(n);
    expect(chart.spec).toMatchSnapshot();
    if (n === 0) {
      expect(chart.svg).toContain(NOT_ENOUGH_DATA);
      expect(axisLabels(chart.svg)).toEqual([]);
      return;
    }
    expect(chart.svg).not.toContain(NOT_ENOUGH_DATA);
    expect(countMarkItems(chart.svg, MARK[name] as string)).toBeGreaterThan(0);
    const labels = axisLabels(chart.svg);
    // One 24-hour UTC format: no AM/PM, no bare ":30" minute labels.
    for (const l of labels) expect(l).not.toMatch(/AM|PM|^:\d\d$/);
  });
});

test("one hourly candle keeps an hour's width: the domain spans 12 intervals, not the candle", async () => {
  const chart = await makers.candlestick?.(1);
  const body = (chart?.svg ?? "").match(/body_marks[^>]*>\s*<path[^>]*d="M([\d.]+),[\d.]+h([\d.]+)/);
  const width = Number(body?.[2]);
  // 840 px for 12 hours: a body is 70% of one hour's 70 px.
  expect(width).toBeGreaterThan(30);
  expect(width).toBeLessThan(80);
});

test("a line with one point per series still shows each point", async () => {
  const chart = await lineChart([{ x: iso(T0), y: 5, series: "gold/candles_1m" }], {
    title: "freshness",
    yTitle: "s",
  });
  expect(chart.svg).not.toContain(NOT_ENOUGH_DATA);
  expect(chart.svg).toMatch(/role-mark line_marks|mark-symbol/);
  expect(chart.svg).toContain("mark-symbol");
});

test("counts are labelled as integers", async () => {
  const chart = await makers.histogram?.(7);
  const labels = axisLabels(chart?.svg ?? "");
  const counts = labels.filter((l) => /^\d/.test(l) && !/[a-z]/i.test(l));
  expect(counts.length).toBeGreaterThan(0);
  expect(counts.filter((l) => /\.\d/.test(l) && /^[0-9.]+$/.test(l) && Number(l) < 10)).toEqual([]);
});

test("a flat line of a fractional value is labelled as the value, not with padded decimals", async () => {
  const points = [0, 1, 2, 3].map((h) => ({ x: iso(T0 + h * 3_600_000), y: 0.239, series: "BTC/USD" }));
  const chart = await lineChart(points, { title: "freshness_max_s", yTitle: "s" });
  const labels = axisLabels(chart.svg);
  expect(labels).toContain("0.239");
  expect(labels.filter((l) => /^\d+\.\d*0$/.test(l))).toEqual([]);
});
