/**
 * SQL of the silver trades job (DuckDB). Each function returns one statement; the job runs them in
 * order in one session. Tables: `bronze_batch` (raw bronze rows of this run) → `trades_parsed`
 * (typed values + rejection reason) → `trades_new` / `trades_bad` → merged with the existing rows
 * of the affected partitions → `trades_winners` / `trades_losers` (per trade key) → staged Parquet files.
 */

import { TRADE_ID_MAX, TRADE_RULE } from "@tributary/shared/contracts/trade-rules";
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlString, sqlStringList } from "../runtime/duckdb.ts";
import { UNKNOWN_SYMBOL } from "./datasets.ts";
import {
  decimalReason,
  ENVELOPE_REASONS,
  hourOf,
  jsonShape,
  MAX_NOTIONAL,
  MAX_PRICE_INTEGER_DIGITS,
  plausible,
  SYMBOL_TEXT,
  SYMBOL_TOKEN,
  timeReason,
  unquote,
} from "./message.sql.ts";

const TRADE_FIELDS = [
  "v",
  "exchange",
  "symbol",
  "trade_id",
  "price",
  "qty",
  "side",
  "ord_type",
  "ts",
  "received_at",
  "source",
] as const;

/** Silver trade columns in file order (the dataset contract, plus lineage). */
export const SILVER_TRADE_COLUMNS = [
  "exchange",
  "symbol",
  "trade_id",
  "price",
  "qty",
  "side",
  "ord_type",
  "ts",
  "received_at",
  "source",
  "kafka_topic",
  "kafka_partition",
  "kafka_offset",
  "ingested_at",
] as const;

const TRADE_COLS = SILVER_TRADE_COLUMNS.join(", ");

/**
 * Bronze rows to read: whole files, plus partition directories filtered to offset ranges (commits
 * whose files were compacted). Returns a SELECT of the bronze columns.
 */
export function bronzeSourceSql(
  wholeFiles: readonly string[],
  filtered: readonly {
    paths: readonly string[];
    topic: string;
    partition: number;
    first: bigint;
    last: bigint;
  }[],
): string {
  const cols =
    "topic, kafka_partition, kafka_offset, kafka_key, kafka_value, kafka_timestamp, ingested_at, event_ts";
  const parts: string[] = [];
  if (wholeFiles.length > 0) {
    parts.push(
      `SELECT ${cols} FROM read_parquet(${sqlStringList(wholeFiles)}, hive_partitioning = false, union_by_name = true)`,
    );
  }
  for (const f of filtered) {
    if (f.paths.length === 0) continue;
    parts.push(
      `SELECT ${cols} FROM read_parquet(${sqlStringList(f.paths)}, hive_partitioning = false, union_by_name = true) WHERE topic = ${sqlString(f.topic)} AND kafka_partition = ${f.partition} AND kafka_offset BETWEEN ${f.first} AND ${f.last}`,
    );
  }
  if (parts.length === 0) {
    return `SELECT NULL::VARCHAR AS topic, NULL::INTEGER AS kafka_partition, NULL::BIGINT AS kafka_offset, NULL::BLOB AS kafka_key, NULL::BLOB AS kafka_value, NULL::TIMESTAMPTZ AS kafka_timestamp, NULL::TIMESTAMPTZ AS ingested_at, NULL::TIMESTAMPTZ AS event_ts WHERE false`;
  }
  return parts.join("\nUNION ALL\n");
}

/** The bronze rows of this run, as a view: each is read once, by the parse. */
export function createBronzeBatchSql(source: string): string {
  return `CREATE OR REPLACE TEMP VIEW bronze_batch AS ${source}`;
}

const TS6 = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z";
const DEC18 = "[0-9]{1,8}(?:\\.[0-9]{1,10})?";
/**
 * Fast path: a trade serialized the way the ingester does (JSON.stringify of the contract, keys in
 * contract order, times with six fractional digits) matches this expression, which fixes every
 * field's type and shape, so no JSON parser is needed. It admits only values DuckDB casts quickly
 * (DECIMAL(18,10)); every other row, valid or not, takes the JSON path, which names the reason.
 */
