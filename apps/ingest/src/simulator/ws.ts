/**
 * The simulator's WS v2 endpoint (`/v2`): status on connect, subscribe/unsubscribe acks one per symbol,
 * ping/pong, heartbeats when idle, trade, ticker and book snapshots and updates (book updates rendered
 * per depth by the book market), and the subscription errors Kraken gives (`Currency pair not supported
 * XBT/USD`). Faults: abrupt drops, silent stalls, malformed frames, unanswered book requests.
 */
import type { ServerWebSocket } from "bun";
import type { FaultInjector } from "./faults.ts";
import { type PairFormat, unitsToDecimal, wsTime, wsTradeFrame } from "./formats.ts";
import { malformedWsFrame } from "./malformed.ts";
import type { TapeTrade } from "./tape.ts";
import type { TickerStats } from "./ticker-stats.ts";

/** Sub-millisecond epoch time, comparable across threads and processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface WsConnection {
  readonly id: number;
  readonly trade: Set<string>;
  readonly ticker: Set<string>;
  /** Book subscriptions: symbol → depth. */
  readonly book: Map<string, number>;
  heartbeat: boolean;
  stalledUntil: number;
  lastSentMs: number;
}

export interface WsHubContext {
  readonly faults: FaultInjector;
  /** Is this a WS v2 symbol Kraken lists? (catalog) */
  readonly isListedSymbol: (symbol: string) => boolean;
  readonly formatFor: (symbol: string) => PairFormat | undefined;
  readonly latestTrades: (symbol: string, count: number) => readonly TapeTrade[];
  readonly tickerStats: (symbol: string) => TickerStats | undefined;
  readonly markSent: (symbol: string, trades: readonly TapeTrade[], atMs: number) => void;
  /** Recorded frames to replay on subscribe (fixture mode), by channel and symbol. */
  readonly recordedFrames?: (channel: string, symbol: string) => readonly string[];
  readonly statusFrame: (connectionId: string) => string;
  readonly nowNs: () => bigint;
  readonly snapshotTrades: number;
  /** The book snapshot frame of `symbol` at `depth` (synthetic mode), or undefined when there is no book. */
  readonly bookSnapshot?: (symbol: string, depth: number) => string | undefined;
}

const BOOK_DEPTHS = new Set([10, 25, 100, 500, 1000]);

type Ws = ServerWebSocket<WsConnection>;

export class WsHub {
  private readonly conns = new Set<Ws>();
  private nextId = 1;
  private connectionSerial = 18125794168470749634n;
  private tradesSinceDrop = 0;
  private readonly lastTickerMs = new Map<string, number>();
  private readonly drainWaiters = new Map<Ws, () => void>();
  connectionsOpened = 0;

  constructor(private readonly ctx: WsHubContext) {}

  newConnection(): WsConnection {
    return {
      id: this.nextId++,
      trade: new Set(),
      ticker: new Set(),
      book: new Map(),
      heartbeat: false,
      stalledUntil: 0,
      lastSentMs: 0,
    };
  }

  get openConnections(): number {
    return this.conns.size;
  }

  open(ws: Ws): void {
    this.conns.add(ws);
    this.connectionsOpened++;
    this.connectionSerial += 7919n;
    // connection_id is a u64 above 2^53, as on Kraken.
    this.send(ws, this.ctx.statusFrame(this.connectionSerial.toString()));
  }

  close(ws: Ws): void {
    this.conns.delete(ws);
    this.drain(ws);
  }

