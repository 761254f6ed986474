/**
 * (Over 400 lines: the composition root of the simulator's parts; each part lives in its own module.)
 * The Kraken simulator: REST (`/0/public/*`) and WS v2 (`/v2`) on localhost in Kraken's exact formats,
 * driven by the recorded fixtures and a seeded synthetic market, with fault injection and the ground
 * truth of every trade it emitted (in-process, and as NDJSON under `/_sim/truth`).
 */

import type { BookLevel } from "@tributary/shared/contracts/book";
import { formatMicros } from "@tributary/shared/time";
import type { Server } from "bun";
import { corruptOneLevel, type Level, viewUpdate, wsBookFrame } from "./book.ts";
import { BookBurst, type BookBurstOptions } from "./book-burst.ts";
import { BookMarket } from "./book-market.ts";
import { PairCatalog } from "./catalog.ts";
import { MarketClock } from "./clock.ts";
import { FaultInjector, type FaultPlan } from "./faults.ts";
import {
  DEFAULT_FIXTURES_DIR,
  loadBookCapture,
  loadRestFixtures,
  loadWsV2Fixtures,
  type RestFixture,
  type WsFixture,
} from "./fixtures.ts";
import { type PairFormat, unitsToDecimal } from "./formats.ts";
import { DEFAULT_SYMBOLS, type SweepProfile, SyntheticMarket, type SyntheticSymbol } from "./market.ts";
import { type OhlcFaultField, ohlcFaultPicker } from "./ohlc.ts";
import { RestEndpoints } from "./rest.ts";
import type { TapeTrade } from "./tape.ts";
import { TickerStats } from "./ticker-stats.ts";
import { epochMs, type WsConnection, WsHub } from "./ws.ts";

export interface SimulatorOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  readonly hostname?: string;
  /** `synthetic` (default): the seeded market; `fixtures`: recorded bodies and frames replayed byte-exact. */
  readonly mode?: "synthetic" | "fixtures";
  readonly seed?: number;
  /** Added to the synthetic market's first trade_ids (see SyntheticMarket). */
  readonly tradeIdOffset?: number;
  /** Mean trades per second of market time, over all symbols. */
  readonly tradesPerSecond?: number;
  /** Market time at the opening (epoch ns); default: the wall clock when the market opens. */
  readonly startNs?: bigint;
  /** Market seconds per wall second (default 1); a market opened in the past never overtakes the wall clock. */
  readonly speed?: number;
  /** Sweep sizes (fills per taker order). */
  readonly sweeps?: Partial<SweepProfile>;
  /** Stop the market after this many trades in total. */
  readonly totalTrades?: number;
  readonly symbols?: readonly SyntheticSymbol[];
  readonly faults?: Partial<FaultPlan>;
  readonly fixturesDir?: string;
  /** Idle time after which a subscribed connection gets `{"channel":"heartbeat"}` (Kraken: about 1 s). */
  readonly heartbeatMs?: number;
  /** Market clock period. */
  readonly tickMs?: number;
  /** Upper bound of trades generated per clock tick (a slow machine lags instead of bursting). */
  readonly maxTradesPerTick?: number;
  /** Start the market clock at once (default) or wait for `startMarket()`. */
  readonly autoStart?: boolean;
  /** Trades in a WS trade snapshot (Kraken: 50). */
  readonly snapshotTrades?: number;
  /** Maker actions on the books per second of market time, over all symbols (default: `tradesPerSecond`). */
  readonly bookEventsPerSecond?: number;
  /** Levels kept per side of each book (default 1000, Kraken's deepest subscription). */
  readonly bookLevels?: number;
  /** Keep every book event so `bookAt()` can answer (tests; memory grows with the run). */
  readonly bookTruth?: boolean;
  /** Keep when each book update was sent, per symbol, so `bookSentAtMs()` can answer (benchmarks). */
  readonly bookSendTimes?: boolean;
  /**
   * Books served from a burst rendered at start instead of the live market: subscriptions get its
   * snapshots, and `sendBookBurst()` sends its updates back-to-back (benchmarks of the receiver).
   */
  readonly bookBurst?: BookBurstOptions;
}

