/**
 * Charts with many series (twelve symbols) as rendered to static SVG: one legend entry per series,
 * one colour per series that no other series shares and that its legend entry shows, and a legend
 * that sits beside the plot inside the SVG's viewBox instead of over the data or past the edge.
 */
import { describe, expect, test } from "bun:test";
import { TWELVE_SYMBOLS } from "../testing/many-symbols.ts";
import { barChart } from "./bar.ts";
import type { Chart } from "./chart.ts";
import { histogram } from "./histogram.ts";
import { lineChart } from "./line.ts";

const HOUR = 3_600_000;
const T0 = Date.parse("2024-03-04T00:00:00Z");
const SYMBOLS = TWELVE_SYMBOLS;

const makers: Record<string, () => Promise<Chart>> = {
  line: () =>
    lineChart(
      SYMBOLS.flatMap((s, k) =>
        Array.from({ length: 24 }, (_, i) => ({ x: T0 + i * HOUR, y: 100 + 3 * k + (i % 5), series: s })),
      ),
      { title: "hourly mid", yTitle: "price", intervalMs: HOUR },
    ),
  "time bars": () =>
    barChart(
      SYMBOLS.flatMap((s, k) =>
        Array.from({ length: 6 }, (_, i) => ({ x: T0 + i * HOUR, y: 1 + ((k + i) % 4), series: s })),
      ),
      { title: "hourly trades", yTitle: "trades", intervalMs: HOUR },
    ),
  "category bars": () =>
    barChart(
      SYMBOLS.flatMap((s, k) => ["maker", "taker"].map((x, i) => ({ x, y: 1 + k + i, series: s }))),
      { title: "trades by side", yTitle: "trades" },
    ),
  histogram: () =>
    histogram(
      Object.fromEntries(SYMBOLS.map((s, k) => [s, Array.from({ length: 30 }, (_, i) => 100 + k + (i % 9))])),
      { title: "prices", xTitle: "price" },
    ),
};

interface Placed {
  readonly tag: string;
  readonly attrs: string;
  readonly text: string;
  /** Absolute position of the element's own translate origin, summed over its ancestor groups. */
  readonly x: number;
  readonly y: number;
  /** Classes of every enclosing group, outermost first. */
  readonly within: string;
}

const translate = (attrs: string): [number, number] => {
  const m = /transform="translate\(([-\d.e]+),([-\d.e]+)\)/.exec(attrs);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
};

/** Every path and text of vega's SVG with its absolute origin (vega only nests `translate`s). */
function placed(svg: string): Placed[] {
  const out: Placed[] = [];
  const stack: { x: number; y: number; cls: string }[] = [{ x: 0, y: 0, cls: "" }];
  for (const m of svg.matchAll(/<(\/?)(g|path|text)\b([^>]*?)(\/?)>(?:([^<]*)<\/text>)?/g)) {
    const [, close, tag = "", attrs = "", , text = ""] = m;
    const top = stack[stack.length - 1] ?? { x: 0, y: 0, cls: "" };
    if (tag === "g" && close) stack.pop();
    else if (tag === "g") {
      const [dx, dy] = translate(attrs);
      const cls = attr(attrs, "class");
      stack.push({ x: top.x + dx, y: top.y + dy, cls: cls ? `${top.cls} ${cls}` : top.cls });
    } else {
      const [dx, dy] = translate(attrs);
      out.push({ tag, attrs, text, x: top.x + dx, y: top.y + dy, within: top.cls });
    }
  }
  return out;
}

const viewBox = (svg: string): { width: number; height: number } => {
  const m = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg);
  return { width: Number(m?.[1]), height: Number(m?.[2]) };
};

const attr = (attrs: string, name: string): string | undefined =>
  new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1];

/** A rectangle vega drew as `M0,0h{w}v{h}h-{w}Z`, placed at its origin. */
const rect = (p: Placed): { left: number; top: number; right: number; bottom: number } => {
  const m = /^M0,0h([\d.]+)v([\d.]+)h/.exec(attr(p.attrs, "d") ?? "");
  return { left: p.x, top: p.y, right: p.x + Number(m?.[1]), bottom: p.y + Number(m?.[2]) };
};

