/**
 * Fuzz, with the real broker: the simulator sends 1,000 malformed WebSocket frames and REST bodies among
 * real trades. Every one of them must land in a dead-letter topic with its exact bytes and a reason,
 * and the ingester must keep going: every real trade still reaches Kafka.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { DLQ_HEADERS, dlqTopic } from "@tributary/shared/contracts/topics";
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { readTopic } from "../../producer/topic-reader.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import { compareWithTruth, describeComparison } from "../../simulator/truth-check.ts";
import { startIngester } from "./ingester.ts";
import { simulatorOptions } from "./testing.ts";

const config = loadConfig();
const MALFORMED = 1_000;
let stateDir: string;

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-fuzz-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

test("1,000 malformed frames and bodies all land in the dead-letter topics; the ingester keeps going", async () => {
  const sim = await KrakenSimulator.start({
    seed: 99,
    tradesPerSecond: 1_500,
    totalTrades: 9_000,
    heartbeatMs: 200,
    faults: { malformedWsRate: 0.3, malformedRestRate: 0.3, malformedLimit: MALFORMED },
    // Sweeps no larger than the 20-row pages, so every trade is reachable (gap-free.test.ts covers larger).
    sweeps: { maxFills: 20, giantProbability: 0 },
  });
  const topics = { trades: uniqueName("fuzz_trades"), ticker: uniqueName("fuzz_ticker") };
  const lastAcked = new Map<string, number>();
  await Bun.sleep(1_500); // the market runs first, so the start needs many small REST pages
  const ingester = await startIngester(
    simulatorOptions(sim, config, topics, stateDir, {
      ws: { staleMs: 2_000 },
      rest: {
        backoff: { initialMs: 10, maxMs: 100 },
        rateLimitDelayMs: 10,
        maxAttempts: 50,
        pageSize: 20,
      },
    }),
    {
      log: createLogger("fuzz", "error"),
      onTradesAcked: (trades) => {
        for (const t of trades) lastAcked.set(t.message.symbol, t.message.trade_id);
      },
    },
  );
  try {
    await sim.whenFinished();
    const lastIds = new Map(sim.symbols().map((s) => [s, sim.truthIds(s).at(-1) ?? 0]));
    const deadline = Date.now() + 60_000;
    while ([...lastIds].some(([s, id]) => (lastAcked.get(s) ?? 0) < id) && Date.now() < deadline)
      await Bun.sleep(50);
    await ingester.stop();

    const kafka = createKafka(config.kafka, "fuzz-check");
    const dead = [
      ...(await readTopic(kafka, dlqTopic(topics.trades), uniqueName("fuzz_dlq_trades"))),
      ...(await readTopic(kafka, dlqTopic(topics.ticker), uniqueName("fuzz_dlq_ticker"))),
    ];
    const injected = sim.faults.malformedSent;
    const counts = sim.snapshotStats().faults;
    console.log(
      `fuzz: ${JSON.stringify({ injected_ws: counts.malformedWs, injected_rest: counts.malformedRest, dlq_records: dead.length })}`,
    );
    expect(counts.malformedWs + counts.malformedRest).toBe(MALFORMED);
    expect(counts.malformedRest).toBeGreaterThan(0);
    if (dead.length !== MALFORMED) {
      // Name the frames or bodies that were quarantined more or fewer times than sent.
      const tally = new Map<string, number>();
      for (const t of injected) tally.set(t, (tally.get(t) ?? 0) - 1);
      for (const r of dead)
        tally.set(r.value?.toString("utf8") ?? "", (tally.get(r.value?.toString("utf8") ?? "") ?? 0) + 1);
      for (const [t, n] of tally)
        if (n !== 0) console.log("dead-letter surplus", n, JSON.stringify(t).slice(0, 200));
    }
    expect(dead).toHaveLength(MALFORMED);
    // Same bytes, as a multiset: every injected frame or body is quarantined once, untouched.
    const sortedDead = dead.map((r) => r.value?.toString("utf8") ?? "").sort();
    expect(sortedDead).toEqual([...injected].sort());
    for (const r of dead) {
      expect(r.headers[DLQ_HEADERS.reason]?.length ?? 0).toBeGreaterThan(0);
      expect(r.headers[DLQ_HEADERS.source]).toMatch(/^kraken\.(ws|rest\.Trades)$/);
    }
    expect(await ingester.metrics.registry.value("tributary_ingest_dlq_total")).toBe(MALFORMED);

    const records = await readTopic(kafka, topics.trades, uniqueName("fuzz_reader"));
    const delivered = records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
    const comparison = compareWithTruth(delivered, new Map(sim.symbols().map((s) => [s, sim.truth(s)])));
    if (!comparison.ok) throw new Error(describeComparison(comparison));
    expect(comparison.totalMissing).toBe(0);
  } finally {
    await ingester.stop();
    await sim.stop();
  }
}, 180_000);
