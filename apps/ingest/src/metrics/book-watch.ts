/**
 * The `book` check of the ingester's /health. A symbol's book is stale when it has waited for a snapshot
 * (after a checksum mismatch, an unreadable frame, or its subscription on a new connection) longer than
 * the stall limit, or when no book message at all came for it for `silentAfterMs` while the WebSocket was
 * up. Kraken sends a book update only when the book changes and heartbeats per connection, not per
 * channel, so a dead book subscription hides behind live trades and heartbeats; silence is therefore
 * measured per symbol, and its limit is long because a quiet pair's top levels can sit still for minutes.
 */
import type { BookChecksumStatus } from "@tributary/shared/contracts/book";
import { type HealthCheck, StallWatch } from "@tributary/shared/health";

export interface BookWatchOptions {
  /** The subscribed symbols (WS v2 names). */
  readonly symbols: readonly string[];
  /** A book waiting this long for its snapshot is stale (HEALTH_STALL_AFTER_S). */
  readonly stallAfterMs: number;
  /** No book message this long while connected: a silent subscription (HEALTH_BOOK_SILENT_AFTER_S; 0: off). */
  readonly silentAfterMs: number;
  readonly now?: () => number;
}

/** Kraken's quiet pairs can leave their top levels alone for minutes: a quarter of an hour does not flap. */
export const DEFAULT_BOOK_SILENT_AFTER_MS = 900_000;

interface SymbolWatch {
  /** Progress: a snapshot, while the book waits for one. */
  readonly snapshot: StallWatch;
  /** Progress: any book message, while the WebSocket is up (undefined: silence is not checked). */
  readonly messages: StallWatch | undefined;
  /** Why the book waits for a snapshot; undefined: it has one (or the WebSocket is down). */
  awaiting: string | undefined;
}

export class BookWatch {
  private readonly books = new Map<string, SymbolWatch>();
  private connected = false;
  private readonly now: () => number;

  constructor(private readonly o: BookWatchOptions) {
    this.now = o.now ?? Date.now;
    for (const symbol of o.symbols)
      this.books.set(symbol, {
        snapshot: new StallWatch("fresh snapshot", o.stallAfterMs, this.now),
        messages: o.silentAfterMs > 0 ? new StallWatch("book message", o.silentAfterMs, this.now) : undefined,
        awaiting: undefined,
      });
  }

  /** A new connection: every book waits for its subscription's snapshot, and the silence clock starts. */
  onOpen(): void {
    this.connected = true;
    for (const w of this.books.values()) {
      w.awaiting = undefined;
      w.snapshot.waiting(false);
      w.messages?.waiting(false).waiting(true);
      this.awaitSnapshot(w, "subscribing");
    }
  }

  /** The connection is gone: the websocket check speaks for it; the book clocks stop until the next one. */
  onClose(): void {
    this.connected = false;
    for (const w of this.books.values()) {
      w.awaiting = undefined;
      w.snapshot.waiting(false);
      w.messages?.waiting(false);
    }
  }

  /** One book message of `symbol` as the BookKeeper classified it. */
  onMessage(symbol: string, type: "snapshot" | "update", status: BookChecksumStatus): void {
    const w = this.books.get(symbol);
    if (!w) return;
    w.messages?.progressed();
    if (type === "snapshot") {
      w.awaiting = undefined;
      w.snapshot.progressed();
      w.snapshot.waiting(false);
    }
    if (status === "mismatch") this.awaitSnapshot(w, "a checksum mismatch");
  }

  /** The book of `symbol` was dropped for another reason (an unreadable frame named it). */
  onInvalidated(symbol: string, reason: string): void {
    const w = this.books.get(symbol);
    if (w) this.awaitSnapshot(w, reason);
  }

  check(): HealthCheck {
    if (!this.connected) return { ok: true, detail: "no WebSocket connection (see the websocket check)" };
    const stale: string[] = [];
    const waiting: string[] = [];
    const verified: string[] = [];
    for (const [symbol, w] of this.books) {
      const silence = w.messages?.check(`${symbol} subscribed while the WebSocket is up`);
      if (silence && !silence.ok) stale.push(silence.detail);
      if (w.awaiting === undefined) verified.push(symbol);
      else {
        const snapshot = w.snapshot.check(`${symbol} unverified since ${w.awaiting}`);
        if (!snapshot.ok) stale.push(snapshot.detail);
        else
          waiting.push(
            `${symbol} awaits a snapshot since ${w.awaiting} (${seconds(w.snapshot.stalledMs())}, limit ${seconds(this.o.stallAfterMs)})`,
          );
      }
    }
    if (stale.length) return { ok: false, detail: stale.join("; ") };
    return {
      ok: true,
      detail: [verified.length ? `verified: ${verified.join(", ")}` : "", ...waiting]
        .filter(Boolean)
        .join("; "),
    };
  }

  private awaitSnapshot(w: SymbolWatch, reason: string): void {
    if (w.awaiting !== undefined) return;
    w.awaiting = reason;
    w.snapshot.waiting(true);
  }
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
