/**
 * The ground truth: every trade the simulator emitted, per symbol, in trade_id order. REST Trades pages
 * are served from it and tests compare Kafka against it. Numbers are integers (price ticks, lots) and
 * times are bigint ns, so every rendering is exact.
 */

export interface TapeTrade {
  readonly tradeId: number;
  /** Price in units of 10^-priceDecimals. */
  readonly priceUnits: bigint;
  /** Quantity in units of 10^-lotDecimals. */
  readonly qtyUnits: bigint;
  readonly side: "buy" | "sell";
  readonly ordType: "market" | "limit";
  /** Exchange time, exact epoch ns (REST prints it as a float, WS truncates it to µs). */
  readonly timeNs: bigint;
}

export class TradeTape {
  private readonly trades: TapeTrade[] = [];
  /** ms epoch (float) when the trade was first written to a WebSocket, NaN until then. */
  private sentAt: Float64Array = new Float64Array(1024);

  constructor(
    readonly symbol: string,
    readonly firstTradeId: number,
  ) {}

  get length(): number {
    return this.trades.length;
  }

  get lastTradeId(): number {
    return this.firstTradeId + this.trades.length - 1;
  }

  append(t: TapeTrade): void {
    const expected = this.firstTradeId + this.trades.length;
    if (t.tradeId !== expected)
      throw new Error(`${this.symbol}: trade_id ${t.tradeId} appended, expected ${expected}`);
    const last = this.trades[this.trades.length - 1];
    if (last && t.timeNs < last.timeNs)
      throw new Error(`${this.symbol}: time went backwards at ${t.tradeId}`);
    this.trades.push(t);
    if (this.trades.length > this.sentAt.length) {
      const grown = new Float64Array(this.sentAt.length * 2).fill(Number.NaN);
      grown.set(this.sentAt);
      this.sentAt = grown;
    }
    this.sentAt[this.trades.length - 1] = Number.NaN;
  }

  all(): readonly TapeTrade[] {
    return this.trades;
  }

  byId(tradeId: number): TapeTrade | undefined {
    return this.trades[tradeId - this.firstTradeId];
  }

  markSent(tradeId: number, atMs: number): void {
    const i = tradeId - this.firstTradeId;
    if (i >= 0 && i < this.trades.length && Number.isNaN(this.sentAt[i])) this.sentAt[i] = atMs;
  }

  /** When the trade first left the simulator on a WebSocket (ms epoch), or undefined. */
  sentAtMs(tradeId: number): number | undefined {
    const v = this.sentAt[tradeId - this.firstTradeId];
    return v === undefined || Number.isNaN(v) ? undefined : v;
  }

  /** Index of the first trade with time > ns. */
  private firstAfter(ns: bigint): number {
    let lo = 0;
    let hi = this.trades.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.trades[mid] as TapeTrade).timeNs <= ns) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Trades with time > sinceNs (Kraken's REST `since` semantics), at most `count`. */
  after(sinceNs: bigint, count: number): readonly TapeTrade[] {
    const lo = this.firstAfter(sinceNs);
    return this.trades.slice(lo, lo + count);
  }

  /** The last trade with time < ns. */
  lastBefore(ns: bigint): TapeTrade | undefined {
    return this.trades[this.firstAfter(ns - 1n) - 1];
  }

  /** The most recent `count` trades. */
  latest(count: number): readonly TapeTrade[] {
    return this.trades.slice(Math.max(0, this.trades.length - count));
  }
}
