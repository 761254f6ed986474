/** Kafka access shared by every app: one client factory, explicit topic creation, DLQ records. */
import { type Admin, type IHeaders, Kafka, logLevel } from "kafkajs";
import type { Config } from "./config.ts";
import { DLQ_HEADERS } from "./contracts/topics.ts";
import { createLogger } from "./log.ts";
import { sleep } from "./sleep.ts";
import { nowRfc3339 } from "./time.ts";

export type KafkaConfig = Config["kafka"];

/** Timeouts and retries for clients that must answer fast (health probes) instead of waiting out an outage. */
export interface KafkaClientTuning {
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
  readonly retries?: number;
  /** Log nothing from kafkajs (the caller reports the failure itself). */
  readonly quiet?: boolean;
}

export function createKafka(cfg: KafkaConfig, clientSuffix = "", tuning: KafkaClientTuning = {}): Kafka {
  const log = createLogger("kafkajs");
  return new Kafka({
    clientId: clientSuffix ? `${cfg.clientId}-${clientSuffix}` : cfg.clientId,
    brokers: [...cfg.brokers],
    connectionTimeout: tuning.connectionTimeout ?? 3000,
    requestTimeout: tuning.requestTimeout ?? 30000,
    retry: { initialRetryTime: 100, maxRetryTime: 5000, retries: tuning.retries ?? 8 },
    logLevel: tuning.quiet ? logLevel.NOTHING : logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) log.error(message, rest);
        else if (level <= logLevel.WARN) log.warn(message, rest);
      },
  });
}

/** Kafka could not be reached at start: the message names KAFKA_BROKERS, its value and the cause. */
export class KafkaUnreachableError extends Error {
  override readonly name = "KafkaUnreachableError";
}

/** Connects an admin (or producer) client, or throws KafkaUnreachableError naming KAFKA_BROKERS. */
export async function connectKafka(client: { connect(): Promise<void> }, cfg: KafkaConfig): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    const cause = (err as Error).message || String(err);
    throw new KafkaUnreachableError(
      `cannot reach Kafka at KAFKA_BROKERS=${cfg.brokers.join(",")}: ${cause}`,
      {
        cause: err,
      },
    );
  }
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly retentionMs: number;
  readonly cleanupPolicy?: "delete" | "compact";
}

/** Creates missing topics explicitly (auto-create is off on our brokers); existing ones are left as they are. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    // Not kafkajs's own wait: it retries only LEADER_NOT_AVAILABLE, while a KRaft broker may answer
    // UNKNOWN_TOPIC_OR_PARTITION for a moment after the create (seen under load: the ingester died).
    waitForLeaders: false,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries: [
        { name: "retention.ms", value: String(s.retentionMs) },
        { name: "cleanup.policy", value: s.cleanupPolicy ?? "delete" },
      ],
    })),
  });
  await waitForLeaders(
    admin,
    missing.map((s) => s.topic),
  );
  return missing.map((s) => s.topic);
}

/** How long new topics may take to have a leader for every partition. */
const LEADER_WAIT_MS = 30_000;

/** Waits until every partition of `topics` has a leader that answers, retrying Kafka's retriable answers. */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    let last = "";
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = meta.filter(
        (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
      );
      if (leaderless.length === 0) {
        // A leader in the metadata may not serve its partition yet (NOT_LEADER_FOR_PARTITION, seen in CI):
        // the topics are ready once every leader answers for its offsets.
        for (const topic of topics) await admin.fetchTopicOffsets(topic);
        return;
      }
      last = `no leader yet for ${leaderless.map((t) => t.name).join(", ")}`;
    } catch (err) {
      if (!(err instanceof Error && (err as { retriable?: boolean }).retriable === true)) throw err;
      last = err.message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Kafka created ${topics.join(", ")} but gave no leader within ${LEADER_WAIT_MS / 1000} s: ${last}`,
      );
    await sleep(100);
  }
}

export function topicSpec(cfg: KafkaConfig, topic: string, partitions = cfg.topicPartitions): TopicSpec {
  return { topic, partitions, replicationFactor: cfg.replicationFactor, retentionMs: cfg.retentionMs };
}

/** Headers for a dead-letter record: the raw bytes go in the value untouched, the reason here. */
export function dlqHeaders(reason: string, source: string, originalTopic: string): IHeaders {
  return {
    [DLQ_HEADERS.reason]: reason.slice(0, 1000),
    [DLQ_HEADERS.source]: source,
    [DLQ_HEADERS.topic]: originalTopic,
    [DLQ_HEADERS.at]: nowRfc3339(),
  };
}
