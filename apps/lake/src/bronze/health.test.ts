/**
 * The writer's /health measures progress: with the lake's disk full (a small tmpfs) or its broker
 * killed (a private Kafka, never the shared one) it turns 503 within HEALTH_STALL_AFTER_S, naming the
 * cause, and 200 again once the fault is gone, with every record committed exactly once.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createLakeStore } from "@tributary/shared/lake/store";
import { healthBecomes, readHealth } from "@tributary/shared/testing/health";
import { uniqueName } from "@tributary/shared/testing/names";
import { startPrivateStack } from "@tributary/stack/testing/private-stack";
import { routedDataset } from "./datasets.ts";
import {
  createTestTopic,
  expectedReport,
  produceTrades,
  readLakeExactlyOnce,
  testProducer,
  waitFor,
} from "./testing.ts";
import { type BronzeWriterHandle, startBronzeWriter } from "./writer.ts";

const STALL_MS = 3000;
/**
 * Past the stall limit, measured from when Kafka holds the rows: one flush interval (200 ms) for the writer to meet
 * the fault, the 250 ms poll, and an answer queued behind a flush on a loaded machine.
 */
const ALLOWANCE_MS = 2_500;
const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-health-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function configFor(b: Config, lakeUri: string): Config {
  return {
    ...b,
    lake: { ...b.lake, uri: lakeUri, flushMs: 200, consumerGroup: uniqueName("group") },
    health: { ...b.health, stallAfterMs: STALL_MS },
  };
}

function urlOf(writer: BronzeWriterHandle): string {
  if (!writer.metricsUrl) throw new Error("the writer serves no /health (metrics port off)");
  return writer.metricsUrl;
}
const writerHealthBecomes = (writer: BronzeWriterHandle, want: number, ms: number) =>
  healthBecomes(urlOf(writer), want, ms, 250);

const mountable = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = join(scratch, "probe");
  mkdirSync(probe, { recursive: true });
  const ok = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]).exitCode === 0;
  if (ok) Bun.spawnSync(["umount", probe]);
  if (!ok) console.log("skipping the disk-full test: a tmpfs cannot be mounted here (needs root)");
  return ok;
})();

describe("the bronze writer's /health", () => {
  test.skipIf(!mountable)(
    "disk full: 503 within the stall limit while flushes fail, 200 and exactly once after space is freed",
    async () => {
      const disk = join(scratch, "disk");
      mkdirSync(disk, { recursive: true });
      expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]).exitCode).toBe(0);
      try {
        const config = configFor(base, join(disk, "lake"));
        const topic = uniqueName("trades");
        await createTestTopic(config, topic, 1);
        const writer = await startBronzeWriter(config, {
          topics: [topic],
          routes: new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]),
          metricsPort: 0,
        });
        // Fill the disk but a few KiB once the writer has checked that the lake is writable.
        const filler = join(disk, "filler");
        Bun.spawnSync(["dd", "if=/dev/zero", `of=${filler}`, "bs=64k", "count=200"], { stderr: "ignore" });
        try {
          const producer = await testProducer(config);
          const sent = await produceTrades(producer, topic, 4_000, 1);
          // The stall clock starts when rows wait in the writer, so ours starts once Kafka holds
          // them all (producing took 2.7 s on a loaded machine once, and failed a clock started before it).
          const faultAt = Date.now();
          await producer.disconnect();
          const down = await writerHealthBecomes(writer, 503, STALL_MS + 20_000);
          const downAfterMs = Date.now() - faultAt;
          console.log(
            `disk full: /health 503 ${downAfterMs} ms after Kafka held the rows: ${down.body.checks.commits?.detail}`,
          );
          expect(down.status).toBe(503);
          expect(downAfterMs).toBeLessThanOrEqual(STALL_MS + ALLOWANCE_MS);
          expect(down.body.checks.commits?.detail).toContain("flushes fail");
          rmSync(filler);
          const up = await writerHealthBecomes(writer, 200, 60_000);
          console.log(`space freed: /health 200 after ${up.afterMs} ms`);
          expect(up.status).toBe(200);
          const store = createLakeStore(config);
          expect(
            await waitFor(
              async () => (await readLakeExactlyOnce(store, "kraken_trades")).total === 4_000,
              30_000,
            ),
          ).toBe(true);
          expect(await readLakeExactlyOnce(store, "kraken_trades")).toEqual(expectedReport(sent));
        } finally {
          await writer.stop();
        }
      } finally {
        Bun.spawnSync(["umount", "-l", disk]);
      }
    },
    120_000,
  );

  test("a private broker killed: 503 within the stall limit, naming Kafka; 200 once it is back", async () => {
    await using stack = await startPrivateStack(["kafka"]);
    const config = configFor(stack.config, join(scratch, uniqueName("lake")));
    const topic = uniqueName("trades");
    await createTestTopic(config, topic, 1);
    const producer = await testProducer(config);
    await produceTrades(producer, topic, 500, 1);
    await producer.disconnect();
    const writer = await startBronzeWriter(config, {
      topics: [topic],
      routes: new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]),
      metricsPort: 0,
      sessionTimeoutMs: 6_000,
    });
    try {
      const store = createLakeStore(config);
      expect(
        await waitFor(async () => (await readLakeExactlyOnce(store, "kraken_trades")).total === 500, 30_000),
      ).toBe(true);
      expect((await readHealth(urlOf(writer)))?.status).toBe(200);
      const pid = stack.pid("kafka");
      expect(pid).toBeNumber();
      process.kill(pid as number, "SIGKILL");
      const down = await writerHealthBecomes(writer, 503, STALL_MS + 20_000);
      console.log(`broker killed: /health 503 after ${down.afterMs} ms: ${JSON.stringify(down.body.checks)}`);
      expect(down.status).toBe(503);
      expect(down.afterMs).toBeLessThanOrEqual(STALL_MS + ALLOWANCE_MS);
      expect(down.body.checks.kafka?.detail).toContain("no fetch from Kafka");
      await stack.up();
      const up = await writerHealthBecomes(writer, 200, 90_000);
      console.log(`broker back: /health 200 after ${up.afterMs} ms`);
      expect(up.status).toBe(200);
    } finally {
      await writer.stop();
    }
  }, 180_000);
});
