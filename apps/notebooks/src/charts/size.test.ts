/**
 * File size follows what a chart shows: the SVG is compacted (coordinates to 0.01 px, the font once),
 * a chart's bundle grows by a bounded number of bytes per drawn point over a fixed frame, and a
 * heatmap's optional labels and diverging scale stay legible (level or slanted column labels,
 * white text only on dark cells).
 */
import { describe, expect, test } from "bun:test";
import { JUPYTER_DISPLAY } from "../kit/display.ts";
import { type Chart, compactSvg, countMarkItems, FONT } from "./chart.ts";
import { heatmap, heatmapSpec } from "./heatmap.ts";
import { lineChart } from "./line.ts";

const T0 = Date.parse("2024-03-04T00:00:00Z");
const bytes = (chart: Chart): number => JSON.stringify(chart[JUPYTER_DISPLAY]()).length;

/** A frame (axes, legend, title) and this much per drawn point: what "proportional" means here. */
const FRAME_BYTES = 16_000;
const BYTES_PER_POINT = 450;

describe("compactSvg", () => {
  test("rounds coordinates to a hundredth, writes the font once, leaves text alone", () => {
    const svg = `<svg class="marks" width="10"><path d="M0,0h44.21052631578947v26h-44.21052631578947Z" transform="translate(22.105263157894736,16)"/><text font-family="${FONT}" x="1.23456">3.14159</text><text font-family="${FONT}">b</text></svg>`;
    expect(compactSvg(svg)).toBe(
      `<svg font-family="${FONT}" class="marks" width="10"><path d="M0,0h44.21v26h-44.21Z" transform="translate(22.11,16)"/><text x="1.23">3.14159</text><text>b</text></svg>`,
    );
  });
});

describe("size follows the points drawn", () => {
  test.each([1, 10, 100, 400])(
    "a line of %i points stays under the frame plus a bound per point",
    async (n) => {
      const chart = await lineChart(
        Array.from({ length: n }, (_, i) => ({ x: T0 + i * 86_400_000, y: 5 + Math.sin(i / 9) })),
        { title: "rate", yTitle: "%", intervalMs: 86_400_000 },
      );
      expect(bytes(chart)).toBeLessThan(FRAME_BYTES + BYTES_PER_POINT * n);
    },
  );

  test("a labelled heatmap of 8 × 20 cells stays under frame + 2 × per cell (rect and label)", async () => {
    const cells = Array.from({ length: 160 }, (_, i) => ({
      x: `04-${String(1 + (i % 20)).padStart(2, "0")}`,
      y: `type ${Math.floor(i / 20)}`,
      value: Math.round(20 * Math.sin(i)),
    }));
    const chart = await heatmap(cells, {
      title: "daily change",
      xTitle: "date",
      yTitle: "type",
      valueTitle: "bp",
      domainMid: 0,
      cellLabels: true,
      valueFormat: ".0f",
    });
    expect(countMarkItems(chart.svg, "cells")).toBe(160);
    expect(countMarkItems(chart.svg, "labels")).toBe(160);
    expect(bytes(chart)).toBeLessThan(FRAME_BYTES + 2 * BYTES_PER_POINT * 160);
  });
});

describe("heatmap labels and diverging scale", () => {
  const cells = (columns: number) =>
    Array.from({ length: columns * 2 }, (_, i) => ({
      x: `Month ${i % columns}`,
      y: i < columns ? "a" : "b",
      value: (i % 7) - 3,
    }));
  const options = { title: "t", xTitle: "x", yTitle: "y", valueTitle: "bp", domainMid: 0, cellLabels: true };

  test("a diverging scale is centred on domainMid; labels are white only far from it", () => {
    const spec = heatmapSpec(cells(6), options) as unknown as {
      layer: { name: string; encoding: { color: Record<string, unknown> } }[];
    };
    expect(spec.layer.map((l) => l.name)).toEqual(["cells", "labels"]);
    expect(spec.layer[0]?.encoding.color.scale).toEqual({ scheme: "blueorange", domainMid: 0 });
    expect(spec.layer[1]?.encoding.color).toEqual({
      condition: { test: "abs(datum.value - 0) > 1.8", value: "white" },
      value: "#1f2937",
    });
  });

  test("cells too narrow for a label get none; column labels slant when they do not fit", async () => {
    const narrow = heatmapSpec(cells(60), options) as unknown as Record<string, unknown>;
    expect(narrow.layer).toBeUndefined();
    expect(narrow.name).toBe("cells");
    const axis = (spec: unknown) =>
      (spec as { encoding: { x: { axis: Record<string, unknown> } } }).encoding.x.axis;
    expect(axis(heatmapSpec(cells(4), options))).toEqual({ labelAngle: 0 });
    expect(axis(heatmapSpec(cells(20), options))).toEqual({
      labelAngle: -45,
      labelAlign: "right",
      labelOverlap: false,
    });
    expect(axis(narrow).labelOverlap).toBe(true);
    const chart = await heatmap(cells(60), options);
    expect(countMarkItems(chart.svg, "cells")).toBe(120);
  });

  test("without cellLabels or domainMid the spec is the plain viridis heatmap", () => {
    const spec = heatmapSpec(cells(3), {
      title: "t",
      xTitle: "x",
      yTitle: "y",
      valueTitle: "v",
    }) as unknown as {
      encoding: { color: { scale: unknown } };
      layer?: unknown;
    };
    expect(spec.layer).toBeUndefined();
    expect(spec.encoding.color.scale).toEqual({ scheme: "viridis" });
  });
});