const CANONICAL_TRADE =
  `^\\{"v":1,"exchange":"KRAKEN","symbol":"([A-Z0-9]{2,10}/[A-Z0-9]{2,10})","trade_id":([1-9][0-9]{0,15}),` +
  `"price":"(${DEC18})","qty":"(${DEC18})","side":"(buy|sell)","ord_type":"(market|limit)",` +
  `"ts":"(${TS6})","received_at":"(${TS6})","source":"(ws|rest)"\\}$`;
const CANONICAL_GROUPS = [
  "symbol",
  "trade_id",
  "price",
  "qty",
  "side",
  "ord_type",
  "ts",
  "received_at",
  "source",
];

/**
 * Parses every bronze row into typed values and `reason` (NULL when the row is a valid trade).
 * Every cast is error-free on any input (nullif/try_cast): DuckDB may hoist an expression used twice
 * out of its CASE and evaluate it for every row.
 * Numbers never pass through a float: decimals are checked as text, then CAST exactly. On the JSON
 * path, fields are raw JSON tokens (json_transform with JSON types keeps number tokens as text and
 * strings quoted), so a price sent as a JSON number is rejected, not rounded. Raw bytes are kept
 * only for rejected rows.
 */
export function createTradesParsedSql(source: string): string {
  const t = (f: string): string => `m.${f}`;
  const groups = `[${CANONICAL_GROUPS.map((g) => `'${g}'`).join(", ")}]`;
  const fastTime = (f: string): string => `try_strptime(x.${f}, '%Y-%m-%dT%H:%M:%S.%fZ')::TIMESTAMPTZ`;
  return `CREATE OR REPLACE TEMP TABLE trades_parsed AS
WITH d AS (
  SELECT *, try(decode(kafka_value)) AS raw_text FROM ${source}
), x AS (
  SELECT *, regexp_extract(raw_text, '${CANONICAL_TRADE}', ${groups}) AS x FROM d
), f AS (
  SELECT *, coalesce(x.symbol <> '', false) AS canonical,
    CASE WHEN coalesce(x.symbol <> '', false) THEN NULL ELSE try(json_transform(raw_text, '${jsonShape(TRADE_FIELDS)}')) END AS m
  FROM x
), c AS (
  SELECT *,
    CASE WHEN canonical THEN CAST(CAST(nullif(x.price, '') AS DECIMAL(18,10)) AS DECIMAL(38,10)) END AS f_price,
    CASE WHEN canonical THEN CAST(CAST(nullif(x.qty, '') AS DECIMAL(18,10)) AS DECIMAL(38,10)) END AS f_qty,
    CASE WHEN canonical THEN ${fastTime("ts")} END AS f_ts,
    CASE WHEN canonical THEN ${fastTime("received_at")} END AS f_received_at
  FROM f
), r AS (
  SELECT *,
    canonical AND f_price > 0 AND f_qty > 0 AND ${plausible("f_ts")} AND ${plausible("f_received_at")}
      AND try_cast(nullif(x.trade_id, '') AS BIGINT) <= ${TRADE_ID_MAX}
      AND f_price::DOUBLE * f_qty::DOUBLE < ${MAX_NOTIONAL} AS fast
  FROM c
), v AS (
  SELECT *,
    CASE WHEN fast THEN NULL
    WHEN canonical THEN CASE
      WHEN try_cast(nullif(x.trade_id, '') AS BIGINT) > ${TRADE_ID_MAX} THEN '${TRADE_RULE.tradeIdRange}: ' || x.trade_id
      WHEN f_price <= 0 THEN '${TRADE_RULE.pricePositive}: ' || x.price
      WHEN f_qty <= 0 THEN '${TRADE_RULE.qtyPositive}: ' || x.qty
      WHEN f_price::DOUBLE * f_qty::DOUBLE >= ${MAX_NOTIONAL} THEN 'notional price*qty is not below ${MAX_NOTIONAL}'
      WHEN f_ts IS NULL THEN 'ts is not an RFC 3339 timestamp: ' || x.ts
      WHEN f_received_at IS NULL THEN 'received_at is not an RFC 3339 timestamp: ' || x.received_at
      WHEN NOT ${plausible("f_ts")} THEN '${TRADE_RULE.tsPlausible}: ' || x.ts
      ELSE '${TRADE_RULE.receivedAtPlausible}: ' || x.received_at END
    ELSE CASE
    ${ENVELOPE_REASONS}
    WHEN m IS NULL THEN 'value is not valid JSON'
    WHEN len(json_keys(raw_text)) <> len(list_distinct(json_keys(raw_text))) THEN '${TRADE_RULE.duplicateKey} in the JSON object'
    WHEN ${t("v")} IS NULL THEN 'missing field v'
    WHEN ${t("v")} <> '1' THEN 'unsupported contract version v=' || left(${t("v")}, 20)
    WHEN ${t("exchange")} IS NULL THEN 'missing field exchange'
    WHEN ${t("exchange")} <> '"KRAKEN"' THEN 'exchange is not KRAKEN: ' || left(${t("exchange")}, 40)
    WHEN ${t("symbol")} IS NULL THEN 'missing field symbol'
    WHEN NOT regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN 'symbol is not BASE/QUOTE: ' || left(${t("symbol")}, 40)
    WHEN ${t("trade_id")} IS NULL THEN 'missing field trade_id'
    WHEN NOT regexp_full_match(${t("trade_id")}, '[1-9][0-9]{0,15}') OR try_cast(${t("trade_id")} AS BIGINT) > ${TRADE_ID_MAX}
      THEN '${TRADE_RULE.tradeIdRange}: ' || left(${t("trade_id")}, 40)
    ${decimalReason("price", t("price"), "positive", MAX_PRICE_INTEGER_DIGITS)}
    ${decimalReason("qty", t("qty"), "positive", MAX_PRICE_INTEGER_DIGITS)}
    WHEN try_cast(trim(${t("price")}, '"') AS DOUBLE) * try_cast(trim(${t("qty")}, '"') AS DOUBLE) >= ${MAX_NOTIONAL}
      THEN 'notional price*qty is not below ${MAX_NOTIONAL}'
    WHEN ${t("side")} IS NULL THEN 'missing field side'
    WHEN ${t("side")} NOT IN ('"buy"', '"sell"') THEN 'side is not buy or sell: ' || left(${t("side")}, 40)
    WHEN ${t("ord_type")} IS NULL THEN 'missing field ord_type'
    WHEN ${t("ord_type")} NOT IN ('"market"', '"limit"') THEN 'ord_type is not market or limit: ' || left(${t("ord_type")}, 40)
    ${timeReason("ts", t("ts"))}
    ${timeReason("received_at", t("received_at"))}
    WHEN NOT ${plausible(`try_cast(trim(${t("ts")}, '"') AS TIMESTAMPTZ)`)} THEN '${TRADE_RULE.tsPlausible}: ' || left(${t("ts")}, 60)
    WHEN NOT ${plausible(`try_cast(trim(${t("received_at")}, '"') AS TIMESTAMPTZ)`)}
      THEN '${TRADE_RULE.receivedAtPlausible}: ' || left(${t("received_at")}, 60)
    WHEN ${t("source")} IS NULL THEN 'missing field source'
    WHEN ${t("source")} NOT IN ('"ws"', '"rest"') THEN 'source is not ws or rest: ' || left(${t("source")}, 40)
    END END AS reason
  FROM r
)
SELECT topic, kafka_partition, kafka_offset, kafka_timestamp, ingested_at, event_ts, reason,
  CASE WHEN reason IS NOT NULL THEN kafka_key END AS kafka_key,
  CASE WHEN reason IS NOT NULL THEN kafka_value END AS kafka_value,
  CASE WHEN reason IS NOT NULL THEN raw_text END AS raw_text,
  CASE WHEN canonical THEN x.symbol
    WHEN regexp_full_match(${t("symbol")}, '${SYMBOL_TOKEN}') THEN ${unquote(t("symbol"))} END AS symbol,
  CASE WHEN reason IS NOT NULL THEN NULL WHEN fast THEN CAST(nullif(x.trade_id, '') AS BIGINT)
    ELSE try_cast(${t("trade_id")} AS BIGINT) END AS trade_id,
  CASE WHEN reason IS NOT NULL THEN NULL WHEN fast THEN f_price ELSE try_cast(trim(${t("price")}, '"') AS DECIMAL(38,10)) END AS price,
  CASE WHEN reason IS NOT NULL THEN NULL WHEN fast THEN f_qty ELSE try_cast(trim(${t("qty")}, '"') AS DECIMAL(38,10)) END AS qty,
  CASE WHEN canonical THEN x.side ELSE trim(${t("side")}, '"') END AS side,
  CASE WHEN canonical THEN x.ord_type ELSE trim(${t("ord_type")}, '"') END AS ord_type,
  CASE WHEN canonical THEN f_ts ELSE try_cast(trim(${t("ts")}, '"') AS TIMESTAMPTZ) END AS ts,
  CASE WHEN reason IS NOT NULL THEN NULL WHEN fast THEN f_received_at
    ELSE try_cast(trim(${t("received_at")}, '"') AS TIMESTAMPTZ) END AS received_at,
  CASE WHEN canonical THEN x.source ELSE trim(${t("source")}, '"') END AS source,
  CASE WHEN reason IS NULL THEN replace(CASE WHEN canonical THEN x.symbol ELSE ${unquote(t("symbol"))} END, '/', '_') END AS p_symbol,
  CASE WHEN reason IS NULL THEN ${hourOf(`CASE WHEN canonical THEN f_ts ELSE try_cast(trim(${t("ts")}, '"') AS TIMESTAMPTZ) END`)} END AS p_hour
FROM v`;
}

