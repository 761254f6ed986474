/**
 * Cursors that follow Kafka acknowledgements: the producer reports each acknowledged batch, the last
 * trade per symbol becomes that symbol's cursor, and the files are rewritten at most every `flushMs`
 * (off the event loop) and on shutdown. A crash loses at most that much cursor progress, which only
 * causes re-sent duplicates; it can never skip a trade that Kafka did not acknowledge.
 */
import { nowRfc3339 } from "@tributary/shared/time";
import type { TradeCursor, TradeCursorStore } from "../cursor-store.ts";
import { resumeSince, type SequencedTrade } from "../mappers/trade.ts";

export class AckedCursors {
  private readonly pending = new Map<string, TradeCursor>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly store: TradeCursorStore,
    private readonly flushMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    if (this.flushMs > 0) {
      this.timer = setInterval(() => {
        if (!this.writing) this.writing = this.persist().finally(() => (this.writing = undefined));
      }, this.flushMs);
    }
  }

  /** Called with each acknowledged batch (trades in trade_id order per symbol). */
  acked(trades: readonly SequencedTrade[]): void {
    const updatedAt = nowRfc3339();
    const seen = new Set<string>();
    // The last trade of each symbol in the batch is its newest: walk backwards and stop at the first one.
    for (let i = trades.length - 1; i >= 0; i--) {
      const t = trades[i] as SequencedTrade;
      const symbol = t.message.symbol;
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      const prev = this.pending.get(symbol);
      if (prev && prev.lastTradeId >= t.message.trade_id) continue;
      this.pending.set(symbol, {
        symbol,
        lastTradeId: t.message.trade_id,
        since: resumeSince(t),
        updatedAt,
      });
    }
    if (this.flushMs <= 0) this.persistNow();
  }

  /** Writes every changed cursor, one file at a time, without blocking the event loop. */
  private async persist(): Promise<void> {
    for (const [symbol, cursor] of [...this.pending]) {
      try {
        await this.store.saveAsync(cursor);
        if (this.pending.get(symbol) === cursor) this.pending.delete(symbol);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }

  private persistNow(): void {
    for (const [symbol, cursor] of [...this.pending]) {
      try {
        this.store.save(cursor);
        this.pending.delete(symbol);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }

  /** Stops the timer and writes the final cursors. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    this.persistNow();
  }
}
