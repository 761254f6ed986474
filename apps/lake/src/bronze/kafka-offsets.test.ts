import { expect, test } from "bun:test";
import { createLogger } from "@tributary/shared/log";
import type { OffsetCommit } from "./commit-protocol.ts";
import { KafkaOffsets } from "./kafka-offsets.ts";

// No Kafka: a commit function that refuses on demand stands in for the group coordinator.
interface Tp {
  key: string;
  topic: string;
  partition: number;
  recovered: boolean;
  committedNext: bigint;
  epoch: number;
}
const tp = (partition: number, committedNext: bigint, recovered = true): Tp => ({
  key: `t/${partition}`,
  topic: "t",
  partition,
  recovered,
  committedNext,
  epoch: 1,
});

function harness(parts: Tp[], lake = new Map<number, bigint>()) {
  const broker = new Map<number, string>();
  const lakeReads: number[] = [];
  const calls: OffsetCommit[][] = [];
  const warned: string[] = [];
  let refuse = 0;
  let clock = 0;
  const log = createLogger("test", "warn", (line) => warned.push(line));
  const offsets = new KafkaOffsets({
    commit: async (o) => {
      calls.push([...o]);
      if (refuse > 0) {
        refuse -= 1;
        throw new Error("REBALANCE_IN_PROGRESS");
      }
      for (const c of o) broker.set(c.partition, c.offset);
    },
    partitions: () => parts,
    lakePosition: async (_topic, partition) => {
      lakeReads.push(partition);
      return lake.get(partition) ?? parts.find((p) => p.partition === partition)?.committedNext ?? 0n;
    },
    log,
    now: () => clock,
    retryDelayMs: 1,
  });
  return {
    offsets,
    broker,
    lakeReads,
    calls,
    warned,
    refuseNext: (n: number) => {
      refuse = n;
    },
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

test("a refused flush commit is committed again on a later tick, at the lake's position", async () => {
  const p0 = tp(0, 100n);
  const h = harness([p0]);
  h.refuseNext(1);
  await expect(h.offsets.commit([{ topic: "t", partition: 0, offset: "100" }])).rejects.toThrow("REBALANCE");
  expect(h.broker.get(0)).toBeUndefined();
  expect(h.offsets.behind()).toEqual([{ topic: "t", partition: 0, offset: "100" }]);

  h.advance(1_000);
  h.offsets.tick();
  await settle();
  expect(h.broker.get(0)).toBe("100");
  expect(h.offsets.behind()).toEqual([]);
  // Caught up: later ticks send nothing.
  const sent = h.calls.length;
  h.advance(5_000);
  h.offsets.tick();
  await settle();
  expect(h.calls.length).toBe(sent);
});

test("the tick catches up at most once a second and skips partitions still recovering or with an empty lake", async () => {
  const p0 = tp(0, 10n);
  const h = harness([p0, tp(1, 20n, false), tp(2, 0n)]);
  h.offsets.tick();
  await settle();
  expect(h.calls).toEqual([[{ topic: "t", partition: 0, offset: "10" }]]);
  // The lake moves on: nothing is sent within the second, the new position once it has passed.
  p0.committedNext = 11n;
  h.advance(999);
  h.offsets.tick();
  await settle();
  expect(h.calls).toHaveLength(1);
  h.advance(1);
  h.offsets.tick();
  await settle();
  expect(h.calls).toEqual([
    [{ topic: "t", partition: 0, offset: "10" }],
    [{ topic: "t", partition: 0, offset: "11" }],
  ]);
});

test("a partition kept across a join is read from the lake first: a position another writer moved is never committed", async () => {
  // p0: this writer remembers 100, but while it was out of the group another writer took the lake to
  // 200 (and Kafka with it). p1: kept too, and the lake agrees with what this writer remembers.
  const p0 = tp(0, 100n);
  const p1 = tp(1, 50n);
  const h = harness([p0, p1], new Map([[0, 200n]]));
  h.broker.set(0, "200");
  h.offsets.reset();
  h.offsets.tick();
  await settle();
  expect(h.lakeReads.sort()).toEqual([0, 1]);
  expect(h.calls).toEqual([[{ topic: "t", partition: 1, offset: "50" }]]);
  expect(h.broker.get(0)).toBe("200");
  // Contradicted: left alone (no more lake reads) until the partition is recovered again.
  h.advance(1_000);
  h.offsets.tick();
  await settle();
  expect(h.lakeReads).toHaveLength(2);
  expect(h.offsets.behind()).toEqual([]);
  // Recovered again (a new epoch, the lake's position): committed without another read.
  p0.epoch += 1;
  p0.committedNext = 200n;
  h.advance(1_000);
  h.offsets.tick();
  await settle();
  expect(h.lakeReads).toHaveLength(2);
  expect(h.calls.at(-1)).toEqual([{ topic: "t", partition: 0, offset: "200" }]);
});

test("shutdown retries a refused catch-up, then reports what stays behind without throwing", async () => {
  const p0 = tp(0, 7n);
  const h = harness([p0]);
  h.refuseNext(2);
  expect(await h.offsets.flush()).toBe(true);
  expect(h.calls).toHaveLength(3);
  expect(h.broker.get(0)).toBe("7");

  p0.committedNext = 9n;
  h.refuseNext(10);
  expect(await h.offsets.flush()).toBe(false);
  expect(h.warned).toHaveLength(1);
  expect(h.warned[0]).toContain("Kafka offsets stay behind the lake until the next writer commits them");
  expect(h.warned[0]).toContain("t/0@9");
  expect(h.broker.get(0)).toBe("7");
});

test("commits never overlap: a catch-up in flight finishes before a flush's commit is sent", async () => {
  const order: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const offsets = new KafkaOffsets({
    commit: async (o) => {
      order.push(`start ${o[0]?.offset}`);
      if (o[0]?.offset === "5") await gate;
      order.push(`end ${o[0]?.offset}`);
    },
    partitions: () => [tp(0, 5n)],
    lakePosition: async () => 5n,
    log: createLogger("test", "error"),
    now: () => 10_000,
  });
  offsets.tick();
  const later = offsets.commit([{ topic: "t", partition: 0, offset: "8" }]);
  await settle();
  expect(order).toEqual(["start 5"]);
  release();
  await later;
  expect(order).toEqual(["start 5", "end 5", "start 8", "end 8"]);
  // Kafka acknowledged 8: the lake's 5 is not ahead of it.
  expect(offsets.behind()).toEqual([]);
});

test("a new assignment forgets what Kafka acknowledged: the lake's position, read again, is committed once more", async () => {
  const h = harness([tp(0, 3n)]);
  h.offsets.tick();
  await settle();
  expect(h.offsets.behind()).toEqual([]);
  h.offsets.reset();
  expect(h.offsets.behind()).toEqual([{ topic: "t", partition: 0, offset: "3" }]);
  h.broker.clear();
  h.advance(1_000);
  h.offsets.tick();
  await settle();
  expect(h.lakeReads).toEqual([0]);
  expect(h.broker.get(0)).toBe("3");
});

test("shutdown is bounded: a broker that never answers holds it for the bound, not longer", async () => {
  const warned: string[] = [];
  const offsets = new KafkaOffsets({
    commit: () => new Promise<void>(() => undefined),
    partitions: () => [tp(0, 4n)],
    lakePosition: async () => 4n,
    log: createLogger("test", "warn", (line) => warned.push(line)),
    shutdownBoundMs: 50,
  });
  // Without the bound this never resolves and the test times out.
  expect(await offsets.flush()).toBe(false);
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain("no answer within 50 ms");
  expect(warned[0]).toContain("t/0@4");
});
