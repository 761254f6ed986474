/**
 * Stream mode's `book` channel: the subscription request, and each book frame turned into
 * `kraken.book` messages through the BookKeeper. A checksum mismatch is counted and answered with an
 * unsubscribe + subscribe of that symbol (Kraken's guidance: drop the book, get a fresh snapshot); a
 * symbol still without its snapshot after `resubscribeAfterMs` is asked again. Unreadable book frames go
 * to `kraken.book.dlq` and the symbol they name is resubscribed, since its book missed an update.
 */
import type { BookDepth } from "@tributary/shared/contracts/book";
import type { Logger } from "@tributary/shared/log";
import type { IngestMetrics } from "../../metrics/ingest-metrics.ts";
import type { IngestProducer } from "../../producer/ingest-producer.ts";
import type { LosslessValue } from "../lossless-json.ts";
import { MappingError } from "../mappers/mapping.ts";
import { mapWsBook, type WsBookItem } from "../mappers/ws-book.ts";
import type { PairRegistry } from "../pairs.ts";
import { BookKeeper } from "./book-keeper.ts";

export interface BookFeedOptions {
  readonly symbols: readonly string[];
  readonly depth: BookDepth;
  readonly registry: PairRegistry;
  readonly producer: IngestProducer;
  readonly metrics: IngestMetrics;
  readonly log: Logger;
  /** Sends a request on the open WebSocket; false when none is open. */
  readonly send: (request: object) => boolean;
  /** A symbol whose resubscription brought no snapshot within this long is asked again (default 10 s). */
  readonly resubscribeAfterMs?: number;
}

const SOURCE = "kraken.ws";
/** Request id of book (re)subscriptions, apart from the trade (1) and ticker (2) ones. */
export const BOOK_REQ_ID = 3;

export class BookFeed {
  readonly keeper: BookKeeper;

  constructor(private readonly o: BookFeedOptions) {
    this.keeper = new BookKeeper(o.depth);
  }

  /** Sent after every (re)connect with the other subscriptions. */
  subscription(symbols: readonly string[] = this.o.symbols): object {
    return {
      method: "subscribe",
      params: { channel: "book", symbol: symbols, depth: this.o.depth, snapshot: true },
      req_id: BOOK_REQ_ID,
    };
  }

  /** A new connection: every book waits for the snapshot its subscription brings. */
  onOpen(): void {
    this.keeper.reset();
    this.o.metrics.book?.onOpen();
  }

  /** The connection is lost: the books' health clocks stop until the next one. */
  onClose(): void {
    this.o.metrics.book?.onClose();
  }

  async onData(
    text: string,
    type: "snapshot" | "update",
    data: LosslessValue,
    receivedAt: string,
  ): Promise<void> {
    let mapped: ReturnType<typeof mapWsBook>;
    try {
      mapped = mapWsBook(data, this.o.registry);
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      await this.o.producer.enqueueDeadLetter("book", text, err.message, SOURCE);
      return;
    }
    if (mapped.rejections.length) {
      await this.o.producer.enqueueDeadLetter(
        "book",
        text,
        mapped.rejections.map((r) => r.reason).join("; "),
        SOURCE,
      );
      // The rejected items' books missed this update: rebuild them.
      for (const symbol of this.o.symbols) {
        if (
          text.includes(`"symbol":${JSON.stringify(symbol)}`) &&
          this.keeper.invalidate(symbol, Date.now())
        ) {
          this.o.metrics.book?.onInvalidated(symbol, "an unreadable book frame");
          this.resubscribe(symbol, "unreadable book frame");
        }
      }
    }
    await this.onItems(type, mapped.records, receivedAt);
  }

  /** Items read from a frame (by the general path above or the fast path, `fastWsBook`): verified and published. */
  async onItems(
    type: "snapshot" | "update",
    items: readonly WsBookItem[],
    receivedAt: string,
  ): Promise<void> {
    for (const item of items) {
      const verdict = this.keeper.apply(type, item, receivedAt);
      this.o.metrics.book?.onMessage(item.symbol, type, verdict.message.checksum_status);
      await this.o.producer.enqueueBook(verdict.message);
      if (verdict.resubscribe) {
        this.o.metrics.bookMismatches.inc({ symbol: item.symbol });
        this.o.log.warn("book checksum mismatch: dropping the book and resubscribing", {
          symbol: item.symbol,
          session: verdict.message.session,
          seq: verdict.message.seq,
          checksum: item.checksum,
        });
        this.resubscribe(item.symbol, "checksum mismatch");
      }
    }
  }

  /** Re-asks symbols whose resubscription brought no snapshot in time. */
  tick(nowMs = Date.now()): void {
    for (const symbol of this.keeper.overdue(nowMs, this.o.resubscribeAfterMs ?? 10_000))
      this.resubscribe(symbol, "no snapshot after resubscribing");
  }

  private resubscribe(symbol: string, reason: string): void {
    const params = { channel: "book", symbol: [symbol], depth: this.o.depth };
    const sent =
      this.o.send({ method: "unsubscribe", params, req_id: BOOK_REQ_ID }) &&
      this.o.send({ method: "subscribe", params: { ...params, snapshot: true }, req_id: BOOK_REQ_ID });
    this.o.metrics.bookResubscribes.inc({ symbol, reason });
    if (!sent) this.o.log.info("no open WebSocket: the next connection resubscribes the book", { symbol });
  }
}
