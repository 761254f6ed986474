/**
 * Bar chart: categories, or time buckets (x = bucket start, width = the interval). Several series
 * stack; negative values go below zero (e.g. order-flow imbalance).
 */
import type { TopLevelSpec } from "vega-lite";
import { epochMs, type NumberLike, num, type TimeLike } from "../kit/values.ts";
import {
  bandDomain,
  chartNumber,
  countAxis,
  fitWidth,
  fixedYAxis,
  notEnoughDataSpec,
  SERIES_TOGGLE,
  seriesLegend,
  seriesScale,
  timeAxis,
  utcDomain,
  utcTooltip,
  X_ZOOM,
} from "./axes.ts";
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
  /** The time axis's extent (time buckets), e.g. a window shared by several charts so they line up. */
  readonly timeDomain?: readonly [TimeLike, TimeLike];
  /**
   * Pixels the y axis (ticks and labels) takes, whatever its labels: charts stacked on one
   * `timeDomain` with the same value (`STACKED_Y_AXIS_WIDTH`) and width put their plots at the same x.
   */
  readonly yAxisWidth?: number;
  readonly width?: number;
  readonly height?: number;
}

export function barSpec(bars: readonly BarDatum[], options: BarOptions): TopLevelSpec {
  const temporal = options.intervalMs !== undefined;
  const interval = options.intervalMs ?? 0;
  const parsed = bars
    .map((b) => ({
      raw: b,
      y: b.y === null ? Number.NaN : chartNumber(num(b.y)),
      series: b.series ?? "value",
    }))
    .filter((b) => Number.isFinite(b.y));
  if (parsed.length === 0) return notEnoughDataSpec(options.title, "no bars", options.width ?? DEFAULT_WIDTH);
  const series = [...new Set(parsed.map((v) => v.series))];
  const width = options.signColors ? (options.width ?? DEFAULT_WIDTH) : fitWidth(series, options.width);
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
        t,
        x: t + interval * 0.08,
        x_end: t + interval * 0.92,
        y: b.y,
        y0,
        y1: y0 + b.y,
        series: b.series,
        sign,
      };
    })
    // Ties (one bucket, several series) in series order, so the spec is the same whatever order rows came in.
    .sort((a, b) => (temporal ? Number(a.x) - Number(b.x) : 0) || a.series.localeCompare(b.series));
  const color = options.signColors
    ? {
        field: "sign",
        type: "nominal",
        scale: { domain: ["positive", "negative"], range: [COLORS.up, COLORS.down] },
        legend: null,
      }
    : series.length > 1
      ? {
          field: "series",
          type: "nominal",
          title: options.seriesTitle ?? null,
          sort: series,
          legend: seriesLegend(series.length),
          ...seriesScale(series.length),
        }
      : { value: COLORS.accent };
  const axis = {
    axis: {
      ...(options.yFormat ? { format: options.yFormat } : countAxis(parsed.map((b) => b.y))),
      ...fixedYAxis(
        options.yAxisWidth,
        // Stacked bars reach their totals.
        options.yFormat ? [] : [...parsed.map((b) => b.y), ...up.values(), ...down.values()],
      ),
    },
  };
  const starts = temporal ? values.map((v) => Number((v as { t?: number }).t)) : [];
  const domain: [number, number] = options.timeDomain
    ? [epochMs(options.timeDomain[0]), epochMs(options.timeDomain[1])]
    : bandDomain(starts, interval);
  const many = series.length > 1 && !options.signColors;
  const timeTip = utcTooltip("t", "bucket start (UTC)");
  const tooltip = [
    temporal ? timeTip.tooltip : { field: "x", type: "nominal", title: options.xTitle ?? "category" },
    ...(series.length > 1
      ? [{ field: "series", type: "nominal", title: options.seriesTitle ?? "series" }]
      : []),
    {
      field: "y",
      type: "quantitative",
      title: options.yTitle,
      ...(options.yFormat ? { format: options.yFormat } : {}),
    },
  ];
  const encoding = temporal
    ? {
        x: {
          field: "x",
          type: "temporal",
          scale: { type: "utc", domain: utcDomain(domain) },
          title: options.xTitle ?? "time (UTC)",
          axis: timeAxis(domain[1] - domain[0], width, interval),
        },
        x2: { field: "x_end" },
        y: { field: "y1", type: "quantitative", title: options.yTitle, ...axis },
        y2: { field: "y0" },
        color,
        tooltip,
        ...(many ? { opacity: { condition: { param: "series_toggle", value: 1 }, value: 0.15 } } : {}),
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
        tooltip,
        ...(many ? { opacity: { condition: { param: "series_toggle", value: 1 }, value: 0.15 } } : {}),
        ...(series.length > 1 ? { xOffset: { field: "series", sort: series } } : {}),
      };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width,
    height: options.height ?? 220,
    data: { values },
    ...(temporal ? { transform: [timeTip.transform] } : {}),
    params: [...(temporal ? [X_ZOOM] : []), ...(many ? [SERIES_TOGGLE] : [])],
    name: "bars",
    mark: { type: "bar" },
    encoding,
  } as TopLevelSpec;
}

export async function barChart(bars: readonly BarDatum[], options: BarOptions): Promise<Chart> {
  const spec = barSpec(bars, options);
  const n = (spec as { data: { values: { y?: number }[] } }).data.values.filter(
    (v) => v.y !== undefined,
  ).length;
  return renderChart(spec, `Bar chart: ${options.title} (${n} bars)`);
}