/** Valid trades of this batch, typed, with their partition (symbol value, UTC hour): a view. */
export function createTradesNewSql(): string {
  return `CREATE OR REPLACE TEMP VIEW trades_new AS
SELECT 'KRAKEN' AS exchange, symbol, trade_id, price, qty, side, ord_type, ts, received_at, source,
  topic AS kafka_topic, kafka_partition, kafka_offset, ingested_at, p_symbol, p_hour
FROM trades_parsed WHERE reason IS NULL`;
}

/**
 * Rejected rows, attributed to a symbol (the message's, else the Kafka key's, else UNKNOWN) and an
 * hour (the message's ts, else bronze event_ts) so the quality dataset can count them.
 */
export function createQuarantineNewSql(table: string, parsed: string): string {
  return `CREATE OR REPLACE TEMP TABLE ${table} AS
WITH k AS (
  SELECT *, try(decode(kafka_key)) AS key_text FROM ${parsed} WHERE reason IS NOT NULL
)
SELECT topic, kafka_partition, kafka_offset, kafka_key, kafka_value AS raw, raw_text, reason,
  kafka_timestamp, ingested_at, event_ts,
  coalesce(symbol, CASE WHEN regexp_full_match(key_text, '${SYMBOL_TEXT}') THEN key_text END) AS symbol,
  coalesce(${pairOfSymbolSql(`coalesce(symbol, CASE WHEN regexp_full_match(key_text, '${SYMBOL_TEXT}') THEN key_text END)`)}, '${UNKNOWN_SYMBOL}') AS p_symbol,
  date_trunc('hour', coalesce(ts, event_ts, kafka_timestamp, ingested_at)) AS p_hour
FROM k`;
}

