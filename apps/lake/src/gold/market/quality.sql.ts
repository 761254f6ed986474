/**
 * SQL of gold/data_quality_hourly (DuckDB), per symbol and UTC hour:
 *   rows               silver trades in the hour (after deduplication)
 *   duplicates_removed copies of those trades found in bronze and set aside (silver/kraken_trades_duplicates)
 *   quarantined        invalid bronze rows counted under the hour (silver/kraken_trades_quarantine)
 *   first/last_trade_id, trade_id_gaps, missing_trades
 *                      Kraken's trade_id is a per-pair sequence: each jump of the id by more than one
 *                      between consecutive trades (also from the previous hour or day holding trades)
 *                      is a gap, attributed to the hour of the trade after it; missing_trades sums
 *                      the ids skipped; missing_trade_ids lists them as ranges (`from-to`, the
 *                      first 20, then `…`), e.g. the ids the ingester reported REST cannot reach
 *   late_arrivals      trades that reached bronze (ingested_at) after the hour closed plus the grace
 *                      period, i.e. after the hour's CSV was due (they make the exporter rewrite it)
 *   freshness_s        median seconds from exchange time (ts) to bronze (ingested_at); _p99_s, _max_s
 *   kraken_ohlc_minutes_checked / _mismatched  minutes compared with Kraken's OHLC and disagreeing
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../../runtime/duckdb.ts";

export const QUALITY_COLUMNS = [
  "symbol",
  "hour",
  "rows",
  "duplicates_removed",
  "quarantined",
  "first_trade_id",
  "last_trade_id",
  "trade_id_gaps",
  "missing_trades",
  "missing_trade_ids",
  "late_arrivals",
  "freshness_s",
  "freshness_p99_s",
  "freshness_max_s",
  "kraken_ohlc_minutes_checked",
  "kraken_ohlc_minutes_mismatched",
] as const;

/** `prev_last`: per loaded day, the last trade_id of the symbol before it (from `day_ids`). */
export function createPrevLastSql(): string {
  return `CREATE OR REPLACE TEMP TABLE prev_last AS
SELECT q.p_symbol, q.day,
  (SELECT max(d.last_trade_id) FROM day_ids d WHERE d.p_symbol = q.p_symbol AND d.day < q.day) AS prev_last
FROM candle_days q`;
}

export function createTradeQualitySql(graceMinutes: number): string {
  return `CREATE OR REPLACE TEMP TABLE trade_quality AS
WITH s AS (
  SELECT t.p_symbol, t.symbol, t.hour, t.trade_id, t.ts, t.ingested_at,
    coalesce(lag(t.trade_id) OVER (PARTITION BY t.p_symbol, t.day ORDER BY t.trade_id), p.prev_last) AS prev_id
  FROM gold_trades t JOIN prev_last p ON p.p_symbol = t.p_symbol AND p.day = t.day
)
SELECT p_symbol, any_value(symbol) AS symbol, hour, count(*)::BIGINT AS rows,
  min(trade_id) AS first_trade_id, max(trade_id) AS last_trade_id,
  count(*) FILTER (WHERE trade_id - prev_id > 1)::BIGINT AS trade_id_gaps,
  coalesce(sum(trade_id - prev_id - 1) FILTER (WHERE trade_id - prev_id > 1), 0)::BIGINT AS missing_trades,
  list(CASE WHEN trade_id - prev_id = 2 THEN (prev_id + 1)::VARCHAR ELSE (prev_id + 1)::VARCHAR || '-' || (trade_id - 1)::VARCHAR END
    ORDER BY trade_id) FILTER (WHERE trade_id - prev_id > 1) AS gap_ranges,
  count(*) FILTER (WHERE ingested_at > hour + INTERVAL 1 HOUR + INTERVAL ${Math.floor(graceMinutes)} MINUTE)::BIGINT AS late_arrivals,
  quantile_cont((epoch_us(ingested_at) - epoch_us(ts)) / 1e6, 0.5) AS freshness_s,
  quantile_cont((epoch_us(ingested_at) - epoch_us(ts)) / 1e6, 0.99) AS freshness_p99_s,
  max((epoch_us(ingested_at) - epoch_us(ts)) / 1e6) AS freshness_max_s
FROM s GROUP BY p_symbol, hour`;
}

