/**
 * SQL of the gold candles (DuckDB). Exactness: prices and quantities are DECIMAL(38,10); volumes are
 * DECIMAL sums (exact), and the quote volume is Σ price·qty in DECIMAL(38,20), the exact product of
 * two scale-10 numbers (DuckDB sums it in 128 bits and fails loudly rather than wrap, at 1.7·10^18 per
 * candle). Minute aggregates keep these exact sums, so 5m, 15m, 1h and 1d candles roll up from them
 * without rounding in between; only the final quote_volume and vwap are rounded, half up, to 10
 * decimals. Open and close are the prices of the lowest and highest trade_id in the bucket.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";

export const CANDLE_INTERVALS = ["1m", "5m", "15m", "1h", "1d"] as const;
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export const INTERVAL_MICROS: Readonly<Record<CandleInterval, bigint>> = {
  "1m": 60_000_000n,
  "5m": 300_000_000n,
  "15m": 900_000_000n,
  "1h": 3_600_000_000n,
  "1d": 86_400_000_000n,
};

export const CANDLE_COLUMNS = [
  "symbol",
  "bucket_start",
  "open",
  "high",
  "low",
  "close",
  "base_volume",
  "quote_volume",
  "vwap",
  "trade_count",
  "buy_volume",
  "sell_volume",
  "first_trade_id",
  "last_trade_id",
] as const;

/** Macros for exact unit arithmetic; run once per session. */
export const UNIT_MACROS = [
  // 10^-10 units (HUGEINT) → DECIMAL(38,10), exact.
  `CREATE OR REPLACE TEMP MACRO units10(u) AS (CAST(u AS DECIMAL(38,0)) * CAST('0.0000000001' AS DECIMAL(11,10)))`,
  // A DECIMAL's unscaled integer (all its digits), exact; for aggregates, not per trade.
  `CREATE OR REPLACE TEMP MACRO dec_units(d) AS (CAST(replace(CAST(d AS VARCHAR), '.', '') AS HUGEINT))`,
  // Integer division rounded half up (q >= 0, d > 0), without overflowing 2·q.
  `CREATE OR REPLACE TEMP MACRO div_round(q, d) AS (q // d + CASE WHEN 2 * (q % d) >= d THEN 1 ELSE 0 END)`,
];

/**
 * Loads silver trades into `gold_trades`, with time buckets as epoch microseconds (integer
 * arithmetic: UTC, no calendar lookups per row).
 */
export function createGoldTradesSql(filesSql: string): string {
  return `CREATE OR REPLACE TEMP TABLE gold_trades AS
SELECT ${pairOfSymbolSql("symbol")} AS p_symbol, symbol, trade_id, price, qty, side, ts, ingested_at,
  epoch_us(ts) // 60000000 * 60000000 AS minute_us,
  make_timestamptz(epoch_us(ts) // 3600000000 * 3600000000) AS hour,
  make_timestamptz(epoch_us(ts) // 86400000000 * 86400000000) AS day
FROM ${filesSql}`;
}

/** Exact per-minute aggregates of the candle days. */
export function createMinuteAggregatesSql(): string {
  return `CREATE OR REPLACE TEMP TABLE m1 AS
SELECT t.p_symbol, any_value(t.symbol) AS symbol, make_timestamptz(t.minute_us) AS bucket_start, any_value(t.day) AS day,
  arg_min(t.price, t.trade_id) AS open, max(t.price) AS high, min(t.price) AS low, arg_max(t.price, t.trade_id) AS close,
  sum(t.qty) AS base, sum(t.price * t.qty) AS quote20,
  coalesce(sum(t.qty) FILTER (WHERE t.side = 'buy'), 0) AS buy,
  coalesce(sum(t.qty) FILTER (WHERE t.side = 'sell'), 0) AS sell,
  count(*) AS trade_count, min(t.trade_id) AS first_trade_id, max(t.trade_id) AS last_trade_id
FROM gold_trades t SEMI JOIN candle_days d ON d.p_symbol = t.p_symbol AND d.day = t.day
GROUP BY t.p_symbol, t.minute_us`;
}

/** Rolls the minute aggregates up to an interval (exact: integer sums, open/close by trade_id). */
export function createRollupSql(interval: CandleInterval): string {
  const table = `agg_${interval}`;
  if (interval === "1m") return `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT * FROM m1`;
  const micros = INTERVAL_MICROS[interval];
  return `CREATE OR REPLACE TEMP TABLE ${table} AS
SELECT p_symbol, any_value(symbol) AS symbol,
  make_timestamptz((epoch_us(bucket_start) // ${micros}) * ${micros}) AS bucket_start, any_value(day) AS day,
  arg_min(open, first_trade_id) AS open, max(high) AS high, min(low) AS low, arg_max(close, last_trade_id) AS close,
  sum(base) AS base, sum(quote20) AS quote20, sum(buy) AS buy, sum(sell) AS sell,
  sum(trade_count)::BIGINT AS trade_count, min(first_trade_id) AS first_trade_id, max(last_trade_id) AS last_trade_id
FROM m1
GROUP BY p_symbol, (epoch_us(bucket_start) // ${micros})`;
}

/** The candle rows of an interval as the dataset stores them, plus `p_symbol` and `p_file`. */
export function candleSelect(interval: CandleInterval): string {
  const file = interval === "1d" ? "strftime(bucket_start, '%Y-%m')" : "strftime(bucket_start, '%Y-%m-%d')";
  return `SELECT symbol, bucket_start, open, high, low, close,
  CAST(base AS DECIMAL(38,10)) AS base_volume,
  CAST(quote20 AS DECIMAL(38,10)) AS quote_volume,
  units10(div_round(dec_units(quote20), dec_units(base))) AS vwap,
  trade_count::BIGINT AS trade_count,
  CAST(buy AS DECIMAL(38,10)) AS buy_volume, CAST(sell AS DECIMAL(38,10)) AS sell_volume,
  first_trade_id, last_trade_id,
  p_symbol, ${file} AS p_file
FROM agg_${interval}`;
}
