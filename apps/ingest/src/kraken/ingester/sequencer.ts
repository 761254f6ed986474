/**
 * Gap-free trade sequencing per symbol. Kraken's trade_id is a per-pair sequence increasing by one, so
 * a hole is visible: whenever a live trade arrives past `lastId + 1` (after a reconnect, a dropped or
 * malformed frame, a full queue), the missing range is fetched from REST Trades before the live trade is
 * passed on. Trades are handed to the sink strictly in trade_id order, each id once per process run.
 *
 * REST `since` is a ns time, and several trades can share one timestamp, so paging restarts 1 ns before
 * the last trade seen and deduplicates by trade_id; ids that REST cannot supply either are reported as
 * unrecoverable (counted and logged), never silently skipped.
 */
import type { Logger } from "@tributary/shared/log";
import { Backoff, type BackoffOptions, sleep } from "../backoff.ts";
import type { TradeCursor } from "../cursor-store.ts";
import { KrakenConfigError } from "../errors.ts";
import type { SequencedTrade } from "../mappers/trade.ts";
import type { PairRegistry } from "../pairs.ts";
import type { KrakenRestClient, TradesPageWithBody } from "../rest/client.ts";

export interface SymbolPosition {
  /** Last trade_id handed to the sink (undefined: no position yet). */
  lastId: number | undefined;
  /** `since` for the next REST page (ns; undefined: start from the most recent page). */
  nextSinceNs: bigint | undefined;
}

export interface SequencerSink {
  /** Queues trades for Kafka, in order; resolves when queued (not acknowledged). */
  emit(trades: readonly SequencedTrade[], via: "live" | "backfill" | "poll"): Promise<void>;
  /** Quarantines a REST page's raw body when some rows could not be normalized. */
  rejectPage(symbol: string, body: string, reason: string): Promise<void>;
  /** trade_ids that neither the WebSocket nor REST could provide. */
  unrecoverable(symbol: string, fromId: number, toId: number): void;
  duplicate(symbol: string): void;
}

export interface SequencerOptions {
  readonly rest: KrakenRestClient;
  readonly registry: PairRegistry;
  readonly sink: SequencerSink;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** REST Trades `count` (1–1000). */
  readonly pageSize?: number;
  /** How often to re-ask REST when it has not caught up with the WebSocket yet. */
  readonly lagRetries?: number;
  readonly lagDelayMs?: number;
  /** Wait between REST failures once the client's own retries are exhausted. */
  readonly failureBackoff?: BackoffOptions;
}

export class TradeSequencer {
  private readonly positions = new Map<string, SymbolPosition>();
  private readonly pageSize: number;

  constructor(private readonly opts: SequencerOptions) {
    this.pageSize = opts.pageSize ?? 1000;
  }

  /** Sets where a symbol starts: its saved cursor, else an explicit ns `since`, else "now". */
  start(symbol: string, cursor: TradeCursor | undefined, since: "now" | string): void {
    if (cursor) {
      this.positions.set(symbol, {
        lastId: cursor.lastTradeId,
        nextSinceNs: maxZero(BigInt(cursor.sinceNs) - 1n),
      });
    } else if (since !== "now") {
      this.positions.set(symbol, { lastId: undefined, nextSinceNs: BigInt(since) });
    } else {
      this.positions.set(symbol, { lastId: undefined, nextSinceNs: undefined });
    }
  }

  position(symbol: string): Readonly<SymbolPosition> {
    return this.pos(symbol);
  }

  private pos(symbol: string): SymbolPosition {
    let p = this.positions.get(symbol);
    if (!p) {
      p = { lastId: undefined, nextSinceNs: undefined };
      this.positions.set(symbol, p);
    }
    return p;
  }

  /** Live (WebSocket) trades of one symbol, in frame order. */
  async onLiveTrades(symbol: string, trades: readonly SequencedTrade[]): Promise<void> {
    const p = this.pos(symbol);
    let run: SequencedTrade[] = [];
    for (const t of [...trades].sort((a, b) => a.message.trade_id - b.message.trade_id)) {
      const id = t.message.trade_id;
      if (p.lastId !== undefined && id <= p.lastId) {
        this.opts.sink.duplicate(symbol);
        continue;
      }
      const behind = p.lastId !== undefined ? id > p.lastId + 1 : p.nextSinceNs !== undefined;
      if (behind) {
        if (run.length) await this.opts.sink.emit(run, "live");
        run = [];
        await this.backfill(symbol, id);
        if (this.opts.signal.aborted) return;
        if (p.lastId !== undefined && id <= p.lastId) {
          this.opts.sink.duplicate(symbol);
          continue;
        }
        if (p.lastId !== undefined && id > p.lastId + 1)
          this.opts.sink.unrecoverable(symbol, p.lastId + 1, id - 1);
      }
      run.push(t);
      p.lastId = id;
      p.nextSinceNs = maxZero(t.timeNs - 1n);
    }
    if (run.length) await this.opts.sink.emit(run, "live");
  }

