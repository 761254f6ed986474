/**
 * Bar chart: categories, or time buckets (x = bucket start, width = the interval). Several series
 * stack; negative values go below zero (e.g. order-flow imbalance).
 */
import type { TopLevelSpec } from "vega-lite";
import { epochMs, type NumberLike, num, type TimeLike } from "../kit/values.ts";
import { CHART_CONFIG, type Chart, COLORS, DEFAULT_WIDTH, renderChart, VEGA_LITE_SCHEMA } from "./chart.ts";

export interface BarDatum {
  readonly x: string | TimeLike;
  readonly y: NumberLike | null;
  readonly series?: string;
}

export interface BarOptions {
  readonly title: string;
  readonly yTitle: string;
  readonly xTitle?: string;
  /** Set for time buckets: x is the bucket start and the bar spans intervalMs. */
  readonly intervalMs?: number;
  readonly seriesTitle?: string;
  /** Colour bars by sign (positive vs negative) instead of by series. */
  readonly signColors?: boolean;
  readonly yFormat?: string;
  readonly width?: number;
  readonly height?: number;
}

export function barSpec(bars: readonly BarDatum[], options: BarOptions): TopLevelSpec {
  const temporal = options.intervalMs !== undefined;
  const interval = options.intervalMs ?? 0;
  const parsed = bars
    .map((b) => ({ raw: b, y: b.y === null ? Number.NaN : num(b.y), series: b.series ?? "value" }))
    .filter((b) => Number.isFinite(b.y));
  const series = [...new Set(parsed.map((v) => v.series))];
  // Time bars span [start, start + interval] (x/x2), which makes Vega-Lite treat them as ranged in x;
  // their heights are explicit ranges too, stacked here: positives upwards, negatives downwards.
  const up = new Map<number, number>();
  const down = new Map<number, number>();
  const values = parsed
    .map((b) => {
      const sign = b.y >= 0 ? "positive" : "negative";
      if (!temporal) return { x: String(b.raw.x), y: b.y, series: b.series, sign };
      const t = epochMs(b.raw.x as TimeLike);
      const acc = b.y >= 0 ? up : down;
      const y0 = acc.get(t) ?? 0;
      acc.set(t, y0 + b.y);
      return {
        x: t + interval * 0.08,
        x_end: t + interval * 0.92,
        y: b.y,
        y0,
        y1: y0 + b.y,
        series: b.series,
        sign,
      };
    })
    .sort((a, b) => (temporal ? Number(a.x) - Number(b.x) : 0));
  const color = options.signColors
    ? {
        field: "sign",
        type: "nominal",
        scale: { domain: ["positive", "negative"], range: [COLORS.up, COLORS.down] },
        legend: null,
      }
    : series.length > 1
      ? { field: "series", type: "nominal", title: options.seriesTitle ?? null, sort: series }
      : { value: COLORS.accent };
  const axis = options.yFormat ? { axis: { format: options.yFormat } } : {};
  const encoding = temporal
    ? {
        x: { field: "x", type: "temporal", scale: { type: "utc" }, title: options.xTitle ?? "time (UTC)" },
        x2: { field: "x_end" },
        y: { field: "y1", type: "quantitative", title: options.yTitle, ...axis },
        y2: { field: "y0" },
        color,
      }
    : {
        x: {
          field: "x",
          type: "nominal",
          sort: null,
          title: options.xTitle ?? null,
          axis: { labelAngle: 0 },
        },
        y: { field: "y", type: "quantitative", title: options.yTitle, ...axis },
        color,
        ...(series.length > 1 ? { xOffset: { field: "series", sort: series } } : {}),
      };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? 220,
    data: { values },
    name: "bars",
    mark: { type: "bar" },
    encoding,
  } as TopLevelSpec;
}

export async function barChart(bars: readonly BarDatum[], options: BarOptions): Promise<Chart> {
  const spec = barSpec(bars, options);
  const n = (spec as { data: { values: unknown[] } }).data.values.length;
  return renderChart(spec, `Bar chart: ${options.title} (${n} bars)`);
}
