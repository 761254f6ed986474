/**
 * Gap-free trade sequencing per symbol. Kraken's trade_id is a per-pair sequence increasing by one, so
 * a hole is visible: whenever a live trade arrives past `lastId + 1` (after a reconnect, a dropped or
 * malformed frame, a full queue), the missing range is fetched from REST Trades before the live trade is
 * passed on. Trades are handed to the sink strictly in trade_id order, each id once per process run.
 *
 * REST paging (stream backfill and poll share it): `since` is exclusive and compared with the true ns
 * instant, and the next page starts 1 ns below Kraken's `last` (the exact instant of the page's final
 * trade), so it repeats the fills of a sweep the page boundary cut, and trade_id drops the ones already
 * handed over. Starting at `last` itself would skip them, and only a later trade would show that hole:
 * at the end of a run, or on a quiet pair, never. A sweep of more fills than a page holds fills a whole
 * page at one instant: paging then steps past that instant, and the ids beyond the page are reported
 * as a gap (metric, log; gold's data quality shows the trade_id range). A hole right after `lastId`
 * (a cursor saved at `last` by an earlier version) is fetched with one page from just below `since`.
 * No page is requested twice without progress in between, except the delayed, bounded re-asks while
 * REST lags the WebSocket.
 */

import { Backoff, type BackoffPolicy } from "@tributary/shared/backoff";
import type { Logger } from "@tributary/shared/log";
import { sleepUnlessAborted } from "@tributary/shared/sleep";
import type { TradeCursor } from "../cursor-store.ts";
import { KrakenConfigError } from "../errors.ts";
import { resumeSince, type SequencedTrade } from "../mappers/trade.ts";
import type { PairRegistry } from "../pairs.ts";
import type { KrakenRestClient, TradesPageWithBody } from "../rest/client.ts";

export interface SymbolPosition {
  /** Last trade_id handed to the sink (undefined: no position yet). */
  lastId: number | undefined;
  /** `since` (ns) that resumes right after `lastId`; undefined: start from the most recent page. */
  nextSinceNs: bigint | undefined;
}

/** Why trade_ids were given up: REST cannot page to them, or REST never caught up with the WebSocket. */
export type GapReason = "rest_unreachable" | "rest_lagging";

