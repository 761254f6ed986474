/**
 * SQL of the silver book job (DuckDB): `bronze_batch` (the `kraken.book` messages) → `book_parsed`
 * (typed values + reason) → `book_new` / `book_bad` → merged with the affected partitions' rows, one
 * row per (symbol, session, seq): a message Kafka holds twice (a retried batch) is kept once. Levels
 * are lists of `{price, qty}` DECIMAL(38,10) in the order sent; the checkpoints' merge is here too.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../runtime/duckdb.ts";
import { decodeMessagesSql, ENVELOPE_REASONS, SYMBOL_TOKEN, timeReason, unquote } from "./message.sql.ts";

const FIELDS = [
  "v",
  "exchange",
  "symbol",
  "type",
  "session",
  "seq",
  "depth",
  "bids",
  "asks",
  "checksum",
  "checksum_status",
  "ts",
  "received_at",
  "source",
];

/** Silver kraken_book_events columns in file order (the dataset contract, plus lineage). */
export const SILVER_BOOK_COLUMNS = [
  "symbol",
  "session",
  "seq",
  "type",
  "depth",
  "bids",
  "asks",
  "checksum",
  "checksum_status",
  "ts",
  "received_at",
  "kafka_topic",
  "kafka_partition",
  "kafka_offset",
  "ingested_at",
] as const;

/** Silver kraken_book_checkpoints columns in file order. */
export const SILVER_BOOK_CHECKPOINT_COLUMNS = [
  "symbol",
  "session",
  "seq",
  "ts",
  "depth",
  "side",
  "level",
  "price",
  "qty",
] as const;

/** A decimal string that fits DECIMAL(38,10) exactly: at most 28 integer and 10 fractional digits. */
const DEC = `"[0-9]{1,28}(\\.[0-9]{1,10})?"`;
const LEVEL = `\\s*\\[\\s*${DEC}\\s*,\\s*${DEC}\\s*\\]\\s*`;
/** A JSON list of `[price, qty]` decimal-string pairs. */
const LEVELS_TOKEN = `\\[(${LEVEL}(,${LEVEL})*)?\\s*\\]`;

const levels = (tok: string): string =>
  `list_transform(CAST(${tok} AS VARCHAR[][]), lambda l: {'price': CAST(l[1] AS DECIMAL(38,10)), 'qty': CAST(l[2] AS DECIMAL(38,10))})`;

export function createBookParsedSql(): string {
  const t = (f: string): string => `m.${f}`;
  return `CREATE OR REPLACE TEMP TABLE book_parsed AS
WITH j AS (${decodeMessagesSql("bronze_batch", FIELDS)})
SELECT
  topic, kafka_partition, kafka_offset, kafka_key, kafka_value, raw_text, kafka_timestamp, ingested_at, event_ts,
  CASE
    ${ENVELOPE_REASONS}
    WHEN ${t("v")} IS NULL THEN 'missing field v'
    WHEN ${t("v")} <> '1' THEN 'unsupported contract version v=' || left(${t("v")}, 20)
    WHEN ${t("exchange")} IS DISTINCT FROM '"KRAKEN"' THEN 'exchange is not KRAKEN: ' || left(coalesce(${t("exchange")}, 'missing'), 40)
    WHEN ${t("symbol")} IS NULL THEN 'missing field symbol'
    WHEN NOT regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN 'symbol is not BASE/QUOTE: ' || left(${t("symbol")}, 40)
    WHEN ${t("type")} IS NULL OR ${t("type")} NOT IN ('"snapshot"', '"update"') THEN 'type is not snapshot or update: ' || left(coalesce(${t("type")}, 'missing'), 40)
    WHEN ${t("session")} IS NULL OR NOT regexp_full_match(${t("session")}, '"[A-Za-z0-9_.-]{1,64}"') THEN 'session is not an id: ' || left(coalesce(${t("session")}, 'missing'), 80)
    WHEN ${t("seq")} IS NULL OR NOT regexp_full_match(${t("seq")}, '0|[1-9][0-9]{0,14}') THEN 'seq is not a non-negative integer: ' || left(coalesce(${t("seq")}, 'missing'), 40)
    WHEN ${t("depth")} IS NULL OR ${t("depth")} NOT IN ('10', '25', '100', '500', '1000') THEN 'depth is not 10, 25, 100, 500 or 1000: ' || left(coalesce(${t("depth")}, 'missing'), 40)
    WHEN ${t("bids")} IS NULL OR NOT regexp_full_match(${t("bids")}, '${LEVELS_TOKEN}') THEN 'bids is not a list of [price, qty] decimal strings: ' || left(coalesce(${t("bids")}, 'missing'), 80)
    WHEN ${t("asks")} IS NULL OR NOT regexp_full_match(${t("asks")}, '${LEVELS_TOKEN}') THEN 'asks is not a list of [price, qty] decimal strings: ' || left(coalesce(${t("asks")}, 'missing'), 80)
    WHEN ${t("checksum")} IS NULL OR NOT regexp_full_match(${t("checksum")}, '0|[1-9][0-9]{0,9}') OR ${t("checksum")}::BIGINT > 4294967295 THEN 'checksum is not an unsigned 32-bit integer: ' || left(coalesce(${t("checksum")}, 'missing'), 40)
    WHEN ${t("checksum_status")} IS NULL OR ${t("checksum_status")} NOT IN ('"ok"', '"mismatch"', '"unverified"') THEN 'checksum_status is not ok, mismatch or unverified: ' || left(coalesce(${t("checksum_status")}, 'missing'), 40)
    ${timeReason("ts", t("ts"))}
    ${timeReason("received_at", t("received_at"))}
    WHEN ${t("source")} IS DISTINCT FROM '"ws"' THEN 'source is not ws: ' || left(coalesce(${t("source")}, 'missing'), 40)
  END AS reason,
  CASE WHEN regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN ${unquote(t("symbol"))} END AS symbol,
  trim(${t("session")}, '"') AS session,
  try_cast(${t("seq")} AS BIGINT) AS seq,
  trim(${t("type")}, '"') AS type,
  try_cast(${t("depth")} AS INTEGER) AS depth,
  try(${levels(t("bids"))}) AS bids,
  try(${levels(t("asks"))}) AS asks,
  try_cast(${t("checksum")} AS BIGINT) AS checksum,
  trim(${t("checksum_status")}, '"') AS checksum_status,
  try_cast(trim(${t("ts")}, '"') AS TIMESTAMPTZ) AS ts,
  try_cast(trim(${t("received_at")}, '"') AS TIMESTAMPTZ) AS received_at
FROM j`;
}

