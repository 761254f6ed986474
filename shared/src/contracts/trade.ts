/** Topic `kraken.trades`, key = symbol. Version 1 of the trade contract (see docs/contracts.md). */
export const TRADE_CONTRACT_VERSION = 1 as const;

export type Side = "buy" | "sell";
export type OrdType = "market" | "limit";
export type FeedSource = "ws" | "rest";

export interface TradeMessage {
  readonly v: typeof TRADE_CONTRACT_VERSION;
  readonly exchange: "KRAKEN";
  /** WS v2 form, XBT→BTC, XDG→DOGE: `BTC/USD`. */
  readonly symbol: string;
  /** Kraken's per-pair sequence number. */
  readonly trade_id: number;
  /** Exact decimal strings at the pair's precision. */
  readonly price: string;
  readonly qty: string;
  readonly side: Side;
  readonly ord_type: OrdType;
  /** Exchange time, RFC 3339 UTC with microseconds. */
  readonly ts: string;
  /** When Tributary received it, RFC 3339 UTC with microseconds. */
  readonly received_at: string;
  readonly source: FeedSource;
}
