/**
 * A chart is a Vega-Lite spec rendered to SVG on the server (vega's headless "none" renderer, no
 * canvas). Its display bundle carries the SVG for every viewer, the spec for Jupyter's Vega-Lite
 * renderer, and a text summary.
 */
import { type LoggerInterface, parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type Displayable, JUPYTER_DISPLAY, type MimeBundle } from "../kit/display.ts";

/** JupyterLab and VS Code register the v5 MIME type; the v6 spec renders there (same grammar). */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export interface Chart extends Displayable {
  readonly spec: TopLevelSpec;
  readonly svg: string;
  readonly text: string;
}

/**
 * Vega-Lite's compile warnings would land in the notebook's stderr output; the known one (a shared
 * time domain written once as DateTime and once as a signal, merged to the same union) is noise.
 */
const QUIET: LoggerInterface = {
  level: () => QUIET,
  error: () => QUIET,
  warn: () => QUIET,
  info: () => QUIET,
  debug: () => QUIET,
} as unknown as LoggerInterface;

export async function renderChart(spec: TopLevelSpec, text: string): Promise<Chart> {
  const view = new View(parse(compile(structuredClone(spec), { logger: QUIET }).spec), { renderer: "none" });
  let svg: string;
  try {
    svg = compactSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
  const bundle: MimeBundle = { "image/svg+xml": svg, [VEGA_LITE_MIME]: spec, "text/plain": text };
  return { spec, svg, text, [JUPYTER_DISPLAY]: () => bundle };
}

/** Attributes holding coordinates, where vega writes every float in full (`44.21052631578947`). */
const COORDINATES = /(\s(?:d|transform|x|y|x1|y1|x2|y2|width|height)=")([^"]*)"/g;

/**
 * The same picture in fewer bytes: coordinates to a hundredth of a pixel, and the one font every
 * text carries written once on the root (an inherited presentation attribute). Values and labels
 * (text content, `aria-label`) are untouched.
 */
export function compactSvg(svg: string): string {
  const out = svg.replace(
    COORDINATES,
    (_, head: string, value: string) =>
      `${head}${value.replace(/-?\d*\.\d{3,}(?:e-?\d+)?/g, (n) => String(Math.round(Number(n) * 100) / 100))}"`,
  );
  const font = ` font-family="${FONT}"`;
  return out.includes(font)
    ? out
        .split(font)
        .join("")
        .replace(/^<svg /, `<svg${font} `)
    : out;
}

/**
 * Counts the items of a named mark (`"name": "body"` in the spec) in rendered SVG. A mark drawn per
 * series (lines by colour) has one group per series; all of them are counted.
 */
export function countMarkItems(svg: string, markName: string): number {
  const open = new RegExp(`<g class="mark-\\w+ role-mark ${markName}_marks"[^>]*>`, "g");
  let count = 0;
  for (const m of svg.matchAll(open)) {
    const start = m.index + m[0].length;
    const end = svg.indexOf("</g>", start);
    count += (svg.slice(start, end < 0 ? undefined : end).match(/<(path|line|text|circle|rect)\b/g) ?? [])
      .length;
  }
  return count;
}

export interface PlotArea {
  /** Left edge of the plot, px from the SVG's left edge. */
  readonly x: number;
  readonly width: number;
}

/**
 * Each view's plot area in rendered SVG (one per cell of a concat): the background of every outermost
 * frame or scope group that has one, at its absolute x (the sum of the enclosing groups'
 * translations). Groups inside a plot (a line per series, legend entries) and axis backgrounds are not
 * plots, nor is a concat's own empty frame. Charts meant to be stacked compare these.
 */
export function plotAreas(svg: string): PlotArea[] {
  const areas: PlotArea[] = [];
  const groups: { dx: number; cls: string | undefined; plot: boolean }[] = [];
  let x = 0;
  for (const m of svg.matchAll(
    /<g\b([^>]*)>|<\/g>|<path class="background"[^>]*?\sd="M0,0h([\d.]+)v([\d.]+)/g,
  )) {
    if (m[0] === "</g>") {
      x -= groups.pop()?.dx ?? 0;
    } else if (m[0].startsWith("<g")) {
      const attrs = m[1] ?? "";
      const dx = Number(/translate\((-?[\d.]+)/.exec(attrs)?.[1] ?? 0);
      groups.push({ dx, cls: /class="([^"]*)"/.exec(attrs)?.[1], plot: false });
      x += dx;
    } else {
      const owner = groups.findLast((g) => g.cls?.startsWith("mark-group"));
      const drawn = Number(m[2]) > 0 && Number(m[3]) > 0;
      if (!drawn || !owner || !/role-(frame|scope)/.test(owner.cls ?? "") || groups.some((g) => g.plot))
        continue;
      owner.plot = true;
      areas.push({ x, width: Number(m[2]) });
    }
  }
  return areas;
}

export const COLORS = {
  up: "#26a69a",
  down: "#ef5350",
  vwap: "#f59e0b",
  accent: "#4c78a8",
  muted: "#94a3b8",
} as const;

export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

/** Shared look: white background, light grid, readable fonts. */
export const CHART_CONFIG = {
  font: FONT,
  background: "white",
  padding: 8,
  view: { stroke: null },
  title: { fontSize: 14, fontWeight: 600, anchor: "start", color: "#1f2937", offset: 8 },
  axis: {
    labelColor: "#4b5563",
    titleColor: "#374151",
    gridColor: "#eef0f3",
    domainColor: "#cbd5e1",
    tickColor: "#cbd5e1",
    labelFontSize: 11,
    titleFontSize: 11,
    titleFontWeight: 500,
  },
  legend: { labelColor: "#374151", titleColor: "#374151", orient: "top", direction: "horizontal" },
} as const;

export const DEFAULT_WIDTH = 840;

/** Human summary of a time span for chart text outputs. */
export function spanText(startMs: number, endMs: number): string {
  const fmt = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")}Z`;
  return `${fmt(startMs)} → ${fmt(endMs)}`;
}
