/**
 * Histogram, binned on the server so the spec carries bin counts, not every raw value.
 * `logX` bins in log10 space for heavy-tailed data such as trade sizes.
 */
import type { TopLevelSpec } from "vega-lite";
import { type NumberLike, num } from "../kit/values.ts";
import { chartNumber, notEnoughDataSpec, seriesLegend, seriesScale } from "./axes.ts";
import { CHART_CONFIG, type Chart, COLORS, DEFAULT_WIDTH, renderChart, VEGA_LITE_SCHEMA } from "./chart.ts";

export interface HistogramOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle?: string;
  readonly bins?: number;
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export interface Bin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  readonly series: string;
}

/** Equal-width bins over [min, max] (log10 space with logX); values ≤ 0 are skipped under logX. */
export function binValues(values: readonly number[], bins: number, logX: boolean, series = "all"): Bin[] {
  const xs = values
    .filter((v) => Number.isFinite(v) && (!logX || v > 0))
    .map((v) => (logX ? Math.log10(v) : v));
  if (xs.length === 0) return [];
  let min = Math.min(...xs);
  let max = Math.max(...xs);
  if (min === max) {
    min -= 0.5;
    max += 0.5;
  }
  const n = Math.max(1, Math.floor(bins));
  const width = (max - min) / n;
  const counts = new Array<number>(n).fill(0);
  for (const x of xs) {
    const i = Math.min(n - 1, Math.floor((x - min) / width));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const edge = (i: number): number => (logX ? 10 ** (min + i * width) : min + i * width);
  return counts.map((count, i) => ({ lo: edge(i), hi: edge(i + 1), count, series }));
}

export function histogramSpec(
  series: Readonly<Record<string, readonly NumberLike[]>>,
  options: HistogramOptions,
): TopLevelSpec {
  const logX = options.logX === true;
  const all = Object.values(series).flatMap((vs) => vs.map((v) => num(v)));
  const names = Object.keys(series);
  // One set of edges for all series so bars line up.
  const edges = binValues(all, options.bins ?? 40, logX);
  if (edges.length === 0)
    return notEnoughDataSpec(options.title, "no values", options.width ?? DEFAULT_WIDTH);
  const values = names.flatMap((name) => {
    const xs = (series[name] ?? []).map((v) => num(v));
    return edges.map((e, i) => ({
      lo: chartNumber(e.lo),
      hi: chartNumber(e.hi),
      series: name,
      count: xs.filter((x) => x >= e.lo && (x < e.hi || (i === edges.length - 1 && x <= e.hi))).length,
    }));
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? 220,
    data: { values },
    name: "bins",
    mark: { type: "bar", opacity: names.length > 1 ? 0.6 : 0.9, binSpacing: 1 },
    encoding: {
      x: {
        field: "lo",
        type: "quantitative",
        title: options.xTitle,
        scale: logX ? { type: "log" } : { zero: false },
      },
      x2: { field: "hi" },
      // x/x2 make the bar ranged in x, so its height needs an explicit baseline.
      y: {
        field: "count",
        type: "quantitative",
        title: options.yTitle ?? "count",
        stack: null,
        axis: { format: "d", tickMinStep: 1 },
      },
      tooltip: [
        { field: "lo", type: "quantitative", title: "from" },
        { field: "hi", type: "quantitative", title: "to" },
        ...(names.length > 1 ? [{ field: "series", type: "nominal" }] : []),
        { field: "count", type: "quantitative", format: "d" },
      ],
      y2: { datum: 0 },
      color:
        names.length > 1
          ? {
              field: "series",
              type: "nominal",
              title: null,
              sort: names,
              legend: seriesLegend(names.length),
              ...seriesScale(names.length),
            }
          : { value: COLORS.accent },
    },
  } as TopLevelSpec;
}

export async function histogram(
  series: Readonly<Record<string, readonly NumberLike[]>>,
  options: HistogramOptions,
): Promise<Chart> {
  const spec = histogramSpec(series, options);
  const total = Object.values(series).reduce((n, vs) => n + vs.length, 0);
  const bins =
    (spec as { data: { values: { count?: number }[] } }).data.values.filter((v) => v.count !== undefined)
      .length / Math.max(1, Object.keys(series).length);
  return renderChart(
    spec,
    `Histogram: ${options.title} (${total} values, ${bins} bins${options.logX ? ", log x" : ""})`,
  );
}
