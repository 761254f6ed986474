/**
 * The lake's layout: `<LAKE_URI>/<layer>/<dataset>/<hive partitions>/<file>.parquet`.
 * Everything outside `<layer>/` (staging, commit log, job state) lives under `_tributary/`, so a
 * reader globbing a dataset never sees it.
 */
import type { UtcParts } from "../time.ts";

export const LAYERS = ["bronze", "silver", "gold"] as const;
export type Layer = (typeof LAYERS)[number];

/** Bronze datasets fed by the Kraken topics. CDC datasets are `cdc_<schema>_<table>`. */
export const BRONZE_DATASETS = {
  "kraken.trades": "kraken_trades",
  "kraken.ticker": "kraken_ticker",
} as const;

/** Directory for internal state (commit log, staging, watermarks). Never inside a dataset. */
export const INTERNAL_DIR = "_tributary";

/** `BTC/USD` → `BTC_USD`, the form the first project used in its `symbol=` partitions. */
export function symbolPartitionValue(symbol: string): string {
  return symbol.replace(/[^A-Za-z0-9]+/g, "_");
}

/** Hive path segment for the Kraken partitioning: year/month/day/hour/symbol. */
export function krakenPartitionPath(parts: UtcParts, symbol: string): string {
  return `year=${parts.year}/month=${parts.month}/day=${parts.day}/hour=${parts.hour}/symbol=${symbolPartitionValue(symbol)}`;
}

export function datasetPath(lakeUri: string, layer: Layer, dataset: string): string {
  return `${trimSlash(lakeUri)}/${layer}/${dataset}`;
}

export function internalPath(lakeUri: string, ...segments: string[]): string {
  return [trimSlash(lakeUri), INTERNAL_DIR, ...segments].join("/");
}

/** Glob that reads every committed Parquet file of a dataset with hive partitioning. */
export function datasetGlob(lakeUri: string, layer: Layer, dataset: string): string {
  return `${datasetPath(lakeUri, layer, dataset)}/**/*.parquet`;
}

function trimSlash(text: string): string {
  return text.endsWith("/") ? text.slice(0, -1) : text;
}

/**
 * Bronze row contract (every bronze dataset): the raw Kafka record, verbatim, plus the event time
 * used for partitioning. Column names and types as written to Parquet.
 */
export const BRONZE_COLUMNS = [
  ["topic", "VARCHAR"],
  ["kafka_partition", "INTEGER"],
  ["kafka_offset", "BIGINT"],
  ["kafka_key", "BLOB"],
  ["kafka_value", "BLOB"],
  ["kafka_timestamp", "TIMESTAMPTZ"],
  ["ingested_at", "TIMESTAMPTZ"],
  ["event_ts", "TIMESTAMPTZ"],
  ["event_ts_from_kafka", "BOOLEAN"],
] as const;
