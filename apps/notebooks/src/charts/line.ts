/** Line chart over time (UTC) or a numeric x, one line per series; points are optional. */
import type { TopLevelSpec } from "vega-lite";
import { epochMs, type NumberLike, num, type TimeLike } from "../kit/values.ts";
import { CHART_CONFIG, type Chart, DEFAULT_WIDTH, renderChart, spanText, VEGA_LITE_SCHEMA } from "./chart.ts";

export interface LinePoint {
  readonly x: TimeLike;
  readonly y: NumberLike | null;
  readonly series?: string;
}

export interface LineOptions {
  readonly title: string;
  readonly yTitle: string;
  readonly xTitle?: string;
  /** "temporal" (default): x is an instant; "quantitative": x is a plain number. */
  readonly xType?: "temporal" | "quantitative";
  readonly seriesTitle?: string;
  readonly zeroY?: boolean;
  readonly points?: boolean;
  /** Vega format for y labels, e.g. ".2f" or ".1%". */
  readonly yFormat?: string;
  readonly width?: number;
  readonly height?: number;
}

export function lineSpec(points: readonly LinePoint[], options: LineOptions): TopLevelSpec {
  const temporal = (options.xType ?? "temporal") === "temporal";
  const values = points
    .map((p) => ({
      x: temporal ? epochMs(p.x) : num(p.x as NumberLike),
      y: p.y === null ? Number.NaN : num(p.y),
      series: p.series ?? "value",
    }))
    .filter((p) => Number.isFinite(p.y) && Number.isFinite(p.x))
    .sort((a, b) => a.series.localeCompare(b.series) || a.x - b.x);
  const series = [...new Set(values.map((v) => v.series))];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? 240,
    data: { values },
    mark: { type: "line", strokeWidth: 1.6, point: options.points === true ? { size: 24 } : false },
    name: "line",
    encoding: {
      x: temporal
        ? { field: "x", type: "temporal", scale: { type: "utc" }, title: options.xTitle ?? "time (UTC)" }
        : { field: "x", type: "quantitative", scale: { zero: false }, title: options.xTitle ?? "x" },
      y: {
        field: "y",
        type: "quantitative",
        scale: { zero: options.zeroY ?? false },
        title: options.yTitle,
        ...(options.yFormat ? { axis: { format: options.yFormat } } : {}),
      },
      color:
        series.length > 1
          ? { field: "series", type: "nominal", title: options.seriesTitle ?? null, sort: series }
          : { value: "#4c78a8" },
    },
  } as TopLevelSpec;
}

export async function lineChart(points: readonly LinePoint[], options: LineOptions): Promise<Chart> {
  const spec = lineSpec(points, options);
  const values = (spec as { data: { values: { x: number; series: string }[] } }).data.values;
  const series = [...new Set(values.map((v) => v.series))];
  const xs = values.map((v) => v.x);
  const span =
    xs.length === 0
      ? "no data"
      : (options.xType ?? "temporal") === "temporal"
        ? spanText(Math.min(...xs), Math.max(...xs))
        : `${Number(Math.min(...xs).toPrecision(4))} → ${Number(Math.max(...xs).toPrecision(4))}`;
  return renderChart(
    spec,
    `Line chart: ${options.title} (${series.length} series, ${values.length} points, ${span})`,
  );
}
