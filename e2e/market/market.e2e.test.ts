/**
 * The market pipeline end to end, every piece real: the Kraken simulator (own thread, seeded, 3
 * symbols, WebSocket drops) → the ingester (WS v2 + REST backfill) → Kafka → the bronze writer →
 * silver trades and ticker → gold. Silver and gold run incrementally while data flows; a second
 * ingester that lost its cursors replays the last fifth of the tape, so Kafka holds duplicates.
 *
 * Proves: Kafka holds every emitted trade; bronze holds every Kafka offset exactly once; silver holds
 * each trade exactly once; gold equals an independent bigint recomputation from the simulator's
 * ground truth; a full rebuild of silver and gold gives gold identical to the incremental runs.
 * CI size 30,000 trades; TRIBUTARY_SOAK=1 runs 1,000,000.
 */
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type IngesterHandle, startIngester } from "@tributary/ingest/kraken/ingester/ingester";
import { SimulatorThread } from "@tributary/ingest/simulator/thread";
import { routedDataset } from "@tributary/lake/bronze/datasets";
import { expectedReport, readExactlyOnce } from "@tributary/lake/bronze/testing";
import { type BronzeWriterHandle, startBronzeWriter } from "@tributary/lake/bronze/writer";
import { verifyGold } from "@tributary/lake/gold/market/verify";
import { marketJobEnv } from "@tributary/lake/jobs/market";
import { SILVER } from "@tributary/lake/silver/datasets";
import { createKafka } from "@tributary/shared/kafka";
import { BRONZE_DATASETS } from "@tributary/shared/lake/layout";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { parseRfc3339Micros } from "@tributary/shared/time";
import type { Admin } from "kafkajs";
import {
  bronzeCovers,
  countRows,
  datasetRows,
  diffDumps,
  dumpLayer,
  fetchTruth,
  ingestTopicNames,
  type PartitionEnd,
  privateRun,
  recordCount,
  referenceTrade,
  runMarketLayers,
  simulatorBase,
  simulatorRunOptions,
  simulatorStats,
  topicEnds,
} from "./pipeline.ts";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const TOTAL = SOAK ? 1_000_000 : 30_000;
const RATE = SOAK ? 8_000 : 3_000;
/** The replaying ingester starts at the trade this far into the first symbol's tape. */
const REPLAY_FROM = 0.8;
/** Bound of every wait for a stage to catch up. */
const STAGE_TIMEOUT_MS = SOAK ? 900_000 : 60_000;
const GOLD_DATASETS = [
  "candles_1m",
  "candles_5m",
  "candles_15m",
  "candles_1h",
  "candles_1d",
  "daily_summary",
  "data_quality_hourly",
  "market_metrics_1m",
];

/** The market opens this long before a UTC minute boundary (CI; the soak spans minutes anyway). */
const MARKET_LEAD_MS = SOAK ? 0 : 4_000;
const MINUTE_MS = 60_000;

/** How long to wait so that a UTC minute boundary comes `leadMs` after the wait (0: start now). */
function delayBeforeMinuteBoundary(nowMs: number, leadMs: number): number {
  const toBoundary = MINUTE_MS - (nowMs % MINUTE_MS);
  return leadMs > 0 && toBoundary > leadMs ? toBoundary - leadMs : 0;
}

const sleep = Bun.sleep;
const seconds = (fromMs: number): number => Math.round((performance.now() - fromMs) / 100) / 10;

