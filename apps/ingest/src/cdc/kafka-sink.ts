/**
 * Ordered, bounded delivery of CDC records to Kafka with LSN acknowledgement. Records go out in
 * batches, one batch in flight at a time, so per-partition order is the order of the WAL. A `mark`
 * says "every record handed over so far covers the WAL up to this LSN"; the confirmed LSN moves to
 * a mark only after Kafka acknowledged every record before it. That LSN is the only one ever sent
 * to PostgreSQL: after any crash the slot replays from it, so duplicates are possible, gaps are not.
 */
import { dlqHeaders } from "@tributary/shared/kafka";
import type { Logger } from "@tributary/shared/log";
import type { Message, Producer, TopicMessages } from "kafkajs";

export interface SinkRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface KafkaSinkOptions {
  readonly producer: Producer;
  readonly dlqTopic: string;
  readonly log: Logger;
  /** Records per Kafka request (kafkajs groups a request's records per partition in quadratic time: keep it modest). */
  readonly maxBatchRecords?: number;
  /**
   * Payload bytes per Kafka request. Small on purpose: kafkajs copies a request through about eight
   * freshly zeroed, power-of-two-grown buffers, and past a few hundred KiB each is a new mapping that
   * page-faults in: at 2,000 records / 4 MiB the commit-to-ack bench spent ~20% more CPU per row.
   */
  readonly maxBatchBytes?: number;
  /** A partial batch waits at most this long. */
  readonly lingerMs?: number;
  /** Key + value bytes above which a record goes to the DLQ instead (Kafka's default limit is ~1 MB). */
  readonly maxRecordBytes?: number;
  readonly onAcked?: (records: number, confirmedLsn: bigint) => void;
  readonly onDlq?: (reason: string) => void;
}

interface Batch {
  readonly byTopic: Map<string, Message[]>;
  records: number;
  bytes: number;
  mark: bigint | null;
}

const byteLength = (v: string | Buffer | null): number =>
  v === null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.length;

const toBuffer = (v: string | Buffer | null): Buffer | null =>
  v === null || typeof v !== "string" ? v : Buffer.from(v, "utf8");

const newBatch = (): Batch => ({ byTopic: new Map(), records: 0, bytes: 0, mark: null });

export class KafkaSink {
  private current = newBatch();
  private inflight: Promise<void> = Promise.resolve();
  private inflightCount = 0;
  private failure: Error | undefined;
  private readonly failureListeners = new Set<(err: Error) => void>();
  private confirmed: bigint;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly maxRecordBytes: number;
  acked = 0;

  constructor(
    private readonly opts: KafkaSinkOptions,
    initialConfirmed = 0n,
  ) {
    this.confirmed = initialConfirmed;
    this.maxRecords = opts.maxBatchRecords ?? 500;
    this.maxBytes = opts.maxBatchBytes ?? 512 * 1024;
    this.maxRecordBytes = opts.maxRecordBytes ?? 1_000_000;
    const linger = opts.lingerMs ?? 20;
    this.timer = setInterval(() => {
      if (this.inflightCount === 0 && (this.current.records > 0 || this.current.mark !== null))
        this.dispatch();
    }, linger);
  }

  /** Highest LSN such that every change up to it is acknowledged by Kafka. */
  get confirmedLsn(): bigint {
    return this.confirmed;
  }

  get pendingRecords(): number {
    return this.current.records;
  }

  /** Buffers a record; waits (backpressure) while a full batch is in flight. */
  async push(record: SinkRecord): Promise<void> {
    if (this.failure) throw this.failure;
    let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
    // String length counts UTF-16 units; measure bytes only when it could matter.
    if (size * 3 > this.maxRecordBytes) size = byteLength(record.key) + byteLength(record.value);
    if (size > this.maxRecordBytes) {
      this.toDlq(record, `record is ${size} bytes, over the ${this.maxRecordBytes}-byte limit`, size);
    } else {
      // Buffers, not strings: kafkajs measures and converts a string value more than once.
      const message: Message = { key: toBuffer(record.key), value: toBuffer(record.value) };
      if (record.headers) message.headers = { ...record.headers };
      this.add(record.topic, message, size);
    }
    if (this.current.records >= this.maxRecords || this.current.bytes >= this.maxBytes) {
      await this.dispatch();
    }
  }