/** One emitted trade in contract form (exact decimal strings, µs UTC), for comparisons with Kafka. */
export interface TruthTrade {
  readonly symbol: string;
  readonly trade_id: number;
  readonly price: string;
  readonly qty: string;
  readonly side: "buy" | "sell";
  readonly ord_type: "market" | "limit";
  readonly ts: string;
  /** The exact instant (ns, a decimal string): what REST's float and WS's µs are derived from. */
  readonly time_ns: string;
}

export interface SimulatorStats {
  readonly mode: "synthetic" | "fixtures";
  readonly trades: Readonly<Record<string, number>>;
  readonly totalTrades: number;
  readonly finished: boolean;
  readonly running: boolean;
  readonly wsConnectionsOpen: number;
  readonly wsConnectionsOpened: number;
  readonly restRequests: number;
  readonly faults: FaultInjector["counts"];
}

export class KrakenSimulator {
  private readonly market: SyntheticMarket;
  readonly clock: MarketClock;
  private readonly formats = new Map<string, PairFormat>();
  private readonly stats = new Map<string, TickerStats>();
  readonly faults: FaultInjector;
  private readonly hub: WsHub;
  private readonly rest: RestEndpoints;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private marketTimer: ReturnType<typeof setInterval> | undefined;
  private faultTimers: ReturnType<typeof setInterval>[] = [];
  private server: Server<WsConnection> | undefined;
  private finishWaiters: (() => void)[] = [];
  private readonly mode: "synthetic" | "fixtures";
  private readonly books: BookMarket;
  private readonly burst: BookBurst | undefined;
  /** Epoch ms of every book update sent, per symbol, in the order sent (with `bookSendTimes`). */
  private readonly bookSends = new Map<string, number[]>();
  /** Market time of the last clock tick: every order due by then has been generated. */
  private lastTickNs: bigint | undefined;

