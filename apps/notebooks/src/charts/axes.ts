/**
 * What every chart shares so it reads well on any data: one 24-hour UTC time format, tick steps
 * chosen from the span, the width and the data's own interval (never ticks finer than a bucket),
 * time domains padded to whole bands, integer axes for counts, values rounded to what a chart can
 * show (smaller files, and the same bytes whatever order a parallel SUM added them in), and the
 * honest "not enough data" panel instead of an empty frame.
 */
import type { TopLevelSpec } from "vega-lite";
import { CHART_CONFIG, DEFAULT_WIDTH, VEGA_LITE_SCHEMA } from "./chart.ts";

export const NOT_ENOUGH_DATA = "not enough data for this chart";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEPS: readonly { readonly ms: number; readonly interval: string; readonly step: number }[] = [
  { ms: MINUTE, interval: "minutes", step: 1 },
  { ms: 5 * MINUTE, interval: "minutes", step: 5 },
  { ms: 15 * MINUTE, interval: "minutes", step: 15 },
  { ms: 30 * MINUTE, interval: "minutes", step: 30 },
  { ms: HOUR, interval: "hours", step: 1 },
  { ms: 3 * HOUR, interval: "hours", step: 3 },
  { ms: 6 * HOUR, interval: "hours", step: 6 },
  { ms: 12 * HOUR, interval: "hours", step: 12 },
  { ms: DAY, interval: "day", step: 1 },
  { ms: 2 * DAY, interval: "day", step: 2 },
  { ms: 7 * DAY, interval: "week", step: 1 },
  { ms: 14 * DAY, interval: "week", step: 2 },
  { ms: 30 * DAY, interval: "month", step: 1 },
  { ms: 91 * DAY, interval: "month", step: 3 },
  { ms: 365 * DAY, interval: "year", step: 1 },
];

/** Roughly one label per this many pixels. */
const PX_PER_LABEL = 90;

/**
 * A UTC time axis: labels `HH:MM` (24-hour) with the date `DD Mon` at midnight, or dates only
 * when ticks are a day or more apart; ticks never finer than `intervalMs`.
 */
export function timeAxis(
  spanMs: number,
  width: number = DEFAULT_WIDTH,
  intervalMs = 0,
): Record<string, unknown> {
  const maxLabels = Math.max(2, Math.floor(width / PX_PER_LABEL));
  const wanted = Math.max(intervalMs, spanMs / maxLabels);
  const step = STEPS.find((s) => s.ms >= wanted) ?? (STEPS[STEPS.length - 1] as (typeof STEPS)[number]);
  const labelExpr =
    step.ms >= DAY
      ? "utcFormat(datum.value, '%d %b %Y')"
      : "utcFormat(datum.value, utchours(datum.value) == 0 && utcminutes(datum.value) == 0 ? '%d %b' : '%H:%M')";
  return {
    tickCount: { interval: step.interval, step: step.step },
    labelExpr,
    labelOverlap: true,
    labelFlush: true,
    grid: true,
  };
}

/** `[lo, hi]` covering every band `[t, t + interval]`, at least `minBands` intervals wide. */
export function bandDomain(starts: readonly number[], intervalMs: number, minBands = 12): [number, number] {
  if (starts.length === 0) return [0, intervalMs * minBands];
  const lo = Math.min(...starts);
  const hi = Math.max(...starts) + intervalMs;
  const missing = minBands * intervalMs - (hi - lo);
  // Too few bands to fill the width: keep each band its own width, the data at the right (latest).
  return missing > 0 ? [lo - missing, hi] : [lo, hi];
}

/**
 * Axis options from the values: integer ticks and labels when every value is a whole number; one
 * value repeated (a flat line) is labelled as it is, not with the six decimals Vega's tick format
 * gives an axis with no extent ("0.239000").
 */
export function countAxis(values: readonly number[]): Record<string, unknown> {
  if (values.length === 0) return {};
  if (values.every(Number.isInteger)) return { format: "d", tickMinStep: 1 };
  return values.every((v) => v === values[0]) ? { format: "~g" } : {};
}

/** Seven significant digits: more than a chart can show, fewer bytes, and stable across runs. */
export function chartNumber(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(7)) : x;
}

/** The panel shown instead of a chart with nothing to draw. */
export function notEnoughDataSpec(
  title: string,
  detail: string | undefined,
  width: number = DEFAULT_WIDTH,
): TopLevelSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title,
    config: CHART_CONFIG,
    width,
    height: 60,
    data: { values: [{ text: detail ? `${NOT_ENOUGH_DATA} (${detail})` : NOT_ENOUGH_DATA }] },
    name: "empty",
    mark: { type: "text", fontSize: 13, color: "#6b7280", align: "center" },
    encoding: { text: { field: "text" }, x: { value: width / 2 }, y: { value: 30 } },
  } as TopLevelSpec;
}

