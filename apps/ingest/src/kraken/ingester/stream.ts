/**
 * Stream mode: WS v2 `trade` (with its snapshot), `ticker` and optionally `book` for the configured symbols. After every
 * (re)connect the first live trade of a symbol shows the gap, and the sequencer fills it from REST Trades
 * before passing live trades on; a symbol with no live trade within `resyncAfterMs` is caught up from
 * REST anyway. Unreadable frames go to the dead-letter topic with the reason.
 */

import type { BackoffPolicy } from "@tributary/shared/backoff";
import type { BookDepth } from "@tributary/shared/contracts/book";
import type { Logger } from "@tributary/shared/log";
import type { IngestMetrics } from "../../metrics/ingest-metrics.ts";
import type { IngestProducer } from "../../producer/ingest-producer.ts";
import { BOOK_REQ_ID, BookFeed } from "../book/book-feed.ts";
import { KrakenConfigError } from "../errors.ts";
import type { LosslessValue } from "../lossless-json.ts";
import { MappingError } from "../mappers/mapping.ts";
import type { SequencedTrade } from "../mappers/trade.ts";
import { fastWsBook } from "../mappers/ws-book-fast.ts";
import { classifyWsFrame, type WsFrame } from "../mappers/ws-frame.ts";
import { mapWsTickers } from "../mappers/ws-ticker.ts";
import { mapWsTrades } from "../mappers/ws-trade.ts";
import { fastWsTrades } from "../mappers/ws-trade-fast.ts";
import type { PairRegistry } from "../pairs.ts";
import { krakenWsEvents } from "../ws/client.ts";
import type { TradeSequencer } from "./sequencer.ts";

export interface StreamOptions {
  readonly url: string;
  readonly symbols: readonly string[];
  readonly registry: PairRegistry;
  readonly sequencer: TradeSequencer;
  readonly producer: IngestProducer;
  readonly metrics: IngestMetrics;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly ws?: {
    readonly staleMs?: number;
    readonly backoff?: BackoffPolicy;
    readonly queueCapacity?: number;
  };
  /** After a (re)connect, symbols with no live trade for this long are caught up from REST (default 3 s). */
  readonly resyncAfterMs?: number;
  /** Also the level-2 book at this depth (→ the producer's book topic). */
  readonly bookDepth?: BookDepth;
}

const SOURCE = "kraken.ws";

/** Symbols not yet seen live since the last (re)connect, and when it happened. */
interface StreamState {
  resync: { readonly at: number; readonly symbols: Set<string> } | undefined;
  readonly book: BookFeed | undefined;
}

export async function runStream(o: StreamOptions): Promise<void> {
  const { metrics, log, sequencer } = o;
  const subscriptions: object[] = [
    { method: "subscribe", params: { channel: "trade", symbol: o.symbols, snapshot: true }, req_id: 1 },
    { method: "subscribe", params: { channel: "ticker", symbol: o.symbols }, req_id: 2 },
  ];
  const book =
    o.bookDepth === undefined
      ? undefined
      : new BookFeed({
          symbols: o.symbols,
          depth: o.bookDepth,
          registry: o.registry,
          producer: o.producer,
          metrics,
          log: log.child("book"),
          send: (request) => events.send(request),
        });
  if (book) subscriptions.push(book.subscription());
  const events = krakenWsEvents({
    url: o.url,
    subscriptions,
    signal: o.signal,
    ...(o.ws?.staleMs === undefined ? {} : { staleMs: o.ws.staleMs }),
    ...(o.ws?.backoff === undefined ? {} : { backoff: o.ws.backoff }),
    ...(o.ws?.queueCapacity === undefined ? {} : { queueCapacity: o.ws.queueCapacity }),
  });
  const state: StreamState = { resync: undefined, book };
  let opened = 0;
  let lastLoss = "";
  let dropped = 0;
  try {
    for await (const ev of events) {
      if (events.droppedFrames > dropped) {
        metrics.wsOverflow.inc(events.droppedFrames - dropped);
        log.warn("WebSocket frames dropped by the bounded queue; REST will fill the gap", {
          dropped: events.droppedFrames - dropped,
        });
        dropped = events.droppedFrames;
      }
      switch (ev.kind) {
        case "open":
          metrics.wsConnected = true;
          metrics.wsDisconnectedSinceMs = undefined;
          if (opened++ > 0)
            metrics.reconnects.inc({ reason: lastLoss.startsWith("silent") ? "stale" : "closed" });
          log.info("WebSocket connected", { connection: ev.connection });
          // The first live trade of each symbol (the subscription snapshot) shows how far behind we are and
          // the sequencer fills that range from REST; symbols that stay quiet are caught up after a while.
          state.resync = { at: Date.now(), symbols: new Set(o.symbols) };
          book?.onOpen();
          break;
        case "closed":
          metrics.wsConnected = false;
          metrics.wsDisconnectedSinceMs ??= Date.now();
          lastLoss = ev.reason;
          book?.onClose();
          log.warn("WebSocket lost; reconnecting", {
            connection: ev.connection,
            reason: ev.reason,
            retryInMs: ev.retryInMs,
          });
          break;
        case "frame":
          await onFrame(o, state, ev.text, ev.receivedAt);
          break;
      }
      book?.tick();
      const resync = state.resync;
      if (resync && (resync.symbols.size === 0 || Date.now() - resync.at >= (o.resyncAfterMs ?? 3_000))) {
        state.resync = undefined;
        for (const symbol of resync.symbols) await sequencer.backfill(symbol);
      }
    }
  } finally {
    await events.return?.(undefined);
  }
}

