/**
 * The synthetic market's order flow on the book of one symbol. Makers add, cancel and resize orders
 * near the top at Poisson instants (market time); every taker order of the trade tape consumes the
 * book: makers first stand at the fill prices (cancelling what a sweep would have passed through and
 * what would cross), then the fills take their quantities from those levels, and the far end is
 * replenished so each side keeps `levels` levels. Every change is logged, so the book at any instant
 * (`bookAt`) is the ground truth a rebuilt book is compared with. Seeded: same seed, same book.
 */
import { type BookChange, type BookEvent, type BookSideName, type Level, SimBook } from "./book.ts";
import { createRng, deriveSeed, type Rng } from "./rng.ts";
import type { TapeTrade } from "./tape.ts";

export interface BookFlowOptions {
  readonly symbol: string;
  readonly seed: number;
  /** Levels kept on each side (at least the deepest subscription Kraken allows, 1000, by default). */
  readonly levels?: number;
  /** Mean maker actions per second of market time. */
  readonly makerEventsPerSecond: number;
  /** Median maker order size in lots. */
  readonly medianQtyUnits: number;
  /** Keep every event for `bookAt` (tests); off, memory stays flat however long the market runs. */
  readonly keepLog?: boolean;
}

export class BookFlow {
  readonly book = new SimBook();
  private readonly rng: Rng;
  private readonly log: BookEvent[] = [];
  private readonly levels: number;
  private readonly meanGapNs: number;
  private makerAt = 0n;

  constructor(private readonly o: BookFlowOptions) {
    this.rng = createRng(deriveSeed(o.seed, `book ${o.symbol}`));
    this.levels = o.levels ?? 1000;
    this.meanGapNs = o.makerEventsPerSecond > 0 ? 1e9 / o.makerEventsPerSecond : Number.POSITIVE_INFINITY;
  }

  /** The opening book around `midUnits` at `timeNs`. */
  open(midUnits: bigint, timeNs: bigint): BookEvent {
    const changes: BookChange[] = [];
    let bid = midUnits - 1n;
    let ask = midUnits + 1n;
    for (let i = 0; i < this.levels; i++) {
      if (bid > 0n) changes.push({ side: "bid", price: bid, qty: this.size() });
      changes.push({ side: "ask", price: ask, qty: this.size() });
      bid -= BigInt(this.rng.int(1, 2));
      ask += BigInt(this.rng.int(1, 2));
    }
    this.makerAt = timeNs + this.gap();
    const event = { timeNs, changes };
    this.book.apply(event);
    return this.record(event);
  }

  /** When the next maker action happens (market ns). */
  get nextMakerNs(): bigint {
    return this.makerAt;
  }

  /** The next maker action, as one event (undefined if it changed nothing). */
  makerEvent(): BookEvent | undefined {
    const timeNs = this.makerAt;
    this.makerAt += this.gap();
    const changes = this.makerAction();
    return changes.length ? this.record({ timeNs, changes }) : undefined;
  }

  /** One taker order: makers stand at the fill prices, the fills consume them, the book is uncrossed and replenished. */
  taker(trades: readonly TapeTrade[]): BookEvent | undefined {
    const first = trades[0];
    if (!first) return undefined;
    const buy = first.side === "buy";
    const makerSide: BookSideName = buy ? "ask" : "bid";
    const maker = this.book.side(makerSide);
    const next = new Map<string, BookChange>();
    const set = (side: BookSideName, price: bigint, qty: bigint) => {
      next.set(`${side}${price}`, { side, price, qty });
      this.book.side(side).set(price, qty);
    };
    const need = new Map<bigint, bigint>();
    for (const t of trades) need.set(t.priceUnits, (need.get(t.priceUnits) ?? 0n) + t.qtyUnits);
    const prices = [...need.keys()];
    const last = prices[prices.length - 1] as bigint;
    // What the sweep passed through: maker levels better than the last fill that are not fill prices.
    for (const p of leadingPrices(maker.prices, (p) => (buy ? p <= last : p >= last)))
      if (!need.has(p)) set(makerSide, p, 0n);
    // Makers stand at each fill price with at least what the fills take; only the last may keep a rest.
    for (const [p, q] of need) {
      const residual = p === last && this.rng.chance(0.6) ? this.size() : 0n;
      if (maker.qty(p) !== q + residual) set(makerSide, p, q + residual);
      set(makerSide, p, residual);
    }
    // Uncross: resting orders on the taker's side at or beyond the last fill price are pulled.
    const takerSide: BookSideName = buy ? "bid" : "ask";
    for (const p of leadingPrices(this.book.side(takerSide).prices, (p) => (buy ? p >= last : p <= last)))
      set(takerSide, p, 0n);
    this.replenish(set);
    return this.record({ timeNs: first.timeNs, changes: [...next.values()] });
  }

