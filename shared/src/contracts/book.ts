/**
 * Topic `kraken.book`, key = symbol. Version 1 of the order-book contract: Kraken's WS v2 level-2
 * `book` snapshots and updates as they came, with exact decimal strings, a sequence per symbol's
 * subscription, and the result of the ingester's CRC32 check of the top 10 levels after applying it.
 */
export const BOOK_CONTRACT_VERSION = 1 as const;

/** The depths Kraken's WS v2 `book` channel accepts. */
export const BOOK_DEPTHS = [10, 25, 100, 500, 1000] as const;
export type BookDepth = (typeof BOOK_DEPTHS)[number];

/** Kraken's checksum always covers the top 10 levels of each side, whatever the depth. */
export const BOOK_CHECKSUM_LEVELS = 10;

/**
 * `ok`: the local book matched Kraken's checksum after applying this message; `mismatch`: it did not
 * (the book is wrong from here until the next snapshot; the ingester resubscribes); `unverified`: no
 * valid book to apply it to (after a mismatch, before the resubscription's snapshot).
 */
export type BookChecksumStatus = "ok" | "mismatch" | "unverified";

/** `[price, qty]`, exact decimals at the pair's precisions; qty zero deletes the level (updates). */
export type BookLevel = readonly [price: string, qty: string];

export interface BookMessage {
  readonly v: typeof BOOK_CONTRACT_VERSION;
  readonly exchange: "KRAKEN";
  /** WS v2 form, `BTC/USD`. */
  readonly symbol: string;
  readonly type: "snapshot" | "update";
  /**
   * One subscription's stream of this symbol: a snapshot starts a new session, and the book at any
   * instant is its snapshot plus the session's updates up to that instant. Unique across restarts.
   */
  readonly session: string;
  /** Position in the session: 0 for the snapshot, then 1, 2, … in the order received. */
  readonly seq: number;
  /** The subscribed depth: after each message the book keeps this many levels per side. */
  readonly depth: BookDepth;
  /** Levels as sent, in the order sent. */
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
  /** Kraken's CRC32 of the top 10 levels (unsigned 32-bit). */
  readonly checksum: number;
  readonly checksum_status: BookChecksumStatus;
  /** Exchange time (WS v2 `timestamp`) or, for a snapshot without one, the receive time; RFC 3339 µs UTC. */
  readonly ts: string;
  readonly received_at: string;
  readonly source: "ws";
}
