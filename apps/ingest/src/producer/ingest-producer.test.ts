/** The producer against the real broker: explicit topics, key = symbol, acknowledged deliveries, raw dead letters. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { DLQ_HEADERS, dlqTopic } from "@tributary/shared/contracts/topics";
import { TRADE_CONTRACT_VERSION } from "@tributary/shared/contracts/trade";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { ConfigResourceTypes } from "kafkajs";
import type { SequencedTrade } from "../kraken/mappers/trade.ts";
import { IngestProducer } from "./ingest-producer.ts";
import { readTopic } from "./topic-reader.ts";
import { ensureIngestTopics } from "./topics.ts";

const config = loadConfig();
const kafka = createKafka(config.kafka, "producer-test");
const topics = { trades: uniqueName("prod_trades"), ticker: uniqueName("prod_ticker") };

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await ensureIngestTopics(admin, config.kafka, topics)).toHaveLength(4);
    expect(await ensureIngestTopics(admin, config.kafka, topics)).toEqual([]);
  } finally {
    await admin.disconnect();
  }
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteTopics({
      topics: [topics.trades, topics.ticker, dlqTopic(topics.trades), dlqTopic(topics.ticker)],
    })
    .catch(() => undefined);
  await admin.disconnect();
});

function trade(symbol: string, id: number): SequencedTrade {
  return {
    message: {
      v: TRADE_CONTRACT_VERSION,
      exchange: "KRAKEN",
      symbol,
      trade_id: id,
      price: "65000.1",
      qty: "0.01000000",
      side: "buy",
      ord_type: "limit",
      ts: "2026-01-01T00:00:00.000001Z",
      received_at: "2026-01-01T00:00:00.000002Z",
      source: "ws",
    },
    timeNs: 1767225600000001000n,
  };
}

test("topics are created explicitly with the configured partitions and retention", async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topics.trades, dlqTopic(topics.trades)] });
    const partitions = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions.get(topics.trades)).toBe(config.kafka.topicPartitions);
    expect(partitions.get(dlqTopic(topics.trades))).toBe(1);
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.trades, configNames: ["retention.ms"] }],
    });
    expect(described.resources[0]?.configEntries[0]?.configValue).toBe(String(config.kafka.retentionMs));
  } finally {
    await admin.disconnect();
  }
});

test("trades are delivered keyed by symbol and reported only after Kafka acknowledged them", async () => {
  const acked: number[] = [];
  const producer = new IngestProducer({
    kafka,
    topics,
    log: createLogger("t", "error"),
    maxBatch: 7,
    onTradesAcked: (ts) => acked.push(...ts.map((t) => t.message.trade_id)),
  });
  await producer.connect();
  try {
    const batch = Array.from({ length: 50 }, (_, i) => trade(i % 2 ? "BTC/USD" : "ETH/USD", i + 1));
    await producer.enqueueTrades(batch);
    expect(acked.length).toBeLessThan(50);
    await producer.flush();
    expect(acked).toEqual(batch.map((t) => t.message.trade_id));
  } finally {
    await producer.close();
  }
  const records = await readTopic(kafka, topics.trades, uniqueName("prod_reader"));
  expect(records).toHaveLength(50);
  for (const r of records) {
    const msg = JSON.parse(r.value?.toString() ?? "{}");
    expect(r.key).toBe(msg.symbol);
    expect(msg.price).toBe("65000.1");
  }
  const partitionsBySymbol = new Map<string, Set<number>>();
  for (const r of records)
    partitionsBySymbol.set(r.key ?? "", (partitionsBySymbol.get(r.key ?? "") ?? new Set()).add(r.partition));
  for (const parts of partitionsBySymbol.values()) expect(parts.size).toBe(1);
});

test("dead letters keep the raw bytes untouched and carry the reason in headers", async () => {
  const reasons: string[] = [];
  const producer = new IngestProducer({
    kafka,
    topics,
    log: createLogger("t", "error"),
    onDeadLetter: (_s, r) => reasons.push(r),
  });
  await producer.connect();
  const raw = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x22]);
  try {
    await producer.enqueueDeadLetter("trades", raw, "frame is not JSON: bad byte", "kraken.ws");
    await producer.enqueueDeadLetter(
      "ticker",
      '{"channel":"ticker"}',
      "ticker data[0]: bid is not a JSON number",
      "kraken.ws",
      "BTC/USD",
    );
  } finally {
    await producer.close();
  }
  expect(reasons).toHaveLength(2);
  const [dead] = await readTopic(kafka, dlqTopic(topics.trades), uniqueName("prod_dlq"));
  expect(dead?.value && [...dead.value]).toEqual([...raw]);
  expect(dead?.headers[DLQ_HEADERS.reason]).toBe("frame is not JSON: bad byte");
  expect(dead?.headers[DLQ_HEADERS.source]).toBe("kraken.ws");
  expect(dead?.headers[DLQ_HEADERS.topic]).toBe(topics.trades);
  expect(dead?.headers[DLQ_HEADERS.at]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const [tickerDead] = await readTopic(kafka, dlqTopic(topics.ticker), uniqueName("prod_dlq2"));
  expect(tickerDead?.key).toBe("BTC/USD");
});
