/**
 * Reads a few messages of one topic partition from an offset or a time, without touching any
 * pipeline consumer group: a throwaway group whose one member is assigned exactly that partition,
 * seeks, takes at most `limit` messages up to the partition's end, and is deleted. Bounded: one read
 * at a time, a deadline, at most MAX_LIMIT messages and MAX_VALUE_BYTES kept of each value.
 */
import { randomUUID } from "node:crypto";
import type { Config } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { type Admin, AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner } from "kafkajs";

export const MAX_LIMIT = 100;
/** Bytes of a value (and of a key) kept for display; the length says how much there was. */
export const MAX_VALUE_BYTES = 256 * 1024;

export interface RawMessage {
  readonly partition: number;
  readonly offset: string;
  /** Broker timestamp, ms since the epoch. */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** The value's full length (it is cut to MAX_VALUE_BYTES). */
  readonly valueBytes: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PartitionRange {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

export interface BrowseRequest {
  readonly topic: string;
  readonly partition: number;
  /** Where to start: an offset, or the first message at or after a time (ms). Default: the last `limit`. */
  readonly from?: { readonly offset: bigint } | { readonly time: number };
  readonly limit: number;
}

export interface BrowseResult {
  readonly topic: string;
  readonly partition: number;
  readonly start: string;
  readonly partitions: readonly PartitionRange[];
  readonly messages: readonly RawMessage[];
}

export class BrowseError extends Error {
  override readonly name = "BrowseError";
}

/** Assigns the one member exactly the partition asked for (kafkajs's documented custom assigner). */
const onePartition =
  (topic: string, partition: number): PartitionAssigner =>
  () => ({
    name: "TributaryBrowse",
    version: 1,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: [partition] } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: "TributaryBrowse",
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
      };
    },
  });

const cut = (bytes: Buffer | null): Uint8Array | null =>
  bytes === null ? null : new Uint8Array(bytes.subarray(0, MAX_VALUE_BYTES));

export class MessageReader {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    kafka: Config["kafka"],
    private readonly timeoutMs = 8000,
  ) {
    this.kafka = createKafka(kafka, "console-browse", { retries: 1, requestTimeout: 4000, quiet: true });
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /** Topics, without Kafka's internal ones, sorted. */
  async topics(): Promise<string[]> {
    const names = await (await this.connectedAdmin()).listTopics();
    return names.filter((t) => !t.startsWith("__")).sort();
  }

  /** One read at a time: a browse is a group join, and the console should not make many. */
  browse(request: BrowseRequest): Promise<BrowseResult> {
    const next = this.busy.then(() => this.read(request));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async read(request: BrowseRequest): Promise<BrowseResult> {
    const { topic, partition } = request;
    const limit = Math.max(1, Math.min(request.limit, MAX_LIMIT));
    const admin = await this.connectedAdmin();
    if (!(await admin.listTopics()).includes(topic)) throw new BrowseError(`no topic ${topic}`);
    const ranges: PartitionRange[] = (await admin.fetchTopicOffsets(topic))
      .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
      .sort((a, b) => a.partition - b.partition);
    const range = ranges.find((r) => r.partition === partition);
    if (!range)
      throw new BrowseError(
        `topic ${topic} has no partition ${partition} (it has 0 to ${ranges.length - 1})`,
      );
    const low = BigInt(range.low);
    const high = BigInt(range.high);
    let start: bigint;
    if (request.from && "offset" in request.from) start = request.from.offset;
    else if (request.from && "time" in request.from) {
      const found = (await admin.fetchTopicOffsetsByTimestamp(topic, request.from.time)).find(
        (o) => o.partition === partition,
      );
      start = found ? BigInt(found.offset) : high;
      if (start < 0n) start = high; // no message at or after that time
    } else start = high - BigInt(limit);
    if (start < low) start = low;
    if (start > high) start = high;
    const end = start + BigInt(limit) < high ? start + BigInt(limit) : high;
    const base = { topic, partition, start: start.toString(), partitions: ranges };
    if (end <= start) return { ...base, messages: [] };
    return { ...base, messages: await this.fetch(topic, partition, start, end) };
  }

  /** Messages [start, end) of one partition through a throwaway group, deleted afterwards. */
  private async fetch(topic: string, partition: number, start: bigint, end: bigint): Promise<RawMessage[]> {
    const groupId = `tributary-console-browse-${randomUUID()}`;
    const consumer: Consumer = this.kafka.consumer({
      groupId,
      partitionAssigners: [onePartition(topic, partition)],
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 200,
      retry: { retries: 1 },
    });
    const messages: RawMessage[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      const done = new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new BrowseError(`Kafka gave ${messages.length} of the messages within ${this.timeoutMs} ms`),
            ),
          this.timeoutMs,
        );
        consumer
          .run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const m of batch.messages) {
                const offset = BigInt(m.offset);
                if (offset < start) continue;
                if (offset >= end) break;
                const headers: Record<string, string> = {};
                for (const [k, v] of Object.entries(m.headers ?? {}))
                  headers[k] = Array.isArray(v) ? v.map(String).join(", ") : String(v ?? "");
                messages.push({
                  partition,
                  offset: m.offset,
                  timestamp: Number(m.timestamp),
                  key: cut(m.key),
                  value: cut(m.value),
                  valueBytes: m.value?.length ?? 0,
                  headers,
                });
              }
              // Offsets can skip (transaction markers, compaction): the batch's last offset says where it is.
              if (batch.messages.length > 0 && BigInt(batch.lastOffset()) + 1n >= end) resolve();
            },
          })
          .then(() => consumer.seek({ topic, partition, offset: start.toString() }))
          .catch(reject);
      });
      await done;
      return messages;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await this.admin?.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }
}