const PARTITION_OF = `${pairOfSymbolSql("symbol")} AS p_symbol, make_timestamptz(epoch_us(ts) // 3600000000 * 3600000000) AS p_hour`;

export function createBookNewSql(): string {
  return `CREATE OR REPLACE TEMP TABLE book_new AS
SELECT symbol, session, seq, type, depth, bids, asks, checksum, checksum_status, ts, received_at,
  topic AS kafka_topic, kafka_partition, kafka_offset, ingested_at, ${PARTITION_OF}
FROM book_parsed WHERE reason IS NULL`;
}

/** Existing rows of the affected partitions plus the new ones: one row per (symbol, session, seq), the first offset kept. */
export function createBookMergedSql(existingFiles: readonly string[]): string {
  const existing =
    existingFiles.length > 0
      ? `SELECT ${SILVER_BOOK_COLUMNS.join(", ")}, ${PARTITION_OF}, 0 AS origin
FROM read_parquet(${sqlStringList(existingFiles)}, hive_partitioning = false, union_by_name = true)
UNION ALL BY NAME `
      : "";
  return `CREATE OR REPLACE TEMP TABLE book_merged AS
SELECT DISTINCT ON (symbol, session, seq) * EXCLUDE (origin)
FROM (${existing}SELECT *, 1 AS origin FROM book_new)
ORDER BY symbol, session, seq, origin, kafka_topic, kafka_partition, kafka_offset`;
}

export function bookSelect(): string {
  return `SELECT ${SILVER_BOOK_COLUMNS.join(", ")}, p_symbol, p_hour FROM book_merged`;
}

/** Checkpoint rows computed by the job (`book_cp_new`) merged with the affected partitions' rows. */
export function createCheckpointsMergedSql(existingFiles: readonly string[]): string {
  const cols = SILVER_BOOK_CHECKPOINT_COLUMNS.join(", ");
  const existing =
    existingFiles.length > 0
      ? `SELECT ${cols}, ${PARTITION_OF}, 0 AS origin
FROM read_parquet(${sqlStringList(existingFiles)}, hive_partitioning = false, union_by_name = true)
UNION ALL BY NAME `
      : "";
  return `CREATE OR REPLACE TEMP TABLE book_cp_merged AS
SELECT DISTINCT ON (symbol, session, seq, side, level) * EXCLUDE (origin)
FROM (${existing}SELECT ${cols}, ${PARTITION_OF}, 1 AS origin FROM book_cp_new)
ORDER BY symbol, session, seq, side, level, origin`;
}

export function checkpointsSelect(): string {
  return `SELECT ${SILVER_BOOK_CHECKPOINT_COLUMNS.join(", ")}, p_symbol, p_hour FROM book_cp_merged`;
}
