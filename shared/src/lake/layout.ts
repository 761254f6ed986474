/**
 * The lake's layout (contract version {@link LAKE_LAYOUT_VERSION}, docs/contracts.md "Lake"):
 * `<LAKE_URI>/<layer>/<dataset>/<hive partitions>/<file>.parquet`, and the one place that builds and
 * parses partition paths. Partition keys never repeat a file column (a reader with Hive partitioning
 * would see the path's value instead of the file's): the symbol's path form is `pair=BTC_USD`, next
 * to the file's `symbol = 'BTC/USD'`. Time values are unpadded integers (`year=2026/month=5/day=3/
 * hour=7`), which DuckDB infers as BIGINT and Spark as int (`05` would be text in DuckDB).
 * Everything outside `<layer>/` (staging, commit log, job state) lives under `_tributary/`, so a
 * reader globbing a dataset never sees it.
 */

/** Version of the lake's path layout; `bun run lake migrate` brings an older lake to it. */
export const LAKE_LAYOUT_VERSION = 2 as const;

export const LAYERS = ["bronze", "silver", "gold"] as const;
export type Layer = (typeof LAYERS)[number];

/** Bronze datasets fed by the Kraken topics. CDC datasets are `cdc_<schema>_<table>`. */
export const BRONZE_DATASETS = {
  "kraken.trades": "kraken_trades",
  "kraken.ticker": "kraken_ticker",
  "kraken.ohlc": "kraken_ohlc",
  "kraken.book": "kraken_book",
} as const;

/** Directory for internal state (commit log, staging, watermarks). Never inside a dataset. */
export const INTERNAL_DIR = "_tributary";

/** The partition key of the symbol's path form. Not `symbol`: that is the file's column. */
export const PAIR_KEY = "pair";
/** Partition keys of the hourly layout (Kraken datasets, silver), outermost first. */
export const HOUR_PARTITION_KEYS = ["year", "month", "day", "hour", PAIR_KEY] as const;
/** Partition keys of the daily layout (CDC bronze), outermost first. */
export const DAY_PARTITION_KEYS = ["year", "month", "day"] as const;
const TIME_KEYS = new Set(["year", "month", "day", "hour"]);

const HOUR_US = 3_600_000_000n;

/**
 * `BTC/USD` → `BTC_USD` (the first project's form): every run of characters other than ASCII
 * letters and digits becomes `_`. Invertible on the contract's symbols (`BASE/QUOTE`, letters and
 * digits), see {@link symbolOfPair}; other values (bronze's `_unknown`, the quarantine's `UNKNOWN`
 * or a malformed symbol) are labels, and the file's `symbol` column is the truth.
 */
export function pairOfSymbol(symbol: string): string {
  return symbol.replace(/[^A-Za-z0-9]+/g, "_");
}

/** The same mapping in DuckDB SQL, for jobs that compute the partition inside a query. */
export function pairOfSymbolSql(expr: string): string {
  return `regexp_replace(${expr}, '[^A-Za-z0-9]+', '_', 'g')`;
}

/** `BTC_USD` → `BTC/USD`; `undefined` for a value that is not the path form of a `BASE/QUOTE` symbol. */
export function symbolOfPair(pair: string): string | undefined {
  const m = /^([A-Za-z0-9]+)_([A-Za-z0-9]+)$/.exec(pair);
  return m === null ? undefined : `${m[1]}/${m[2]}`;
}

/** UTC calendar fields of an instant (epoch µs), as integers. */
export function utcFields(micros: bigint): { year: number; month: number; day: number; hour: number } {
  const hourStart = micros - (((micros % HOUR_US) + HOUR_US) % HOUR_US);
  const d = new Date(Number(hourStart / 1000n));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
}

/** `year=2026/month=5/day=3` of the UTC day holding `micros`. */
export function dayPartitionPath(micros: bigint): string {
  const f = utcFields(micros);
  return `year=${f.year}/month=${f.month}/day=${f.day}`;
}

