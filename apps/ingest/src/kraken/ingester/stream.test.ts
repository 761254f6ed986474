/** Stream mode edge: a symbol that shows no live trade after connecting is still caught up from REST. */
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
import { startIngester } from "./ingester.ts";
import { simulatorOptions } from "./testing.ts";

const config = loadConfig();
let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-stream-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

test("quiet symbols (empty snapshot, no trades) are caught up from REST shortly after connecting", async () => {
  // The market has finished before the ingester starts, and subscriptions carry no snapshot trades.
  const sim = await KrakenSimulator.start({
    seed: 12,
    tradesPerSecond: 2_000,
    totalTrades: 1_200,
    snapshotTrades: 0,
    maxTradesPerTick: 100_000,
  });
  await sim.whenFinished();
  const topics = { trades: uniqueName("quiet_trades"), ticker: uniqueName("quiet_ticker") };
  let acked = 0;
  const ingester = await startIngester(
    simulatorOptions(sim, config, topics, stateDir, { ws: { resyncAfterMs: 300 } }),
    { log: createLogger("quiet", "error"), onTradesAcked: (t) => (acked += t.length) },
  );
  try {
    const deadline = Date.now() + 20_000;
    while (acked < 1_200 && Date.now() < deadline) await Bun.sleep(50);
    await ingester.stop();
    const records = await readTopic(
      createKafka(config.kafka, "quiet-check"),
      topics.trades,
      uniqueName("quiet_reader"),
    );
    const delivered = records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
    const comparison = compareWithTruth(delivered, new Map(sim.symbols().map((s) => [s, sim.truth(s)])));
    if (!comparison.ok) throw new Error(describeComparison(comparison));
    expect(delivered).toHaveLength(1_200);
    expect(await ingester.metrics.registry.value("tributary_ingest_backfilled_trades_total")).toBe(1_200);
  } finally {
    await ingester.stop();
    await sim.stop();
  }
}, 60_000);
