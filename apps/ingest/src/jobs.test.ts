/**
 * The OHLC job as the scheduler runs it: the pattern comes from KRAKEN_OHLC_CRON, each scheduled
 * slot fetches Kraken's OHLC (the simulator's recorded answer) and the history records the candles;
 * a later slot adds no duplicate candle. Real Kafka, the real scheduler, the wall clock.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import type { OhlcMessage } from "@tributary/shared/contracts/ohlc";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { RunHistory } from "@tributary/shared/scheduler/history";
import { Scheduler } from "@tributary/shared/scheduler/scheduler";
import { uniqueName } from "@tributary/shared/testing/names";
import { ingestJobs, KRAKEN_OHLC_JOB } from "./jobs.ts";
import { readTopic } from "./producer/topic-reader.ts";
import { KrakenSimulator } from "./simulator/server.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tributary-ingest-jobs-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("ingest.kraken_ohlc fires on its KRAKEN_OHLC_CRON slots and lands Kraken's committed candles once", async () => {
  const sim = await KrakenSimulator.start({ mode: "fixtures" });
  const topic = uniqueName("ohlc_scheduled");
  const history = RunHistory.open(join(dir, "runs.sqlite"));
  const config = loadConfig({
    ...process.env,
    KRAKEN_REST_URL: sim.restUrl,
    KRAKEN_SYMBOLS: "BTC/USDT",
    KRAKEN_OHLC_CRON: "*/2 * * * * *", // every 2 s instead of every minute
    TRIBUTARY_STATE_DIR: join(dir, "state"),
  });
  const jobs = ingestJobs(config, { ohlcTopic: topic });
  expect(jobs.find((j) => j.name === KRAKEN_OHLC_JOB)?.pattern).toBe("*/2 * * * * *");
  const scheduler = new Scheduler({ jobs, history, log: createLogger("jobs-test", "error") });
  try {
    await scheduler.start({ catchUp: false });
    const deadline = Date.now() + 30_000;
    const done = () =>
      history.recentRuns({ job: KRAKEN_OHLC_JOB, trigger: "schedule", statuses: ["succeeded"] });
    while (done().length < 2 && Date.now() < deadline) await Bun.sleep(100);
    await scheduler.stop();
    const runs = done().sort((a, b) => a.scheduledFor - b.scheduledFor);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // Slots are whole even seconds; the first run lands the recording's 720 committed candles, the next none.
    expect(runs.every((r) => r.scheduledFor % 2_000_000 === 0)).toBe(true); // µs
    expect(runs.map((r) => r.rows)).toEqual([720, ...runs.slice(1).map(() => 0)]);
    const records = await readTopic(createKafka(config.kafka, "ohlc-jobs-check"), topic, uniqueName("g"));
    const candles = records.map((r) => JSON.parse(r.value?.toString() ?? "null") as OhlcMessage);
    expect(candles).toHaveLength(720);
    expect(new Set(candles.map((c) => c.ts)).size).toBe(720);
    expect(records.every((r) => r.key?.toString() === "BTC/USDT")).toBe(true);
  } finally {
    await scheduler.stop().catch(() => undefined);
    history.close();
    await sim.stop();
  }
}, 60_000);
