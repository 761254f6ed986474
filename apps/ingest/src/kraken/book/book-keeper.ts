/**
 * Keeps the book of every subscribed symbol and turns each WS v2 book item into a `kraken.book`
 * message: a snapshot starts a new session (seq 0), each update is applied and its checksum verified.
 * A mismatch drops the book and asks for a resubscription; until the new snapshot arrives, updates are
 * published as `unverified` (nothing received is lost, and the interval is marked in the data).
 */

import { OrderBook } from "@tributary/shared/book/order-book";
import {
  BOOK_CONTRACT_VERSION,
  type BookChecksumStatus,
  type BookDepth,
  type BookMessage,
} from "@tributary/shared/contracts/book";
import type { WsBookItem } from "../mappers/ws-book.ts";

export interface BookVerdict {
  readonly message: BookMessage;
  /** The checksum did not match: the caller resubscribes the symbol for a fresh snapshot. */
  readonly resubscribe: boolean;
}

interface SymbolBook {
  /** undefined: waiting for a snapshot. */
  book: OrderBook | undefined;
  session: string;
  seq: number;
  sessions: number;
  /** When the symbol started waiting for a snapshot after a mismatch (for re-asking). */
  awaitingSinceMs: number | undefined;
}

/** A random id for this ingester run, so sessions stay unique across restarts (even after kill -9). */
function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Buffer.from(bytes).toString("hex");
}

export class BookKeeper {
  private readonly symbols = new Map<string, SymbolBook>();

  constructor(
    readonly depth: BookDepth,
    private readonly runId = newRunId(),
  ) {}

  private state(symbol: string): SymbolBook {
    let s = this.symbols.get(symbol);
    if (!s) {
      s = { book: undefined, session: `${this.runId}-0`, seq: 0, sessions: 0, awaitingSinceMs: undefined };
      this.symbols.set(symbol, s);
    }
    return s;
  }

  /** After a (re)connect every book is stale: each symbol waits for its new snapshot. */
  reset(): void {
    for (const s of this.symbols.values()) {
      s.book = undefined;
      s.awaitingSinceMs = undefined;
    }
  }

  /** The current book of `symbol` (undefined while it waits for a snapshot). */
  book(symbol: string): OrderBook | undefined {
    return this.symbols.get(symbol)?.book;
  }

  /** Symbols that asked for a resubscription more than `afterMs` ago and still have no snapshot. */
  overdue(nowMs: number, afterMs: number): string[] {
    const out: string[] = [];
    for (const [symbol, s] of this.symbols) {
      if (s.awaitingSinceMs !== undefined && nowMs - s.awaitingSinceMs >= afterMs) {
        s.awaitingSinceMs = nowMs;
        out.push(symbol);
      }
    }
    return out;
  }

  /** Marks a symbol's book as broken (e.g. a frame for it could not be read) and asks for a resubscription. */
  invalidate(symbol: string, nowMs: number): boolean {
    const s = this.state(symbol);
    if (!s.book) return false;
    s.book = undefined;
    s.awaitingSinceMs = nowMs;
    return true;
  }

  apply(type: "snapshot" | "update", item: WsBookItem, receivedAt: string, nowMs = Date.now()): BookVerdict {
    const s = this.state(item.symbol);
    let status: BookChecksumStatus;
    if (type === "snapshot") {
      s.sessions++;
      s.session = `${this.runId}-${s.sessions}`;
      s.seq = 0;
      s.book = new OrderBook(this.depth);
      s.awaitingSinceMs = undefined;
    } else s.seq++;
    const book = s.book;
    if (book) {
      book.apply(item.bids, item.asks);
      status = book.checksum() === item.checksum ? "ok" : "mismatch";
    } else status = "unverified";
    const resubscribe = status === "mismatch";
    if (resubscribe) {
      s.book = undefined;
      s.awaitingSinceMs = nowMs;
    }
    return {
      message: {
        v: BOOK_CONTRACT_VERSION,
        exchange: "KRAKEN",
        symbol: item.symbol,
        type,
        session: s.session,
        seq: s.seq,
        depth: this.depth,
        bids: item.bids,
        asks: item.asks,
        checksum: item.checksum,
        checksum_status: status,
        ts: item.ts ?? receivedAt,
        received_at: receivedAt,
        source: "ws",
      },
      resubscribe,
    };
  }
}
