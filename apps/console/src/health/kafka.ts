/**
 * Kafka as the pipeline sees it: the pipeline's topics (Kraken, CDC, dead letters and whatever the
 * lake's consumer group reads) with, per partition, the earliest and latest offsets, the group's
 * committed offset and the lag. A status call never throws and never waits out an outage.
 */
import type { Config } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import type { Admin } from "kafkajs";

export interface PartitionLag {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
  /** The group's committed offset, null when it never committed on this partition. */
  readonly committed: string | null;
  readonly lag: string;
}

export interface TopicStatus {
  readonly topic: string;
  readonly partitions: readonly PartitionLag[];
  readonly lag: string;
  readonly messages: string;
}

export interface KafkaStatus {
  readonly up: boolean;
  readonly brokers: readonly string[];
  readonly group: string;
  readonly error: string | null;
  readonly topics: readonly TopicStatus[];
  readonly latencyMs: number | null;
}

export interface KafkaMonitorOptions {
  readonly kafka: Config["kafka"];
  readonly group: string;
  readonly cdcPrefix: string;
  readonly timeoutMs?: number;
  readonly maxTopics?: number;
}

export class KafkaMonitor {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;

  constructor(private readonly options: KafkaMonitorOptions) {}

  /** Topics of the pipeline: Kraken's, CDC's, their dead letters, and those the lake group consumes. */
  isPipelineTopic(topic: string): boolean {
    if (topic.startsWith("__")) return false;
    return topic.startsWith("kraken.") || topic.startsWith(`${this.options.cdcPrefix}.`);
  }

  async status(): Promise<KafkaStatus> {
    const timeoutMs = this.options.timeoutMs ?? 4000;
    const started = performance.now();
    const base = { brokers: this.options.kafka.brokers, group: this.options.group };
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer from the brokers within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      const topics = await Promise.race([this.read(), deadline]);
      return { ...base, up: true, error: null, topics, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      await this.reset();
      return { ...base, up: false, error: (err as Error).message, topics: [], latencyMs: null };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async reset(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    this.connecting = undefined;
    if (admin) await admin.disconnect().catch(() => undefined);
  }

  private async connect(): Promise<Admin> {
    if (this.admin) return this.admin;
    this.connecting ??= (async () => {
      const kafka = createKafka(this.options.kafka, "console", {
        connectionTimeout: 1500,
        requestTimeout: 3000,
        retries: 0,
        quiet: true,
      });
      const admin = kafka.admin();
      await admin.connect();
      this.admin = admin;
      return admin;
    })();
    try {
      return await this.connecting;
    } finally {
      this.connecting = undefined;
    }
  }

  private async read(): Promise<TopicStatus[]> {
    const admin = await this.connect();
    const all = await admin.listTopics();
    const committed = await admin.fetchOffsets({ groupId: this.options.group });
    const consumed = new Set(committed.map((t) => t.topic));
    const topics = all
      .filter((t) => this.isPipelineTopic(t) || consumed.has(t))
      .sort()
      .slice(0, this.options.maxTopics ?? 100);
    const byTopic = new Map(
      committed.map((t) => [t.topic, new Map(t.partitions.map((p) => [p.partition, p.offset]))]),
    );
    return Promise.all(
      topics.map(async (topic) => {
        const offsets = await admin.fetchTopicOffsets(topic);
        const commits = byTopic.get(topic);
        let lagSum = 0n;
        let messages = 0n;
        const partitions = offsets
          .map((o) => {
            const low = BigInt(o.low);
            const high = BigInt(o.high);
            const c = commits?.get(o.partition);
            const committedOffset = c !== undefined && c !== "-1" ? BigInt(c) : null;
            const from = committedOffset === null ? low : committedOffset > low ? committedOffset : low;
            const lag = high > from ? high - from : 0n;
            lagSum += lag;
            messages += high - low;
            return {
              partition: o.partition,
              low: low.toString(),
              high: high.toString(),
              committed: committedOffset === null ? null : committedOffset.toString(),
              lag: lag.toString(),
            };
          })
          .sort((a, b) => a.partition - b.partition);
        return { topic, partitions, lag: lagSum.toString(), messages: messages.toString() };
      }),
    );
  }
}