test(
  `simulator → ingest → Kafka → bronze → silver → gold for ${TOTAL} trades: gold equals the truth's recomputation, silver holds no duplicate, incremental gold equals a full rebuild`,
  async () => {
    const { base, stateDir, config } = privateRun("e2e-market");
    const topics = { trades: uniqueName("e2e_trades"), ticker: uniqueName("e2e_ticker") };
    const log = createLogger("e2e.market", "warn");
    const env = marketJobEnv(config, { log, signal: new AbortController().signal });
    const grace = config.export.graceMinutes;
    const admin: Admin = createKafka(config.kafka, "e2e").admin();
    let sim: SimulatorThread | undefined;
    let ingester: IngesterHandle | undefined;
    let replay: IngesterHandle | undefined;
    let writer: BronzeWriterHandle | undefined;
    const t0 = performance.now();
    const timings: Record<string, number> = {};
    try {
      await admin.connect();
      sim = await SimulatorThread.start({
        seed: 20_240_501,
        tradesPerSecond: RATE,
        totalTrades: TOTAL,
        heartbeatMs: 500,
        autoStart: false,
        faults: { wsDropEveryTrades: Math.ceil(TOTAL / 3) },
        // No sweep larger than a REST page: here every trade must reach the lake (the ingester's
        // gap-free test covers the ids REST cannot reach).
        sweeps: { giantProbability: 0 },
      });
      const simUrl = simulatorBase(sim.restUrl);
      // 1. Ingest from the first trade of each pair while the market runs.
      const acked = new Map<string, Set<number>>(sim.symbols.map((s) => [s, new Set<number>()]));
      ingester = await startIngester(
        simulatorRunOptions(config, sim, topics, {
          stateDir: join(stateDir, "ingest-main"),
          since: "0",
          once: false,
        }),
        {
          log,
          onTradesAcked: (trades) => {
            for (const t of trades) acked.get(t.message.symbol)?.add(t.message.trade_id);
          },
        },
      );
      writer = await startBronzeWriter(config, {
        topics: [topics.trades, topics.ticker],
        routes: new Map([
          [topics.trades, routedDataset(topics.trades, BRONZE_DATASETS["kraken.trades"], "kraken")],
          [topics.ticker, routedDataset(topics.ticker, BRONZE_DATASETS["kraken.ticker"], "kraken")],
        ]),
        metricsPort: null,
        logger: log,
      });
      // The market's clock is the wall clock: open it shortly before a UTC minute boundary, so gold
      // holds more than one 1-minute bucket per symbol and incremental rounds straddle the boundary.
      await sleep(delayBeforeMinuteBoundary(Date.now(), MARKET_LEAD_MS));
      await sim.startMarket();
      let marketDone = false;
      const finished = sim.whenFinished().then(() => {
        marketDone = true;
      });

      // 2. Silver and gold run incrementally while trades flow, as the scheduler would run them.
      let incrementalRounds = 0;
      let roundsWithTrades = 0;
      const round = async (): Promise<void> => {
        const r = await runMarketLayers(env, { graceMinutes: grace });
        incrementalRounds += 1;
        if (r.trades.commits > 0) roundsWithTrades += 1;
      };
      const marketDeadline = Date.now() + STAGE_TIMEOUT_MS;
      while (!marketDone && Date.now() < marketDeadline) {
        await round();
        await sleep(SOAK ? 5_000 : 1_000);
      }
      await finished;
      timings.market_s = seconds(t0);

      // 3. Kafka must hold every emitted trade: wait for the acknowledgements, then stop gracefully.
      const truth = await fetchTruth(simUrl, sim.symbols);
      const truthCount = [...truth.values()].reduce((n, ts) => n + ts.length, 0);
      expect(truthCount).toBe(TOTAL);
      // Every symbol traded in at least two UTC minutes, so gold has buckets to tell apart.
      const minutesPerSymbol = [...truth.values()].map(
        (ts) => new Set(ts.map((t) => t.ts.slice(0, 16))).size,
      );
      expect(Math.min(...minutesPerSymbol)).toBeGreaterThanOrEqual(2);
      const missingAcks = (): number =>
        [...truth].reduce((n, [s, ts]) => n + ts.filter((t) => !acked.get(s)?.has(t.trade_id)).length, 0);
      const ackDeadline = Date.now() + STAGE_TIMEOUT_MS;
      while ([...acked.values()].reduce((n, a) => n + a.size, 0) < truthCount && Date.now() < ackDeadline)
        await sleep(100);
      await ingester.stop();
      expect(missingAcks()).toBe(0);
      const stats = await simulatorStats(simUrl);
      const registry = ingester.metrics.registry;
      expect(stats.faults.wsDrops).toBeGreaterThanOrEqual(2);
      expect(await registry.value("tributary_ingest_backfilled_trades_total")).toBeGreaterThan(0);
      expect(await registry.value("tributary_ingest_unrecoverable_missing_trades_total")).toBe(0);
      timings.ingest_s = seconds(t0);

      // 4. An ingester that lost its cursors replays the tail of the tape: Kafka now holds duplicates.
      const firstTape = truth.get(sim.symbols[0] as string) ?? [];
      const pivot = firstTape[Math.floor(firstTape.length * REPLAY_FROM)];
      if (!pivot) throw new Error("the simulator emitted no trade for the first symbol");
      const pivotMicros = parseRfc3339Micros(pivot.ts);
      let replayed = 0;
      replay = await startIngester(
        simulatorRunOptions(config, sim, topics, {
          stateDir: join(stateDir, "ingest-replay"),
          since: (pivotMicros * 1000n - 1n).toString(),
          once: true,
        }),
        {
          log,
          onTradesAcked: (trades) => {
            replayed += trades.length;
          },
        },
      );
      await replay.done;
      expect(replayed).toBeGreaterThan(0);
      await round();

      // 5. Bronze must reach every partition's end offset of both topics; then stop the writer.
      const ends = new Map<string, PartitionEnd[]>();
      for (const topic of [topics.trades, topics.ticker]) ends.set(topic, await topicEnds(admin, topic));
      const tradeEnds = ends.get(topics.trades) ?? [];
      const tickerEnds = ends.get(topics.ticker) ?? [];
      const covered = async (): Promise<boolean> =>
        (await bronzeCovers(env.commitLog, BRONZE_DATASETS["kraken.trades"], topics.trades, tradeEnds)) &&
        (await bronzeCovers(env.commitLog, BRONZE_DATASETS["kraken.ticker"], topics.ticker, tickerEnds));
      const bronzeDeadline = Date.now() + STAGE_TIMEOUT_MS;
      while (!(await covered()) && Date.now() < bronzeDeadline) await sleep(250);
      expect(await covered()).toBe(true);
      await writer.stop();
      timings.bronze_s = seconds(t0);

      // Every Kafka offset is exactly one bronze row (new topics: offsets 0 … high - 1).
      const kafkaTrades = recordCount(tradeEnds);
      const kafkaTickers = recordCount(tickerEnds);
      expect(kafkaTrades).toBeGreaterThanOrEqual(truthCount + replayed);
      expect(kafkaTickers).toBeGreaterThan(0);
      const perPartition = (pe: readonly PartitionEnd[]): number[] => pe.map((e) => Number(e.high - e.low));
      expect(await readExactlyOnce(config.lake.uri, BRONZE_DATASETS["kraken.trades"])).toEqual(
        expectedReport(perPartition(tradeEnds)),
      );
      expect(await readExactlyOnce(config.lake.uri, BRONZE_DATASETS["kraken.ticker"])).toEqual(
        expectedReport(perPartition(tickerEnds)),
      );

      // 6. The last incremental runs take in what is left of bronze.
      for (let i = 0; i < 5; i++) {
        const r = await runMarketLayers(env, { graceMinutes: grace });
        incrementalRounds += 1;
        if (r.trades.commits > 0) roundsWithTrades += 1;
        if (r.trades.deferredCommits === 0 && r.ticker.deferredCommits === 0) break;
      }
      // Incremental for real: silver trades took in bronze over several runs.
      expect(roundsWithTrades).toBeGreaterThanOrEqual(2);
      timings.incremental_s = seconds(t0);

      // 7. Gold equals the recomputation from the ground truth; silver holds each trade once.
      const reference = [...truth.values()].flatMap((ts) => ts.map(referenceTrade));
      const verification = await verifyGold(env, reference, { graceMinutes: grace });
      if (!verification.ok)
        throw new Error(`gold disagrees with the truth:\n${verification.problems.join("\n")}`);
      expect(verification.checked.silver).toBe(truthCount);
      expect(verification.checked.candles_1m ?? 0).toBeGreaterThan(0);
      const silverDuplicates = await countRows(env, "silver", SILVER.tradeDuplicates);
      const quarantined = await countRows(env, "silver", SILVER.tradeQuarantine);
      expect(quarantined).toBe(0);
      // Every bronze trade row beyond the truth is a duplicate silver removed (and kept aside).
      expect(silverDuplicates).toBe(kafkaTrades - truthCount);
      expect(await countRows(env, "silver", SILVER.ticker)).toBeGreaterThan(0);
      timings.verify_s = seconds(t0);

      // 8. A full rebuild of silver and gold gives identical gold.
      const incremental = await dumpLayer(env, "gold");
      const rows = datasetRows(incremental);
      expect(GOLD_DATASETS.filter((ds) => (rows.get(ds) ?? 0) === 0)).toEqual([]);
      const rebuilt = await runMarketLayers(env, { graceMinutes: grace, rebuild: true });
      expect(rebuilt.gold.full).toBe(true);
      expect(rebuilt.trades.validRows).toBe(kafkaTrades);
      const full = await dumpLayer(env, "gold");
      expect(diffDumps(incremental, full)).toEqual([]);
      expect(full.size).toBe(incremental.size);
      timings.rebuild_s = seconds(t0);

      console.log(
        `e2e market: ${JSON.stringify({
          trades: truthCount,
          rate: RATE,
          ws_drops: stats.faults.wsDrops,
          backfilled: await registry.value("tributary_ingest_backfilled_trades_total"),
          replayed,
          kafka_trades: kafkaTrades,
          kafka_tickers: kafkaTickers,
          silver_trades: verification.checked.silver,
          silver_duplicates: silverDuplicates,
          incremental_rounds: incrementalRounds,
          rounds_with_trades: roundsWithTrades,
          gold_files: full.size,
          gold_rows: Object.fromEntries(rows),
          ...timings,
        })}`,
      );
    } finally {
      await ingester?.stop().catch(() => undefined);
      await replay?.stop().catch(() => undefined);
      await writer?.stop().catch(() => undefined);
      await sim?.stop().catch(() => undefined);
      await admin.deleteTopics({ topics: ingestTopicNames(topics) }).catch(() => undefined);
      await admin.deleteGroups([config.lake.consumerGroup]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    }
  },
  SOAK ? 3_600_000 : 240_000,
);