/** Legend layout that fits: a row on top for a few series, a scrolling-free column at the right for many. */
export function seriesLegend(count: number): Record<string, unknown> {
  return count > 5
    ? { orient: "right", direction: "vertical", labelLimit: 220, columns: 1, symbolLimit: 40 }
    : { orient: "top", direction: "horizontal", labelLimit: 220 };
}

/**
 * The plot's width when the caller gave none: the default, less what a right-hand legend (more than
 * 5 series) takes, so plot and legend fit the page together (labels at most 220 px, ~6.5 px a character).
 */
export function fitWidth(labels: readonly string[], width?: number): number {
  if (width !== undefined) return width;
  if (labels.length <= 5) return DEFAULT_WIDTH;
  const longest = Math.max(...labels.map((l) => l.length));
  return DEFAULT_WIDTH - Math.min(220, Math.ceil(longest * 6.5)) - 40;
}

/** The y axis width (ticks and labels, px) of charts meant to be stacked: labels of up to 7 characters. */
export const STACKED_Y_AXIS_WIDTH = 72;
const TICK_SIZE = 5;
const LABEL_PADDING = 2;
/** Vega measures text without a canvas (server-side SVG) as 0.8 × the font size per character. */
const LABEL_CHAR_PX = 0.8 * CHART_CONFIG.axis.labelFontSize;

/**
 * A y axis exactly `width` px wide whatever its labels, so charts stacked on one time axis start and
 * end their plot areas at the same pixel. When the values' integer digits alone would not fit, the
 * whole axis is labelled with SI prefixes (`2.1M`, `200M`) instead of moving the plot; a label still
 * too long is cut with "…". Pass `values` only when no explicit format was asked for.
 * Undefined width: the axis takes what its labels need.
 */
export function fixedYAxis(
  width: number | undefined,
  values: readonly number[] = [],
): Record<string, unknown> {
  if (width === undefined) return {};
  const labelLimit = width - TICK_SIZE - LABEL_PADDING;
  const largest = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const compact = largest >= 10 ** (Math.floor(labelLimit / LABEL_CHAR_PX) - 1);
  return {
    minExtent: width,
    maxExtent: width,
    tickSize: TICK_SIZE,
    labelPadding: LABEL_PADDING,
    labelLimit,
    ...(compact ? { format: ".4~s" } : {}),
  };
}

/** About one tick per 90 px on a numeric axis (vega's default, one per 40 px, crowds the SVG with hidden labels). */
export function numericTicks(width: number): Record<string, unknown> {
  return { tickCount: Math.max(2, Math.floor(width / 90)) };
}

/** The default palette (tableau10) repeats after 10 series; tableau20 keeps up to 20 apart. */
export function seriesScale(count: number): Record<string, unknown> {
  return count > 10 ? { scale: { scheme: "tableau20" } } : {};
}

/**
 * Legend toggling: a click on a legend entry adds its series to those shown (the others dim) or
 * removes it; with none left, every series shows again.
 */
export const SERIES_TOGGLE = {
  name: "series_toggle",
  select: { type: "point", fields: ["series"], toggle: "true" },
  bind: "legend",
};

/** Zoom and pan on the x axis (drag, wheel); double-click resets. */
export const X_ZOOM = { name: "x_zoom", select: { type: "interval", encodings: ["x"] }, bind: "scales" };

/** A time domain as Vega-Lite DateTime objects (plain numbers conflict with the layers' own datetime domains). */
export function utcDomain([lo, hi]: readonly [number, number]): Record<string, number | boolean>[] {
  return [lo, hi].map((ms) => {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      date: d.getUTCDate(),
      hours: d.getUTCHours(),
      minutes: d.getUTCMinutes(),
      seconds: d.getUTCSeconds(),
      milliseconds: d.getUTCMilliseconds(),
      utc: true,
    };
  });
}

/**
 * An instant for tooltips, as `YYYY-MM-DD HH:MM:SS` UTC text computed in the chart (a temporal
 * tooltip with a UTC format shows NaN in vega-embed for epoch-ms fields).
 */
export function utcTooltip(
  field: string,
  title: string,
): { transform: Record<string, string>; tooltip: Record<string, string> } {
  return {
    transform: { calculate: `utcFormat(datum.${field}, '%Y-%m-%d %H:%M:%S')`, as: `${field}_utc` },
    tooltip: { field: `${field}_utc`, type: "nominal", title },
  };
}
