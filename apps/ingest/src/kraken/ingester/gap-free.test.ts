/**
 * Gap-free, as a property of the ingester against a simulator with Kraken's clock (true ns instants,
 * float REST times, `last` = exact ns, sweeps cut by page boundaries, giant sweeps of more fills at one
 * instant than a 1,000-row page holds), with the real broker. Seeded; every run prints its seed.
 *
 *  - stream: WebSocket drops and stalls, REST 429/5xx/rate-limit/service errors. Every trade_id reaches
 *    Kafka exactly as the simulator emitted it, except ids reported as gaps, which must be ids REST
 *    cannot reach (the WebSocket missed them during a drop).
 *  - poll: REST errors. Kafka holds every reachable id; the gaps reported are exactly the unreachable ids.
 *  - `bun run ingest --once --since 0` (the case that never ended): it ends, with the same result.
 * kill -9 of the ingester: crash.test.ts. CI sizes below; TRIBUTARY_SOAK=1 streams 200,000 trades.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { readTopic } from "../../producer/topic-reader.ts";
import { KrakenSimulator, type SimulatorOptions } from "../../simulator/server.ts";
import {
  compareWithTruth,
  describeComparison,
  idsOfRanges,
  pageCutsInsideSweeps,
  restUnreachable,
} from "../../simulator/truth-check.ts";
import { startIngester } from "./ingester.ts";
import { simulatorOptions } from "./testing.ts";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const STREAM_TOTAL = SOAK ? 200_000 : 20_000;
const POLL_TOTAL = SOAK ? 50_000 : 8_000;
const SEED = 7;
const REPO = resolve(import.meta.dir, "../../../../..");
const config = loadConfig();
let stateDir: string;

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-gapfree-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/** About one giant sweep (1,001–1,600 fills at one instant) per `every` trades. */
const giantSweeps = (every: number) => ({ giantProbability: 1.6 / every });

/** Gap reports (error logs with fromId/toId) per symbol, from a structured log line sink. */
function gapRecorder() {
  const ranges = new Map<string, [number, number][]>();
  const reasons = new Set<string>();
  const sink = (line: string): boolean => {
    const entry = JSON.parse(line) as { fromId?: number; toId?: number; symbol?: string; reason?: string };
    if (entry.fromId === undefined || entry.toId === undefined || !entry.symbol) return true;
    ranges.set(entry.symbol, [...(ranges.get(entry.symbol) ?? []), [entry.fromId, entry.toId]]);
    if (entry.reason) reasons.add(entry.reason);
    return true;
  };
  const ids = () => new Map([...ranges].map(([s, r]) => [s, new Set(idsOfRanges(r))]));
  return { sink, ranges, reasons, ids };
}

async function kafkaTrades(topic: string): Promise<TradeMessage[]> {
  const records = await readTopic(
    createKafka(config.kafka, "gapfree-check"),
    topic,
    uniqueName("gapfree_reader"),
  );
  return records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
}

/** Waits until every symbol's last truth id was acknowledged or reported as a gap. */
async function settle(sim: KrakenSimulator, done: (symbol: string, lastId: number) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  const lastIds = sim.symbols().map((s) => [s, sim.truthIds(s).at(-1) ?? 0] as const);
  while (lastIds.some(([s, id]) => !done(s, id)) && Date.now() < deadline) await Bun.sleep(50);
}

function historicMarket(total: number, over: Partial<SimulatorOptions> = {}): Promise<KrakenSimulator> {
  return KrakenSimulator.start({
    seed: SEED,
    tradesPerSecond: 2_000,
    totalTrades: total,
    startNs: 1_735_689_600_000_000_000n, // 2025-01-01T00:00:00Z: the whole tape exists almost at once
    speed: 1_000_000,
    maxTradesPerTick: 1_000_000,
    sweeps: giantSweeps(3_000),
    heartbeatMs: 200,
    ...over,
  });
}

