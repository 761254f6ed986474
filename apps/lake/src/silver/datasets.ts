/**
 * Silver datasets and their partition layout. Every silver dataset of market data is partitioned by
 * the event's UTC hour and pair (`year=2024/month=5/day=3/hour=7/pair=BTC_USD`, shared/src/lake/layout.ts), and each partition is
 * exactly one file, `part-0.parquet`, replaced whole when the partition changes.
 */
import { hourPartitionOf, hourPartitionPath, INTERNAL_DIR, pairPath } from "@tributary/shared/lake/layout";
import { formatMicros } from "@tributary/shared/time";

export const SILVER = {
  trades: "kraken_trades",
  tradeDuplicates: "kraken_trades_duplicates",
  tradeQuarantine: "kraken_trades_quarantine",
  ticker: "kraken_ticker",
  tickerQuarantine: "kraken_ticker_quarantine",
  krakenOhlc: "kraken_ohlc_1m",
  krakenOhlcQuarantine: "kraken_ohlc_1m_quarantine",
  bookEvents: "kraken_book_events",
  bookCheckpoints: "kraken_book_checkpoints",
  bookQuarantine: "kraken_book_events_quarantine",
} as const;

/** The jobs that write the market silver datasets: gold and the export follow their change journals. */
export const SILVER_TRADES_JOB = "silver.trades";
export const SILVER_TICKER_JOB = "silver.ticker";
export const KRAKEN_OHLC_JOB = "silver.kraken_ohlc";
export const SILVER_BOOK_JOB = "silver.book";

export const PARTITION_FILE = "part-0.parquet";

/** Partition value for rows whose symbol could not be read (quarantine only). */
export const UNKNOWN_SYMBOL = "UNKNOWN";

export const HOUR_MICROS = 3_600_000_000n;
export const DAY_MICROS = 86_400_000_000n;

/** One silver partition: a symbol (its `pair=` path form, `BTC_USD`) and the UTC hour it covers. */
export interface HourPartition {
  readonly symbol: string;
  /** Start of the hour, epoch microseconds. */
  readonly hour: bigint;
}

export function hourPartitionDir(dataset: string, p: HourPartition): string {
  return `silver/${dataset}/${hourPartitionPath(p.hour, p.symbol)}`;
}

export function hourPartitionKey(dataset: string, p: HourPartition): string {
  return `${hourPartitionDir(dataset, p)}/${PARTITION_FILE}`;
}

/** Parses `silver/<dataset>/year=…/month=…/day=…/hour=…/pair=…/…` back into a partition. */
export function partitionOfKey(key: string): HourPartition | undefined {
  const p = hourPartitionOf(key);
  return p === undefined ? undefined : { symbol: p.pair, hour: p.hour };
}

/** The hour partitions of silver keys (keys outside a partition are skipped). */
export function partitionsOfKeys(keys: readonly string[]): HourPartition[] {
  return keys.map(partitionOfKey).filter((p) => p !== undefined);
}

export function partitionId(p: HourPartition): string {
  return `${p.symbol}|${p.hour}`;
}

export function hourStart(micros: bigint): bigint {
  return micros - (((micros % HOUR_MICROS) + HOUR_MICROS) % HOUR_MICROS);
}

export function dayStart(micros: bigint): bigint {
  return micros - (((micros % DAY_MICROS) + DAY_MICROS) % DAY_MICROS);
}

export function hourIso(micros: bigint): string {
  return formatMicros(micros);
}

/** Where the trade key index lives (outside every dataset tree), one directory per pair. */
export const KEY_INDEX_DIR = `${INTERNAL_DIR}/silver/${SILVER.trades}/keys`;

export function keyIndexPrefix(symbol: string): string {
  return `${KEY_INDEX_DIR}/${pairPath(symbol)}/`;
}