export const QUARANTINE_COLUMNS = [
  "topic",
  "kafka_partition",
  "kafka_offset",
  "kafka_key",
  "raw",
  "raw_text",
  "reason",
  "kafka_timestamp",
  "ingested_at",
  "event_ts",
  "symbol",
] as const;

/** Existing silver and duplicate rows of the affected partitions (both `part-0.parquet` lists). */
export function createTradesExistingSql(
  silverFiles: readonly string[],
  duplicateFiles: readonly string[],
): string {
  const parts: string[] = [];
  if (silverFiles.length > 0) {
    parts.push(
      `SELECT ${TRADE_COLS} FROM read_parquet(${sqlStringList(silverFiles)}, hive_partitioning = false, union_by_name = true)`,
    );
  }
  if (duplicateFiles.length > 0) {
    parts.push(
      `SELECT ${TRADE_COLS} FROM read_parquet(${sqlStringList(duplicateFiles)}, hive_partitioning = false, union_by_name = true)`,
    );
  }
  const body =
    parts.length > 0 ? parts.join(" UNION ALL ") : `SELECT ${TRADE_COLS} FROM trades_new WHERE false`;
  return `CREATE OR REPLACE TEMP TABLE trades_existing AS
SELECT *, ${pairOfSymbolSql("symbol")} AS p_symbol, ${hourOf("ts")} AS p_hour
FROM (${body})`;
}