test(
  `stream: every trade_id reaches Kafka as emitted despite WebSocket drops, stalls and REST errors, gaps only where REST cannot reach (${STREAM_TOTAL} trades, seed ${SEED})`,
  async () => {
    console.log(`seed ${SEED}`);
    const sim = await KrakenSimulator.start({
      seed: SEED,
      tradesPerSecond: SOAK ? 5_000 : 2_500,
      totalTrades: STREAM_TOTAL,
      heartbeatMs: 200,
      autoStart: false,
      sweeps: giantSweeps(6_000),
      faults: {
        wsDropEveryTrades: Math.floor(STREAM_TOTAL / 14),
        wsStallEveryMs: SOAK ? 9_000 : 3_000,
        wsStallMs: 1_200,
        restFailureRate: 0.3,
      },
    });
    const topics = { trades: uniqueName("gapfree_trades"), ticker: uniqueName("gapfree_ticker") };
    const lastAcked = new Map<string, number>();
    const gaps = gapRecorder();
    const started = performance.now();
    const ingester = await startIngester(
      simulatorOptions(sim, config, topics, join(stateDir, "stream"), {
        logLevel: "error",
        ws: { staleMs: 800, backoff: { initialMs: 50, maxMs: 500 } },
        // Small pages: many REST calls per backfill meet the injected errors, and many pages end inside sweeps.
        rest: {
          backoff: { initialMs: 20, maxMs: 300 },
          rateLimitDelayMs: 50,
          maxAttempts: 20,
          pageSize: 200,
        },
      }),
      {
        log: createLogger("gapfree", "error", gaps.sink),
        onTradesAcked: (trades) => {
          for (const t of trades) lastAcked.set(t.message.symbol, t.message.trade_id);
        },
      },
    );
    try {
      sim.startMarket();
      await sim.whenFinished();
      const reportedUpTo = (s: string, id: number) => gaps.ids().get(s)?.has(id) === true;
      await settle(sim, (s, id) => (lastAcked.get(s) ?? 0) >= id || reportedUpTo(s, id), 120_000);
      const elapsedS = (performance.now() - started) / 1000;
      await ingester.stop();

      const delivered = await kafkaTrades(topics.trades);
      const truth = new Map(sim.symbols().map((s) => [s, sim.truth(s)]));
      const reported = gaps.ids();
      const comparison = compareWithTruth(delivered, truth, reported);
      const stats = sim.snapshotStats();
      const m = ingester.metrics.registry;
      const unreachable = new Map([...truth].map(([s, t]) => [s, new Set(restUnreachable(t, 200))]));
      console.log(
        `gap-free stream: ${JSON.stringify({
          trades: STREAM_TOTAL,
          elapsed_s: Math.round(elapsedS * 10) / 10,
          ws_drops: stats.faults.wsDrops,
          ws_stalls: stats.faults.wsStalls,
          rest_errors:
            stats.faults.restHttp429 +
            stats.faults.restHttp5xx +
            stats.faults.restRateLimitErrors +
            stats.faults.restServiceErrors,
          ws_frames_dropped: await m.value("tributary_ingest_ws_frames_dropped_total"),
          backfilled: await m.value("tributary_ingest_backfilled_trades_total"),
          unreachable_by_rest: [...unreachable.values()].reduce((n, s) => n + s.size, 0),
          reported_gaps: [...reported.values()].reduce((n, s) => n + s.size, 0),
          rest_ts_ambiguous: comparison.symbols.reduce((n, s) => n + s.restTsAmbiguous, 0),
          kafka_records: delivered.length,
          duplicates: comparison.totalDuplicates,
          missing: comparison.totalMissing,
        })}`,
      );
      expect(stats.faults.wsDrops + stats.faults.wsStalls).toBeGreaterThanOrEqual(10);
      expect(stats.faults.restHttp429 + stats.faults.restHttp5xx).toBeGreaterThan(0);
      expect(await m.value("tributary_ingest_backfilled_trades_total")).toBeGreaterThan(0);
      // The tape holds giant sweeps (more fills at one instant than a 1,000-row page).
      expect([...truth.values()].some((t) => restUnreachable(t, 1000).length > 0)).toBe(true);
      if (!comparison.ok) throw new Error(describeComparison(comparison));
      expect(comparison.totalMissing).toBe(0);
      expect(comparison.totalTruth).toBe(STREAM_TOTAL);
      for (const [symbol, ids] of reported)
        for (const id of ids) expect(unreachable.get(symbol)?.has(id)).toBe(true);
      expect([...gaps.reasons].filter((r) => r !== "rest_unreachable")).toEqual([]);
      expect(await m.value("tributary_ingest_unrecoverable_missing_trades_total")).toBe(
        [...reported.values()].reduce((n, s) => n + s.size, 0),
      );
    } finally {
      await ingester.stop();
      await sim.stop();
    }
  },
  SOAK ? 1_800_000 : 240_000,
);