export interface SequencerSink {
  /** Queues trades for Kafka, in order; resolves when queued (not acknowledged). */
  emit(trades: readonly SequencedTrade[], via: "live" | "backfill" | "poll"): Promise<void>;
  /** Quarantines a REST page's raw body when some rows could not be normalized. */
  rejectPage(symbol: string, body: string, reason: string): Promise<void>;
  /** trade_ids that neither the WebSocket nor REST could provide (inclusive range). */
  unrecoverable(symbol: string, fromId: number, toId: number, reason: GapReason): void;
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
  readonly failureBackoff?: BackoffPolicy;
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
      this.positions.set(symbol, { lastId: cursor.lastTradeId, nextSinceNs: BigInt(cursor.since) });
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
          this.opts.sink.unrecoverable(symbol, p.lastId + 1, id - 1, "rest_unreachable");
      }
      run.push(t);
      p.lastId = id;
      p.nextSinceNs = t.timeNs > 0n ? t.timeNs - 1n : 0n;
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
    let since = p.nextSinceNs;
    let retriedBelow: bigint | undefined;
    let lagRetries = 0;
    const wanted = (t: SequencedTrade) =>
      (p.lastId === undefined || t.message.trade_id > p.lastId) &&
      (untilId === undefined || t.message.trade_id < untilId);
    for (;;) {
      const page = await this.page(symbol, since);
      if (!page) return;
      let fresh = page.trades.filter(wanted);
      const last = p.lastId;
      const next = page.trades.reduce(
        (m, t) => (last !== undefined && t.message.trade_id > last ? Math.min(m, t.message.trade_id) : m),
        Number.POSITIVE_INFINITY,
      );
      const hole = last !== undefined && Number.isFinite(next) && next > last + 1;
      if (hole && since !== undefined && since > 0n && retriedBelow !== since) {
        // A hole right after lastId: `since` sat at the instant of a sweep's fills and (exclusive) skipped
        // the rest of them (a cursor saved at Kraken's `last`). One page from just below reaches them.
        retriedBelow = since;
        const below = await this.page(symbol, since - 1n);
        if (!below) return;
        await this.quarantine(symbol, below);
        fresh = [...below.trades.filter(wanted), ...fresh];
      }
      await this.quarantine(symbol, page);
      await this.handOver(symbol, fresh, via);
      if (untilId !== undefined && p.lastId !== undefined && p.lastId >= untilId - 1) return;
      // REST already holds the live trade (or later): every id below it that paging can reach was on
      // this page or an earlier one, so waiting for REST to "catch up" would only stall the live stream.
      if (untilId !== undefined && page.trades.some((t) => t.message.trade_id >= untilId)) return;
      if (page.rowCount < this.pageSize) {
        if (untilId === undefined) return;
        // REST has not caught up with the WebSocket yet: ask again a few times before calling it a hole.
        if (++lagRetries > (this.opts.lagRetries ?? 10)) {
          if (p.lastId !== undefined && p.lastId < untilId - 1)
            this.opts.sink.unrecoverable(symbol, p.lastId + 1, untilId - 1, "rest_lagging");
          return;
        }
        if (!(await sleepUnlessAborted(this.opts.lagDelayMs ?? 200, this.opts.signal))) return;
        since = p.nextSinceNs ?? since;
        continue;
      }
      const following = nextPageSince(page);
      if (following !== undefined && (since === undefined || following > since)) {
        since = following;
        continue;
      }
      // The whole page shares one instant (a sweep of more fills than a page holds): step past it; the
      // fills beyond this page show as a hole that handOver reports, without asking this page again.
      const end = page.last === undefined ? undefined : BigInt(page.last);
      if (end === undefined || (since !== undefined && end <= since)) {
        this.opts.log.warn("REST Trades page does not move past since; stopping this catch-up", {
          symbol,
          since: since?.toString(),
          last: page.last,
        });
        return;
      }
      since = end;
      retriedBelow = end;
    }
  }

  /** Hands `trades` over in id order, once each, reporting any id skipped between them. */
  private async handOver(
    symbol: string,
    trades: readonly SequencedTrade[],
    via: "backfill" | "poll",
  ): Promise<void> {
    const p = this.pos(symbol);
    const out: SequencedTrade[] = [];
    for (const t of [...trades].sort((a, b) => a.message.trade_id - b.message.trade_id)) {
      const id = t.message.trade_id;
      if (p.lastId !== undefined && id <= p.lastId) continue;
      if (p.lastId !== undefined && id > p.lastId + 1)
        this.opts.sink.unrecoverable(symbol, p.lastId + 1, id - 1, "rest_unreachable");
      p.lastId = id;
      p.nextSinceNs = BigInt(resumeSince(t));
      out.push(t);
    }
    if (out.length) await this.opts.sink.emit(out, via);
  }

  private async quarantine(symbol: string, page: TradesPageWithBody): Promise<void> {
    if (page.rejections.length === 0) return;
    await this.opts.sink.rejectPage(symbol, page.body, page.rejections.map((r) => r.reason).join("; "));
  }

  /** One REST page, retried until it arrives, a configuration error stops us, or we are stopping. */
  private async page(symbol: string, since: bigint | undefined): Promise<TradesPageWithBody | undefined> {
    const pair = this.opts.registry.bySymbolName(symbol);
    if (!pair) throw new KrakenConfigError(`symbol ${symbol} is not in the pair registry`);
    const backoff = new Backoff(this.opts.failureBackoff ?? { initialMs: 1000, maxMs: 30_000 });
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
        if (!(await sleepUnlessAborted(delay, this.opts.signal))) return undefined;
      }
    }
  }
}

/**
 * Where the page after a full one starts: just below Kraken's `last`, so fills sharing the final row's
 * instant come again; without `last` (seen rarely), just below the final row's earliest instant.
 */
function nextPageSince(page: TradesPageWithBody): bigint | undefined {
  if (page.last !== undefined) return BigInt(page.last) > 0n ? BigInt(page.last) - 1n : 0n;
  const final = page.trades[page.trades.length - 1];
  return final ? BigInt(resumeSince(final)) : undefined;
}
