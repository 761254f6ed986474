/**
 * Gap-free under faults, with the real broker: the simulator emits trades over 3 symbols while dropping
 * and stalling the WebSocket (>= 10 times) and answering REST with 429, 5xx and Kraken rate-limit and
 * service errors; every trade_id it emitted must be in Kafka with identical content.
 * CI size 20,000 trades; TRIBUTARY_SOAK=1 runs the full 200,000.
 */
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

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const TOTAL = SOAK ? 200_000 : 20_000;
const RATE = SOAK ? 5_000 : 2_500;
const config = loadConfig();
let stateDir: string;

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-gapfree-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

test(
  `every emitted trade_id reaches Kafka despite WebSocket drops, stalls and REST 429/5xx (${TOTAL} trades)`,
  async () => {
    const sim = await KrakenSimulator.start({
      seed: 7,
      tradesPerSecond: RATE,
      totalTrades: TOTAL,
      heartbeatMs: 200,
      autoStart: false,
      faults: {
        wsDropEveryTrades: Math.floor(TOTAL / 14),
        wsStallEveryMs: SOAK ? 9_000 : 3_000,
        wsStallMs: 1_200,
        restFailureRate: 0.3,
      },
    });
    const topics = { trades: uniqueName("gapfree_trades"), ticker: uniqueName("gapfree_ticker") };
    const lastAcked = new Map<string, number>();
    const log = createLogger("gapfree", "warn");
    const started = performance.now();
    const ingester = await startIngester(
      simulatorOptions(sim, config, topics, stateDir, {
        logLevel: "warn",
        ws: { staleMs: 800, backoff: { initialMs: 50, maxMs: 500, floorMs: 20 } },
        rest: {
          backoff: { initialMs: 20, maxMs: 300, floorMs: 10 },
          rateLimitDelayMs: 50,
          maxAttempts: 20,
          // Small pages mean many REST calls per backfill, so the injected 429/5xx answers are met often.
          pageSize: 200,
        },
      }),
      {
        log,
        onTradesAcked: (trades) => {
          for (const t of trades) lastAcked.set(t.message.symbol, t.message.trade_id);
        },
      },
    );
    try {
      sim.startMarket();
      await sim.whenFinished();
      const lastIds = new Map(sim.symbols().map((s) => [s, sim.truthIds(s).at(-1) ?? 0]));
      const deadline = Date.now() + 120_000;
      while ([...lastIds].some(([s, id]) => (lastAcked.get(s) ?? 0) < id) && Date.now() < deadline)
        await Bun.sleep(50);
      const elapsedS = (performance.now() - started) / 1000;
      await ingester.stop();

      const records = await readTopic(
        createKafka(config.kafka, "gapfree-check"),
        topics.trades,
        uniqueName("gapfree_reader"),
      );
      const delivered = records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
      const truth = new Map(sim.symbols().map((s) => [s, sim.truth(s)]));
      const comparison = compareWithTruth(delivered, truth);
      const stats = sim.snapshotStats();
      const m = ingester.metrics.registry;
      const summary = {
        trades: TOTAL,
        elapsed_s: Math.round(elapsedS * 10) / 10,
        ws_drops: stats.faults.wsDrops,
        ws_stalls: stats.faults.wsStalls,
        rest_429: stats.faults.restHttp429,
        rest_5xx: stats.faults.restHttp5xx,
        rest_rate_limit_errors: stats.faults.restRateLimitErrors,
        rest_service_errors: stats.faults.restServiceErrors,
        reconnects: m.total("tributary_ingest_ws_reconnects_total"),
        backfilled: m.total("tributary_ingest_backfilled_trades_total"),
        rest_retries: m.total("tributary_ingest_rest_retries_total"),
        kafka_records: records.length,
        duplicates: comparison.totalDuplicates,
        missing: comparison.totalMissing,
      };
      console.log(`gap-free: ${JSON.stringify(summary)}`);
      expect(stats.faults.wsDrops + stats.faults.wsStalls).toBeGreaterThanOrEqual(10);
      expect(stats.faults.restHttp429).toBeGreaterThan(0);
      expect(stats.faults.restHttp5xx).toBeGreaterThan(0);
      expect(m.total("tributary_ingest_backfilled_trades_total")).toBeGreaterThan(0);
      if (!comparison.ok) throw new Error(describeComparison(comparison));
      expect(comparison.totalMissing).toBe(0);
      expect(comparison.totalTruth).toBe(TOTAL);
      expect(m.total("tributary_ingest_unrecoverable_missing_trades_total")).toBe(0);
    } finally {
      await ingester.stop();
      await sim.stop();
    }
  },
  SOAK ? 1_800_000 : 240_000,
);