test(`poll: every id REST can reach arrives; exactly the ids of sweeps past a 1,000-row page are reported (${POLL_TOTAL} trades)`, async () => {
  const sim = await KrakenSimulator.start({
    seed: SEED + 1,
    tradesPerSecond: 2_000,
    totalTrades: POLL_TOTAL,
    sweeps: giantSweeps(2_500),
    faults: { restFailureRate: 0.2 },
  });
  const topics = { trades: uniqueName("gapfree_poll"), ticker: uniqueName("gapfree_poll_t") };
  const lastAcked = new Map<string, number>();
  const gaps = gapRecorder();
  const ingester = await startIngester(
    simulatorOptions(sim, config, topics, join(stateDir, "poll"), {
      mode: "poll",
      pollCron: "* * * * * *",
      rest: { backoff: { initialMs: 10, maxMs: 100 }, rateLimitDelayMs: 10, maxAttempts: 50 },
    }),
    {
      log: createLogger("gapfree", "error", gaps.sink),
      onTradesAcked: (trades) => {
        for (const t of trades) lastAcked.set(t.message.symbol, t.message.trade_id);
      },
    },
  );
  try {
    await sim.whenFinished();
    await settle(
      sim,
      (s, id) => (lastAcked.get(s) ?? 0) >= id || gaps.ids().get(s)?.has(id) === true,
      60_000,
    );
    await ingester.stop();
    const truth = new Map(sim.symbols().map((s) => [s, sim.truth(s)]));
    const delivered = await kafkaTrades(topics.trades);
    const comparison = compareWithTruth(delivered, truth, gaps.ids());
    if (!comparison.ok) throw new Error(describeComparison(comparison));
    const unreachable = [...truth].flatMap(([s, t]) => restUnreachable(t, 1000).map((id) => `${s} ${id}`));
    const reported = [...gaps.ids()].flatMap(([s, ids]) => [...ids].map((id) => `${s} ${id}`));
    console.log(
      `gap-free poll: ${JSON.stringify({ trades: POLL_TOTAL, kafka_records: delivered.length, unreachable: unreachable.length, reported: reported.length, page_cuts_inside_sweeps: [...truth.values()].reduce((n, t) => n + pageCutsInsideSweeps(t, 1000), 0) })}`,
    );
    expect(unreachable.length).toBeGreaterThan(0);
    expect(reported.sort()).toEqual(unreachable.sort());
    expect(comparison.totalDuplicates).toBe(0);
    expect(delivered.length).toBe(POLL_TOTAL - unreachable.length);
  } finally {
    await ingester.stop();
    await sim.stop();
  }
}, 120_000);

test("`bun run ingest --once --since 0` over sweeps larger than a page ends, delivers every reachable id and logs exactly the others", async () => {
  const sim = await historicMarket(POLL_TOTAL, { seed: SEED + 2 });
  await sim.whenFinished();
  const truth = new Map(sim.symbols().map((s) => [s, sim.truth(s)]));
  const cuts = [...truth.values()].reduce((n, t) => n + pageCutsInsideSweeps(t, 1000), 0);
  const unreachable = [...truth].flatMap(([s, t]) => restUnreachable(t, 1000).map((id) => `${s} ${id}`));
  expect(cuts).toBeGreaterThan(0);
  expect(unreachable.length).toBeGreaterThan(0);
  const topics = { trades: uniqueName("gapfree_once"), ticker: uniqueName("gapfree_once_t") };
  try {
    const started = performance.now();
    const child = Bun.spawn(
      [
        process.execPath,
        join(REPO, "apps/ingest/src/cli.ts"),
        ...["--once", "--since", "0", "--symbols", sim.symbols().join(",")],
        ...["--rest-url", sim.restUrl, "--ws-url", sim.wsUrl, "--state-dir", join(stateDir, "once")],
        ...["--trades-topic", topics.trades, "--ticker-topic", topics.ticker, "--metrics-port", "off"],
      ],
      {
        cwd: REPO,
        env: { ...process.env, KAFKA_BROKERS: config.kafka.brokers.join(","), LOG_LEVEL: "warn" },
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const code = await child.exited;
    clearTimeout(timer);
    const stderr = await new Response(child.stderr).text();
    expect(code, stderr.slice(-2000)).toBe(0);
    const gaps = gapRecorder();
    for (const line of stderr.split("\n")) if (line.startsWith("{")) gaps.sink(line);
    const reported = [...gaps.ids()].flatMap(([s, ids]) => [...ids].map((id) => `${s} ${id}`));
    expect(reported.sort()).toEqual(unreachable.sort());
    const delivered = await kafkaTrades(topics.trades);
    const comparison = compareWithTruth(delivered, truth, gaps.ids());
    if (!comparison.ok) throw new Error(describeComparison(comparison));
    expect(delivered.length).toBe(POLL_TOTAL - unreachable.length);
    console.log(
      `gap-free once: ${JSON.stringify({ trades: POLL_TOTAL, page_cuts_inside_sweeps: cuts, unreachable: unreachable.length, elapsed_s: Math.round((performance.now() - started) / 100) / 10 })}`,
    );
  } finally {
    await sim.stop();
  }
}, 120_000);
