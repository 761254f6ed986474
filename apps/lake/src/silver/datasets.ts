/**
 * Silver datasets and their partition layout. Every silver dataset of market data is partitioned by
 * the event's UTC hour and symbol (`year=/month=/day=/hour=/symbol=BTC_USD`), and each partition is
 * exactly one file, `part-0.parquet`, replaced whole when the partition changes.
 */
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import { formatMicros, parseRfc3339Micros, utcParts } from "@tributary/shared/time";

export const SILVER = {
  trades: "kraken_trades",
  tradeDuplicates: "kraken_trades_duplicates",
  tradeQuarantine: "kraken_trades_quarantine",
  ticker: "kraken_ticker",
  tickerQuarantine: "kraken_ticker_quarantine",
  krakenOhlc: "kraken_ohlc_1m",
} as const;

export const PARTITION_FILE = "part-0.parquet";

/** Partition value for rows whose symbol could not be read (quarantine only). */
export const UNKNOWN_SYMBOL = "UNKNOWN";

export const HOUR_MICROS = 3_600_000_000n;
export const DAY_MICROS = 86_400_000_000n;

/** One silver partition: a symbol (partition value, `BTC_USD`) and the UTC hour it covers. */
export interface HourPartition {
  readonly symbol: string;
  /** Start of the hour, epoch microseconds. */
  readonly hour: bigint;
}

export function hourPartitionDir(dataset: string, p: HourPartition): string {
  const parts = utcParts(p.hour);
  return `silver/${dataset}/year=${parts.year}/month=${parts.month}/day=${parts.day}/hour=${parts.hour}/symbol=${p.symbol}`;
}

export function hourPartitionKey(dataset: string, p: HourPartition): string {
  return `${hourPartitionDir(dataset, p)}/${PARTITION_FILE}`;
}

/** Parses `silver/<dataset>/year=…/month=…/day=…/hour=…/symbol=…/…` back into a partition. */
export function partitionOfKey(key: string): HourPartition | undefined {
  const m = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/symbol=([^/]+)\//.exec(key);
  if (!m) return undefined;
  const [, y, mo, d, h, symbol] = m;
  return { symbol: symbol as string, hour: parseRfc3339Micros(`${y}-${mo}-${d}T${h}:00:00Z`) };
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

/** Where the trade key index lives (outside every dataset tree). */
export function keyIndexPrefix(symbol: string): string {
  return `${INTERNAL_DIR}/silver/${SILVER.trades}/keys/symbol=${symbol}/`;
}