describe.each(Object.keys(makers))("%s with twelve series", (name) => {
  const make = makers[name] as () => Promise<Chart>;

  test("the legend has one entry per series, none repeated or cut by a symbol limit", async () => {
    const items = placed((await make()).svg);
    const labels = items.filter((p) => p.tag === "text" && p.within.includes("role-legend-label"));
    expect(labels.map((l) => l.text).sort()).toEqual([...SYMBOLS].sort());
  });

  test("each series has one colour of its own, the one its legend entry shows", async () => {
    const items = placed((await make()).svg);
    const legendSymbols = items.filter((p) => p.within.includes("role-legend-symbol"));
    const legendLabels = items.filter((p) => p.tag === "text" && p.within.includes("role-legend-label"));
    // Entries are stacked in one column: symbol k and label k share a row.
    const legendColor = new Map(
      legendLabels.map((l, k) => [l.text, attr(legendSymbols[k]?.attrs ?? "", "fill")]),
    );
    const markColors = new Map<string, Set<string>>();
    for (const p of items.filter((i) => i.within.includes("role-mark"))) {
      const series = /(?:^|; )series: ([^;"]+)/.exec(attr(p.attrs, "aria-label") ?? "")?.[1];
      // A line is stroked (fill="none"); its points and bars are filled.
      const color = [attr(p.attrs, "fill"), attr(p.attrs, "stroke")].find((c) => c && c !== "none");
      if (series && color) markColors.set(series, new Set([...(markColors.get(series) ?? []), color]));
    }
    expect([...markColors.keys()].sort()).toEqual([...SYMBOLS].sort());
    const colorOf = Object.fromEntries([...markColors].map(([s, cs]) => [s, [...cs]]));
    expect(colorOf).toEqual(
      Object.fromEntries(SYMBOLS.map((s) => [s, [legendColor.get(s) ?? "no legend colour"]])),
    );
    expect(new Set(Object.values(colorOf).flat()).size).toBe(SYMBOLS.length);
  });

  test("the legend sits right of the plot, inside the viewBox, one readable row per entry", async () => {
    const chart = await make();
    const items = placed(chart.svg);
    const box = viewBox(chart.svg);
    const legendBackground = items.find(
      (p) => p.within.endsWith(" role-legend") && attr(p.attrs, "class") === "background",
    );
    expect(legendBackground).toBeDefined();
    const legend = rect(legendBackground as Placed);
    const frame = items.find(
      (p) => p.within.includes(" role-frame") && attr(p.attrs, "class") === "background",
    );
    const plot = rect(frame as Placed);
    expect(plot.right - plot.left).toBe((chart.spec as { width: number }).width);
    expect(legend.left).toBeGreaterThanOrEqual(plot.right);
    expect(legend.right).toBeLessThanOrEqual(box.width);
    expect(legend.top).toBeGreaterThanOrEqual(0);
    expect(legend.bottom).toBeLessThanOrEqual(box.height);
    const labels = items.filter((p) => p.tag === "text" && p.within.includes("role-legend-label"));
    for (const l of labels) {
      expect(l.x).toBeGreaterThanOrEqual(legend.left);
      expect(l.x).toBeLessThan(legend.right);
    }
    const rows = labels.map((l) => l.y);
    for (let k = 1; k < rows.length; k++) {
      expect((rows[k] as number) - (rows[k - 1] as number)).toBeGreaterThanOrEqual(
        Number(attr(labels[k]?.attrs ?? "", "font-size")?.replace("px", "")),
      );
    }
    // No text of any kind starts outside the picture.
    for (const t of items.filter((p) => p.tag === "text" && p.text)) {
      expect(t.x).toBeGreaterThanOrEqual(0);
      expect(t.x).toBeLessThanOrEqual(box.width);
    }
  });
});
