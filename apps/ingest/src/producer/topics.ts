/** The ingester's topics, created explicitly (partitions, retention) before anything is produced. */
import type { Config } from "@tributary/shared/config";
import { dlqTopic, TOPICS } from "@tributary/shared/contracts/topics";
import { ensureTopics, type TopicSpec, topicSpec } from "@tributary/shared/kafka";
import type { Admin } from "kafkajs";

export interface IngestTopics {
  readonly trades: string;
  readonly ticker: string;
}

export const DEFAULT_INGEST_TOPICS: IngestTopics = { trades: TOPICS.trades, ticker: TOPICS.ticker };

/** Main topics with the configured partitions; dead-letter topics with one partition (low volume, kept in order). */
export function ingestTopicSpecs(cfg: Config["kafka"], topics: IngestTopics): TopicSpec[] {
  return [
    topicSpec(cfg, topics.trades),
    topicSpec(cfg, topics.ticker),
    topicSpec(cfg, dlqTopic(topics.trades), 1),
    topicSpec(cfg, dlqTopic(topics.ticker), 1),
  ];
}

export async function ensureIngestTopics(
  admin: Admin,
  cfg: Config["kafka"],
  topics: IngestTopics,
): Promise<string[]> {
  return ensureTopics(admin, ingestTopicSpecs(cfg, topics));
}
