// %% [markdown]
// # Market overview
//
// Prices, volume and liquidity for the tracked Kraken pairs, read from the gold layer:
// 1-minute and 1-hour candles with volume and VWAP, and the quoted bid/ask spread over time.
// All times are UTC. Windows end at the latest candle in the lake, so the notebook reads the
// same on a live lake and on a replay.

// %% Setup
import {
  candlestick,
  defineParams,
  display,
  lineChart,
  loadConfig,
  md,
  openLake,
  sqlList,
  sqlString,
  table,
} from "@tributary/notebooks/kit";

const params = defineParams({
  symbols: ["BTC/USD", "ETH/USD"],
  /** Window of the 1-minute candle charts. */
  minutes: 180,
  /** Window of the hourly candles and the spread chart. */
  hours: 48,
});
const minutes = Math.max(1, Math.trunc(params.minutes));
const hours = Math.max(1, Math.trunc(params.hours));

await using lake = await openLake(loadConfig());
const hasMinute = lake.has("gold", "candles_1m");
const hasHour = lake.has("gold", "candles_1h");
const hasSpread = lake.has("gold", "market_metrics_1m");
display(
  md`Lake: \`${lake.uri}\` · symbols: ${params.symbols.join(", ")} · 1m window: ${minutes} min · hourly window: ${hours} h`,
);

interface CandleRow {
  readonly bucket_start: string;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly base_volume: string;
  readonly vwap: string | null;
}

/** The last `count` candles of a dataset up to its latest bucket. */
async function lastCandles(dataset: string, symbol: string, window: string): Promise<CandleRow[]> {
  return lake.query<CandleRow>(`
    SELECT bucket_start, open, high, low, close, base_volume, vwap
    FROM gold.${dataset}
    WHERE symbol = ${sqlString(symbol)}
      AND bucket_start > (SELECT max(bucket_start) FROM gold.${dataset} WHERE symbol = ${sqlString(symbol)}) - ${window}
    ORDER BY bucket_start`);
}

const toCandles = (rows: readonly CandleRow[]) =>
  rows.map((r) => ({
    start: r.bucket_start,
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: r.base_volume,
    vwap: r.vwap,
  }));

// %% [markdown]
// ## Latest prices
//
// The last 24 hourly candles per pair: close, change, range and traded volume (exact decimals).

// %% Summary
if (!hasHour) {
  display(md`> **No hourly candles yet.** \`gold/candles_1h\` is not in this lake; run the gold jobs first.`);
} else {
  const summary = await lake.query(`
    WITH last AS (
      SELECT symbol, max(bucket_start) AS latest FROM gold.candles_1h GROUP BY symbol
    ), w AS (
      SELECT c.* FROM gold.candles_1h c JOIN last USING (symbol)
      WHERE c.bucket_start > last.latest - INTERVAL 24 HOUR
    )
    SELECT symbol,
      max(bucket_start) + INTERVAL 1 HOUR AS as_of,
      arg_max(close, bucket_start) AS last_close,
      round((arg_max(close, bucket_start) / arg_min(open, bucket_start) - 1) * 100, 3)::DECIMAL(12,3) AS change_24h_pct,
      max(high) AS high_24h,
      min(low) AS low_24h,
      sum(base_volume) AS base_volume_24h,
      round(sum(quote_volume), 2)::DECIMAL(38,2) AS quote_volume_24h,
      sum(trade_count) AS trades_24h
    FROM w
    WHERE symbol IN (${sqlList(params.symbols)})
    GROUP BY symbol ORDER BY symbol`);
  display(table(summary));
}

// %% [markdown]
// ## 1-minute candles
//
// Green bodies close at or above their open, red below; the dashed line is each minute's VWAP
// (quote volume / base volume). Volume below in base units.

// %% Minute candles
if (!hasMinute) {
  display(md`> **No 1-minute candles.** \`gold/candles_1m\` is not in this lake.`);
} else {
  for (const symbol of params.symbols) {
    const rows = await lastCandles("candles_1m", symbol, `to_minutes(${minutes})`);
    if (rows.length === 0) {
      display(md`> No 1-minute candles for **${symbol}**.`);
      continue;
    }
    display(
      await candlestick(toCandles(rows), {
        title: `${symbol} · 1-minute candles, last ${minutes} min`,
        intervalMs: 60_000,
        priceTitle: `price (${symbol.split("/")[1] ?? "quote"})`,
        volumeTitle: `volume (${symbol.split("/")[0] ?? "base"})`,
      }),
    );
  }
}

// %% [markdown]
// ## Hourly candles
//
// The wider view: one candle per hour with its VWAP.