  private constructor(
    private readonly opts: SimulatorOptions,
    fixtures: readonly RestFixture[],
    wsFixtures: readonly WsFixture[],
    bookCapture: readonly string[],
  ) {
    this.mode = opts.mode ?? "synthetic";
    const seed = opts.seed ?? 42;
    const catalog = new PairCatalog(fixtures);
    const symbols = opts.symbols ?? DEFAULT_SYMBOLS;
    for (const s of symbols) {
      const listed = catalog.resolve(s.symbol);
      if (!listed || listed.priceDecimals !== s.priceDecimals || listed.lotDecimals !== s.lotDecimals) {
        throw new Error(`synthetic symbol ${s.symbol} disagrees with the recorded AssetPairs catalog`);
      }
      this.formats.set(s.symbol, {
        symbol: s.symbol,
        pairId: listed.pairId,
        priceDecimals: s.priceDecimals,
        lotDecimals: s.lotDecimals,
      });
      this.stats.set(s.symbol, new TickerStats());
    }
    this.clock = new MarketClock({
      ...(opts.startNs === undefined ? {} : { startNs: opts.startNs }),
      ...(opts.speed === undefined ? {} : { speed: opts.speed }),
    });
    const nowNs = () => this.clock.nowNs();
    this.market = new SyntheticMarket({
      seed,
      symbols,
      tradesPerSecond: opts.tradesPerSecond ?? 20,
      ...(opts.totalTrades === undefined ? {} : { totalTrades: opts.totalTrades }),
      ...(opts.sweeps === undefined ? {} : { sweeps: opts.sweeps }),
      startNs: opts.startNs ?? 0n,
      ...(opts.tradeIdOffset === undefined ? {} : { tradeIdOffset: opts.tradeIdOffset }),
    });
    this.faults = new FaultInjector(seed, opts.faults);
    const statusRecord = wsFixtures.find((f) => f.id === "status-2.0.10-bytex")?.msg;
    const recordedFrames =
      this.mode === "fixtures" ? recordedFramesBySymbol(wsFixtures, bookCapture) : undefined;
    this.hub = new WsHub({
      faults: this.faults,
      isListedSymbol: (symbol) => catalog.resolve(symbol)?.symbol === symbol,
      formatFor: (symbol) => this.formats.get(symbol),
      latestTrades: (symbol, count) => this.market.tape(symbol)?.latest(count) ?? [],
      tickerStats: (symbol) => this.stats.get(symbol),
      markSent: (symbol, trades, atMs) => {
        const tape = this.market.tape(symbol);
        if (tape) for (const t of trades) tape.markSent(t.tradeId, atMs);
      },
      ...(recordedFrames
        ? {
            recordedFrames: (channel: string, symbol: string) =>
              recordedFrames.get(`${channel} ${symbol}`) ?? [],
          }
        : {}),
      statusFrame: (id) =>
        this.mode === "fixtures" && statusRecord
          ? statusRecord
          : `{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online","api_version":"v2","connection_id":${id},"upcoming_maintenance":[],"emergency":[]}]}`,
      nowNs,
      snapshotTrades: opts.snapshotTrades ?? 50,
      bookSnapshot: (symbol, depth) => {
        if (this.burst) return this.burst.snapshot(symbol, depth);
        // Orders already generated are at or before the last tick: the books open there.
        this.books.open(
          this.lastTickNs ?? this.opts.startNs ?? this.clock.start ?? nowNs(),
          (s) => this.market.tape(s)?.latest(1)[0]?.priceUnits,
        );
        const book = this.books.book(symbol);
        const format = this.formats.get(symbol);
        if (!book || !format) return undefined;
        const at = book.lastEventNs > 0n ? book.lastEventNs : nowNs();
        return wsBookFrame(
          "snapshot",
          format,
          book.bids.top(depth),
          book.asks.top(depth),
          book.checksum(),
          at,
        );
      },
    });
    this.books = new BookMarket(
      {
        seed,
        symbols,
        makerEventsPerSecond: opts.bookEventsPerSecond ?? opts.tradesPerSecond ?? 20,
        ...(opts.bookLevels === undefined ? {} : { levels: opts.bookLevels }),
        ...(opts.bookTruth === undefined ? {} : { keepLog: opts.bookTruth }),
      },
      {
        depthNeeded: (symbol) => this.hub.bookDepthNeeded(symbol),
        onBookEvent: (symbol, event, before, book) => {
          const format = this.formats.get(symbol);
          if (!format || this.faults.withholdsBookUpdate()) return;
          const checksum = book.checksum();
          // Decided once per event, and only for an event some subscriber is actually sent.
          let corrupt: boolean | undefined;
          const sent = this.hub.broadcastBook(symbol, (depth) => {
            const update = viewUpdate(before, book, depth);
            if (update.bids.length + update.asks.length === 0) return undefined;
            // Only an update touching the checksum's window can carry the fault (see corruptOneLevel).
            const inWindow = (levels: readonly Level[], top: readonly Level[]) =>
              levels.some(([p]) => top.some(([t]) => t === p));
            if (
              corrupt === undefined &&
              (inWindow(update.bids, book.bids.top(10)) || inWindow(update.asks, book.asks.top(10)))
            )
              corrupt = this.faults.wantBookCorruption();
            if (corrupt) corruptOneLevel(update, book);
            return wsBookFrame("update", format, update.bids, update.asks, checksum, event.timeNs);
          });
          if (sent) this.markBookSent(symbol);
        },
      },
    );
    this.burst =
      opts.bookBurst && this.mode === "synthetic"
        ? BookBurst.render(
            { ...opts.bookBurst, seed, symbols },
            opts.startNs ?? BigInt(Date.now()) * 1_000_000n,
          )
        : undefined;
    this.rest = new RestEndpoints({
      mode: this.mode,
      catalog,
      fixtures,
      faults: this.faults,
      tape: (symbol) => this.market.tape(symbol),
      formatFor: (symbol) => this.formats.get(symbol),
      tickerStats: (symbol) => this.stats.get(symbol),
      nowNs,
      ohlcFault: (symbol) => ohlcFaultPicker(seed, symbol, this.faults.plan.ohlcMismatchRate),
    });
  }

