/**
 * SQL of gold/book_quality_hourly (DuckDB): the checksum health of each symbol's book per UTC hour
 * (of the event's `ts`, like silver's partitions), over the hours of `book_hours`:
 *   updates, snapshots        book messages (a snapshot starts a session)
 *   checksum_ok / _mismatches / unverified   messages by checksum_status
 *   unverified_intervals      runs of consecutive non-ok messages within a session (a mismatch and the
 *                             updates until the next snapshot are one), counted in the hour they start
 *   quarantined               invalid bronze book rows counted under the hour
 *   known_seconds             seconds of the hour with a row in gold/book_1s (the book known)
 *   freshness_s / _max_s      median and max of `ingested_at − ts`, seconds
 * Needs `bk_ev`, `bk_evt` (replay.sql.ts: an hour's events as its window sees them) and `book_1s_day`
 * (day-files.sql.ts: all of the day's seconds).
 */
import { sqlStringList } from "../../runtime/duckdb.ts";

export const BOOK_QUALITY_COLUMNS = [
  "symbol",
  "hour",
  "updates",
  "snapshots",
  "checksum_ok",
  "checksum_mismatches",
  "unverified",
  "unverified_intervals",
  "quarantined",
  "known_seconds",
  "freshness_s",
  "freshness_max_s",
] as const;

export function createBookQualitySql(quarantineFiles: readonly string[]): string {
  const quarantine =
    quarantineFiles.length > 0
      ? `SELECT partition_symbol AS p_symbol, coalesce(any_value(symbol), partition_symbol) AS symbol,
    epoch_us(partition_hour) AS hour_us, count(*)::BIGINT AS n
  FROM read_parquet(${sqlStringList(quarantineFiles)}, hive_partitioning = false, union_by_name = true) GROUP BY 1, 3`
      : "SELECT NULL::VARCHAR AS p_symbol, NULL::VARCHAR AS symbol, NULL::BIGINT AS hour_us, NULL::BIGINT AS n WHERE false";
  return `CREATE OR REPLACE TEMP TABLE book_quality_new AS
WITH runs AS (
  SELECT e.*, w.run_start FROM bk_evt w JOIN bk_ev e ON e.id = w.id WHERE w.hour_us = w.t_us
), ev AS (
  SELECT p_symbol, any_value(symbol) AS symbol, hour_us,
    count(*)::BIGINT AS updates, count(*) FILTER (WHERE type = 'snapshot')::BIGINT AS snapshots,
    count(*) FILTER (WHERE status = 'ok')::BIGINT AS checksum_ok,
    count(*) FILTER (WHERE status = 'mismatch')::BIGINT AS checksum_mismatches,
    count(*) FILTER (WHERE status = 'unverified')::BIGINT AS unverified,
    count(*) FILTER (WHERE run_start)::BIGINT AS unverified_intervals,
    quantile_cont(lag_us / 1e6, 0.5) AS freshness_s, max(lag_us / 1e6) AS freshness_max_s
  FROM runs GROUP BY p_symbol, hour_us
), q AS (${quarantine}
), k AS (
  SELECT p_symbol, any_value(symbol) AS symbol, epoch_us(second) // 3600000000 * 3600000000 AS hour_us,
    count(*)::BIGINT AS n
  FROM book_1s_day GROUP BY 1, 3
), hours AS (
  SELECT p_symbol, hour_us FROM ev UNION SELECT p_symbol, hour_us FROM q UNION SELECT p_symbol, hour_us FROM k
)
SELECT coalesce(ev.symbol, k.symbol, q.symbol) AS symbol, make_timestamptz(h.hour_us) AS hour,
  coalesce(ev.updates, 0)::BIGINT AS updates, coalesce(ev.snapshots, 0)::BIGINT AS snapshots,
  coalesce(ev.checksum_ok, 0)::BIGINT AS checksum_ok,
  coalesce(ev.checksum_mismatches, 0)::BIGINT AS checksum_mismatches,
  coalesce(ev.unverified, 0)::BIGINT AS unverified,
  coalesce(ev.unverified_intervals, 0)::BIGINT AS unverified_intervals,
  coalesce(q.n, 0)::BIGINT AS quarantined, coalesce(k.n, 0)::BIGINT AS known_seconds,
  ev.freshness_s, ev.freshness_max_s,
  h.p_symbol, strftime(make_timestamptz(h.hour_us), '%Y-%m-%d') AS p_file
FROM hours h
SEMI JOIN book_hours t ON t.p_symbol = h.p_symbol AND t.t_us = h.hour_us
LEFT JOIN ev ON ev.p_symbol = h.p_symbol AND ev.hour_us = h.hour_us
LEFT JOIN q ON q.p_symbol = h.p_symbol AND q.hour_us = h.hour_us
LEFT JOIN k ON k.p_symbol = h.p_symbol AND k.hour_us = h.hour_us`;
}