/**
 * Every copy of every trade key touched by this run (`trades_cand`: one row per bronze offset) is
 * ranked per (exchange, symbol, trade_id): the WebSocket's copy first (its µs is Kraken's own; a REST
 * copy's may be 1 µs off), then first seen = lowest (topic, partition, offset). Rank 1 is
 * the silver row (`trades_winners`); the others are the removed duplicates (`trades_losers`), which
 * keep a pointer to the row kept. Only keys seen more than once are ranked by a window and
 * materialized; winners are a view, so a rebuild never copies all rows once more.
 * `dedupeOffsets`: the same bronze row may be present twice (existing partitions loaded alongside the
 * batch, a backfill, a compaction in flight); keep one row per Kafka offset first.
 */
/** Which copy of a trade silver keeps: the WebSocket's, else the first seen. */
const KEPT_COPY_ORDER = "(source <> 'ws'), kafka_topic, kafka_partition, kafka_offset";

export function createTradesRankedSql(dedupeOffsets: boolean): string[] {
  const cand = dedupeOffsets
    ? `CREATE OR REPLACE TEMP TABLE trades_cand AS
SELECT DISTINCT ON (kafka_topic, kafka_partition, kafka_offset) * EXCLUDE (origin)
FROM (
  SELECT *, 0 AS origin FROM trades_existing
  UNION ALL BY NAME
  SELECT *, 1 AS origin FROM trades_new
)
ORDER BY kafka_topic, kafka_partition, kafka_offset, origin`
    : "CREATE OR REPLACE TEMP VIEW trades_cand AS SELECT * FROM trades_new";
  const on = "m.exchange = c.exchange AND m.symbol = c.symbol AND m.trade_id = c.trade_id";
  return [
    cand,
    `CREATE OR REPLACE TEMP TABLE trade_keys_contested AS
SELECT exchange, symbol, trade_id FROM trades_cand GROUP BY ALL HAVING count(*) > 1`,
    `CREATE OR REPLACE TEMP TABLE trades_contested AS
SELECT c.*,
  row_number() OVER w AS key_rank,
  first_value(kafka_topic) OVER w AS kept_kafka_topic,
  first_value(kafka_partition) OVER w AS kept_kafka_partition,
  first_value(kafka_offset) OVER w AS kept_kafka_offset
FROM trades_cand c SEMI JOIN trade_keys_contested m ON ${on}
WINDOW w AS (PARTITION BY exchange, symbol, trade_id ORDER BY ${KEPT_COPY_ORDER})`,
    `CREATE OR REPLACE TEMP VIEW trades_winners AS
SELECT c.* FROM trades_cand c ANTI JOIN trade_keys_contested m ON ${on}
UNION ALL BY NAME
SELECT * EXCLUDE (key_rank, kept_kafka_topic, kept_kafka_partition, kept_kafka_offset) FROM trades_contested WHERE key_rank = 1`,
    "CREATE OR REPLACE TEMP VIEW trades_losers AS SELECT * FROM trades_contested WHERE key_rank > 1",
  ];
}

/**
 * COPY of rows into `dir`, one file per (p_symbol, p_hour_us) partition. Snappy (DuckDB's default)
 * rather than zstd: silver is rewritten often and the bulk of a rebuild's time is this write.
 * DuckDB does not keep row order through a partitioned write, so files are not sorted.
 */
export function copyHourPartitionsSql(select: string, dir: string): string {
  return `COPY (
  SELECT * EXCLUDE (p_hour), epoch_us(p_hour) AS p_hour_us FROM (${select})
) TO ${sqlString(dir)} (FORMAT parquet, PARTITION_BY (p_symbol, p_hour_us), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE, WRITE_PARTITION_COLUMNS false)`;
}

export function silverWinnersSelect(): string {
  return `SELECT ${TRADE_COLS}, p_symbol, p_hour FROM trades_winners`;
}

export function duplicatesSelect(): string {
  return `SELECT ${TRADE_COLS}, kept_kafka_topic, kept_kafka_partition, kept_kafka_offset, p_symbol, p_hour
FROM trades_losers`;
}
