/**
 * The simulator's true level-2 book of one symbol in integer units (price ticks, lots), the change
 * events that move it, and Kraken's WS v2 rendering of it: a snapshot at a subscriber's depth, and for
 * each event the update that subscriber needs (levels that changed inside its depth, deletions of
 * levels it holds, and levels that entered its depth; never a delete for a level merely pushed out,
 * as on Kraken). The checksum is computed here from the units themselves, independently of the
 * ingester's string-based verifier: a level's digits without point and leading zeros are its units.
 */
import { crc32 } from "node:zlib";
import { formatMicros } from "@tributary/shared/time";
import { type PairFormat, unitsToDecimal } from "./formats.ts";

export type BookSideName = "bid" | "ask";

/** One level's new absolute quantity (0 deletes it). */
export interface BookChange {
  readonly side: BookSideName;
  readonly price: bigint;
  readonly qty: bigint;
}

/** Changes that happen at one instant (one maker action, or one taker order with the makers' moves around it). */
export interface BookEvent {
  readonly timeNs: bigint;
  readonly changes: readonly BookChange[];
}

export type Level = readonly [price: bigint, qty: bigint];

class SimSide {
  readonly prices: bigint[] = [];
  readonly qtys: bigint[] = [];
  /** Each level's part of the checksum text (its units), kept with it rather than rendered per event. */
  readonly texts: string[] = [];

  constructor(readonly name: BookSideName) {}

  /** Index where `price` is or would go (best first). */
  find(price: bigint): number {
    let lo = 0;
    let hi = this.prices.length;
    const ask = this.name === "ask";
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.prices[mid] as bigint;
      if (ask ? p < price : p > price) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  qty(price: bigint): bigint {
    const i = this.find(price);
    return this.prices[i] === price ? (this.qtys[i] as bigint) : 0n;
  }

  set(price: bigint, qty: bigint): void {
    const i = this.find(price);
    const present = this.prices[i] === price;
    if (qty <= 0n) {
      if (present) {
        this.prices.splice(i, 1);
        this.qtys.splice(i, 1);
        this.texts.splice(i, 1);
      }
    } else if (present) {
      this.qtys[i] = qty;
      this.texts[i] = `${price}${qty}`;
    } else {
      this.prices.splice(i, 0, price);
      this.qtys.splice(i, 0, qty);
      this.texts.splice(i, 0, `${price}${qty}`);
    }
  }

  top(n: number): Level[] {
    const out: Level[] = [];
    const k = Math.min(n, this.prices.length);
    for (let i = 0; i < k; i++) out.push([this.prices[i] as bigint, this.qtys[i] as bigint]);
    return out;
  }
}

export class SimBook {
  readonly bids = new SimSide("bid");
  readonly asks = new SimSide("ask");
  /** Time of the last event applied (ns), the instant a snapshot shows. */
  lastEventNs = 0n;

  side(name: BookSideName): SimSide {
    return name === "bid" ? this.bids : this.asks;
  }

  apply(event: BookEvent): void {
    for (const c of event.changes) this.side(c.side).set(c.price, c.qty);
    this.lastEventNs = event.timeNs;
  }

  /** Kraken's CRC32: the top 10 asks then the top 10 bids, each level as its price units then its qty units. */
  checksum(): number {
    let text = "";
    for (const side of [this.asks, this.bids])
      for (let i = 0; i < Math.min(10, side.texts.length); i++) text += side.texts[i] as string;
    return crc32(text) >>> 0;
  }
}

function levelsJson(levels: readonly Level[], f: PairFormat): string {
  return levels
    .map(
      ([p, q]) => `{"price":${unitsToDecimal(p, f.priceDecimals)},"qty":${unitsToDecimal(q, f.lotDecimals)}}`,
    )
    .join(",");
}

/** A WS v2 book frame with the 2026 recorded shape (snapshots carry a timestamp too). */
export function wsBookFrame(
  type: "snapshot" | "update",
  f: PairFormat,
  bids: readonly Level[],
  asks: readonly Level[],
  checksum: number,
  timeNs: bigint,
): string {
  return `{"channel":"book","type":"${type}","data":[{"symbol":"${f.symbol}","bids":[${levelsJson(bids, f)}],"asks":[${levelsJson(asks, f)}],"checksum":${checksum},"timestamp":"${formatMicros(timeNs / 1000n)}"}]}`;
}

/**
 * What a subscriber at `depth` must receive so that its book (truncated to `depth`) equals the top
 * `depth` of `after`: levels new or changed in the new top, and deletions of levels it held that no
 * longer exist. `before` is the top `depth` of each side before the event.
 */
export function viewUpdate(
  before: { readonly bids: readonly Level[]; readonly asks: readonly Level[] },
  after: SimBook,
  depth: number,
): { bids: Level[]; asks: Level[] } {
  const diff = (old: readonly Level[], side: SimSide): Level[] => {
    const now = side.top(depth);
    const out: Level[] = [];
    const held = new Map<bigint, bigint>();
    for (const [p, q] of old.length > depth ? old.slice(0, depth) : old) held.set(p, q);
    for (const [p, q] of now) {
      if (held.get(p) !== q) out.push([p, q]);
      held.delete(p);
    }
    for (const p of held.keys()) if (side.qty(p) === 0n) out.push([p, 0n]);
    return out;
  };
  return { bids: diff(before.bids, after.bids), asks: diff(before.asks, after.asks) };
}

/**
 * A transmission fault: one level of the update that lies inside the checksum's window (the top 10 of
 * its side after the event) gets one lot more, so the very next checksum exposes it, as Kraken's
 * would. A fault on a deeper level would sit unseen until it rose into the window or was overwritten.
 * Returns false, changing nothing, when the update touches no level inside the window.
 */
export function corruptOneLevel(update: { bids: Level[]; asks: Level[] }, after: SimBook): boolean {
  for (const [levels, side] of [
    [update.bids, after.bids],
    [update.asks, after.asks],
  ] as const) {
    const window = new Set(side.top(10).map(([p]) => p));
    const i = levels.findIndex(([p]) => window.has(p));
    const level = levels[i];
    if (level) {
      levels[i] = [level[0], level[1] + 1n];
      return true;
    }
  }
  return false;
}
