/** Topic `kraken.ticker`, key = symbol. Version 1 of the ticker contract. */
export const TICKER_CONTRACT_VERSION = 1 as const;

export interface TickerMessage {
  readonly v: typeof TICKER_CONTRACT_VERSION;
  readonly exchange: "KRAKEN";
  readonly symbol: string;
  /** Exact decimal strings. */
  readonly bid: string;
  readonly bid_qty: string;
  readonly ask: string;
  readonly ask_qty: string;
  readonly last: string;
  readonly volume: string;
  readonly vwap: string;
  readonly low: string;
  readonly high: string;
  readonly change: string;
  readonly change_pct: string;
  /** Exchange time when Kraken sends one (WS v2 `timestamp`), else the receive time; RFC 3339 µs UTC. */
  readonly ts: string;
  readonly received_at: string;
  readonly source: "ws" | "rest";
}
