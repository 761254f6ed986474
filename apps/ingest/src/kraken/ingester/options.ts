/** Everything the ingester needs, parsed at the edge (config + CLI flags) and passed down. */

import type { BackoffPolicy } from "@tributary/shared/backoff";
import type { Config } from "@tributary/shared/config";
import type { BookDepth } from "@tributary/shared/contracts/book";
import type { IngestTopics } from "../../producer/topics.ts";

export interface IngestOptions {
  readonly mode: "stream" | "poll";
  readonly restUrl: string;
  readonly wsUrl: string;
  /** WS v2 symbols, e.g. `BTC/USD`. */
  readonly symbols: readonly string[];
  /** croner pattern with seconds, e.g. `*\/5 * * * * *` (poll mode). */
  readonly pollCron: string;
  /** One REST catch-up from the cursor, then exit (both modes). */
  readonly once: boolean;
  /** Instead of trades: one fetch of Kraken's OHLC into the OHLC topic (`bun run ingest --ohlc`). */
  readonly ohlcOnly?: boolean;
  /**
   * Stream mode: the WS v2 `book` at this depth, published to `topics.book` (needs both). /health's
   * `book` check is red when a symbol's book has waited for a snapshot longer than `stallAfterMs`, or
   * had no message for `silentAfterMs` while connected (HEALTH_BOOK_SILENT_AFTER_S; 0: not checked;
   * default 15 min).
   */
  readonly book?: { readonly depth: BookDepth; readonly silentAfterMs?: number };
  /** Where a symbol without a cursor starts: `now`, or a ns `since` (`0` = the pair's first trade). */
  readonly since: "now" | string;
  /** Stop by itself after this long (bounded runs, demos). */
  readonly durationMs: number | undefined;
  /** Cursor files live in `<stateDir>/ingest/cursors/`. */
  readonly stateDir: string;
  readonly kafka: Config["kafka"];
  readonly topics: IngestTopics;
  /** Port of `/health` and `/metrics`; undefined: no endpoint; 0: any free port. */
  readonly metricsPort: number | undefined;
  readonly logLevel: Config["logLevel"];
  /** /health is 503 when records wait for Kafka this long with no acknowledgement (HEALTH_STALL_AFTER_S). */
  readonly stallAfterMs?: number;
  readonly ws?: {
    readonly staleMs?: number;
    readonly backoff?: BackoffPolicy;
    readonly queueCapacity?: number;
    /** After a (re)connect, a symbol with no live trade for this long is caught up from REST. */
    readonly resyncAfterMs?: number;
  };
  readonly rest?: {
    readonly timeoutMs?: number;
    readonly maxAttempts?: number;
    readonly backoff?: BackoffPolicy;
    readonly rateLimitDelayMs?: number;
    readonly pageSize?: number;
  };
  readonly producer?: {
    readonly maxBatch?: number;
    readonly maxBuffered?: number;
    readonly idempotent?: boolean;
  };
  /** How often acknowledged cursors are written (0: after every acknowledgement). */
  readonly cursorFlushMs?: number;
}