  message(ws: Ws, raw: string | Buffer): void {
    const timeIn = wsTime(this.ctx.nowNs());
    const text = typeof raw === "string" ? raw : raw.toString("utf8");
    let req: { method?: unknown; params?: unknown; req_id?: unknown };
    try {
      req = JSON.parse(text);
    } catch {
      this.send(ws, this.error("Malformed request", "", undefined, timeIn));
      return;
    }
    const reqId = typeof req.req_id === "number" ? req.req_id : undefined;
    const method = typeof req.method === "string" ? req.method : "";
    if (method === "ping") {
      if (req.params !== undefined) {
        this.send(
          ws,
          this.error("Unsupported field: 'params' for the given msg type: ping", "ping", reqId ?? 0, timeIn),
        );
        return;
      }
      const id = reqId === undefined ? "" : `"req_id":${reqId},`;
      this.send(ws, `{"method":"pong",${id}"time_in":"${timeIn}","time_out":"${wsTime(this.ctx.nowNs())}"}`);
      return;
    }
    if (method !== "subscribe" && method !== "unsubscribe") {
      this.send(ws, this.error("Unsupported event", method, reqId ?? 0, timeIn));
      return;
    }
    const params = req.params as { channel?: unknown; symbol?: unknown; snapshot?: unknown } | undefined;
    const channel = typeof params?.channel === "string" ? params.channel : undefined;
    if (!channel) {
      this.send(ws, this.error("Missing channel", method, reqId ?? 0, timeIn));
      return;
    }
    if (channel === "heartbeat") {
      ws.data.heartbeat = method === "subscribe";
      this.send(ws, this.ack(method, reqId, `{"channel":"heartbeat"}`, timeIn));
      return;
    }
    if (channel === "book") {
      this.bookRequest(ws, method, params, reqId, timeIn);
      return;
    }
    if (channel !== "trade" && channel !== "ticker") {
      this.send(ws, this.error(`Channel ${channel} is not simulated`, method, reqId, timeIn));
      return;
    }
    const symbols = Array.isArray(params?.symbol) ? params.symbol : undefined;
    if (!symbols || symbols.length === 0 || symbols.some((s) => typeof s !== "string")) {
      this.send(ws, this.error("Missing or invalid field: symbol", method, reqId, timeIn));
      return;
    }
    const snapshot = params?.snapshot !== false;
    for (const symbol of symbols as string[]) {
      if (!this.ctx.isListedSymbol(symbol)) {
        const id = reqId === undefined ? "" : `"req_id":${reqId},`;
        this.send(
          ws,
          `{"error":"Currency pair not supported ${symbol}","method":"${method}",${id}"success":false,"symbol":${JSON.stringify(symbol)},"time_in":"${timeIn}","time_out":"${wsTime(this.ctx.nowNs())}"}`,
        );
        continue;
      }
      const subs = channel === "trade" ? ws.data.trade : ws.data.ticker;
      const trigger = channel === "ticker" ? `"event_trigger":"trades",` : "";
      const result = `{"channel":"${channel}",${trigger}"snapshot":${snapshot},"symbol":${JSON.stringify(symbol)}}`;
      if (method === "unsubscribe") {
        subs.delete(symbol);
        this.send(ws, this.ack(method, reqId, result, timeIn));
        continue;
      }
      subs.add(symbol);
      this.send(ws, this.ack(method, reqId, result, timeIn));
      if (snapshot) this.sendSnapshot(ws, channel, symbol);
    }
  }

  private bookRequest(
    ws: Ws,
    method: "subscribe" | "unsubscribe",
    params: { symbol?: unknown; snapshot?: unknown; depth?: unknown } | undefined,
    reqId: number | undefined,
    timeIn: string,
  ): void {
    const depth = params?.depth === undefined ? 10 : params.depth;
    if (typeof depth !== "number" || !BOOK_DEPTHS.has(depth)) {
      this.send(ws, this.error(`Unsupported depth ${JSON.stringify(depth)}`, method, reqId, timeIn));
      return;
    }
    const symbols = this.symbolsOf(ws, method, params, reqId, timeIn);
    if (!symbols) return;
    const snapshot = params?.snapshot !== false;
    for (const symbol of symbols) {
      if (this.ctx.faults.ignoresBookRequest(method, ws.data.book.has(symbol))) continue;
      const result = `{"channel":"book","depth":${depth},"snapshot":${snapshot},"symbol":${JSON.stringify(symbol)}}`;
      if (method === "unsubscribe") ws.data.book.delete(symbol);
      else ws.data.book.set(symbol, depth);
      this.send(ws, this.ack(method, reqId, result, timeIn));
      if (method === "subscribe" && snapshot) {
        const recorded = this.ctx.recordedFrames?.("book", symbol);
        if (recorded) for (const frame of recorded) this.send(ws, frame);
        else {
          const frame = this.ctx.bookSnapshot?.(symbol, depth);
          if (frame) this.send(ws, frame);
        }
      }
    }
  }