/** Counts of removed duplicates per symbol and hour, from the duplicate partitions' files. */
export function createDuplicateCountsSql(files: readonly string[]): string {
  const body =
    files.length > 0
      ? `SELECT ${pairOfSymbolSql("symbol")} AS p_symbol, any_value(symbol) AS symbol,
  date_trunc('hour', ts) AS hour, count(*)::BIGINT AS n
FROM read_parquet(${sqlStringList(files)}, hive_partitioning = false, union_by_name = true) GROUP BY 1, 3`
      : "SELECT NULL::VARCHAR AS p_symbol, NULL::VARCHAR AS symbol, NULL::TIMESTAMPTZ AS hour, NULL::BIGINT AS n WHERE false";
  return `CREATE OR REPLACE TEMP TABLE duplicate_counts AS ${body}`;
}

export function createQuarantineCountsSql(files: readonly string[]): string {
  const body =
    files.length > 0
      ? `SELECT partition_symbol AS p_symbol, coalesce(any_value(symbol), partition_symbol) AS symbol,
  partition_hour AS hour, count(*)::BIGINT AS n
FROM read_parquet(${sqlStringList(files)}, hive_partitioning = false, union_by_name = true) GROUP BY 1, 3`
      : "SELECT NULL::VARCHAR AS p_symbol, NULL::VARCHAR AS symbol, NULL::TIMESTAMPTZ AS hour, NULL::BIGINT AS n WHERE false";
  return `CREATE OR REPLACE TEMP TABLE quarantine_counts AS ${body}`;
}

/** Joins every per-hour source over the loaded days (`candle_days`). Needs `reconciliation_new`. */
export function createQualitySql(): string {
  return `CREATE OR REPLACE TEMP TABLE quality_new AS
WITH rc AS (
  SELECT p_symbol, any_value(symbol) AS symbol, date_trunc('hour', minute) AS hour, count(*)::BIGINT AS checked,
    count(*) FILTER (WHERE status = 'disagree')::BIGINT AS mismatched
  FROM reconciliation_new GROUP BY p_symbol, date_trunc('hour', minute)
), hours AS (
  SELECT p_symbol, hour FROM trade_quality
  UNION SELECT p_symbol, hour FROM duplicate_counts
  UNION SELECT p_symbol, hour FROM quarantine_counts
  UNION SELECT p_symbol, hour FROM rc
)
SELECT coalesce(t.symbol, d.symbol, q.symbol, rc.symbol) AS symbol, h.hour,
  coalesce(t.rows, 0)::BIGINT AS rows, coalesce(d.n, 0)::BIGINT AS duplicates_removed,
  coalesce(q.n, 0)::BIGINT AS quarantined, t.first_trade_id, t.last_trade_id,
  coalesce(t.trade_id_gaps, 0)::BIGINT AS trade_id_gaps, coalesce(t.missing_trades, 0)::BIGINT AS missing_trades,
  coalesce(array_to_string(list_slice(t.gap_ranges, 1, 20), ',') || CASE WHEN len(t.gap_ranges) > 20 THEN ',…' ELSE '' END, '') AS missing_trade_ids,
  coalesce(t.late_arrivals, 0)::BIGINT AS late_arrivals,
  t.freshness_s, t.freshness_p99_s, t.freshness_max_s,
  coalesce(rc.checked, 0)::BIGINT AS kraken_ohlc_minutes_checked,
  coalesce(rc.mismatched, 0)::BIGINT AS kraken_ohlc_minutes_mismatched,
  h.p_symbol, strftime(h.hour, '%Y-%m-%d') AS p_file
FROM hours h
SEMI JOIN candle_days cd ON cd.p_symbol = h.p_symbol AND cd.day = date_trunc('day', h.hour)
LEFT JOIN trade_quality t ON t.p_symbol = h.p_symbol AND t.hour = h.hour
LEFT JOIN duplicate_counts d ON d.p_symbol = h.p_symbol AND d.hour = h.hour
LEFT JOIN quarantine_counts q ON q.p_symbol = h.p_symbol AND q.hour = h.hour
LEFT JOIN rc ON rc.p_symbol = h.p_symbol AND rc.hour = h.hour`;
}