/** `year=2026/month=5/day=3/hour=7` of the UTC hour holding `micros` (every symbol of the hour below it). */
export function hourPath(micros: bigint): string {
  return `${dayPartitionPath(micros)}/hour=${utcFields(micros).hour}`;
}

/** `year=2026/month=5/day=3/hour=7/pair=BTC_USD`: the hourly partition of a symbol's path form. */
export function hourPartitionPath(micros: bigint, pair: string): string {
  return `${hourPath(micros)}/${pairPath(pair)}`;
}

/** `pair=BTC_USD` (gold's only partition level). */
export function pairPath(pair: string): string {
  return `${PAIR_KEY}=${pair}`;
}

/** Values of the given partition keys (a subset of year, month, day, hour, pair) for an instant and pair. */
export function partitionValuesOf(
  keys: readonly string[],
  micros: bigint,
  pair: string,
): Record<string, string> {
  const f = utcFields(micros);
  const all: Record<string, string> = {
    year: String(f.year),
    month: String(f.month),
    day: String(f.day),
    hour: String(f.hour),
    [PAIR_KEY]: pair,
  };
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = all[k] ?? "";
  return out;
}

/** `k1=v1/k2=v2` of values in the given key order. */
export function partitionPathOf(keys: readonly string[], values: Readonly<Record<string, string>>): string {
  return keys.map((k) => `${k}=${values[k] ?? ""}`).join("/");
}

/** Hive partition values of a key or path: every `k=v` segment (`year=2026/…/x.parquet` → `{year: "2026", …}`). */
export function partitionValues(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const seg of path.split("/")) {
    const eq = seg.indexOf("=");
    if (eq > 0 && !seg.endsWith(".parquet")) out[seg.slice(0, eq)] = seg.slice(eq + 1);
  }
  return out;
}

/** Start (epoch µs) of the hour, or the day when there is no `hour`, that partition values name. */
export function partitionStartMicros(values: Readonly<Record<string, string>>): bigint {
  const n = (k: string, fallback?: number): number => {
    const v = values[k];
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined || !/^-?\d+$/.test(v))
      throw new Error(`partition ${k}=${v ?? "(missing)"} is not an integer`);
    return Number(v);
  };
  const d = new Date(0);
  d.setUTCFullYear(n("year"), n("month") - 1, n("day")); // Date.UTC would read years 0–99 as 19xx
  d.setUTCHours(n("hour", 0));
  return BigInt(d.getTime()) * 1000n;
}

/** An hourly partition read back from a key: `…/year=2026/month=5/day=3/hour=7/pair=BTC_USD/…`. */
export function hourPartitionOf(key: string): { readonly pair: string; readonly hour: bigint } | undefined {
  const m = /(?:^|\/)year=(-?\d+)\/month=(\d+)\/day=(\d+)\/hour=(\d+)\/pair=([^/]+)(?:\/|$)/.exec(key);
  if (m === null) return undefined;
  const [, year, month, day, hour, pair] = m;
  return {
    pair: pair as string,
    hour: partitionStartMicros({
      year: year as string,
      month: month as string,
      day: day as string,
      hour: hour as string,
    }),
  };
}

/**
 * A key of an older layout (v1: `symbol=BTC_USD`, zero-padded `month=05`) in this layout's form;
 * a key already in this form comes back unchanged. Only `k=v` segments change.
 */
export function currentLayoutKey(key: string): string {
  return key
    .split("/")
    .map((seg) => {
      const eq = seg.indexOf("=");
      if (eq <= 0 || seg.endsWith(".parquet")) return seg;
      const k = seg.slice(0, eq);
      const v = seg.slice(eq + 1);
      if (k === "symbol") return `${PAIR_KEY}=${v}`;
      if (TIME_KEYS.has(k) && /^-?\d+$/.test(v)) return `${k}=${Number(v)}`;
      return seg;
    })
    .join("/");
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
