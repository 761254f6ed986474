/**
 * SQL of the silver ticker job (DuckDB): `bronze_batch` → `ticker_parsed` (typed values + reason) →
 * `ticker_new` / `ticker_bad` → merged with the affected partitions' rows → `ticker_merged`.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../runtime/duckdb.ts";
import {
  decimalReason,
  decodeMessagesSql,
  ENVELOPE_REASONS,
  MAX_PRICE_INTEGER_DIGITS,
  type SignRule,
  SYMBOL_TOKEN,
  timeReason,
  unquote,
} from "./message.sql.ts";

/** Decimal fields of the ticker contract and the sign each must have. */
const TICKER_DECIMALS: ReadonlyArray<readonly [string, SignRule, number]> = [
  ["bid", "positive", MAX_PRICE_INTEGER_DIGITS],
  ["bid_qty", "non-negative", 28],
  ["ask", "positive", MAX_PRICE_INTEGER_DIGITS],
  ["ask_qty", "non-negative", 28],
  ["last", "positive", MAX_PRICE_INTEGER_DIGITS],
  ["volume", "non-negative", 28],
  ["vwap", "non-negative", MAX_PRICE_INTEGER_DIGITS],
  ["low", "positive", MAX_PRICE_INTEGER_DIGITS],
  ["high", "positive", MAX_PRICE_INTEGER_DIGITS],
  ["change", "any", 28],
  ["change_pct", "any", 28],
];

const TICKER_FIELDS = [
  "v",
  "exchange",
  "symbol",
  ...TICKER_DECIMALS.map(([f]) => f),
  "ts",
  "received_at",
  "source",
];

/** Silver ticker columns in file order (the dataset contract, plus lineage). */
export const SILVER_TICKER_COLUMNS = [
  "symbol",
  ...TICKER_DECIMALS.map(([f]) => f),
  "ts",
  "received_at",
  "source",
  "kafka_topic",
  "kafka_partition",
  "kafka_offset",
  "ingested_at",
] as const;

const COLS = SILVER_TICKER_COLUMNS.join(", ");

export function createTickerParsedSql(): string {
  const t = (f: string): string => `m.${f}`;
  return `CREATE OR REPLACE TEMP TABLE ticker_parsed AS
WITH j AS (${decodeMessagesSql("bronze_batch", TICKER_FIELDS)})
SELECT
  topic, kafka_partition, kafka_offset, kafka_key, kafka_value, raw_text, kafka_timestamp, ingested_at, event_ts,
  CASE
    ${ENVELOPE_REASONS}
    WHEN ${t("v")} IS NULL THEN 'missing field v'
    WHEN ${t("v")} <> '1' THEN 'unsupported contract version v=' || left(${t("v")}, 20)
    WHEN ${t("exchange")} IS NULL THEN 'missing field exchange'
    WHEN ${t("exchange")} <> '"KRAKEN"' THEN 'exchange is not KRAKEN: ' || left(${t("exchange")}, 40)
    WHEN ${t("symbol")} IS NULL THEN 'missing field symbol'
    WHEN NOT regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN 'symbol is not BASE/QUOTE: ' || left(${t("symbol")}, 40)
    ${TICKER_DECIMALS.map(([f, sign, digits]) => decimalReason(f, t(f), sign, digits)).join("\n    ")}
    ${timeReason("ts", t("ts"))}
    ${timeReason("received_at", t("received_at"))}
    WHEN ${t("source")} IS NULL THEN 'missing field source'
    WHEN ${t("source")} NOT IN ('"ws"', '"rest"') THEN 'source is not ws or rest: ' || left(${t("source")}, 40)
  END AS reason,
  CASE WHEN regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN ${unquote(t("symbol"))} END AS symbol,
  ${TICKER_DECIMALS.map(([f]) => `try_cast(trim(${t(f)}, '"') AS DECIMAL(38,10)) AS ${f}`).join(",\n  ")},
  try_cast(trim(${t("ts")}, '"') AS TIMESTAMPTZ) AS ts,
  try_cast(trim(${t("received_at")}, '"') AS TIMESTAMPTZ) AS received_at,
  trim(${t("source")}, '"') AS source
FROM j`;
}

export function createTickerNewSql(): string {
  return `CREATE OR REPLACE TEMP TABLE ticker_new AS
SELECT symbol, ${TICKER_DECIMALS.map(([f]) => f).join(", ")}, ts, received_at, source,
  topic AS kafka_topic, kafka_partition, kafka_offset, ingested_at,
  ${pairOfSymbolSql("symbol")} AS p_symbol,
  make_timestamptz(epoch_us(ts) // 3600000000 * 3600000000) AS p_hour
FROM ticker_parsed WHERE reason IS NULL`;
}

/**
 * Existing rows of the affected partitions plus the new ones: one row per Kafka offset, then one
 * per distinct snapshot (same symbol, source, exchange time and values), the first seen kept.
 */
export function createTickerMergedSql(existingFiles: readonly string[]): string {
  const existing =
    existingFiles.length > 0
      ? `SELECT ${COLS}, ${pairOfSymbolSql("symbol")} AS p_symbol, make_timestamptz(epoch_us(ts) // 3600000000 * 3600000000) AS p_hour, 0 AS origin
FROM read_parquet(${sqlStringList(existingFiles)}, hive_partitioning = false, union_by_name = true)
UNION ALL BY NAME `
      : "";
  const content = ["symbol", "source", "ts", ...TICKER_DECIMALS.map(([f]) => f)].join(", ");
  return `CREATE OR REPLACE TEMP TABLE ticker_merged AS
WITH by_offset AS (
  SELECT DISTINCT ON (kafka_topic, kafka_partition, kafka_offset) *
  FROM (${existing}SELECT *, 1 AS origin FROM ticker_new)
  ORDER BY kafka_topic, kafka_partition, kafka_offset, origin
)
SELECT DISTINCT ON (${content}) * EXCLUDE (origin)
FROM by_offset
ORDER BY ${content}, kafka_topic, kafka_partition, kafka_offset`;
}

export function tickerSelect(): string {
  return `SELECT ${COLS}, p_symbol, p_hour FROM ticker_merged`;
}