  /** The top `depth` levels per side after every event up to `atMicros` (µs, as Kraken stamps them); needs `keepLog`. */
  bookAt(atMicros: bigint, depth: number): { bids: Level[]; asks: Level[]; lastEventNs: bigint } {
    const book = new SimBook();
    for (const e of this.log) {
      if (e.timeNs / 1000n > atMicros) break;
      book.apply(e);
    }
    return { bids: book.bids.top(depth), asks: book.asks.top(depth), lastEventNs: book.lastEventNs };
  }

  get events(): readonly BookEvent[] {
    return this.log;
  }

  private record(event: BookEvent): BookEvent {
    this.book.lastEventNs = event.timeNs;
    if (this.o.keepLog) this.log.push(event);
    return event;
  }

  private makerAction(): BookChange[] {
    const side: BookSideName = this.rng.chance(0.5) ? "bid" : "ask";
    const s = this.book.side(side);
    const best = s.prices[0];
    const other = this.book.side(side === "bid" ? "ask" : "bid").prices[0];
    if (best === undefined || other === undefined) return [];
    const roll = this.rng.next();
    const changes: BookChange[] = [];
    const set = (price: bigint, qty: bigint) => {
      changes.push({ side, price, qty });
      s.set(price, qty);
    };
    if (roll < 0.5) {
      // Add: at or behind the best, or one tick inside a spread wider than a tick.
      const offset = BigInt(Math.floor(this.rng.exponential(4))) - 1n;
      let price = side === "bid" ? best - offset : best + offset;
      if (side === "bid" ? price >= other : price <= other) price = best;
      if (price > 0n) set(price, s.qty(price) + this.size());
    } else {
      const i = Math.min(s.prices.length - 1, Math.floor(this.rng.exponential(5)));
      const price = s.prices[i] as bigint;
      if (roll < 0.8) set(price, 0n);
      else set(price, this.size());
    }
    this.replenish((sd, p, q) => {
      changes.push({ side: sd, price: p, qty: q });
      this.book.side(sd).set(p, q);
    });
    return changes;
  }

  /** Keeps `levels` levels per side by adding at the far end (and pulling far ones when makers added many). */
  private replenish(set: (side: BookSideName, price: bigint, qty: bigint) => void): void {
    for (const name of ["bid", "ask"] as const) {
      const s = this.book.side(name);
      while (s.prices.length > this.levels + 20) set(name, s.prices[s.prices.length - 1] as bigint, 0n);
      while (s.prices.length < this.levels) {
        const worst = s.prices[s.prices.length - 1];
        const other = this.book.side(name === "bid" ? "ask" : "bid").prices[0];
        const from = worst ?? (name === "bid" ? (other ?? 2n) - 1n : (other ?? 0n) + 1n);
        const step = worst === undefined ? 0n : BigInt(this.rng.int(1, 2));
        const price = name === "bid" ? from - step : from + step;
        if (price <= 0n) break;
        set(name, price, this.size());
      }
    }
  }

  private size(): bigint {
    const q = this.o.medianQtyUnits * Math.exp(1.1 * this.rng.normal());
    const round = this.rng.chance(0.25) ? 10_000 : 1;
    return BigInt(Math.max(1, Math.round(q / round)) * round);
  }

  private gap(): bigint {
    return BigInt(Math.max(1, Math.round(this.rng.exponential(this.meanGapNs))));
  }
}

/** The prices at the head of a best-first side while `take` holds (a copy: the caller changes the side). */
function leadingPrices(prices: readonly bigint[], take: (p: bigint) => boolean): bigint[] {
  const out: bigint[] = [];
  for (const p of prices) {
    if (!take(p)) break;
    out.push(p);
  }
  return out;
}
