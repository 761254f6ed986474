import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { DLQ_HEADERS } from "@tributary/shared/contracts/topics";
import { createKafka, ensureTopics, topicSpec } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { Partitioners, type Producer } from "kafkajs";
import { KafkaSink } from "./kafka-sink.ts";
import { readTopics } from "./testing/support.ts";

const config = loadConfig();
const kafka = createKafka(config.kafka, "cdc-sink-test");
const topic = uniqueName("cdc_sink");
const dlq = uniqueName("cdc_sink_dlq");
const log = createLogger("cdc-sink-test", "error");
let producer: Producer;

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [topicSpec(config.kafka, topic, 3), topicSpec(config.kafka, dlq, 1)]);
  await admin.disconnect();
  producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
});

describe("KafkaSink", () => {
  test("confirms an LSN only after Kafka acknowledged every record before it, and keeps per-key order", async () => {
    const acked: bigint[] = [];
    const sink = new KafkaSink(
      {
        producer,
        dlqTopic: dlq,
        log,
        lingerMs: 60_000,
        maxBatchRecords: 4,
        onAcked: (_n, lsn) => acked.push(lsn),
      },
      10n,
    );
    try {
      await sink.push({ topic, key: "k1", value: "1" });
      await sink.push({ topic, key: "k1", value: "2" });
      sink.mark(100n);
      expect(sink.confirmedLsn).toBe(10n); // handed over, not yet acknowledged
      await sink.push({ topic, key: "k1", value: "3" });
      await sink.push({ topic, key: "k2", value: "4" }); // 4 records: the batch goes out
      sink.mark(200n);
      await sink.push({ topic, key: "k1", value: "5" });
      expect(sink.confirmedLsn).not.toBe(200n); // its batch has not even been sent
      await sink.flush();
      expect(sink.confirmedLsn).toBe(200n);
      expect(acked.every((lsn, i) => i === 0 || lsn >= (acked[i - 1] as bigint))).toBe(true);
      sink.mark(150n); // never backwards
      await sink.flush();
      expect(sink.confirmedLsn).toBe(200n);
    } finally {
      sink.close();
    }
    const records = await readTopics(kafka, [topic], 20_000, uniqueName("g"));
    expect(records.filter((r) => r.key === "k1").map((r) => r.value)).toEqual(["1", "2", "3", "5"]);
    expect(records).toHaveLength(5);
  });

  test("a record over the size limit goes to the DLQ with the reason, and the stream goes on", async () => {
    const dlqEvents: string[] = [];
    const sink = new KafkaSink({
      producer,
      dlqTopic: dlq,
      log,
      maxRecordBytes: 10_000,
      onDlq: (r) => dlqEvents.push(r),
    });
    try {
      await sink.push({ topic, key: "big", value: "x".repeat(20_000) });
      await sink.push({ topic, key: "after", value: "ok" });
      sink.mark(300n);
      await sink.flush();
      expect(sink.confirmedLsn).toBe(300n);
    } finally {
      sink.close();
    }
    const records = await readTopics(kafka, [dlq], 20_000, uniqueName("g"));
    expect(records).toHaveLength(1);
    expect(records[0]?.key).toBe("big");
    expect(records[0]?.headers[DLQ_HEADERS.reason]).toBe("record is 20003 bytes, over the 10000-byte limit");
    expect(records[0]?.headers[DLQ_HEADERS.topic]).toBe(topic);
    expect(records[0]?.headers["tributary.dlq.truncated_from_bytes"]).toBe("20000");
    expect(dlqEvents).toHaveLength(1);
  });

  test("a refused batch confirms nothing past it; after recover() the linger timer sends again from the confirmed LSN", async () => {
    let refuse = true;
    // A producer whose broker is gone (it refuses after a moment), then back (the real producer behind it).
    const flaky = {
      sendBatch: async (batch: Parameters<Producer["sendBatch"]>[0]) => {
        if (!refuse) return producer.sendBatch(batch);
        await Bun.sleep(50);
        throw new Error("Connection error: connect ECONNREFUSED");
      },
    } as unknown as Producer;
    const failures: string[] = [];
    const sink = new KafkaSink(
      { producer: flaky, dlqTopic: dlq, log, lingerMs: 10, maxBatchRecords: 1 },
      100n,
    );
    sink.onFailure((err) => failures.push(err.message));
    try {
      // Two one-record batches: the second waits behind the first, which Kafka refuses.
      await sink.push({ topic, key: "lost", value: "1" });
      sink.mark(150n);
      await sink.push({ topic, key: "behind", value: "2" });
      sink.mark(200n);
      await expect(sink.flush()).rejects.toThrow("ECONNREFUSED");
      expect(sink.confirmedLsn).toBe(100n);
      expect(failures).toEqual(["Connection error: connect ECONNREFUSED"]);
      await expect(sink.push({ topic, key: "refused", value: "3" })).rejects.toThrow("ECONNREFUSED");
      refuse = false;
      expect(await sink.recover()).toBe(0);
      // The replayed change goes out by the linger timer alone (no flush): the timer was not left stuck.
      await sink.push({ topic, key: "replayed", value: "1" });
      sink.mark(200n);
      const deadline = Date.now() + 10_000;
      while (sink.confirmedLsn < 200n && Date.now() < deadline) await Bun.sleep(20);
      expect(sink.confirmedLsn).toBe(200n);
    } finally {
      sink.close();
    }
  });
});
