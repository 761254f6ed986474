/** Kafka topic names and the dead-letter convention (contract: change only with a version bump). */
export const TOPICS = {
  trades: "kraken.trades",
  ticker: "kraken.ticker",
  ohlc: "kraken.ohlc",
  book: "kraken.book",
} as const;

export const dlqTopic = (topic: string): string => `${topic}.dlq`;

export const cdcTopic = (prefix: string, schema: string, table: string): string =>
  `${prefix}.${schema}.${table}`;

/** Headers carried by every dead-letter record next to the untouched raw bytes. */
export const DLQ_HEADERS = {
  reason: "tributary.dlq.reason",
  source: "tributary.dlq.source",
  topic: "tributary.dlq.topic",
  at: "tributary.dlq.at",
} as const;
