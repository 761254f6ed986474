/**
 * A level-2 book of one symbol (the ingester verifies with it, the lake and notebooks rebuild with it),
 * kept exactly as Kraken's book-checksum guide says:
 * apply every level of a message (qty zero deletes, any other qty replaces), truncate each side to the
 * subscribed depth, then compare the CRC32 of the top 10 levels with Kraken's checksum. Prices and
 * quantities are decimal strings at the pair's fixed precisions, so they compare exactly as text.
 */
import { crc32 } from "node:zlib";
import { BOOK_CHECKSUM_LEVELS, type BookLevel } from "../contracts/book.ts";

/** a < b for non-negative decimal strings of one scale (no leading zeros): shorter is smaller, else text order. */
function less(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

function isZero(qty: string): boolean {
  for (let i = 0; i < qty.length; i++) {
    const c = qty.charCodeAt(i);
    if (c !== 48 /* 0 */ && c !== 46 /* . */) return false;
  }
  return true;
}

/** One side, best level first. */
export class BookSide {
  readonly prices: string[] = [];
  readonly qtys: string[] = [];
  /** Each level's part of the checksum text, kept with it: a level is rendered once, not at every update. */
  private readonly texts: string[] = [];

  constructor(readonly kind: "bid" | "ask") {}

  /** Is `a` a better price than `b` on this side? */
  private better(a: string, b: string): boolean {
    return this.kind === "ask" ? less(a, b) : less(b, a);
  }

  /** Index of `price`, or of where it would go, by binary search. */
  private find(price: string): number {
    let lo = 0;
    let hi = this.prices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.better(this.prices[mid] as string, price)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Applies one level: qty zero deletes it, any other qty replaces it. */
  set(price: string, qty: string): void {
    const i = this.find(price);
    const present = this.prices[i] === price;
    if (isZero(qty)) {
      if (present) {
        this.prices.splice(i, 1);
        this.qtys.splice(i, 1);
        this.texts.splice(i, 1);
      }
    } else if (present) {
      this.qtys[i] = qty;
      this.texts[i] = digits(price) + digits(qty);
    } else {
      this.prices.splice(i, 0, price);
      this.qtys.splice(i, 0, qty);
      this.texts.splice(i, 0, digits(price) + digits(qty));
    }
  }

  truncate(depth: number): void {
    if (this.prices.length > depth) {
      this.prices.length = depth;
      this.qtys.length = depth;
      this.texts.length = depth;
    }
  }

  clear(): void {
    this.prices.length = 0;
    this.qtys.length = 0;
    this.texts.length = 0;
  }

  get size(): number {
    return this.prices.length;
  }

  levels(): BookLevel[] {
    return this.prices.map((p, i) => [p, this.qtys[i] as string] as const);
  }

  /** This side's part of the checksum text: each of the top 10 levels as digits without point or leading zeros. */
  checksumText(): string {
    let text = "";
    const n = Math.min(BOOK_CHECKSUM_LEVELS, this.prices.length);
    for (let i = 0; i < n; i++) text += this.texts[i] as string;
    return text;
  }
}

/** `"0.00100000"` → `"100000"`: the decimal point removed, then leading zeros. */
function digits(decimal: string): string {
  const dot = decimal.indexOf(".");
  const joined = dot < 0 ? decimal : decimal.slice(0, dot) + decimal.slice(dot + 1);
  let i = 0;
  while (i < joined.length - 1 && joined.charCodeAt(i) === 48) i++;
  return joined.slice(i);
}

export class OrderBook {
  readonly bids = new BookSide("bid");
  readonly asks = new BookSide("ask");

  constructor(readonly depth: number) {}

  /** Applies a message's levels, then truncates both sides to the depth (Kraken sends no delete for levels leaving it). */
  apply(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    for (const [price, qty] of bids) this.bids.set(price, qty);
    for (const [price, qty] of asks) this.asks.set(price, qty);
    this.bids.truncate(this.depth);
    this.asks.truncate(this.depth);
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /** Kraken's CRC32 (IEEE, unsigned) of the top 10 asks ascending, then the top 10 bids descending. */
  checksum(): number {
    return crc32(this.asks.checksumText() + this.bids.checksumText()) >>> 0;
  }
}
