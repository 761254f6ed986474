/** Everything the ingester needs, parsed at the edge (config + CLI flags) and passed down. */
import type { Config } from "@tributary/shared/config";
import type { IngestTopics } from "../../producer/topics.ts";
import type { BackoffOptions } from "../backoff.ts";

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
  readonly ws?: {
    readonly staleMs?: number;
    readonly backoff?: BackoffOptions;
    readonly queueCapacity?: number;
    /** After a (re)connect, a symbol with no live trade for this long is caught up from REST. */
    readonly resyncAfterMs?: number;
  };
  readonly rest?: {
    readonly timeoutMs?: number;
    readonly maxAttempts?: number;
    readonly backoff?: BackoffOptions;
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
