/** Line chart over time (UTC) or a numeric x, one line per series; points are optional. */
import type { TopLevelSpec } from "vega-lite";
import { epochMs, type NumberLike, num, type TimeLike } from "../kit/values.ts";
import {
  chartNumber,
  countAxis,
  fitWidth,
  fixedYAxis,
  notEnoughDataSpec,
  numericTicks,
  SERIES_TOGGLE,
  seriesLegend,
  seriesScale,
  timeAxis,
  utcDomain,
  utcTooltip,
  X_ZOOM,
} from "./axes.ts";
import {
  CHART_CONFIG,
  type Chart,
  COLORS,
  DEFAULT_WIDTH,
  renderChart,
  spanText,
  VEGA_LITE_SCHEMA,
} from "./chart.ts";

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
  /** Draw each point; default: when a series is sparse (≤ 40 points, or a single one). */
  readonly points?: boolean;
  /** Spacing of the data (e.g. 300_000 for 5-minute buckets): time ticks are never finer. */
  readonly intervalMs?: number;
  /** Vega format for y labels, e.g. ".2f" or ".1%". */
  readonly yFormat?: string;
  /** The time axis's extent (temporal x), e.g. a window shared by several charts so they line up. */
  readonly timeDomain?: readonly [TimeLike, TimeLike];
  /**
   * Pixels the y axis (ticks and labels) takes, whatever its labels: charts stacked on one
   * `timeDomain` with the same value (`STACKED_Y_AXIS_WIDTH`) and width put their plots at the same x.
   */
  readonly yAxisWidth?: number;
  readonly width?: number;
  readonly height?: number;
}

export function lineSpec(points: readonly LinePoint[], options: LineOptions): TopLevelSpec {
  const temporal = (options.xType ?? "temporal") === "temporal";
  const values = points
    .map((p) => ({
      x: temporal ? epochMs(p.x) : num(p.x as NumberLike),
      y: p.y === null ? Number.NaN : chartNumber(num(p.y)),
      series: p.series ?? "value",
    }))
    .filter((p) => Number.isFinite(p.y) && Number.isFinite(p.x))
    .sort((a, b) => a.series.localeCompare(b.series) || a.x - b.x);
  if (values.length === 0)
    return notEnoughDataSpec(options.title, "no points", options.width ?? DEFAULT_WIDTH);
  const series = [...new Set(values.map((v) => v.series))];
  const width = fitWidth(series, options.width);
  const xs = values.map((v) => v.x);
  const fixed = temporal && options.timeDomain ? options.timeDomain.map(epochMs) : undefined;
  const span = fixed ? (fixed[1] as number) - (fixed[0] as number) : Math.max(...xs) - Math.min(...xs);
  const perSeries = values.length / series.length;
  // A line needs two points; sparse series also show each point so none vanishes.
  const showPoints =
    options.points ??
    (perSeries <= 40 || series.some((s) => values.filter((v) => v.series === s).length < 2));
  const many = series.length > 1;
  const ys = values.map((v) => v.y);
  const yAxis = {
    ...(options.yFormat ? { format: options.yFormat } : countAxis(ys)),
    ...fixedYAxis(options.yAxisWidth, options.yFormat ? [] : ys),
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width,
    height: options.height ?? 240,
    data: { values },
    ...(temporal ? { transform: [utcTooltip("x", "time (UTC)").transform] } : {}),
    mark: {
      type: "line",
      strokeWidth: 1.6,
      point: showPoints ? { size: values.length > 400 ? 8 : 24 } : false,
    },
    name: "line",
    params: [...(temporal ? [X_ZOOM] : []), ...(many ? [SERIES_TOGGLE] : [])],
    encoding: {
      x: temporal
        ? {
            field: "x",
            type: "temporal",
            scale: {
              type: "utc",
              ...(fixed
                ? { domain: utcDomain([fixed[0] as number, fixed[1] as number]) }
                : span === 0
                  ? { domain: utcDomain([(xs[0] as number) - 3_600_000, (xs[0] as number) + 3_600_000]) }
                  : {}),
            },
            title: options.xTitle ?? "time (UTC)",
            axis: timeAxis(span || 7_200_000, width, options.intervalMs ?? 0),
          }
        : {
            field: "x",
            type: "quantitative",
            scale: { zero: false },
            title: options.xTitle ?? "x",
            axis: numericTicks(width),
          },
      y: {
        field: "y",
        type: "quantitative",
        scale: { zero: options.zeroY ?? false },
        title: options.yTitle,
        axis: yAxis,
      },
      color: many
        ? {
            field: "series",
            type: "nominal",
            title: options.seriesTitle ?? null,
            sort: series,
            legend: seriesLegend(series.length),
            ...seriesScale(series.length),
          }
        : { value: COLORS.accent },
      ...(many ? { opacity: { condition: { param: "series_toggle", value: 1 }, value: 0.12 } } : {}),
      tooltip: [
        temporal
          ? utcTooltip("x", "time (UTC)").tooltip
          : { field: "x", type: "quantitative", title: options.xTitle ?? "x" },
        ...(many ? [{ field: "series", type: "nominal", title: options.seriesTitle ?? "series" }] : []),
        {
          field: "y",
          type: "quantitative",
          title: options.yTitle,
          ...(options.yFormat ? { format: options.yFormat } : {}),
        },
      ],
    },
  } as TopLevelSpec;
}

export async function lineChart(points: readonly LinePoint[], options: LineOptions): Promise<Chart> {
  const spec = lineSpec(points, options);
  const values = (spec as { data: { values: { x?: number; series?: string }[] } }).data.values.filter(
    (v) => v.x !== undefined,
  ) as { x: number; series: string }[];
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
