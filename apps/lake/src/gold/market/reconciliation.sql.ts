/**
 * SQL of gold/candle_reconciliation (DuckDB): per symbol and minute that Kraken's own OHLC covers
 * (silver/kraken_ohlc_1m), whether our 1-minute candle agrees. Exact fields: open, high, low, close,
 * volume (= our base_volume) and trade_count. Kraken prints vwap at the pair's price precision, so
 * vwap agrees when it is within one unit of Kraken's last printed digit. A minute Kraken reports
 * with no trades agrees when we have no candle either.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../../runtime/duckdb.ts";

export const RECONCILIATION_COLUMNS = [
  "symbol",
  "minute",
  "status",
  "mismatched_fields",
  "kraken_open",
  "kraken_high",
  "kraken_low",
  "kraken_close",
  "kraken_vwap",
  "kraken_volume",
  "kraken_trade_count",
  "open",
  "high",
  "low",
  "close",
  "vwap",
  "base_volume",
  "trade_count",
  "fetched_at",
] as const;

/** Needs `out_1m` (our 1m candles of the loaded days) and `candle_days`. */
export function createReconciliationSql(ohlcFiles: readonly string[]): string {
  const source =
    ohlcFiles.length > 0
      ? `read_parquet(${sqlStringList(ohlcFiles)}, hive_partitioning = false, union_by_name = true)`
      : `(SELECT NULL::VARCHAR AS symbol, NULL::TIMESTAMPTZ AS minute, NULL::DECIMAL(38,10) AS open, NULL::DECIMAL(38,10) AS high,
  NULL::DECIMAL(38,10) AS low, NULL::DECIMAL(38,10) AS close, NULL::DECIMAL(38,10) AS vwap, NULL::DECIMAL(38,10) AS volume,
  NULL::BIGINT AS trade_count, NULL::DECIMAL(38,10) AS vwap_tolerance, NULL::TIMESTAMPTZ AS fetched_at WHERE false)`;
  const ours = "c.bucket_start IS NOT NULL";
  const both = `${ours} AND k.trade_count > 0`;
  return `CREATE OR REPLACE TEMP TABLE reconciliation_new AS
WITH k AS (
  SELECT ${pairOfSymbolSql("symbol")} AS p_symbol, * FROM ${source}
), cmp AS (
  SELECT k.*, c.open AS o_open, c.high AS o_high, c.low AS o_low, c.close AS o_close, c.vwap AS o_vwap,
    c.base_volume AS o_volume, c.trade_count AS o_trade_count,
    list_filter([
      CASE WHEN NOT (${ours}) AND k.trade_count > 0 THEN 'missing_candle' END,
      CASE WHEN ${ours} AND k.trade_count = 0 THEN 'unexpected_candle' END,
      CASE WHEN ${both} AND c.open <> k.open THEN 'open' END,
      CASE WHEN ${both} AND c.high <> k.high THEN 'high' END,
      CASE WHEN ${both} AND c.low <> k.low THEN 'low' END,
      CASE WHEN ${both} AND c.close <> k.close THEN 'close' END,
      CASE WHEN ${both} AND abs(c.vwap - k.vwap) > k.vwap_tolerance THEN 'vwap' END,
      CASE WHEN ${both} AND c.base_volume <> k.volume THEN 'volume' END,
      CASE WHEN ${both} AND c.trade_count <> k.trade_count THEN 'trade_count' END
    ], x -> x IS NOT NULL) AS fields
  FROM k
  SEMI JOIN candle_days d ON d.p_symbol = k.p_symbol AND d.day = date_trunc('day', k.minute)
  LEFT JOIN out_1m c ON c.p_symbol = k.p_symbol AND c.bucket_start = k.minute
)
SELECT symbol, minute, CASE WHEN len(fields) = 0 THEN 'agree' ELSE 'disagree' END AS status,
  array_to_string(fields, ',') AS mismatched_fields,
  open AS kraken_open, high AS kraken_high, low AS kraken_low, close AS kraken_close, vwap AS kraken_vwap,
  volume AS kraken_volume, trade_count AS kraken_trade_count,
  o_open AS open, o_high AS high, o_low AS low, o_close AS close, o_vwap AS vwap, o_volume AS base_volume,
  o_trade_count AS trade_count, fetched_at,
  p_symbol, strftime(minute, '%Y-%m-%d') AS p_file
FROM cmp`;
}
