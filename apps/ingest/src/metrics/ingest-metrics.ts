/**
 * The ingester's counters: trades/s per symbol, reconnects, backfilled trades, dead letters, last trade
 * age, and the health of the Kafka and Kraken sides. Prometheus names are prefixed `tributary_ingest_`.
 */
import type { BookMessage } from "@tributary/shared/contracts/book";
import { StallWatch } from "@tributary/shared/health";
import { MetricsRegistry } from "@tributary/shared/metrics";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { BookWatch, type BookWatchOptions } from "./book-watch.ts";

const RATE_WINDOW_S = 10;

/** Trades per second over a sliding window of whole seconds. */
class RateWindow {
  private readonly buckets = new Float64Array(RATE_WINDOW_S + 1);
  private second = 0;

  add(n: number, nowMs: number): void {
    this.roll(nowMs);
    this.buckets[this.second % this.buckets.length] =
      (this.buckets[this.second % this.buckets.length] ?? 0) + n;
  }

  rate(nowMs: number): number {
    this.roll(nowMs);
    let sum = 0;
    // The current second is still filling: average the last complete seconds.
    for (let i = 1; i <= RATE_WINDOW_S; i++)
      sum += this.buckets[(this.second - i + this.buckets.length * 2) % this.buckets.length] ?? 0;
    return sum / RATE_WINDOW_S;
  }

  private roll(nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    if (this.second === 0) this.second = s;
    while (this.second < s) {
      this.second++;
      this.buckets[this.second % this.buckets.length] = 0;
      if (s - this.second > this.buckets.length) this.second = s - this.buckets.length;
    }
  }
}

export interface HealthReport {
  readonly ok: boolean;
  readonly mode: string;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail: string }>>;
}

export class IngestMetrics {
  readonly registry = new MetricsRegistry();
  private readonly rates = new Map<string, RateWindow>();
  private readonly lastTradeExchangeMs = new Map<string, number>();
  private readonly lastBookExchangeMs = new Map<string, number>();
  wsConnected = false;
  wsDisconnectedSinceMs: number | undefined = Date.now();
  kafkaLastAckMs: number | undefined;
  kafkaFailingSinceMs: number | undefined;
  lastPollOkMs: number | undefined;
  lastPollErrorMs: number | undefined;
  systemStatus = "unknown";

  readonly tradesAcked = this.registry.counter(
    "tributary_ingest_trades_total",
    "Trades acknowledged by Kafka, by symbol and source (ws|rest).",
    ["symbol", "source"],
  );
  readonly tickersAcked = this.registry.counter(
    "tributary_ingest_tickers_total",
    "Ticker messages acknowledged by Kafka, by symbol.",
    ["symbol"],
  );
  readonly reconnects = this.registry.counter(
    "tributary_ingest_ws_reconnects_total",
    "WebSocket connections lost and re-established, by reason.",
    ["reason"],
  );
  readonly backfilled = this.registry.counter(
    "tributary_ingest_backfilled_trades_total",
    "Trades recovered from REST Trades after a gap or restart, by symbol.",
    ["symbol"],
  );
  readonly duplicates = this.registry.counter(
    "tributary_ingest_duplicate_trades_skipped_total",
    "Trades seen again (trade_id already sent), skipped, by symbol.",
    ["symbol"],
  );
  readonly gapsUnrecoverable = this.registry.counter(
    "tributary_ingest_unrecoverable_missing_trades_total",
    "trade_ids neither WebSocket nor REST could supply (a gap), by symbol and reason (rest_unreachable, rest_lagging).",
    ["symbol", "reason"],
  );
  readonly dlq = this.registry.counter(
    "tributary_ingest_dlq_total",
    "Records sent to a dead-letter topic, by topic and kind.",
    ["topic", "kind"],
  );
  readonly restRetries = this.registry.counter(
    "tributary_ingest_rest_retries_total",
    "Kraken REST calls retried, by failure kind.",
    ["kind"],
  );
  readonly wsOverflow = this.registry.counter(
    "tributary_ingest_ws_frames_dropped_total",
    "WebSocket frames dropped because the bounded queue was full (recovered from REST).",
  );
  readonly kafkaErrors = this.registry.counter(
    "tributary_ingest_kafka_send_errors_total",
    "Failed Kafka deliveries (the batch is retried, never dropped).",
  );
  readonly books = this.registry.counter(
    "tributary_ingest_book_messages_total",
    "Book snapshots and updates acknowledged by Kafka, by symbol, type and checksum status (ok, mismatch, unverified).",
    ["symbol", "type", "status"],
  );
  readonly bookMismatches = this.registry.counter(
    "tributary_ingest_book_checksum_mismatches_total",
    "Book updates whose CRC32 did not match the local book (it is dropped and resubscribed), by symbol.",
    ["symbol"],
  );
  readonly bookResubscribes = this.registry.counter(
    "tributary_ingest_book_resubscribes_total",
    "Book resubscriptions sent for a fresh snapshot, by symbol and reason.",
    ["symbol", "reason"],
  );
  readonly polls = this.registry.counter("tributary_ingest_polls_total", "Poll-mode runs, by outcome.", [
    "outcome",
  ]);

  /** Records handed to the producer and not yet acknowledged by Kafka (set by the ingester). */
  unacknowledged: () => number = () => 0;
  /** Progress: an acknowledgement from Kafka while records wait for one. */
  private readonly acks: StallWatch;
  /** The books' freshness (the `book` check), when the book is subscribed. */
  readonly book: BookWatch | undefined;

