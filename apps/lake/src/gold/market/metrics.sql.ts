/**
 * SQL of gold/market_metrics_1m (DuckDB), from silver ticker snapshots, per symbol and UTC minute:
 *   mid        = (bid + ask) / 2 of the minute's last snapshot (by ts, then Kafka offset), exact
 *                DECIMAL(38,10), half-up when the sum has 10 decimals and is odd in the last digit
 *   spread_bps = mean over the minute's snapshots of 10^4·(ask − bid) / ((ask + bid) / 2), DOUBLE
 *   spread_bps_min / _max, samples, and the last snapshot's bid, ask and ts.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../../runtime/duckdb.ts";

export const MARKET_METRICS_COLUMNS = [
  "symbol",
  "minute",
  "mid",
  "spread_bps",
  "samples",
  "spread_bps_min",
  "spread_bps_max",
  "bid",
  "ask",
  "last_ts",
] as const;

export function createMarketMetricsSql(tickerFiles: readonly string[]): string {
  const source =
    tickerFiles.length > 0
      ? `read_parquet(${sqlStringList(tickerFiles)}, hive_partitioning = false, union_by_name = true)`
      : "(SELECT NULL::VARCHAR AS symbol, NULL::DECIMAL(38,10) AS bid, NULL::DECIMAL(38,10) AS ask, NULL::TIMESTAMPTZ AS ts, NULL::VARCHAR AS kafka_topic, NULL::INTEGER AS kafka_partition, NULL::BIGINT AS kafka_offset WHERE false)";
  return `CREATE OR REPLACE TEMP TABLE market_metrics_new AS
WITH s AS (
  SELECT ${pairOfSymbolSql("symbol")} AS p_symbol, symbol, ts, bid, ask,
    date_trunc('minute', ts) AS minute,
    {'ts': ts, 'topic': kafka_topic, 'partition': kafka_partition, 'offset': kafka_offset} AS seen,
    10000 * (ask - bid)::DOUBLE / ((ask + bid)::DOUBLE / 2) AS spread
  FROM ${source}
)
SELECT any_value(symbol) AS symbol, minute,
  units10(div_round(dec_units(arg_max(bid + ask, seen)), 2::HUGEINT)) AS mid,
  avg(spread) AS spread_bps, count(*)::BIGINT AS samples, min(spread) AS spread_bps_min, max(spread) AS spread_bps_max,
  arg_max(bid, seen) AS bid, arg_max(ask, seen) AS ask, max(ts) AS last_ts,
  p_symbol, strftime(minute, '%Y-%m-%d') AS p_file
FROM s GROUP BY p_symbol, minute`;
}
