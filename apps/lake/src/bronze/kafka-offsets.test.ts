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
}
const tp = (partition: number, committedNext: bigint, recovered = true): Tp => ({
  key: `t/${partition}`,
  topic: "t",
  partition,
  recovered,
  committedNext,
});

function harness(parts: Tp[]) {
  const broker = new Map<number, string>();
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
    log,
    now: () => clock,
    retryDelayMs: 1,
  });
  return {
    offsets,
    broker,
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
  const h = harness([tp(0, 10n), tp(1, 20n, false), tp(2, 0n)]);
  h.offsets.tick();
  await settle();
  expect(h.calls).toEqual([[{ topic: "t", partition: 0, offset: "10" }]]);
  h.refuseNext(5);
  // Lake moved on, but within the second nothing is sent.
  h.offsets.tick();
  await settle();
  expect(h.calls).toHaveLength(1);
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

test("a new assignment forgets what Kafka acknowledged: the lake's position is committed once more", async () => {
  const h = harness([tp(0, 3n)]);
  await h.offsets.flush();
  expect(h.offsets.behind()).toEqual([]);
  h.offsets.reset();
  expect(h.offsets.behind()).toEqual([{ topic: "t", partition: 0, offset: "3" }]);
});

test("shutdown is bounded: a broker that never answers holds it for the bound, not longer", async () => {
  const warned: string[] = [];
  const offsets = new KafkaOffsets({
    commit: () => new Promise<void>(() => undefined),
    partitions: () => [tp(0, 4n)],
    log: createLogger("test", "warn", (line) => warned.push(line)),
    shutdownBoundMs: 50,
  });
  // Without the bound this never resolves and the test times out.
  expect(await offsets.flush()).toBe(false);
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain("no answer within 50 ms");
  expect(warned[0]).toContain("t/0@4");
});
