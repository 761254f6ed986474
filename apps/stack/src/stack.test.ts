/**
 * The stack command's contract: status reports every service, and `up` after a crash restarts what died
 * with its data. The crash runs against a private Kafka (own ports and state dir), never the shared one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createKafka, ensureTopics, topicSpec } from "@tributary/shared/kafka";
import { uniqueName } from "@tributary/shared/testing/names";
import { stackStatus } from "./stack.ts";
import { type PrivateStack, startPrivateStack } from "./testing/private-stack.ts";

describe("local stack", () => {
  test("status reports kafka, postgres and s3 healthy", async () => {
    const statuses = await stackStatus();
    expect(statuses.map((s) => [s.name, s.state])).toEqual([
      ["kafka", "up"],
      ["postgres", "up"],
      ["s3", "up"],
    ]);
  });
});

describe("a private Kafka", () => {
  let stack: PrivateStack;
  beforeAll(async () => {
    stack = await startPrivateStack(["kafka"]);
  }, 120_000);
  afterAll(() => stack?.close(), 60_000);

  test("after kill -9 of the Kafka JVM, status says down and up brings it back with its data", async () => {
    const { config } = stack;
    const kafka = createKafka(config.kafka, "stack-test");
    const topic = uniqueName("survivor");
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [topicSpec(config.kafka, topic, 1)]);
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: "k", value: "kept across a crash" }] });
    await producer.disconnect();

    const pid = stack.pid("kafka");
    expect(pid).toBeDefined();
    process.kill(pid as number, "SIGKILL");
    await Bun.sleep(300);
    const [afterKill] = await stack.status();
    expect(afterKill?.state).toBe("down");

    const [restarted] = await stack.up();
    expect(restarted?.state).toBe("up");
    expect(restarted?.pid).not.toBe(pid);

    // After an unclean shutdown the broker answers before it has recovered every log: a partition
    // can be leaderless (NOT_LEADER_FOR_PARTITION) for a few seconds, which clients retry.
    const admin2 = kafka.admin();
    await admin2.connect();
    let offsets: Awaited<ReturnType<typeof admin2.fetchTopicOffsets>> = [];
    for (const deadline = Date.now() + 30_000; ; await Bun.sleep(500)) {
      try {
        offsets = await admin2.fetchTopicOffsets(topic);
        break;
      } catch (err) {
        if (Date.now() > deadline || !(err as { retriable?: boolean }).retriable) throw err;
      }
    }
    await admin2.disconnect();
    expect(offsets[0]?.high).toBe("1");
  }, 90_000);
});

test("a wrong config value stops the stack command with a message naming the variable", () => {
  const proc = Bun.spawnSync(["bun", "apps/stack/src/cli.ts", "status"], {
    cwd: `${import.meta.dir}/../../..`,
    env: { ...process.env, KAFKA_BROKERS: "nonsense:port" },
  });
  expect(proc.exitCode).toBe(1);
  expect(proc.stderr.toString()).toContain(
    'KAFKA_BROKERS="nonsense:port": expected a comma-separated list of host:port pairs',
  );
});