  static async start(opts: SimulatorOptions = {}): Promise<KrakenSimulator> {
    const dir = opts.fixturesDir ?? DEFAULT_FIXTURES_DIR;
    const mode = opts.mode ?? "synthetic";
    const capture = mode === "fixtures" ? loadBookCapture(dir) : [];
    const sim = new KrakenSimulator(opts, loadRestFixtures(dir), loadWsV2Fixtures(dir), capture);
    sim.listen();
    if (opts.autoStart !== false && sim.mode === "synthetic") sim.startMarket();
    return sim;
  }

  private listen(): void {
    const hub = this.hub;
    this.server = Bun.serve<WsConnection>({
      hostname: this.opts.hostname ?? "127.0.0.1",
      port: this.opts.port ?? 0,
      fetch: (req, server) => {
        const url = new URL(req.url);
        if (url.pathname === "/v2") {
          if (server.upgrade(req, { data: hub.newConnection() })) return undefined;
          return new Response("expected a WebSocket upgrade", { status: 426 });
        }
        if (url.pathname.startsWith("/0/public/") && req.method === "GET") return this.rest.handle(url);
        if (url.pathname.startsWith("/_sim/")) return this.control(req, url);
        return new Response("not found", { status: 404 });
      },
      websocket: {
        open: (ws) => hub.open(ws),
        message: (ws, msg) => hub.message(ws, msg),
        close: (ws) => hub.close(ws),
        drain: (ws) => hub.drain(ws),
        perMessageDeflate: false,
        sendPings: false,
        idleTimeout: 0,
      },
    });
    const heartbeatMs = this.opts.heartbeatMs ?? 1000;
    this.timers.push(
      setInterval(() => hub.heartbeat(heartbeatMs), Math.max(10, Math.floor(heartbeatMs / 4))),
    );
    this.armFaultTimers();
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** REST base as Kraken spells it: `…/0`. */
  get restUrl(): string {
    return `${this.baseUrl}/0`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v2`;
  }

  get finished(): boolean {
    return this.market.finished;
  }

  /** Resolves when `totalTrades` have been emitted. */
  whenFinished(): Promise<void> {
    if (this.market.finished) return Promise.resolve();
    return new Promise((resolve) => this.finishWaiters.push(resolve));
  }

  startMarket(): void {
    if (this.marketTimer) return;
    if (!this.clock.opened) {
      this.clock.open();
      if (this.opts.startNs === undefined) this.market.openAt(this.clock.start ?? 0n);
    }
    const tickMs = this.opts.tickMs ?? 5;
    const maxPerTick = this.opts.maxTradesPerTick ?? 5000;
    this.marketTimer = setInterval(() => this.tick(maxPerTick), tickMs);
  }

  pauseMarket(): void {
    if (this.marketTimer) clearInterval(this.marketTimer);
    this.marketTimer = undefined;
  }

  private tick(maxPerTick: number): void {
    const nowNs = this.clock.nowNs();
    let trades = 0;
    let lastNs = this.lastTickNs;
    for (const event of this.market.advance(nowNs, maxPerTick)) {
      const stats = this.stats.get(event.symbol);
      if (stats) for (const t of event.trades) stats.add(t);
      this.hub.broadcastTrades(event.symbol, event.trades);
      this.books.onTrades(event.symbol, event.trades);
      trades += event.trades.length;
      lastNs = event.trades[0]?.timeNs ?? lastNs;
    }
    // A market lagging behind its clock has orders due before `nowNs` still to come: makers wait for them.
    const lagging = trades >= maxPerTick || this.market.finished;
    this.lastTickNs = lagging ? lastNs : nowNs;
    if (!lagging) this.books.advanceTo(nowNs);
    if (this.market.finished) {
      this.pauseMarket();
      for (const w of this.finishWaiters.splice(0)) w();
    }
  }

  setFaults(plan: Partial<FaultPlan>): void {
    this.faults.update(plan);
    this.armFaultTimers();
  }

  private armFaultTimers(): void {
    for (const t of this.faultTimers) clearInterval(t);
    this.faultTimers = [];
    const { wsDropEveryMs, wsStallEveryMs, wsStallMs } = this.faults.plan;
    if (wsDropEveryMs > 0) this.faultTimers.push(setInterval(() => this.hub.dropAll(), wsDropEveryMs));
    if (wsStallEveryMs > 0 && wsStallMs > 0) {
      this.faultTimers.push(setInterval(() => this.hub.stallAll(wsStallMs), wsStallEveryMs));
    }
  }

  /** Drops every WebSocket connection now; returns how many. */
  dropConnections(): number {
    return this.hub.dropAll();
  }

  /** Silences every WebSocket connection for `ms`. */
  stallConnections(ms: number): number {
    return this.hub.stallAll(ms);
  }

  /** The field Kraken's candle of `symbol` starting at `timeS` (unix s) gets wrong, if any. */
  ohlcFault(symbol: string, timeS: bigint): OhlcFaultField | undefined {
    return ohlcFaultPicker(this.opts.seed ?? 42, symbol, this.faults.plan.ohlcMismatchRate)(timeS);
  }

  symbols(): string[] {
    return [...this.formats.keys()];
  }

  /** The simulator's own book of `symbol` at `atMicros` (its top `depth` levels, exact decimals); needs `bookTruth`. */
  bookAt(
    symbol: string,
    atMicros: bigint,
    depth: number,
  ): { bids: BookLevel[]; asks: BookLevel[] } | undefined {
    const format = this.formats.get(symbol);
    const at = this.books.bookAt(symbol, atMicros, depth);
    if (!format || !at) return undefined;
    const render = (levels: readonly Level[]) =>
      levels.map(
        ([p, q]) => [unitsToDecimal(p, format.priceDecimals), unitsToDecimal(q, format.lotDecimals)] as const,
      );
    return { bids: render(at.bids), asks: render(at.asks) };
  }

  /**
   * Sends the rendered book burst (`bookBurst`) back-to-back once every symbol has a book subscriber
   * (waiting up to `subscribedWithinMs`); with `bookSendTimes`, each frame's send time is kept.
   */
  async sendBookBurst(subscribedWithinMs = 10_000): Promise<void> {
    const burst = this.burst;
    if (!burst) throw new Error("no book burst: start the simulator with `bookBurst`");
    const deadline = Date.now() + subscribedWithinMs;
    while (burst.symbols.some((s) => this.hub.bookSubscribers(s, burst.depth).length === 0)) {
      if (Date.now() > deadline) throw new Error("book burst: not every symbol's book was subscribed");
      await Bun.sleep(5);
    }
    await burst.send(this.hub, (symbol) => this.markBookSent(symbol));
  }

  private markBookSent(symbol: string): void {
    if (!this.opts.bookSendTimes) return;
    const times = this.bookSends.get(symbol) ?? [];
    times.push(epochMs());
    this.bookSends.set(symbol, times);
  }

  /** When each book update of `symbol` was sent (epoch ms, in order); needs `bookSendTimes`. */
  bookSentAtMs(symbol: string): readonly number[] {
    return this.bookSends.get(symbol) ?? [];
  }

  /** Corrupts the next book update sent (one level's qty off by one lot, checksum unchanged). */
  corruptNextBookUpdate(): void {
    this.faults.corruptNextBookUpdate();
  }

  /** Every trade emitted for `symbol`, in trade_id order, in contract form. */
  truth(symbol: string): TruthTrade[] {
    const tape = this.market.tape(symbol);
    const format = this.formats.get(symbol);
    if (!tape || !format) return [];
    return tape.all().map((t) => toTruth(t, format));
  }

  truthIds(symbol: string): number[] {
    return (this.market.tape(symbol)?.all() ?? []).map((t) => t.tradeId);
  }

  /** When a trade first left on a WebSocket (ms epoch), for latency measurements. */
  sentAtMs(symbol: string, tradeId: number): number | undefined {
    return this.market.tape(symbol)?.sentAtMs(tradeId);
  }

  snapshotStats(): SimulatorStats {
    const trades: Record<string, number> = {};
    for (const tape of this.market.tapes()) trades[tape.symbol] = tape.length;
    return {
      mode: this.mode,
      trades,
      totalTrades: this.market.totalEmitted,
      finished: this.market.finished,
      running: this.marketTimer !== undefined,
      wsConnectionsOpen: this.hub.openConnections,
      wsConnectionsOpened: this.hub.connectionsOpened,
      restRequests: this.rest.requests,
      faults: { ...this.faults.counts },
    };
  }

  private async control(req: Request, url: URL): Promise<Response> {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case "GET /_sim/stats":
        return Response.json(this.snapshotStats());
      case "GET /_sim/truth": {
        const only = url.searchParams.get("symbol");
        const symbols = only ? [only] : this.symbols();
        const lines = symbols.flatMap((s) => this.truth(s).map((t) => JSON.stringify(t)));
        return new Response(lines.length ? `${lines.join("\n")}\n` : "", {
          headers: { "content-type": "application/x-ndjson" },
        });
      }
      case "POST /_sim/faults": {
        let plan: Partial<FaultPlan>;
        try {
          plan = (await req.json()) as Partial<FaultPlan>;
        } catch {
          return Response.json({ error: "body must be a JSON fault plan" }, { status: 400 });
        }
        this.setFaults(plan);
        return Response.json(this.faults.plan);
      }
      case "POST /_sim/book/corrupt":
        this.corruptNextBookUpdate();
        return Response.json({ corrupting: "the next book update" });
      case "POST /_sim/drop":
        return Response.json({ dropped: this.dropConnections() });
      case "POST /_sim/stall":
        return Response.json({
          stalled: this.stallConnections(Number(url.searchParams.get("ms") ?? "10000")),
        });
      case "POST /_sim/market/start":
        this.startMarket();
        return Response.json({ running: true });
      case "POST /_sim/market/pause":
        this.pauseMarket();
        return Response.json({ running: false });
      default:
        return Response.json({ error: `unknown control route ${route}` }, { status: 404 });
    }
  }

  async stop(): Promise<void> {
    this.pauseMarket();
    for (const t of [...this.timers, ...this.faultTimers]) clearInterval(t);
    this.hub.closeAll();
    await this.server?.stop(true);
    this.server = undefined;
  }
}

function toTruth(t: TapeTrade, f: PairFormat): TruthTrade {
  return {
    symbol: f.symbol,
    trade_id: t.tradeId,
    price: unitsToDecimal(t.priceUnits, f.priceDecimals),
    qty: unitsToDecimal(t.qtyUnits, f.lotDecimals),
    side: t.side,
    ord_type: t.ordType,
    ts: formatMicros(t.timeNs / 1000n),
    time_ns: t.timeNs.toString(),
  };
}

/** Fixture mode: recorded trade/ticker frames and the recorded book capture by `channel symbol`, byte-exact. */
function recordedFramesBySymbol(
  ws: readonly WsFixture[],
  bookCapture: readonly string[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (bookCapture.length) out.set("book BTC/USD", [...bookCapture]);
  for (const f of ws) {
    if (f.direction !== "recv" || (f.kind !== "trade" && f.kind !== "ticker")) continue;
    const symbol = /"symbol":"([^"]+)"/.exec(f.msg)?.[1];
    if (!symbol) continue;
    const key = `${f.kind} ${symbol}`;
    out.set(key, [...(out.get(key) ?? []), f.msg]);
  }
  return out;
}