  constructor(
    readonly mode: string,
    stallAfterMs = 60_000,
    book?: Omit<BookWatchOptions, "stallAfterMs">,
  ) {
    this.acks = new StallWatch("Kafka acknowledgement", stallAfterMs);
    this.book = book ? new BookWatch({ ...book, stallAfterMs }) : undefined;
    this.registry.gaugeOf(
      "tributary_ingest_trades_per_second",
      "Trades acknowledged per second over the last 10 s, by symbol.",
      ["symbol"],
      () => [...this.rates].map(([symbol, r]) => [{ symbol }, round3(r.rate(Date.now()))]),
    );
    this.registry.gaugeOf(
      "tributary_ingest_last_trade_age_seconds",
      "Seconds since the exchange time of the last trade Kafka acknowledged, by symbol.",
      ["symbol"],
      () =>
        [...this.lastTradeExchangeMs].map(([symbol, ms]) => [{ symbol }, round3((Date.now() - ms) / 1000)]),
    );
    this.registry.gaugeOf(
      "tributary_ingest_last_book_age_seconds",
      "Seconds since the exchange time of the last book message Kafka acknowledged, by symbol.",
      ["symbol"],
      () =>
        [...this.lastBookExchangeMs].map(([symbol, ms]) => [{ symbol }, round3((Date.now() - ms) / 1000)]),
    );
    this.registry.gaugeOf("tributary_ingest_ws_connected", "1 while the WebSocket is connected.", [], () => [
      [{}, this.wsConnected ? 1 : 0],
    ]);
    this.registry.gaugeOf("tributary_ingest_up", "1 when /health reports ok.", [], () => [
      [{}, this.health().ok ? 1 : 0],
    ]);
  }

  tradeAcked(symbol: string, source: string, exchangeMs: number): void {
    this.tradesAckedBatch([{ symbol, source, exchangeMs }]);
  }

  /** One acknowledged batch: counters are updated once per symbol and source, not once per trade. */
  tradesAckedBatch(
    trades: readonly { readonly symbol: string; readonly source: string; readonly exchangeMs: number }[],
  ): void {
    const now = Date.now();
    const groups = new Map<string, { symbol: string; source: string; n: number }>();
    for (const t of trades) {
      const k = `${t.symbol}\u0000${t.source}`;
      const g = groups.get(k);
      if (g) g.n++;
      else groups.set(k, { symbol: t.symbol, source: t.source, n: 1 });
      const prev = this.lastTradeExchangeMs.get(t.symbol);
      if (prev === undefined || t.exchangeMs > prev) this.lastTradeExchangeMs.set(t.symbol, t.exchangeMs);
    }
    for (const { symbol, source, n } of groups.values()) {
      this.tradesAcked.inc({ symbol, source }, n);
      let r = this.rates.get(symbol);
      if (!r) {
        r = new RateWindow();
        this.rates.set(symbol, r);
      }
      r.add(n, now);
    }
    this.kafkaLastAckMs = now;
    this.kafkaFailingSinceMs = undefined;
    this.acks.progressed();
  }

  /** One acknowledged batch: counted once per label set, and each symbol's newest `ts` parsed once (books come by the thousand). */
  booksAckedBatch(books: readonly Pick<BookMessage, "symbol" | "type" | "checksum_status" | "ts">[]): void {
    const counts = new Map<string, { labels: { symbol: string; type: string; status: string }; n: number }>();
    const newest = new Map<string, string>();
    for (const b of books) {
      const key = `${b.symbol} ${b.type} ${b.checksum_status}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { labels: { symbol: b.symbol, type: b.type, status: b.checksum_status }, n: 1 });
      // Canonical RFC 3339 µs UTC text sorts as time does.
      const prev = newest.get(b.symbol);
      if (prev === undefined || b.ts > prev) newest.set(b.symbol, b.ts);
    }
    for (const { labels, n } of counts.values()) this.books.inc(labels, n);
    for (const [symbol, ts] of newest) {
      const ms = Number(parseRfc3339Micros(ts) / 1000n);
      const prev = this.lastBookExchangeMs.get(symbol);
      if (prev === undefined || ms > prev) this.lastBookExchangeMs.set(symbol, ms);
    }
    this.kafkaLastAckMs = Date.now();
    this.kafkaFailingSinceMs = undefined;
    this.acks.progressed();
  }

  /** Health as a result object: never throws. */
  health(nowMs = Date.now()): HealthReport {
    const checks: Record<string, { ok: boolean; detail: string }> = {};
    const failingFor = this.kafkaFailingSinceMs === undefined ? 0 : nowMs - this.kafkaFailingSinceMs;
    checks.kafka = {
      ok: failingFor < 30_000,
      detail:
        this.kafkaFailingSinceMs === undefined
          ? "delivering"
          : `deliveries failing for ${Math.round(failingFor / 1000)} s`,
    };
    if (this.mode === "stream") {
      const downFor = this.wsDisconnectedSinceMs === undefined ? 0 : nowMs - this.wsDisconnectedSinceMs;
      checks.websocket = {
        ok: this.wsConnected || downFor < 30_000,
        detail: this.wsConnected
          ? `connected, Kraken system ${this.systemStatus}`
          : `disconnected for ${Math.round(downFor / 1000)} s`,
      };
    } else {
      const failing = this.lastPollErrorMs !== undefined && (this.lastPollOkMs ?? 0) < this.lastPollErrorMs;
      checks.poll = { ok: !failing, detail: failing ? "last poll failed" : "polling" };
    }
    const waiting = this.unacknowledged();
    checks.acks = this.acks.waiting(waiting > 0).check(`${waiting} records wait for Kafka`);
    if (this.book) checks.book = this.book.check();
    return { ok: Object.values(checks).every((c) => c.ok), mode: this.mode, checks };
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
