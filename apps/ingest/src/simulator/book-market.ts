/**
 * The synthetic market's books: one BookFlow per symbol, opened when the first book subscription
 * arrives (around each symbol's last trade) and from then on stepped in time order with the trade tape
 * (maker actions due before a taker order happen first, then the order consumes the book), and every
 * event handed to the WebSocket side with the subscribers' view of the book just before it.
 */
import type { BookEvent, Level, SimBook } from "./book.ts";
import { BookFlow } from "./book-flow.ts";
import type { SyntheticSymbol } from "./market.ts";
import type { TapeTrade } from "./tape.ts";

/** The top levels subscribers held before an event (as deep as the deepest subscription). */
export interface BookBefore {
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

export interface BookSink {
  /** Deepest subscribed depth of `symbol` (0: nobody subscribed, nothing is rendered). */
  depthNeeded(symbol: string): number;
  /** One event applied to `book`; `before` is its top `depthNeeded` levels before the event. */
  onBookEvent(symbol: string, event: BookEvent, before: BookBefore, book: SimBook): void;
}

export interface BookMarketOptions {
  readonly seed: number;
  readonly symbols: readonly SyntheticSymbol[];
  /** Maker actions per second of market time over all symbols (shared out by weight). */
  readonly makerEventsPerSecond: number;
  readonly levels?: number;
  /** Keep every event, for `bookAt` (tests). */
  readonly keepLog?: boolean;
}

export class BookMarket {
  private readonly flows = new Map<string, { flow: BookFlow; spec: SyntheticSymbol }>();

  constructor(
    o: BookMarketOptions,
    private readonly sink: BookSink,
  ) {
    const totalWeight = o.symbols.reduce((s, x) => s + x.weight, 0);
    for (const spec of o.symbols) {
      const flow = new BookFlow({
        symbol: spec.symbol,
        seed: o.seed,
        makerEventsPerSecond: (o.makerEventsPerSecond * spec.weight) / totalWeight,
        medianQtyUnits: spec.medianQty * 10 ** spec.lotDecimals,
        ...(o.levels === undefined ? {} : { levels: o.levels }),
        ...(o.keepLog === undefined ? {} : { keepLog: o.keepLog }),
      });
      this.flows.set(spec.symbol, { flow, spec });
    }
  }

  private openedAt: bigint | undefined;

  /** Opened on the first book subscription, so a market nobody watches the book of spends nothing on it. */
  get opened(): boolean {
    return this.openedAt !== undefined;
  }

  /** Opens every book at `timeNs` around `midUnits(symbol)` (its last trade), or its starting price. */
  open(timeNs: bigint, midUnits: (symbol: string) => bigint | undefined): void {
    if (this.openedAt !== undefined) return;
    this.openedAt = timeNs;
    for (const [symbol, { flow, spec }] of this.flows)
      flow.open(midUnits(symbol) ?? spec.startPriceUnits, timeNs);
  }

  book(symbol: string): SimBook | undefined {
    return this.flows.get(symbol)?.flow.book;
  }

  /** Maker actions strictly before the order, then the taker order itself. */
  onTrades(symbol: string, trades: readonly TapeTrade[]): void {
    const entry = this.flows.get(symbol);
    const first = trades[0];
    if (!entry || !first || !this.opened) return;
    this.makersUntil(symbol, entry.flow, (at) => at < first.timeNs);
    this.step(symbol, entry.flow, () => entry.flow.taker(trades));
  }

  /** Maker actions of every symbol up to `nowNs` (inclusive). */
  advanceTo(nowNs: bigint): void {
    if (!this.opened) return;
    for (const [symbol, { flow }] of this.flows) this.makersUntil(symbol, flow, (at) => at <= nowNs);
  }

  /** The ground truth at `atMicros`: top `depth` levels per side (needs `keepLog`). */
  bookAt(symbol: string, atMicros: bigint, depth: number): ReturnType<BookFlow["bookAt"]> | undefined {
    return this.flows.get(symbol)?.flow.bookAt(atMicros, depth);
  }

  /** Every event of `symbol` so far (needs `keepLog`). */
  events(symbol: string): readonly BookEvent[] {
    return this.flows.get(symbol)?.flow.events ?? [];
  }

  private makersUntil(symbol: string, flow: BookFlow, due: (atNs: bigint) => boolean): void {
    while (due(flow.nextMakerNs)) this.step(symbol, flow, () => flow.makerEvent());
  }

  private step(symbol: string, flow: BookFlow, next: () => BookEvent | undefined): void {
    const depth = this.sink.depthNeeded(symbol);
    const before: BookBefore =
      depth > 0
        ? { bids: flow.book.bids.top(depth), asks: flow.book.asks.top(depth) }
        : { bids: [], asks: [] };
    const event = next();
    if (event && depth > 0) this.sink.onBookEvent(symbol, event, before, flow.book);
  }
}
