/** Poll mode (REST Trades on a croner schedule) and --once write the same contract, with the real broker. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { readTopic } from "../../producer/topic-reader.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import { compareWithTruth, describeComparison } from "../../simulator/truth-check.ts";
import { cursorDir, TradeCursorStore } from "../cursor-store.ts";
import { startIngester } from "./ingester.ts";
import type { IngestOptions } from "./options.ts";
import { simulatorOptions } from "./testing.ts";

const config = loadConfig();
let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-poll-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function options(
  sim: KrakenSimulator,
  topics: { trades: string; ticker: string },
  over: Partial<IngestOptions>,
): IngestOptions {
  return simulatorOptions(sim, config, topics, stateDir, {
    mode: "poll",
    rest: { backoff: { initialMs: 10, maxMs: 100 }, rateLimitDelayMs: 10, maxAttempts: 50, pageSize: 200 },
    ...over,
  });
}

async function kafkaTrades(topic: string): Promise<TradeMessage[]> {
  const records = await readTopic(createKafka(config.kafka, "poll-check"), topic, uniqueName("poll_reader"));
  return records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
}

test("poll mode pages REST Trades every second and delivers every trade, through REST errors", async () => {
  const sim = await KrakenSimulator.start({
    seed: 5,
    tradesPerSecond: 800,
    totalTrades: 2_400,
    faults: { restFailureRate: 0.2 },
  });
  const topics = { trades: uniqueName("poll_trades"), ticker: uniqueName("poll_ticker") };
  const lastAcked = new Map<string, number>();
  const ingester = await startIngester(options(sim, topics, { stateDir: join(stateDir, "a") }), {
    log: createLogger("poll", "error"),
    onTradesAcked: (trades) => {
      for (const t of trades) lastAcked.set(t.message.symbol, t.message.trade_id);
    },
  });
  try {
    await sim.whenFinished();
    const lastIds = new Map(sim.symbols().map((s) => [s, sim.truthIds(s).at(-1) ?? 0]));
    const deadline = Date.now() + 30_000;
    while ([...lastIds].some(([s, id]) => (lastAcked.get(s) ?? 0) < id) && Date.now() < deadline)
      await Bun.sleep(50);
    await ingester.stop();
    const delivered = await kafkaTrades(topics.trades);
    const comparison = compareWithTruth(delivered, new Map(sim.symbols().map((s) => [s, sim.truth(s)])));
    if (!comparison.ok) throw new Error(describeComparison(comparison));
    expect(comparison.totalDuplicates).toBe(0);
    expect(delivered.every((t) => t.source === "rest")).toBe(true);
    expect(
      await ingester.metrics.registry.value("tributary_ingest_polls_total", { outcome: "ok" }),
    ).toBeGreaterThanOrEqual(2);
  } finally {
    await ingester.stop();
    await sim.stop();
  }
}, 60_000);

test("--once catches up from the cursor, saves it, and ends by itself; a second run adds only new trades", async () => {
  const sim = await KrakenSimulator.start({
    seed: 6,
    tradesPerSecond: 1_000,
    totalTrades: 900,
    maxTradesPerTick: 100_000,
  });
  await sim.whenFinished();
  const topics = { trades: uniqueName("once_trades"), ticker: uniqueName("once_ticker") };
  const dir = join(stateDir, "b");
  const first = await startIngester(options(sim, topics, { once: true, stateDir: dir }), {
    log: createLogger("once", "error"),
  });
  await first.done;
  const store = new TradeCursorStore(cursorDir(dir));
  for (const s of sim.symbols()) expect(store.load(s)?.lastTradeId).toBe(sim.truthIds(s).at(-1));
  const second = await startIngester(options(sim, topics, { once: true, stateDir: dir }), {
    log: createLogger("once", "error"),
  });
  await second.done;
  await sim.stop();
  const delivered = await kafkaTrades(topics.trades);
  expect(delivered).toHaveLength(900);
  const comparison = compareWithTruth(delivered, new Map(sim.symbols().map((s) => [s, sim.truth(s)])));
  expect(comparison.ok).toBe(true);
}, 60_000);
