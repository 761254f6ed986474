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
  /** Vega colour scheme; default viridis, or blueorange when `domainMid` is set. */
  readonly scheme?: string;
  /** A diverging scale centred here (e.g. 0 for changes): the midpoint gets the scheme's middle colour. */
  readonly domainMid?: number;
  /** Write each cell's value in it (with `valueFormat`) when the cells are wide enough to hold it. */
  readonly cellLabels?: boolean;
  readonly valueFormat?: string;
  readonly width?: number;
  readonly height?: number;
}

/** A vertical gradient legend with its title and labels. */
const LEGEND_PX = 70;

/** Narrower cells than this cannot hold a label like "−12.5" in 10 px type. */
const MIN_LABEL_CELL_PX = 26;

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
  // Row labels (vega cuts them at 180 px) and the colour legend share the page with the cells.
  const width =
    options.width ??
    DEFAULT_WIDTH - Math.min(180, Math.ceil(Math.max(...ys.map((y) => y.length)) * 6.5)) - LEGEND_PX;
  const diverging = options.domainMid !== undefined;
  const format = options.valueFormat ? { format: options.valueFormat } : {};
  const encoding = {
    tooltip: [
      { field: "x", type: "ordinal", title: options.xTitle },
      { field: "y", type: "ordinal", title: options.yTitle },
      { field: "value", type: "quantitative", title: options.valueTitle, ...format },
    ],
    x: { field: "x", type: "ordinal", sort: xs, title: options.xTitle, axis: xAxis(xs, width) },
    y: { field: "y", type: "ordinal", sort: ys, title: options.yTitle },
  };
  const color = {
    field: "value",
    type: "quantitative",
    title: options.valueTitle,
    scale: {
      scheme: options.scheme ?? (diverging ? "blueorange" : "viridis"),
      ...(diverging ? { domainMid: options.domainMid } : {}),
    },
    legend: { orient: "right", direction: "vertical", ...format },
  };
  const base = {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    width,
    height: options.height ?? Math.max(120, ys.length * 26),
    data: { values },
  };
  const rect = { type: "rect", stroke: "white", strokeWidth: 1 };
  if (!options.cellLabels || width / xs.length < MIN_LABEL_CELL_PX) {
    return { ...base, name: "cells", mark: rect, encoding: { ...encoding, color } } as TopLevelSpec;
  }
  return {
    ...base,
    encoding,
    layer: [
      { name: "cells", mark: rect, encoding: { color } },
      {
        name: "labels",
        // The cell under each label already names x, y and the value for screen readers.
        mark: { type: "text", fontSize: 10, aria: false },
        encoding: {
          text: { field: "value", type: "quantitative", ...format },
          color: { condition: { test: darkCellTest(values, options), value: "white" }, value: "#1f2937" },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Column labels stay level while they fit their column (~6.5 px a character), else they slant. */
function xAxis(xs: readonly string[], width: number): Record<string, unknown> {
  const column = width / xs.length;
  if (Math.max(...xs.map((x) => x.length)) * 6.5 + 4 <= column) return { labelAngle: 0 };
  // Slanted 11 px labels need about 16 px of column each; narrower columns show every other one.
  return { labelAngle: -45, labelAlign: "right", labelOverlap: column < 16 };
}

/**
 * Where the scheme is dark enough for white text: the far ends of a diverging scale, the low end
 * of viridis (dark purple). Other schemes keep dark text.
 */
function darkCellTest(values: readonly { value: number }[], options: HeatmapOptions): string {
  const vs = values.map((v) => v.value);
  if (options.domainMid !== undefined) {
    const reach = Math.max(...vs.map((v) => Math.abs(v - (options.domainMid as number))));
    return `abs(datum.value - ${options.domainMid}) > ${chartNumber(0.6 * reach)}`;
  }
  if ((options.scheme ?? "viridis") !== "viridis") return "false";
  const lo = Math.min(...vs);
  return `datum.value < ${chartNumber(lo + 0.45 * (Math.max(...vs) - lo))}`;
}

export async function heatmap(cells: readonly HeatCell[], options: HeatmapOptions): Promise<Chart> {
  const spec = heatmapSpec(cells, options);
  const n = (spec as { data: { values: { value?: number }[] } }).data.values.filter(
    (v) => v.value !== undefined,
  ).length;
  return renderChart(spec, `Heatmap: ${options.title} (${n} cells)`);
}