  /**
   * Pages REST Trades from the symbol's position. With `untilId`, stops once every id below it is
   * handed over (waiting briefly if REST lags the WebSocket); without, stops when REST is exhausted.
   * With no position at all, `fromLatest` starts from the most recent page (poll mode's first run).
   */
  async backfill(
    symbol: string,
    untilId?: number,
    via: "backfill" | "poll" = "backfill",
    fromLatest = false,
  ): Promise<void> {
    const p = this.pos(symbol);
    if (p.nextSinceNs === undefined && !fromLatest) return;
    const pair = this.opts.registry.bySymbolName(symbol);
    if (!pair) throw new KrakenConfigError(`symbol ${symbol} is not in the pair registry`);
    let since = p.nextSinceNs;
    let lagRetries = 0;
    for (;;) {
      const page = await this.page(symbol, since);
      if (!page) return;
      if (page.rejections.length) {
        await this.opts.sink.rejectPage(symbol, page.body, page.rejections.map((r) => r.reason).join("; "));
      }
      const fresh = page.trades
        .filter(
          (t) =>
            (p.lastId === undefined || t.message.trade_id > p.lastId) &&
            (untilId === undefined || t.message.trade_id < untilId),
        )
        .sort((a, b) => a.message.trade_id - b.message.trade_id);
      for (const t of fresh) {
        const id = t.message.trade_id;
        if (p.lastId !== undefined && id > p.lastId + 1)
          this.opts.sink.unrecoverable(symbol, p.lastId + 1, id - 1);
        p.lastId = id;
        p.nextSinceNs = maxZero(t.timeNs - 1n);
      }
      if (fresh.length) await this.opts.sink.emit(fresh, via);
      if (untilId !== undefined && p.lastId !== undefined && p.lastId >= untilId - 1) return;
      if (page.rowCount < this.pageSize) {
        if (untilId === undefined) return;
        // REST has not caught up with the WebSocket yet: ask again a few times before calling it a hole.
        if (++lagRetries > (this.opts.lagRetries ?? 10)) {
          if (p.lastId !== undefined) this.opts.sink.unrecoverable(symbol, p.lastId + 1, untilId - 1);
          return;
        }
        await sleep(this.opts.lagDelayMs ?? 200, this.opts.signal);
        if (this.opts.signal.aborted) return;
        since = p.nextSinceNs ?? since;
        continue;
      }
      const lastTrade = page.trades[page.trades.length - 1];
      const pageEnd = lastTrade ? lastTrade.timeNs : page.last !== undefined ? BigInt(page.last) : undefined;
      if (pageEnd === undefined) return;
      let next = maxZero(pageEnd - 1n);
      if (since !== undefined && next <= since) {
        // A whole page shares one timestamp: step past it; the id check reports anything REST cannot page to.
        this.opts.log.warn("REST Trades page is one timestamp; stepping past it", {
          symbol,
          since: since.toString(),
        });
        next = pageEnd;
      }
      since = next;
    }
  }

  /** One REST page, retried until it arrives, a configuration error stops us, or we are stopping. */
  private async page(symbol: string, since: bigint | undefined): Promise<TradesPageWithBody | undefined> {
    const pair = this.opts.registry.bySymbolName(symbol);
    if (!pair) throw new KrakenConfigError(`symbol ${symbol} is not in the pair registry`);
    const backoff = new Backoff(this.opts.failureBackoff ?? { initialMs: 1000, maxMs: 30_000, floorMs: 200 });
    for (;;) {
      if (this.opts.signal.aborted) return undefined;
      try {
        return await this.opts.rest.trades(pair, this.opts.registry, since?.toString(), this.pageSize);
      } catch (err) {
        if (err instanceof KrakenConfigError) throw err;
        if (this.opts.signal.aborted) return undefined;
        const delay = backoff.next();
        this.opts.log.warn("REST Trades failed; will retry", {
          symbol,
          error: (err as Error).message,
          retryInMs: delay,
        });
        await sleep(delay, this.opts.signal);
      }
    }
  }
}

function maxZero(v: bigint): bigint {
  return v < 0n ? 0n : v;
}
