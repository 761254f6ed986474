import { expect, test } from "bun:test";
import { loadConfig } from "./config.ts";
import { createKafka, ensureTopics, topicSpec } from "./kafka.ts";
import { uniqueName } from "./testing/names.ts";

const config = loadConfig();

test("a kafkajs produce/consume round trip through a consumer group commits its offsets on the real broker", async () => {
  const kafka = createKafka(config.kafka, "roundtrip");
  const topic = uniqueName("roundtrip");
  const groupId = uniqueName("group");
  const admin = kafka.admin();
  await admin.connect();
  expect(await ensureTopics(admin, [topicSpec(config.kafka, topic, 3)])).toEqual([topic]);
  // Explicit creation is idempotent: a second call creates nothing.
  expect(await ensureTopics(admin, [topicSpec(config.kafka, topic, 3)])).toEqual([]);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
  await producer.send({ topic, acks: -1, messages: sent });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
          for (const m of batch.messages) {
            seen.push(m.value?.toString() ?? "");
            resolveOffset(m.offset);
          }
          await consumer.commitOffsets([
            { topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) },
          ]);
          await commitOffsetsIfNecessary();
          if (seen.length >= sent.length) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  expect(seen.sort()).toEqual(sent.map((m) => m.value).sort());

  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const total = committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  expect(total).toBe(300);
  await admin.disconnect();
}, 60_000);
