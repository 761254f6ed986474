/** The ingester's topics, created explicitly (partitions, retention) before anything is produced. */
import type { Config } from "@tributary/shared/config";
import { dlqTopic, TOPICS } from "@tributary/shared/contracts/topics";
import { ensureTopics, type TopicSpec, topicSpec } from "@tributary/shared/kafka";
import type { Admin } from "kafkajs";

export interface IngestTopics {
  readonly trades: string;
  readonly ticker: string;
  /** Kraken's candles (the OHLC job); default `kraken.ohlc`. */
  readonly ohlc?: string;
  /** The level-2 book (stream mode with a book depth); default `kraken.book`. */
  readonly book?: string;
}

export const DEFAULT_INGEST_TOPICS: IngestTopics = {
  trades: TOPICS.trades,
  ticker: TOPICS.ticker,
  ohlc: TOPICS.ohlc,
  book: TOPICS.book,
};

/** Main topics with the configured partitions; dead-letter topics with one partition (low volume, kept in order). */
/** With `topics.ohlc` and `topics.book`, those topics too, so the lake finds them when it starts. */
export function ingestTopicSpecs(cfg: Config["kafka"], topics: IngestTopics): TopicSpec[] {
  return [
    topicSpec(cfg, topics.trades),
    topicSpec(cfg, topics.ticker),
    topicSpec(cfg, dlqTopic(topics.trades), 1),
    topicSpec(cfg, dlqTopic(topics.ticker), 1),
    ...(topics.ohlc === undefined ? [] : ohlcTopicSpecs(cfg, topics.ohlc)),
    ...(topics.book === undefined
      ? []
      : [topicSpec(cfg, topics.book), topicSpec(cfg, dlqTopic(topics.book), 1)]),
  ];
}

/** The OHLC job's topic and its dead-letter topic. */
export function ohlcTopicSpecs(cfg: Config["kafka"], topic: string = TOPICS.ohlc): TopicSpec[] {
  return [topicSpec(cfg, topic), topicSpec(cfg, dlqTopic(topic), 1)];
}

export async function ensureIngestTopics(
  admin: Admin,
  cfg: Config["kafka"],
  topics: IngestTopics,
): Promise<string[]> {
  return ensureTopics(admin, ingestTopicSpecs(cfg, topics));
}
