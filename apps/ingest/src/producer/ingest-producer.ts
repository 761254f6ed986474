/**
 * The Kafka side of the ingester. One idempotent kafkajs producer (`acks: -1`, one request in flight),
 * key = symbol, fed through a bounded outbox by a single delivery loop: each batch is awaited, so every
 * delivery is checked and batches are acknowledged in order. Only after a batch is acknowledged are its
 * trades reported (`onTradesAcked`), which is when cursors may advance. A failed batch is retried, with a
 * fresh producer if needed, and never dropped: duplicates are possible, losses are not.
 */

import { Backoff } from "@tributary/shared/backoff";
import type { BookMessage } from "@tributary/shared/contracts/book";
import type { OhlcMessage } from "@tributary/shared/contracts/ohlc";
import type { TickerMessage } from "@tributary/shared/contracts/ticker";
import { dlqTopic, TOPICS } from "@tributary/shared/contracts/topics";
import { dlqHeaders } from "@tributary/shared/kafka";
import type { Logger } from "@tributary/shared/log";
import { sleep } from "@tributary/shared/sleep";
import {
  type ICustomPartitioner,
  type IHeaders,
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
} from "kafkajs";
import type { SequencedTrade } from "../kraken/mappers/trade.ts";
import type { IngestTopics } from "./topics.ts";

export type DeadLetterStream = "trades" | "ticker" | "ohlc" | "book";

interface OutboxRecord {
  readonly topic: string;
  readonly message: Message;
  readonly trade?: SequencedTrade;
  readonly ticker?: TickerMessage;
  readonly book?: BookMessage;
}

export interface IngestProducerOptions {
  readonly kafka: Kafka;
  readonly topics: IngestTopics;
  readonly log: Logger;
  /**
   * Records per Kafka request (default 1000): large enough to amortize a request, small enough to stay
   * under the broker's 1 MB batch limit and to keep kafkajs's per-partition grouping (quadratic in the
   * batch size) cheap.
   */
  readonly maxBatch?: number;
  /** Records buffered before `enqueue*` waits (backpressure). */
  readonly maxBuffered?: number;
  /**
   * kafkajs idempotent producer (default true). Set false only where the broker rejects it; the pipeline
   * stays loss-free either way (the lake dedups on trade_id).
   */
  readonly idempotent?: boolean;
  readonly onTradesAcked?: (trades: readonly SequencedTrade[], ackedAtMs: number) => void;
  readonly onTickersAcked?: (tickers: readonly TickerMessage[]) => void;
  readonly onBooksAcked?: (books: readonly BookMessage[], ackedAtMs: number) => void;
  readonly onDeadLetter?: (stream: DeadLetterStream, reason: string) => void;
  readonly onSendError?: (error: Error) => void;
}

export class IngestProducer {
  private producer: Producer | undefined;
  private connecting: Promise<void> | undefined;
  private readonly outbox: OutboxRecord[] = [];
  private head = 0;
  private pumping: Promise<void> | undefined;
  private spaceWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private closing = false;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  ackedRecords = 0;

  constructor(private readonly opts: IngestProducerOptions) {
    this.maxBatch = opts.maxBatch ?? 1000;
    this.maxBuffered = opts.maxBuffered ?? 50_000;
  }

  /** Connects (once; concurrent and later calls share the same producer). */
  async connect(): Promise<void> {
    if (this.producer) return this.connecting;
    const producer = this.create();
    this.producer = producer;
    this.connecting = producer.connect().catch((err: Error) => {
      if (this.producer === producer) this.producer = undefined;
      throw err;
    });
    return this.connecting;
  }

