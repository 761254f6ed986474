/**
 * The group's Kafka offsets reach the lake's position even when no record follows: a writer killed
 * after publishing (before its offset commit) leaves Kafka behind, and its successor, with nothing new
 * to flush, commits the position it recovered from the lake (kafka-offsets.ts). Before that, lag tools
 * read records already in the lake as lag until more data came (seen in the crash soak).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { uniqueName } from "@tributary/shared/testing/names";
import { spawnWriter, tradesWriterArgs } from "./child.ts";
import { createTestTopic, produceTrades, readExactlyOnce, testProducer, waitFor } from "./testing.ts";

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-offsets-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("a writer with nothing to flush commits the lake's position its killed predecessor did not", async () => {
  const uri = join(scratch, "lake");
  const topic = uniqueName("offsets");
  const group = uniqueName("group");
  const config = { ...base, lake: { ...base.lake, uri } };
  await createTestTopic(config, topic, 1);
  const producer = await testProducer(config);
  const sent = await produceTrades(producer, topic, 100, 1);
  await producer.disconnect();
  const admin = createKafka(config.kafka, "lake-test").admin();
  await admin.connect();
  const groupOffset = async (): Promise<number> =>
    Number((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions[0]?.offset);

  // One flush of all 100 rows (the row limit, never the clock), then SIGKILL before step 5.
  const env = {
    LAKE_URI: uri,
    LAKE_CONSUMER_GROUP: group,
    LAKE_FLUSH_MS: "600000",
    LAKE_FLUSH_ROWS: "100",
    LAKE_ICEBERG_COMMIT_MS: "0",
  };
  const args = tradesWriterArgs(topic);
  try {
    const killed = spawnWriter({ ...env, TRIBUTARY_FAULT_POINT: "after-publish" }, args);
    expect(await killed.exited).toBeNull();
    expect(killed.faultPoint()).toBe("after-publish");
    expect((await readExactlyOnce(uri, "kraken_trades")).total).toBe(sent[0] as number);
    expect(await groupOffset()).toBe(-1);

    const next = spawnWriter(env, args);
    await Promise.race([next.consuming, Bun.sleep(60_000)]);
    const caughtUp = await waitFor(async () => (await groupOffset()) === sent[0], 30_000, 250);
    next.terminate();
    expect({ caughtUp, code: await next.exited }).toEqual({ caughtUp: true, code: 0 });
  } finally {
    await admin.disconnect();
  }
}, 120_000);