async function onFrame(
  o: StreamOptions,
  state: StreamState,
  text: string,
  receivedAt: string,
): Promise<void> {
  const fast = fastWsTrades(text, o.registry, receivedAt);
  if (fast) return passOn(o, state, fast);
  const book = state.book && fastWsBook(text, o.registry);
  if (state.book && book) return state.book.onItems(book.type, book.items, receivedAt);
  let frame: WsFrame;
  try {
    frame = classifyWsFrame(text);
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    await o.producer.enqueueDeadLetter("trades", text, err.message, SOURCE);
    return;
  }
  switch (frame.kind) {
    case "heartbeat":
    case "pong":
      return;
    case "status":
      o.metrics.systemStatus = frame.system;
      if (frame.system !== "online") o.log.warn("Kraken system status", { system: frame.system });
      else o.log.debug("Kraken status", { version: frame.version, connectionId: frame.connectionId });
      return;
    case "ack":
      o.log.debug("subscribed", { channel: frame.channel, symbol: frame.symbol });
      return;
    case "request_error":
      // Unsubscribing a book before resubscribing it may find nothing to unsubscribe: not a config error.
      if (frame.method === "unsubscribe" && frame.reqId === BOOK_REQ_ID) {
        o.log.debug("book unsubscribe refused", { symbol: frame.symbol, error: frame.error });
        return;
      }
      if (frame.method === "subscribe" || frame.method === "unsubscribe") {
        throw new KrakenConfigError(
          `Kraken refused to ${frame.method}${frame.symbol ? ` ${frame.symbol}` : ""}: ${frame.error}; check KRAKEN_SYMBOLS or --symbols (WS v2 names such as BTC/USD)`,
        );
      }
      o.log.warn("Kraken request error", { method: frame.method, error: frame.error });
      return;
    case "data":
      if (frame.channel === "trade") return onTrades(o, state, text, frame.data, receivedAt);
      if (frame.channel === "ticker") return onTickers(o, text, frame.data, receivedAt);
      if (frame.channel === "book" && state.book)
        return state.book.onData(text, frame.type, frame.data, receivedAt);
      await o.producer.enqueueDeadLetter(
        "trades",
        text,
        `unexpected channel ${frame.channel}: never subscribed`,
        SOURCE,
      );
      return;
  }
}

async function onTrades(
  o: StreamOptions,
  state: StreamState,
  text: string,
  data: LosslessValue,
  receivedAt: string,
): Promise<void> {
  let mapped: ReturnType<typeof mapWsTrades>;
  try {
    mapped = mapWsTrades(data, o.registry, receivedAt);
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    await o.producer.enqueueDeadLetter("trades", text, err.message, SOURCE);
    return;
  }
  if (mapped.rejections.length) {
    await o.producer.enqueueDeadLetter(
      "trades",
      text,
      mapped.rejections.map((r) => r.reason).join("; "),
      SOURCE,
    );
  }
  await passOn(o, state, mapped.records);
}

/** Hands live trades to the sequencer, grouped by symbol in frame order. */
async function passOn(
  o: StreamOptions,
  state: StreamState,
  trades: readonly SequencedTrade[],
): Promise<void> {
  if (trades.length === 0) return;
  const first = trades[0] as SequencedTrade;
  if (trades.every((t) => t.message.symbol === first.message.symbol)) {
    state.resync?.symbols.delete(first.message.symbol);
    await o.sequencer.onLiveTrades(first.message.symbol, trades);
    return;
  }
  const bySymbol = new Map<string, SequencedTrade[]>();
  for (const t of trades) {
    const list = bySymbol.get(t.message.symbol);
    if (list) list.push(t);
    else bySymbol.set(t.message.symbol, [t]);
  }
  for (const [symbol, trades] of bySymbol) {
    state.resync?.symbols.delete(symbol);
    await o.sequencer.onLiveTrades(symbol, trades);
  }
}

async function onTickers(
  o: StreamOptions,
  text: string,
  data: LosslessValue,
  receivedAt: string,
): Promise<void> {
  let mapped: ReturnType<typeof mapWsTickers>;
  try {
    mapped = mapWsTickers(data, o.registry, receivedAt);
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    await o.producer.enqueueDeadLetter("ticker", text, err.message, SOURCE);
    return;
  }
  if (mapped.rejections.length) {
    await o.producer.enqueueDeadLetter(
      "ticker",
      text,
      mapped.rejections.map((r) => r.reason).join("; "),
      SOURCE,
    );
  }
  for (const t of mapped.records) await o.producer.enqueueTicker(t);
}