  /** The listed symbols of a request; answers Kraken's errors for a missing list or unlisted symbols. */
  private symbolsOf(
    ws: Ws,
    method: string,
    params: { symbol?: unknown } | undefined,
    reqId: number | undefined,
    timeIn: string,
  ): string[] | undefined {
    const symbols = Array.isArray(params?.symbol) ? params.symbol : undefined;
    if (!symbols || symbols.length === 0 || symbols.some((s) => typeof s !== "string")) {
      this.send(ws, this.error("Missing or invalid field: symbol", method, reqId, timeIn));
      return undefined;
    }
    return (symbols as string[]).filter((symbol) => {
      if (this.ctx.isListedSymbol(symbol)) return true;
      const id = reqId === undefined ? "" : `"req_id":${reqId},`;
      this.send(
        ws,
        `{"error":"Currency pair not supported ${symbol}","method":"${method}",${id}"success":false,"symbol":${JSON.stringify(symbol)},"time_in":"${timeIn}","time_out":"${wsTime(this.ctx.nowNs())}"}`,
      );
      return false;
    });
  }

  /** Deepest book depth subscribed for `symbol` on any connection (0: none). */
  bookDepthNeeded(symbol: string): number {
    let depth = 0;
    for (const ws of this.conns) depth = Math.max(depth, ws.data.book.get(symbol) ?? 0);
    return depth;
  }

  /** Connections subscribed to the book of `symbol` at `depth`. */
  bookSubscribers(symbol: string, depth: number): Ws[] {
    return [...this.conns].filter((ws) => ws.data.book.get(symbol) === depth);
  }

  /** Sends `text`; if the socket pushes back (queued over its buffer), resolves once drained. False: dropped. */
  sendPaced(ws: Ws, text: string): boolean | Promise<boolean> {
    const status = ws.send(text);
    ws.data.lastSentMs = Date.now();
    if (status !== -1) return status > 0 || text.length === 0;
    return new Promise((resolve) => this.drainWaiters.set(ws, () => resolve(this.conns.has(ws))));
  }

  /** Bun's `drain` event (or the close): a paced send waiting on this socket goes on. */
  drain(ws: Ws): void {
    const resume = this.drainWaiters.get(ws);
    this.drainWaiters.delete(ws);
    resume?.();
  }

  /** Sends every book subscriber of `symbol` the update its depth needs (rendered once per depth); true if any was sent. */
  broadcastBook(symbol: string, frameFor: (depth: number) => string | undefined): boolean {
    const frames = new Map<number, string | undefined>();
    let sent = false;
    for (const ws of this.conns) {
      const depth = ws.data.book.get(symbol);
      if (depth === undefined) continue;
      if (!frames.has(depth)) frames.set(depth, frameFor(depth));
      const frame = frames.get(depth);
      if (frame && this.send(ws, frame)) sent = true;
    }
    return sent;
  }

  private sendSnapshot(ws: Ws, channel: "trade" | "ticker", symbol: string): void {
    const recorded = this.ctx.recordedFrames?.(channel, symbol);
    if (recorded) {
      for (const frame of recorded) this.send(ws, frame);
      return;
    }
    const format = this.ctx.formatFor(symbol);
    if (channel === "trade") {
      const trades = format ? this.ctx.latestTrades(symbol, this.ctx.snapshotTrades) : [];
      if (format) {
        if (this.send(ws, wsTradeFrame("snapshot", trades, format))) {
          this.ctx.markSent(symbol, trades, epochMs());
        }
      } else {
        this.send(ws, `{"channel":"trade","type":"snapshot","data":[]}`);
      }
      return;
    }
    const frame = this.tickerFrame("snapshot", symbol);
    if (frame) this.send(ws, frame);
  }

  /** Sends one taker order's fills to every subscriber (one frame, like Kraken). */
  broadcastTrades(symbol: string, trades: readonly TapeTrade[]): void {
    const format = this.ctx.formatFor(symbol);
    if (!format || trades.length === 0) return;
    const frame = wsTradeFrame("update", trades, format);
    const nowMs = epochMs();
    let sent = false;
    for (const ws of this.conns) {
      if (!ws.data.trade.has(symbol)) continue;
      if (this.send(ws, frame)) {
        sent = true;
        if (this.ctx.faults.wantMalformedWs()) {
          const bad = malformedWsFrame(this.ctx.faults.rng, symbol);
          if (this.send(ws, bad)) this.ctx.faults.sentMalformed("ws", bad);
        }
      }
    }
    if (sent) this.ctx.markSent(symbol, trades, nowMs);
    const tickerDue = nowMs - (this.lastTickerMs.get(symbol) ?? 0) >= 1000;
    if (tickerDue) {
      this.lastTickerMs.set(symbol, nowMs);
      const tickerFrame = this.tickerFrame("update", symbol);
      if (tickerFrame)
        for (const ws of this.conns) if (ws.data.ticker.has(symbol)) this.send(ws, tickerFrame);
    }
    const dropEvery = this.ctx.faults.plan.wsDropEveryTrades;
    this.tradesSinceDrop += trades.length;
    if (dropEvery > 0 && this.tradesSinceDrop >= dropEvery) {
      this.tradesSinceDrop = 0;
      this.dropAll();
    }
  }

