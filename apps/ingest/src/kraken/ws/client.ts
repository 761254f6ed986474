/**
 * Kraken WS v2 connection as an async iterator of events. It subscribes on every (re)connect, treats a
 * connection with no message for `staleMs` as dead (Kraken's guidance: a deadline timer, not TCP close
 * events), sends an application ping when idle, and reconnects with capped exponential backoff and
 * jitter. Frames are buffered in a bounded queue; control events are never dropped.
 */

import { Backoff, type BackoffPolicy } from "@tributary/shared/backoff";
import { nowRfc3339 } from "@tributary/shared/time";
import { BoundedQueue } from "../bounded-queue.ts";

export type WsEvent =
  | { readonly kind: "open"; readonly connection: number }
  | {
      readonly kind: "frame";
      readonly connection: number;
      readonly text: string;
      readonly receivedAt: string;
    }
  | {
      readonly kind: "closed";
      readonly connection: number;
      readonly reason: string;
      readonly retryInMs: number;
    };

export interface KrakenWsOptions {
  readonly url: string;
  /** Request objects sent (JSON) after every open, e.g. trade and ticker subscriptions. */
  readonly subscriptions: readonly object[];
  /** No message for this long means the connection is dead (Kraken suggests 5 s; heartbeats come every ~1 s). */
  readonly staleMs?: number;
  /** Send `{"method":"ping"}` after this much silence. */
  readonly pingAfterMs?: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Frames buffered before new ones are dropped (and recovered through the trade_id check). */
  readonly queueCapacity?: number;
  readonly signal?: AbortSignal;
}

const DEFAULTS = {
  staleMs: 5_000,
  connectTimeoutMs: 10_000,
  backoff: { initialMs: 250, maxMs: 30_000 } satisfies BackoffPolicy,
  queueCapacity: 50_000,
};

class KrakenWsConnection {
  readonly queue: BoundedQueue<WsEvent>;
  private socket: WebSocket | undefined;
  private serial = 0;
  private lastMessageMs = 0;
  private openedMs = 0;
  private pinged = false;
  private gotMessage = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff: Backoff;
  private stopped = false;
  private pingId = 1_000_000;

  constructor(private readonly opts: KrakenWsOptions) {
    this.queue = new BoundedQueue(opts.queueCapacity ?? DEFAULTS.queueCapacity);
    this.backoff = new Backoff(opts.backoff ?? DEFAULTS.backoff);
    opts.signal?.addEventListener("abort", () => this.stop(), { once: true });
  }

  get droppedFrames(): number {
    return this.queue.dropped;
  }

  /** Sends a request on the open connection (false when none is open: the next open subscribes anyway). */
  send(request: object): boolean {
    const ws = this.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(request));
    return true;
  }

  start(): void {
    if (this.opts.signal?.aborted) {
      this.stop();
      return;
    }
    const staleMs = this.opts.staleMs ?? DEFAULTS.staleMs;
    this.watchdog = setInterval(() => this.check(), Math.max(20, Math.floor(staleMs / 5)));
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const id = ++this.serial;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url);
    } catch (err) {
      this.lost(id, `cannot open ${this.opts.url}: ${(err as Error).message}`);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.socket = ws;
    this.openedMs = Date.now();
    this.lastMessageMs = this.openedMs;
    this.pinged = false;
    this.gotMessage = false;
    ws.onopen = () => {
      if (this.socket !== ws) return;
      this.queue.push({ kind: "open", connection: id }, true);
      for (const s of this.opts.subscriptions) ws.send(JSON.stringify(s));
    };
    ws.onmessage = (e: MessageEvent) => {
      if (this.socket !== ws) return;
      this.lastMessageMs = Date.now();
      this.pinged = false;
      if (!this.gotMessage) {
        this.gotMessage = true;
        this.backoff.reset();
      }
      const text = typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer).toString("utf8");
      this.queue.push({ kind: "frame", connection: id, text, receivedAt: nowRfc3339() });
    };
    ws.onclose = (e: CloseEvent) =>
      this.lost(id, `closed by peer (code ${e.code}${e.reason ? `, ${e.reason}` : ""})`);
    ws.onerror = () => this.lost(id, "socket error");
  }

  private check(): void {
    const ws = this.socket;
    if (!ws || this.stopped) return;
    const now = Date.now();
    const staleMs = this.opts.staleMs ?? DEFAULTS.staleMs;
    if (ws.readyState === WebSocket.CONNECTING) {
      if (now - this.openedMs > (this.opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs)) {
        this.lost(this.serial, "connect timeout");
      }
      return;
    }
    const silent = now - this.lastMessageMs;
    if (silent > staleMs) {
      this.lost(this.serial, `silent for ${silent} ms`);
      return;
    }
    const pingAfter = this.opts.pingAfterMs ?? Math.floor(staleMs / 2);
    if (!this.pinged && silent > pingAfter && ws.readyState === WebSocket.OPEN) {
      this.pinged = true;
      ws.send(JSON.stringify({ method: "ping", req_id: this.pingId++ }));
    }
  }

  /** Forgets the socket, tells the consumer, and schedules a reconnect. */
  private lost(id: number, reason: string): void {
    if (id !== this.serial || this.stopped) return;
    const ws = this.socket;
    this.socket = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
    const retryInMs = this.backoff.next();
    this.queue.push({ kind: "closed", connection: id, reason, retryInMs }, true);
    this.reconnectTimer = setTimeout(() => this.connect(), retryInMs);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const ws = this.socket;
    this.socket = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, "client stopping");
      } catch {
        // already closed
      }
    }
    this.queue.close();
  }
}

export interface KrakenWsStream extends AsyncIterableIterator<WsEvent> {
  /** Frames dropped by the bounded queue so far. */
  readonly droppedFrames: number;
  /** Sends a request on the open connection, e.g. a resubscription; false when none is open. */
  send(request: object): boolean;
}

/** Connects (and keeps reconnecting) until the iterator is returned or `signal` aborts; the socket closes in `finally`. */
export function krakenWsEvents(opts: KrakenWsOptions): KrakenWsStream {
  const conn = new KrakenWsConnection(opts);
  conn.start();
  async function* events(): AsyncGenerator<WsEvent> {
    try {
      yield* conn.queue;
    } finally {
      conn.stop();
    }
  }
  const it = events();
  Object.defineProperty(it, "droppedFrames", { get: () => conn.droppedFrames });
  Object.defineProperty(it, "send", { value: (request: object) => conn.send(request) });
  return it as unknown as KrakenWsStream;
}
