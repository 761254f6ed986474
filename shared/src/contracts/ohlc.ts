/**
 * Topic `kraken.ohlc`, key = symbol. Version 1 of the OHLC contract: one committed candle of Kraken's
 * own `GET /0/public/OHLC`, the reference gold reconciles its candles against. Values are Kraken's
 * strings as sent (exact decimals at the pair's precision; vwap `0.0` for a minute without trades).
 */
export const OHLC_CONTRACT_VERSION = 1 as const;

export interface OhlcMessage {
  readonly v: typeof OHLC_CONTRACT_VERSION;
  readonly exchange: "KRAKEN";
  /** WS v2 form, `BTC/USD`. */
  readonly symbol: string;
  /** Candle length in minutes (Kraken's `interval`). */
  readonly interval: number;
  /** Candle start (Kraken's row `time`), RFC 3339 UTC with microseconds: the event time bronze partitions by. */
  readonly ts: string;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly vwap: string;
  readonly volume: string;
  readonly trade_count: number;
  /** When Tributary fetched it, RFC 3339 UTC with microseconds. */
  readonly fetched_at: string;
}
