/**
 * Scale-out: writer processes in one consumer group split the partitions and hand them over on
 * every rebalance (a writer joins, one is killed with -9, another joins) while records keep
 * arriving; the lake ends with every offset exactly once, written by more than one writer.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { uniqueName } from "@tributary/shared/testing/names";
import { spawnWriter, tradesWriterArgs, type WriterChild } from "./child.ts";
import {
  createTestTopic,
  expectedReport,
  produceTrades,
  readExactlyOnce,
  testProducer,
  waitFor,
} from "./testing.ts";

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-rebalance-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("writers joining and dying mid-stream in one group lose and duplicate nothing", async () => {
  const partitions = 6;
  const total = 30_000;
  const uri = join(scratch, uniqueName("lake"));
  const topic = uniqueName("rebalance");
  const config = { ...base, lake: { ...base.lake, uri } };
  await createTestTopic(config, topic, partitions);
  const env = {
    LAKE_URI: uri,
    LAKE_CONSUMER_GROUP: uniqueName("group"),
    LAKE_FLUSH_MS: "200",
    LAKE_FLUSH_ROWS: "2000",
  };
  const args = tradesWriterArgs(topic);

  // A steady stream: 30,000 records over about 15 s.
  const producer = await testProducer(config);
  const sent = Array.from({ length: partitions }, () => 0);
  let produced = 0;
  const streaming = (async () => {
    while (produced < total) {
      const n = Math.min(400, total - produced);
      const per = await produceTrades(producer, topic, n, partitions, {
        startIndex: produced,
        garbageEvery: 1_009,
      });
      for (const [p, c] of per.entries()) sent[p] = (sent[p] ?? 0) + c;
      produced += n;
      await Bun.sleep(200);
    }
  })();

  const children: WriterChild[] = [];
  try {
    const a = spawnWriter(env, args);
    children.push(a);
    await a.consuming;
    await Bun.sleep(2_000);
    const b = spawnWriter(env, args); // rebalance 1: A and B split the partitions
    children.push(b);
    await b.consuming;
    await Bun.sleep(3_000);
    a.kill9(); // rebalance 2 (after the session timeout): B takes A's partitions mid-flush
    await a.exited;
    await Bun.sleep(1_000);
    const c = spawnWriter(env, args); // rebalance 3: C joins
    children.push(c);
    await c.consuming;
    await streaming;
    const want = expectedReport(sent);
    const done = await waitFor(
      async () => (await readExactlyOnce(uri, "kraken_trades")).total >= want.total,
      120_000,
      1_000,
    );
    expect(done).toBe(true);
    for (const w of [b, c]) w.terminate();
    expect(await Promise.all([b.exited, c.exited])).toEqual([0, 0]);
    expect(await readExactlyOnce(uri, "kraken_trades")).toEqual(want);

    // The work really was shared: records from several writers, and some partition changed hands.
    const { records } = await new CommitLog(createLakeStore(config)).readSince({
      layer: "bronze",
      name: "kraken_trades",
    });
    const writerOf = (w: string): string => w.slice(0, w.lastIndexOf("-"));
    expect(new Set(records.map((r) => writerOf(r.writer))).size).toBeGreaterThanOrEqual(2);
    const owners = new Map<number, Set<string>>();
    for (const r of records)
      if (r.kind === "append")
        owners.set(r.partition, (owners.get(r.partition) ?? new Set()).add(writerOf(r.writer)));
    expect([...owners.values()].some((s) => s.size >= 2)).toBe(true);
  } finally {
    for (const w of children) w.kill9();
    await producer.disconnect();
  }
}, 300_000);