  /** Sends a record that could not be encoded to the DLQ, with the raw bytes and the reason. */
  async pushDlq(raw: Buffer | string, reason: string, originalTopic: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.toDlq({ topic: originalTopic, key: null, value: raw }, reason, raw.length);
    if (this.current.records >= this.maxRecords) await this.dispatch();
  }

  /** Every record handed over so far covers the WAL up to `lsn`. */
  mark(lsn: bigint): void {
    const m = this.current.mark;
    if (m === null || lsn > m) this.current.mark = lsn;
  }

  /** Sends everything buffered and waits for Kafka's acknowledgement. */
  async flush(): Promise<void> {
    if (this.current.records > 0 || this.current.mark !== null) await this.dispatch();
    await this.inflight;
    if (this.failure) throw this.failure;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Calls `listener` once Kafka refuses a batch (at once if it already did); returns an unsubscribe. */
  onFailure(listener: (err: Error) => void): () => void {
    if (this.failure) listener(this.failure);
    else this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Throws Kafka's refusal, if a batch was refused since the last `recover`. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * After Kafka refused a batch: waits for the batches in flight, drops every record not confirmed and
   * clears the failure, so the stream can restart from `confirmedLsn` (PostgreSQL replays from there:
   * duplicates are possible, gaps are not). Returns how many buffered records were dropped.
   */
  async recover(): Promise<number> {
    await this.inflight;
    const dropped = this.current.records;
    this.current = newBatch();
    this.failure = undefined;
    return dropped;
  }

  private add(topic: string, message: Message, size: number): void {
    let list = this.current.byTopic.get(topic);
    if (!list) {
      list = [];
      this.current.byTopic.set(topic, list);
    }
    list.push(message);
    this.current.records++;
    this.current.bytes += size;
  }

  private toDlq(record: SinkRecord, reason: string, size: number): void {
    const limit = Math.max(0, this.maxRecordBytes - 4096);
    const raw =
      record.value === null
        ? null
        : typeof record.value === "string"
          ? Buffer.from(record.value)
          : record.value;
    const value = raw && raw.length > limit ? raw.subarray(0, limit) : raw;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(dlqHeaders(reason, "cdc", record.topic))) headers[k] = String(v);
    if (raw && raw.length > limit) headers["tributary.dlq.truncated_from_bytes"] = String(raw.length);
    this.opts.log.warn("record sent to the DLQ", {
      topic: record.topic,
      reason,
      key: record.key?.slice(0, 200),
    });
    this.opts.onDlq?.(reason);
    this.add(this.opts.dlqTopic, { key: record.key, value, headers }, Math.min(size, limit));
  }

  /** Hands the current batch to Kafka after the one in flight; at most one batch waits behind it. */
  private dispatch(): Promise<void> {
    const batch = this.current;
    this.current = newBatch();
    this.inflightCount++;
    const previous = this.inflight;
    const sent = previous.then(async () => {
      try {
        if (this.failure) return; // refused behind a refused batch: dropped, replayed by PostgreSQL
        if (batch.records > 0) {
          const topicMessages: TopicMessages[] = [...batch.byTopic].map(([topic, messages]) => ({
            topic,
            messages,
          }));
          await this.opts.producer.sendBatch({ topicMessages, acks: -1 });
        }
        this.acked += batch.records;
        if (batch.mark !== null && batch.mark > this.confirmed) this.confirmed = batch.mark;
        this.opts.onAcked?.(batch.records, this.confirmed);
      } catch (err) {
        const failure = err instanceof Error ? err : new Error(String(err));
        this.failure = failure;
        this.opts.log.error(
          "Kafka refused a batch; the stream restarts from the last confirmed LSN once Kafka answers",
          { error: failure.message, records: batch.records, confirmed_lsn: String(this.confirmed) },
        );
        for (const listener of this.failureListeners) listener(failure);
        this.failureListeners.clear();
      } finally {
        this.inflightCount--;
      }
    });
    this.inflight = sent;
    return previous; // the caller may continue once the batch before this one is done: one in flight, one filling
  }
}
