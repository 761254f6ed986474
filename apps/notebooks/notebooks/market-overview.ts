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
// buckets. Wider spreads mean thinner books and costlier market orders.

// %% Spread over time
if (!hasSpread) {
  display(md`> **No market metrics.** \`gold/market_metrics_1m\` is not in this lake.`);
} else {
  const spread = await lake.query<{ bucket: string; symbol: string; spread_bps: number }>(`
    WITH latest AS (SELECT max(minute) AS t FROM gold.market_metrics_1m)
    SELECT time_bucket(INTERVAL 5 MINUTE, minute) AS bucket, symbol, avg(spread_bps) AS spread_bps
    FROM gold.market_metrics_1m, latest
    WHERE minute > latest.t - to_hours(${hours})
      AND symbol IN (${sqlList(params.symbols)})
    GROUP BY ALL ORDER BY bucket`);
  display(
    await lineChart(
      spread.map((r) => ({ x: r.bucket, y: r.spread_bps, series: r.symbol })),
      { title: `Quoted spread, 5-minute average, last ${hours} h`, yTitle: "spread (bps)" },
    ),
  );
  const stats = await lake.query(`
    SELECT symbol,
      round(median(spread_bps), 3) AS median_bps,
      round(quantile_cont(spread_bps, 0.95), 3) AS p95_bps,
      round(max(spread_bps), 3) AS max_bps,
      sum(samples) AS ticker_samples
    FROM gold.market_metrics_1m
    WHERE minute > (SELECT max(minute) FROM gold.market_metrics_1m) - to_hours(${hours})
    GROUP BY symbol ORDER BY symbol`);
  display(table(stats));
}
