/**
 * A book burst rendered ahead of time, for benchmarks: the synthetic market's own books and taker
 * orders stepped through market time as the live simulator steps them (BookMarket, SyntheticMarket),
 * each event rendered as the WS v2 update a subscriber at `depth` receives, with the book's CRC32, plus
 * each symbol's opening snapshot. Rendering costs the source far more than sending, so a burst rendered
 * while sending bounds the receiver by the source; sent pre-rendered, the receiver sets the pace.
 */

import { viewUpdate, wsBookFrame } from "./book.ts";
import { BookMarket, type BookSink } from "./book-market.ts";
import type { PairFormat } from "./formats.ts";
import { type SweepProfile, SyntheticMarket, type SyntheticSymbol } from "./market.ts";

export interface BookBurstOptions {
  /** Update frames over all symbols (the last market step may add a few more). */
  readonly updates: number;
  /** The depth the frames are rendered for (a subscription at another depth gets no burst). */
  readonly depth: number;
  /** Maker actions per second of market time over all symbols (the timestamps' pace). */
  readonly makerEventsPerSecond: number;
  /** Taker orders consuming the books, in trades per second of market time. */
  readonly tradesPerSecond: number;
  readonly sweeps?: Partial<SweepProfile>;
  readonly levels?: number;
}

/** One rendered update frame and the symbol it is for, in the order the market produced them. */
export interface BurstFrame {
  readonly symbol: string;
  readonly text: string;
}

/** Where the burst is sent: the book subscribers of a symbol, and a send that waits out backpressure. */
export interface BurstTarget<C> {
  bookSubscribers(symbol: string, depth: number): readonly C[];
  /** Sends `text` to `to`; resolves once the socket took it (after a drain if it pushed back), false if dropped. */
  sendPaced(to: C, text: string): boolean | Promise<boolean>;
}

/** Market steps of 1 ms: as fine as the live clock's ticks, so events interleave across symbols as they would live. */
const STEP_NS = 1_000_000n;

export class BookBurst {
  private constructor(
    readonly depth: number,
    private readonly snapshots: ReadonlyMap<string, string>,
    readonly frames: readonly BurstFrame[],
  ) {}

  static render(
    o: BookBurstOptions & { readonly seed: number; readonly symbols: readonly SyntheticSymbol[] },
    startNs: bigint,
  ): BookBurst {
    const formats = new Map<string, PairFormat>(o.symbols.map((s) => [s.symbol, s]));
    const frames: BurstFrame[] = [];
    const sink: BookSink = {
      depthNeeded: () => o.depth,
      onBookEvent: (symbol, event, before, book) => {
        const format = formats.get(symbol) as PairFormat;
        const update = viewUpdate(before, book, o.depth);
        if (update.bids.length + update.asks.length === 0) return;
        const text = wsBookFrame("update", format, update.bids, update.asks, book.checksum(), event.timeNs);
        frames.push({ symbol, text });
      },
    };
    const books = new BookMarket(
      {
        seed: o.seed,
        symbols: o.symbols,
        makerEventsPerSecond: o.makerEventsPerSecond,
        ...(o.levels === undefined ? {} : { levels: o.levels }),
      },
      sink,
    );
    const market = new SyntheticMarket({
      seed: o.seed,
      symbols: o.symbols,
      tradesPerSecond: o.tradesPerSecond,
      startNs,
      ...(o.sweeps === undefined ? {} : { sweeps: o.sweeps }),
    });
    books.open(startNs, () => undefined);
    const snapshots = new Map<string, string>();
    for (const [symbol, format] of formats) {
      const book = books.book(symbol);
      if (!book) continue;
      const [bids, asks] = [book.bids.top(o.depth), book.asks.top(o.depth)];
      snapshots.set(symbol, wsBookFrame("snapshot", format, bids, asks, book.checksum(), startNs));
    }
    for (let nowNs = startNs; frames.length < o.updates; ) {
      nowNs += STEP_NS;
      for (const event of market.advance(nowNs)) books.onTrades(event.symbol, event.trades);
      books.advanceTo(nowNs);
    }
    return new BookBurst(o.depth, snapshots, frames);
  }

  /** The snapshot frame a subscription of `symbol` at `depth` gets (undefined: not rendered for it). */
  snapshot(symbol: string, depth: number): string | undefined {
    return depth === this.depth ? this.snapshots.get(symbol) : undefined;
  }

  get symbols(): readonly string[] {
    return [...this.snapshots.keys()];
  }

  /**
   * Sends every frame back-to-back to the subscribers of its symbol at the burst's depth, pausing only
   * when a socket pushes back; `onSent` is told after each frame has gone to every subscriber.
   * Throws if a socket drops a frame: the receiver's book would be wrong from there on.
   */
  async send<C>(to: BurstTarget<C>, onSent: (symbol: string) => void): Promise<void> {
    for (const frame of this.frames) {
      for (const conn of to.bookSubscribers(frame.symbol, this.depth)) {
        let taken = to.sendPaced(conn, frame.text);
        if (taken instanceof Promise) taken = await taken;
        if (!taken) throw new Error(`book burst: a ${frame.symbol} frame was dropped`);
      }
      onSent(frame.symbol);
    }
  }
}