  private create(): Producer {
    return this.opts.kafka.producer({
      idempotent: this.opts.idempotent ?? true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: memoizedDefaultPartitioner,
      retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 10 },
    });
  }

  get buffered(): number {
    return this.outbox.length - this.head;
  }

  /** Queues trades (in trade_id order per symbol); waits only when the outbox is full. */
  async enqueueTrades(trades: readonly SequencedTrade[]): Promise<void> {
    for (const trade of trades) {
      this.outbox.push({
        topic: this.opts.topics.trades,
        message: { key: trade.message.symbol, value: JSON.stringify(trade.message) },
        trade,
      });
    }
    await this.afterPush();
  }

  /** Queues Kraken's candles for `kraken.ohlc` (key = symbol); `flush()` waits for their acknowledgement. */
  async enqueueOhlc(candles: readonly OhlcMessage[]): Promise<void> {
    for (const c of candles) {
      this.outbox.push({ topic: this.topic("ohlc"), message: { key: c.symbol, value: JSON.stringify(c) } });
    }
    await this.afterPush();
  }

  private topic(stream: DeadLetterStream): string {
    if (stream === "ohlc") return this.opts.topics.ohlc ?? TOPICS.ohlc;
    if (stream === "book") return this.opts.topics.book ?? TOPICS.book;
    return this.opts.topics[stream];
  }

  /** Queues book messages for the book topic (key = symbol), in the order received. */
  async enqueueBook(book: BookMessage): Promise<void> {
    this.outbox.push({
      topic: this.topic("book"),
      message: { key: book.symbol, value: JSON.stringify(book) },
      book,
    });
    await this.afterPush();
  }

  async enqueueTicker(ticker: TickerMessage): Promise<void> {
    this.outbox.push({
      topic: this.opts.topics.ticker,
      message: { key: ticker.symbol, value: JSON.stringify(ticker) },
      ticker,
    });
    await this.afterPush();
  }

  /** Quarantines raw input: the untouched bytes as value, the reason in headers (dlqHeaders). */
  async enqueueDeadLetter(
    stream: DeadLetterStream,
    raw: string | Uint8Array,
    reason: string,
    source: string,
    key?: string,
  ): Promise<void> {
    const original = this.topic(stream);
    const headers: IHeaders = dlqHeaders(reason, source, original);
    this.outbox.push({
      topic: dlqTopic(original),
      message: {
        key: key ?? null,
        value: typeof raw === "string" ? Buffer.from(raw, "utf8") : Buffer.from(raw),
        headers,
      },
    });
    this.opts.onDeadLetter?.(stream, reason);
    await this.afterPush();
  }

  private async afterPush(): Promise<void> {
    this.startPump();
    if (this.buffered >= this.maxBuffered) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
  }

  /** Resolves once everything queued so far has been acknowledged. */
  async flush(): Promise<void> {
    if (this.buffered === 0 && !this.pumping) return;
    this.startPump();
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private startPump(): void {
    // Nothing queued: a pump would finish before `pumping` is assigned and leave it set for good.
    if (this.pumping || this.buffered === 0) return;
    this.pumping = this.pump().catch((err: Error) => {
      this.opts.log.error("kafka delivery stopped", { error: err.message, undelivered: this.buffered });
    });
  }

  private async pump(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    try {
      while (this.buffered > 0) {
        const batch = this.outbox.slice(this.head, this.head + this.maxBatch);
        await this.deliver(batch, backoff);
        this.head += batch.length;
        if (this.head > 10_000 && this.head * 2 > this.outbox.length) {
          this.outbox.splice(0, this.head);
          this.head = 0;
        }
        if (this.buffered < this.maxBuffered) for (const w of this.spaceWaiters.splice(0)) w();
      }
    } finally {
      this.pumping = undefined;
      for (const w of this.spaceWaiters.splice(0)) w();
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Sends one batch until Kafka acknowledges it; on failure backs off and, after repeated failures, rebuilds the producer. */
  private async deliver(batch: readonly OutboxRecord[], backoff: Backoff): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const r of batch) {
      const list = byTopic.get(r.topic);
      if (list) list.push(r.message);
      else byTopic.set(r.topic, [r.message]);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connect();
        await (this.producer as Producer).sendBatch({ topicMessages, acks: -1 });
        backoff.reset();
        this.ackedRecords += batch.length;
        this.reportAcked(batch, performance.timeOrigin + performance.now());
        return;
      } catch (err) {
        const error = err as Error;
        this.opts.onSendError?.(error);
        this.opts.log.warn("kafka delivery failed; retrying the batch", {
          attempt,
          records: batch.length,
          error: error.message,
        });
        if (this.closing && attempt >= 3)
          throw new Error(`Kafka delivery failed while closing: ${error.message}`);
        // The idempotent producer's sequence state is unknown after a failure: start a fresh one.
        if (attempt % 3 === 0) await this.reset();
        await sleep(backoff.next());
      }
    }
  }

  /** Reports an acknowledged batch's trades, tickers and books (one pass: batches hold up to `maxBatch` records). */
  private reportAcked(batch: readonly OutboxRecord[], ackedAt: number): void {
    const trades: SequencedTrade[] = [];
    const tickers: TickerMessage[] = [];
    const books: BookMessage[] = [];
    for (const r of batch) {
      if (r.trade) trades.push(r.trade);
      else if (r.ticker) tickers.push(r.ticker);
      else if (r.book) books.push(r.book);
    }
    if (trades.length) this.opts.onTradesAcked?.(trades, ackedAt);
    if (tickers.length) this.opts.onTickersAcked?.(tickers);
    if (books.length) this.opts.onBooksAcked?.(books, ackedAt);
  }

  private async reset(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    try {
      await old?.disconnect();
    } catch {
      // a broken producer may fail to disconnect; a new one replaces it anyway
    }
  }

  /** Delivers what is queued (bounded attempts), then disconnects; throws if records remain undelivered. */
  async close(): Promise<void> {
    this.closing = true;
    try {
      await this.flush();
    } finally {
      await this.reset();
    }
    if (this.buffered > 0) throw new Error(`${this.buffered} records could not be delivered to Kafka`);
  }
}

/**
 * kafkajs's default (Java-compatible murmur2) partitioner, memoized per topic, key and partition count:
 * the key is the symbol, so the hash is computed once per symbol instead of once per trade.
 */
const memoizedDefaultPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  const topics = new Map<string, { partitions: number; byKey: Map<string, number> }>();
  return (args) => {
    const key = args.message.key;
    if (typeof key !== "string") return partition(args);
    let t = topics.get(args.topic);
    if (!t || t.partitions !== args.partitionMetadata.length) {
      t = { partitions: args.partitionMetadata.length, byKey: new Map() };
      topics.set(args.topic, t);
    }
    let p = t.byKey.get(key);
    if (p === undefined) {
      p = partition(args);
      if (t.byKey.size > 10_000) t.byKey.clear();
      t.byKey.set(key, p);
    }
    return p;
  };
};