  /** `{"channel":"heartbeat"}` on every subscribed connection that has been idle for `idleMs`. */
  heartbeat(idleMs: number): void {
    const now = Date.now();
    for (const ws of this.conns) {
      const subscribed =
        ws.data.trade.size + ws.data.ticker.size + ws.data.book.size > 0 || ws.data.heartbeat;
      if (subscribed && now - ws.data.lastSentMs >= idleMs) this.send(ws, `{"channel":"heartbeat"}`);
    }
  }

  /** Drops every connection abruptly (no close frame), as a network failure would. */
  dropAll(): number {
    const n = this.conns.size;
    for (const ws of [...this.conns]) {
      this.conns.delete(ws);
      ws.terminate();
    }
    if (n > 0) this.ctx.faults.counts.wsDrops++;
    return n;
  }

  /**
   * Every connection goes silent for `ms` (no data, no heartbeats) and is then cut, as a dead link would
   * be: what was not sent meanwhile is lost for that connection, and it never silently resumes.
   */
  stallAll(ms: number): number {
    const until = Date.now() + ms;
    const stalled = [...this.conns];
    for (const ws of stalled) ws.data.stalledUntil = until;
    if (stalled.length > 0) {
      this.ctx.faults.counts.wsStalls++;
      setTimeout(() => {
        for (const ws of stalled) {
          if (this.conns.delete(ws)) ws.terminate();
        }
      }, ms);
    }
    return stalled.length;
  }

  closeAll(): void {
    for (const ws of [...this.conns]) ws.close(1001, "simulator stopping");
    this.conns.clear();
  }

  private send(ws: Ws, text: string): boolean {
    const now = Date.now();
    if (ws.data.stalledUntil > now) return false;
    const status = ws.send(text);
    // 0 means "dropped", except for an empty frame: zero bytes of payload were sent, yet it is delivered.
    if (status === 0 && text.length > 0) return false;
    ws.data.lastSentMs = now;
    return true;
  }

  private ack(method: string, reqId: number | undefined, result: string, timeIn: string): string {
    const id = reqId === undefined ? "" : `"req_id":${reqId},`;
    return `{"method":"${method}",${id}"result":${result},"success":true,"time_in":"${timeIn}","time_out":"${wsTime(this.ctx.nowNs())}"}`;
  }

  private error(message: string, method: string, reqId: number | undefined, timeIn: string): string {
    const id = reqId === undefined ? "" : `"req_id":${reqId},`;
    return `{"error":${JSON.stringify(message)},"method":${JSON.stringify(method)},${id}"success":false,"time_in":"${timeIn}","time_out":"${wsTime(this.ctx.nowNs())}"}`;
  }

  /** The 2024 recorded ticker shape (no `timestamp`/`trades`). */
  private tickerFrame(type: "snapshot" | "update", symbol: string): string | undefined {
    const format = this.ctx.formatFor(symbol);
    const stats = this.ctx.tickerStats(symbol);
    if (!format || !stats || stats.last === undefined) return undefined;
    const p = (u: bigint) => unitsToDecimal(u, format.priceDecimals);
    const q = (u: bigint) => unitsToDecimal(u, format.lotDecimals);
    const last = stats.last;
    const bps = stats.changeBasisPoints();
    const item = `{"symbol":${JSON.stringify(symbol)},"bid":${p(last - 1n)},"bid_qty":${q(stats.lastQty)},"ask":${p(last + 1n)},"ask_qty":${q(stats.lastQty * 2n)},"last":${p(last)},"volume":${q(stats.volumeUnits)},"vwap":${p(stats.vwap())},"low":${p(stats.low ?? last)},"high":${p(stats.high ?? last)},"change":${p(last - (stats.first ?? last))},"change_pct":${unitsToDecimal(bps, 2)}}`;
    return `{"channel":"ticker","type":"${type}","data":[${item}]}`;
  }
}