// %% Hourly candles
if (!hasHour) {
  display(md`> **No hourly candles.** \`gold/candles_1h\` is not in this lake.`);
} else {
  for (const symbol of params.symbols) {
    const rows = await lastCandles("candles_1h", symbol, `to_hours(${hours})`);
    if (rows.length === 0) {
      display(md`> No hourly candles for **${symbol}**.`);
      continue;
    }
    display(
      await candlestick(toCandles(rows), {
        title: `${symbol} · hourly candles, last ${hours} h`,
        intervalMs: 3_600_000,
        priceTitle: `price (${symbol.split("/")[1] ?? "quote"})`,
        volumeTitle: `volume (${symbol.split("/")[0] ?? "base"})`,
      }),
    );
  }
}

// %% [markdown]
// ## Spread
//
// Quoted spread `(ask − bid) / mid` in basis points from the ticker, averaged over 5-minute
// buckets (1-minute ones when the ticker covers less than 3 hours). Wider spreads mean thinner
// books and costlier market orders. Kraken's ticker has no history to fetch: the spread starts
// when the ticker stream starts, while the candles above are rebuilt from the trade history.

// %% Spread over time
/** Fewer distinct minutes than this make no line worth drawing. */
const MIN_SPREAD_MINUTES = 10;
if (!hasSpread) {
  display(md`> **No market metrics.** \`gold/market_metrics_1m\` is not in this lake.`);
} else {
  const inWindow = `minute > (SELECT max(minute) FROM gold.market_metrics_1m) - to_hours(${hours})
      AND symbol IN (${sqlList(params.symbols)})`;
  const [cover] = await lake.query<{
    minutes: bigint;
    first: string | null;
    last: string | null;
    samples: bigint | null;
  }>(`
    SELECT count(DISTINCT minute) AS minutes, min(minute) AS first, max(minute) AS last, sum(samples) AS samples
    FROM gold.market_metrics_1m WHERE ${inWindow}`);
  const minutesCovered = Number(cover?.minutes ?? 0n);
  const spanMin =
    cover?.first && cover.last ? (Date.parse(cover.last) - Date.parse(cover.first)) / 60_000 + 1 : 0;
  if (minutesCovered < MIN_SPREAD_MINUTES) {
    const at = (t: string): string => t.slice(0, 16).replace("T", " ");
    const when = cover?.first
      ? ` (${cover.first === cover.last ? `at ${at(cover.first)}` : `${at(cover.first)} → ${cover.last?.slice(11, 16)}`} UTC, ${cover.samples ?? 0n} ticker snapshots)`
      : "";
    display(
      md`> **Not enough spread history for a chart:** the ticker covers ${minutesCovered} minute${minutesCovered === 1 ? "" : "s"}${when}; a line needs ${MIN_SPREAD_MINUTES}. Kraken's ticker has no history to replay, so the spread starts when the ticker stream starts (the candles above are rebuilt from the trade history). The figures below are what there is; re-run after the ingester has streamed for a while.`,
    );
  } else {
    const bucketMin = spanMin >= 180 ? 5 : 1;
    const spread = await lake.query<{ bucket: string; symbol: string; spread_bps: number }>(`
      SELECT time_bucket(to_minutes(${bucketMin}), minute) AS bucket, symbol, avg(spread_bps) AS spread_bps
      FROM gold.market_metrics_1m WHERE ${inWindow}
      GROUP BY ALL ORDER BY bucket`);
    const covered = spanMin >= hours * 60 ? `last ${hours} h` : `the ${spanText(spanMin)} the ticker covers`;
    display(
      await lineChart(
        spread.map((r) => ({ x: r.bucket, y: r.spread_bps, series: r.symbol })),
        {
          title: `Quoted spread, ${bucketMin}-minute average, ${covered}`,
          yTitle: "spread (bps)",
          intervalMs: bucketMin * 60_000,
        },
      ),
    );
  }
  const stats = await lake.query(`
    SELECT symbol,
      round(median(spread_bps), 3) AS median_bps,
      round(quantile_cont(spread_bps, 0.95), 3) AS p95_bps,
      round(max(spread_bps), 3) AS max_bps,
      sum(samples) AS ticker_samples,
      count(*) AS minutes
    FROM gold.market_metrics_1m
    WHERE ${inWindow}
    GROUP BY symbol ORDER BY symbol`);
  display(table(stats));
}

/** "25 min", "2 h 10 min" for a span in minutes. */
function spanText(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  return h > 0 ? `${h} h${m ? ` ${m} min` : ""}` : `${m} min`;
}
