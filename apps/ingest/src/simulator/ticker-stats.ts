/** Running ticker statistics per symbol, in integer units (exact), from the trades on the tape. */
import type { TapeTrade } from "./tape.ts";

export class TickerStats {
  volumeUnits = 0n;
  notional = 0n;
  low: bigint | undefined;
  high: bigint | undefined;
  first: bigint | undefined;
  last: bigint | undefined;
  lastQty = 0n;
  count = 0;

  add(t: TapeTrade): void {
    this.volumeUnits += t.qtyUnits;
    this.notional += t.priceUnits * t.qtyUnits;
    if (this.low === undefined || t.priceUnits < this.low) this.low = t.priceUnits;
    if (this.high === undefined || t.priceUnits > this.high) this.high = t.priceUnits;
    if (this.first === undefined) this.first = t.priceUnits;
    this.last = t.priceUnits;
    this.lastQty = t.qtyUnits;
    this.count++;
  }

  /** Volume-weighted price in price units, rounded half up (a statistic, not a trade value). */
  vwap(): bigint {
    if (this.volumeUnits === 0n) return this.last ?? 0n;
    return (this.notional * 2n + this.volumeUnits) / (this.volumeUnits * 2n);
  }

  /** Change since the first trade in hundredths of a percent. */
  changeBasisPoints(): bigint {
    if (!this.first || this.last === undefined) return 0n;
    const diff = (this.last - this.first) * 10_000n;
    return diff / this.first;
  }
}
