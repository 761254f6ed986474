/**
 * SQL of gold/daily_summary (DuckDB). Per symbol and UTC day, from the day's trades in trade order:
 * the price path is the day's open (first trade) followed by every 1-minute close.
 *   return        = close / open - 1                      (simple return over the day, DOUBLE)
 *   realized_vol  = sqrt(Σ r²), r = ln(p_i / p_{i-1})      (1-minute log returns, not annualized)
 *   max_drawdown  = max(1 - p_i / max(p_0..p_i))           (≥ 0; 0 when the path never falls)
 * Statistics are DOUBLE; open and close stay exact DECIMAL(38,10).
 */

export const DAILY_SUMMARY_COLUMNS = [
  "symbol",
  "day",
  "open",
  "close",
  "return",
  "realized_vol",
  "max_drawdown",
  "trade_count",
  "minutes",
] as const;

/** Needs `m1` and `agg_1d` (candles.sql.ts). */
export function createDailySummarySql(): string {
  return `CREATE OR REPLACE TEMP TABLE daily_summary_new AS
WITH d AS (
  SELECT p_symbol, symbol, bucket_start AS day, open, close, trade_count FROM agg_1d
), path AS (
  SELECT m.p_symbol, m.day, m.close::DOUBLE AS c,
    coalesce(lag(m.close) OVER (PARTITION BY m.p_symbol, m.day ORDER BY m.bucket_start), d.open)::DOUBLE AS prev,
    greatest(d.open::DOUBLE, max(m.close::DOUBLE) OVER (
      PARTITION BY m.p_symbol, m.day ORDER BY m.bucket_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS peak
  FROM m1 m JOIN d ON d.p_symbol = m.p_symbol AND d.day = m.day
), stats AS (
  SELECT p_symbol, day, sqrt(sum(ln(c / prev) * ln(c / prev))) AS realized_vol,
    greatest(0, max(1 - c / peak)) AS max_drawdown, count(*) AS minutes
  FROM path GROUP BY p_symbol, day
)
SELECT d.symbol, CAST(d.day AS DATE) AS day, d.open, d.close,
  d.close::DOUBLE / d.open::DOUBLE - 1 AS "return",
  s.realized_vol, s.max_drawdown, d.trade_count::BIGINT AS trade_count, s.minutes::BIGINT AS minutes,
  d.p_symbol, strftime(d.day, '%Y-%m') AS p_file
FROM d JOIN stats s ON s.p_symbol = d.p_symbol AND s.day = d.day`;
}
