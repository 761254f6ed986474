/** Heatmap: one rect per (x, y) cell coloured by value, e.g. hour of day × weekday. */
import type { TopLevelSpec } from "vega-lite";
import { type NumberLike, num } from "../kit/values.ts";
import { chartNumber, notEnoughDataSpec } from "./axes.ts";
import { CHART_CONFIG, type Chart, DEFAULT_WIDTH, renderChart, VEGA_LITE_SCHEMA } from "./chart.ts";

export interface HeatCell {
  readonly x: string | number;
  readonly y: string | number;
  readonly value: NumberLike | null;
}

export interface HeatmapOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly valueTitle: string;
  /** Category order; defaults to first appearance. */
  readonly xOrder?: readonly (string | number)[];
  readonly yOrder?: readonly (string | number)[];
  readonly scheme?: string;
  readonly valueFormat?: string;
  readonly width?: number;
  readonly height?: number;
}

export function heatmapSpec(cells: readonly HeatCell[], options: HeatmapOptions): TopLevelSpec {
  const values = cells
    .map((c) => ({
      x: String(c.x),
      y: String(c.y),
      value: c.value === null ? Number.NaN : chartNumber(num(c.value)),
    }))
    .filter((c) => Number.isFinite(c.value));
  if (values.length === 0)
    return notEnoughDataSpec(options.title, "no cells", options.width ?? DEFAULT_WIDTH);
  const order = (given: readonly (string | number)[] | undefined, key: "x" | "y"): string[] =>
    given ? given.map(String) : [...new Set(values.map((v) => v[key]))];
  const xs = order(options.xOrder, "x");
  const ys = order(options.yOrder, "y");
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? Math.max(120, ys.length * 26),
    data: { values },
    name: "cells",
    mark: { type: "rect", stroke: "white", strokeWidth: 1 },
    encoding: {
      tooltip: [
        { field: "x", type: "ordinal", title: options.xTitle },
        { field: "y", type: "ordinal", title: options.yTitle },
        {
          field: "value",
          type: "quantitative",
          title: options.valueTitle,
          ...(options.valueFormat ? { format: options.valueFormat } : {}),
        },
      ],
      x: { field: "x", type: "ordinal", sort: xs, title: options.xTitle, axis: { labelAngle: 0 } },
      y: { field: "y", type: "ordinal", sort: ys, title: options.yTitle },
      color: {
        field: "value",
        type: "quantitative",
        title: options.valueTitle,
        scale: { scheme: options.scheme ?? "viridis" },
        legend: {
          orient: "right",
          direction: "vertical",
          ...(options.valueFormat ? { format: options.valueFormat } : {}),
        },
      },
    },
  } as TopLevelSpec;
}

export async function heatmap(cells: readonly HeatCell[], options: HeatmapOptions): Promise<Chart> {
  const spec = heatmapSpec(cells, options);
  const n = (spec as { data: { values: { value?: number }[] } }).data.values.filter(
    (v) => v.value !== undefined,
  ).length;
  return renderChart(spec, `Heatmap: ${options.title} (${n} cells)`);
}
