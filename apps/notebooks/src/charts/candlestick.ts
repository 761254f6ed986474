/**
 * Candlesticks with a volume panel: a wick (rule, low→high) and a body (rect, open→close) per candle,
 * green when close ≥ open; an optional VWAP line; volume bars below on the same UTC time axis.
 */
import type { TopLevelSpec } from "vega-lite";
import { epochMs, type NumberLike, num, type TimeLike } from "../kit/values.ts";
import {
  bandDomain,
  chartNumber,
  fixedYAxis,
  notEnoughDataSpec,
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

export interface Candle {
  readonly start: TimeLike;
  readonly open: NumberLike;
  readonly high: NumberLike;
  readonly low: NumberLike;
  readonly close: NumberLike;
  readonly volume: NumberLike;
  readonly vwap?: NumberLike | null;
}

export interface CandlestickOptions {
  readonly title: string;
  /** Candle length, e.g. 60_000 for 1m candles. */
  readonly intervalMs: number;
  readonly priceTitle?: string;
  readonly volumeTitle?: string;
  readonly showVwap?: boolean;
  /** The time axis's extent, e.g. a window shared by several charts so they line up (default: the candles'). */
  readonly timeDomain?: readonly [TimeLike, TimeLike];
  /**
   * Pixels the y axis (ticks and labels) of the price and volume panels takes, whatever its labels: charts stacked on one
   * `timeDomain` with the same value (`STACKED_Y_AXIS_WIDTH`) and width put their plots at the same x.
   */
  readonly yAxisWidth?: number;
  readonly width?: number;
  readonly height?: number;
}

export function candlestickSpec(candles: readonly Candle[], options: CandlestickOptions): TopLevelSpec {
  const width = options.width ?? DEFAULT_WIDTH;
  if (candles.length === 0) return notEnoughDataSpec(options.title, "no candles", width);
  const pad = options.intervalMs * 0.15;
  const values = candles.map((c) => {
    const t = epochMs(c.start);
    const open = chartNumber(num(c.open));
    const close = chartNumber(num(c.close));
    const vwap = c.vwap === null || c.vwap === undefined ? null : chartNumber(num(c.vwap));
    return {
      t,
      t_body0: t + pad,
      t_body1: t + options.intervalMs - pad,
      t_mid: t + options.intervalMs / 2,
      open,
      high: chartNumber(num(c.high)),
      low: chartNumber(num(c.low)),
      close,
      volume: chartNumber(num(c.volume)),
      vwap,
      dir: close >= open ? "up" : "down",
    };
  });
  // Bands keep the candle's width whatever the extent: one hourly candle is one hour wide.
  const domain: [number, number] = options.timeDomain
    ? [epochMs(options.timeDomain[0]), epochMs(options.timeDomain[1])]
    : bandDomain(
        values.map((v) => v.t),
        options.intervalMs,
      );
  const axis = timeAxis(domain[1] - domain[0], width, options.intervalMs);
  // The domain is set once (on the wicks); the other views share the scale.
  const x = {
    field: "t_mid",
    type: "temporal",
    scale: { type: "utc", domain: utcDomain(domain) },
    title: null,
    axis,
  } as const;
  const scale = { type: "utc" } as const;
  const color = {
    field: "dir",
    type: "nominal",
    scale: { domain: ["up", "down"], range: [COLORS.up, COLORS.down] },
    legend: null,
  } as const;
  const bodyX = { field: "t_body0", type: "temporal", scale, title: null, axis } as const;
  const tooltip = [
    utcTooltip("t", "start (UTC)").tooltip,
    { field: "open", type: "quantitative" },
    { field: "high", type: "quantitative" },
    { field: "low", type: "quantitative" },
    { field: "close", type: "quantitative" },
    { field: "volume", type: "quantitative" },
  ];
  const priceLayers: unknown[] = [
    {
      name: "wick",
      mark: { type: "rule", strokeWidth: 1 },
      encoding: {
        x,
        y: {
          field: "low",
          type: "quantitative",
          scale: { zero: false },
          title: options.priceTitle ?? "price",
          ...(options.yAxisWidth === undefined
            ? {}
            : {
                axis: fixedYAxis(
                  options.yAxisWidth,
                  values.flatMap((v) => [v.low, v.high]),
                ),
              }),
        },
        y2: { field: "high" },
        color,
      },
    },
    {
      name: "body",
      mark: { type: "bar", minBandSize: 1 },
      params: [X_ZOOM],
      encoding: {
        tooltip,
        x: bodyX,
        x2: { field: "t_body1" },
        y: { field: "open", type: "quantitative" },
        y2: { field: "close" },
        color,
      },
    },
  ];
  if (options.showVwap !== false && values.some((v) => v.vwap !== null)) {
    priceLayers.push({
      name: "vwap",
      mark: { type: "line", color: COLORS.vwap, strokeWidth: 1.5, strokeDash: [4, 2] },
      transform: [{ filter: "datum.vwap !== null" }],
      encoding: { x: { ...x, scale }, y: { field: "vwap", type: "quantitative" } },
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    config: CHART_CONFIG,
    data: { values },
    transform: [utcTooltip("t", "start (UTC)").transform],
    spacing: 4,
    vconcat: [
      { width, height: options.height ?? 260, layer: priceLayers },
      {
        name: "volume",
        width,
        height: Math.round((options.height ?? 260) * 0.3),
        mark: { type: "bar", opacity: 0.75 },
        encoding: {
          x: { ...bodyX, title: "time (UTC)" },
          x2: { field: "t_body1" },
          y: {
            field: "volume",
            type: "quantitative",
            title: options.volumeTitle ?? "volume",
            axis: {
              tickCount: 3,
              ...fixedYAxis(
                options.yAxisWidth,
                values.map((v) => v.volume),
              ),
            },
          },
          y2: { datum: 0 },
          color,
          tooltip,
        },
      },
    ],
    resolve: { scale: { x: "shared" } },
  } as unknown as TopLevelSpec;
}

export async function candlestick(candles: readonly Candle[], options: CandlestickOptions): Promise<Chart> {
  const spec = candlestickSpec(candles, options);
  const first = candles[0];
  const last = candles[candles.length - 1];
  const span =
    first && last ? `, ${spanText(epochMs(first.start), epochMs(last.start) + options.intervalMs)}` : "";
  const closeText = last ? `, last close ${String(last.close)}` : "";
  return renderChart(
    spec,
    `Candlestick chart: ${options.title} (${candles.length} candles${span}${closeText})`,
  );
}
