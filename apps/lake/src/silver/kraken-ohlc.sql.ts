/**
 * SQL of the silver Kraken OHLC job (DuckDB): `bronze_batch` (the `kraken.ohlc` messages) →
 * `ohlc_parsed` (typed values + reason) → `ohlc_new` / `ohlc_bad` → merged with the affected
 * partitions' rows, one row per (symbol, minute): the latest fetch of it.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../runtime/duckdb.ts";
import {
  decimalReason,
  decodeMessagesSql,
  ENVELOPE_REASONS,
  hourOf,
  MAX_PRICE_INTEGER_DIGITS,
  SYMBOL_TOKEN,
  timeReason,
  unquote,
} from "./message.sql.ts";

const PRICES = ["open", "high", "low", "close", "vwap"] as const;
const OHLC_FIELDS = [
  "v",
  "exchange",
  "symbol",
  "interval",
  "ts",
  ...PRICES,
  "volume",
  "trade_count",
  "fetched_at",
];

/** Silver kraken_ohlc_1m columns in file order (the dataset contract, plus lineage). */
export const SILVER_OHLC_COLUMNS = [
  "symbol",
  "minute",
  ...PRICES,
  "volume",
  "trade_count",
  "vwap_tolerance",
  "fetched_at",
  "kafka_topic",
  "kafka_partition",
  "kafka_offset",
  "ingested_at",
] as const;

const COLS = SILVER_OHLC_COLUMNS.join(", ");

export function createOhlcParsedSql(): string {
  const t = (f: string): string => `m."${f}"`;
  const text = (f: string): string => `trim(${t(f)}, '"')`;
  return `CREATE OR REPLACE TEMP TABLE ohlc_parsed AS
WITH j AS (${decodeMessagesSql("bronze_batch", OHLC_FIELDS)})
SELECT
  topic, kafka_partition, kafka_offset, kafka_key, kafka_value, raw_text, kafka_timestamp, ingested_at, event_ts,
  CASE
    ${ENVELOPE_REASONS}
    WHEN ${t("v")} IS NULL THEN 'missing field v'
    WHEN ${t("v")} <> '1' THEN 'unsupported contract version v=' || left(${t("v")}, 20)
    WHEN ${t("exchange")} IS DISTINCT FROM '"KRAKEN"' THEN 'exchange is not KRAKEN: ' || coalesce(left(${t("exchange")}, 40), 'missing')
    WHEN ${t("symbol")} IS NULL THEN 'missing field symbol'
    WHEN NOT regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN 'symbol is not BASE/QUOTE: ' || left(${t("symbol")}, 40)
    WHEN ${t("interval")} IS DISTINCT FROM '1' THEN 'interval is not 1: reconciliation takes 1-minute candles, got ' || coalesce(left(${t("interval")}, 20), 'none')
    ${timeReason("ts", t("ts"))}
    WHEN epoch_us(try_cast(${text("ts")} AS TIMESTAMPTZ)) % 60000000 <> 0 THEN 'ts is not the start of a minute: ' || left(${t("ts")}, 60)
    ${PRICES.map((f) => decimalReason(f, t(f), "non-negative", MAX_PRICE_INTEGER_DIGITS)).join("\n    ")}
    ${decimalReason("volume", t("volume"), "non-negative", 28)}
    WHEN ${t("trade_count")} IS NULL THEN 'missing field trade_count'
    WHEN NOT regexp_full_match(${t("trade_count")}, '0|[1-9][0-9]{0,17}') THEN 'trade_count is not a non-negative integer: ' || left(${t("trade_count")}, 40)
    ${timeReason("fetched_at", t("fetched_at"))}
  END AS reason,
  CASE WHEN regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN ${unquote(t("symbol"))} END AS symbol,
  try_cast(${text("ts")} AS TIMESTAMPTZ) AS ts,
  ${PRICES.map((f) => `try_cast(${text(f)} AS DECIMAL(38,10)) AS ${f}`).join(",\n  ")},
  try_cast(${text("volume")} AS DECIMAL(38,10)) AS volume,
  try_cast(${t("trade_count")} AS BIGINT) AS trade_count,
  -- One unit of Kraken's last printed vwap digit (106039.6 → 0.1): how far our exact vwap may be off.
  CASE WHEN strpos(${text("vwap")}, '.') = 0 THEN 1::DECIMAL(38,10)
    ELSE try_cast('0.' || repeat('0', length(${text("vwap")}) - strpos(${text("vwap")}, '.') - 1) || '1' AS DECIMAL(38,10)) END AS vwap_tolerance,
  try_cast(${text("fetched_at")} AS TIMESTAMPTZ) AS fetched_at
FROM j`;
}

export function createOhlcNewSql(): string {
  return `CREATE OR REPLACE TEMP TABLE ohlc_new AS
SELECT symbol, ts AS minute, ${PRICES.join(", ")}, volume, trade_count, vwap_tolerance, fetched_at,
  topic AS kafka_topic, kafka_partition, kafka_offset, ingested_at,
  ${pairOfSymbolSql("symbol")} AS p_symbol, ${hourOf("ts")} AS p_hour
FROM ohlc_parsed WHERE reason IS NULL`;
}

/** Existing rows of the affected partitions plus the new ones: per (symbol, minute) the latest fetch. */
export function createOhlcMergedSql(existingFiles: readonly string[]): string {
  const existing =
    existingFiles.length > 0
      ? `SELECT ${COLS}, ${pairOfSymbolSql("symbol")} AS p_symbol, ${hourOf("minute")} AS p_hour
FROM read_parquet(${sqlStringList(existingFiles)}, hive_partitioning = false, union_by_name = true)
UNION ALL BY NAME `
      : "";
  return `CREATE OR REPLACE TEMP TABLE ohlc_merged AS
SELECT DISTINCT ON (symbol, minute) *
FROM (${existing}SELECT * FROM ohlc_new)
ORDER BY symbol, minute, fetched_at DESC, kafka_topic DESC, kafka_partition DESC, kafka_offset DESC`;
}

export function ohlcSelect(): string {
  return `SELECT ${COLS}, p_symbol, p_hour FROM ohlc_merged`;
}
