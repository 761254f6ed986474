/**
 * Ingest benchmark: WebSocket → Kafka through the real ingester and the real broker, fed by the
 * simulator. Two runs on fresh topics:
 *  - throughput: the simulator emits `throughputTrades` as fast as it can; trades/s = trades acknowledged
 *    by Kafka / time from the first WS send to the last acknowledgement;
 *  - latency: the simulator emits at `latencyRate` trades/s (5,000 by default) for `latencySeconds`;
 *    latency of a trade = Kafka acknowledgement time − time the simulator wrote it to the WebSocket
 *    (trades of the first `warmupSeconds` are not sampled).
 * The simulator runs on its own thread (SimulatorThread), so the ingester's event loop is measured alone.
 * Its sweeps stay at most 12 fills and average 1.9 fills per order, as in the workload of the recorded
 * figures in BENCHMARKS.md (15 % of orders sweeping 2–12 fills): frames per trade drive the ingester's
 * cost, and the heavy-tailed sweeps of the default market (hundreds of fills in one frame) measure the
 * market's burstiness rather than the ingester (p99 about 2× on this machine).
 * `ingester_cpu_us_per_trade` is the CPU of the ingester's thread (the main thread, not the simulator's)
 * per trade over the throughput run: unlike the rates it barely moves when other work shares the cores.
 * Wired into `bun run bench ingest` by the bench CLI.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger, type Logger } from "@tributary/shared/log";
import { startIngester } from "./kraken/ingester/ingester.ts";
import type { IngestOptions } from "./kraken/ingester/options.ts";
import { simulatorIngestOptions } from "./kraken/ingester/testing.ts";
import type { SequencedTrade } from "./kraken/mappers/trade.ts";
import { type IngestTopics, ingestTopicSpecs } from "./producer/topics.ts";
import { SimulatorThread } from "./simulator/thread.ts";

export interface IngestBenchOptions {
  readonly kafka: Config["kafka"];
  readonly throughputTrades?: number;
  readonly latencyRate?: number;
  readonly latencySeconds?: number;
  /** Latency samples of trades sent in the first seconds (JIT, connection warm-up) are left out. */
  readonly warmupSeconds?: number;
  readonly seed?: number;
  readonly log?: Logger;
}

export interface IngestBenchResult {
  readonly trades_per_s: number;
  readonly p99_ms: number;
  readonly p50_ms: number;
  readonly max_ms: number;
  readonly ingester_cpu_us_per_trade: number;
  readonly throughput_trades: number;
  readonly latency_trades: number;
  readonly latency_rate: number;
}

interface RunResult {
  readonly trades: number;
  readonly firstSentMs: number;
  readonly lastAckMs: number;
  readonly latenciesMs: Float64Array;
  /** CPU of the calling (ingester) thread from the market's opening to the last acknowledgement. */
  readonly threadCpuUs: number;
}

/** CPU time (user + system) of the calling thread, in µs, from Linux's /proc (clock ticks of 10 ms). */
export function threadCpuUs(): number {
  const stat = readFileSync("/proc/thread-self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function run(
  opts: IngestBenchOptions,
  label: string,
  tradesPerSecond: number,
  totalTrades: number,
  warmupMs: number,
  log: Logger,
): Promise<RunResult> {
  const stateDir = mkdtempSync(join(tmpdir(), `tributary-bench-${label}-`));
  const stamp = `${Date.now().toString(36)}_${process.pid}`;
  const topics = {
    trades: `bench.ingest.${label}.${stamp}.trades`,
    ticker: `bench.ingest.${label}.${stamp}.ticker`,
  };
  const sim = await SimulatorThread.start({
    seed: opts.seed ?? 1,
    tradesPerSecond,
    totalTrades,
    autoStart: false,
    tickMs: 2,
    maxTradesPerTick: 20_000,
    // See the header: 1 − p + p × 4.13 (the mean of a sweep capped at 12) = 1.9 fills per order.
    sweeps: { probability: 0.29, maxFills: 12, giantProbability: 0 },
  });
  const acks: { symbol: string; id: number; at: number }[] = [];
  let lastAckMs = 0;
  const onTradesAcked = (trades: readonly SequencedTrade[], ackedAtMs: number) => {
    for (const t of trades) acks.push({ symbol: t.message.symbol, id: t.message.trade_id, at: ackedAtMs });
    lastAckMs = ackedAtMs;
  };
  const ingester = await startIngester(benchIngestOptions(sim, stateDir, opts.kafka, topics), {
    log,
    onTradesAcked,
  });
  try {
    // The WebSocket is subscribed well before the market opens.
    await Bun.sleep(300);
    const cpuStartUs = threadCpuUs();
    await sim.startMarket();
    await sim.whenFinished();
    const deadline = Date.now() + 120_000;
    while (acks.length < totalTrades && Date.now() < deadline) await Bun.sleep(5);
    const cpuUs = threadCpuUs() - cpuStartUs;
    const sent = await sim.sentTimes();
    const latencies = new Float64Array(acks.length);
    let firstSentMs = Number.POSITIVE_INFINITY;
    for (const times of sent.values())
      for (const at of times.values()) if (at < firstSentMs) firstSentMs = at;
    acks.forEach((a, i) => {
      const sentAt = sent.get(a.symbol)?.get(a.id) ?? Number.NaN;
      latencies[i] = sentAt - firstSentMs < warmupMs ? Number.NaN : a.at - sentAt;
    });
    return {
      trades: acks.length,
      firstSentMs,
      lastAckMs,
      latenciesMs: latencies.filter((v) => !Number.isNaN(v)),
      threadCpuUs: cpuUs,
    };
  } finally {
    await endBenchRun({ ingester, sim, stateDir, kafka: opts.kafka, topics, log });
  }
}

/** The ingester in stream mode against the simulator thread, on a fresh state directory and own topics. */
export function benchIngestOptions(
  sim: SimulatorThread,
  stateDir: string,
  kafka: Config["kafka"],
  topics: IngestTopics,
): IngestOptions {
  return simulatorIngestOptions(sim, kafka, topics, stateDir, { since: "now", cursorFlushMs: 250 });
}

/** Ends a run: stops the ingester and the simulator, removes the state directory and the topics. */
export async function endBenchRun(run: {
  readonly ingester: { stop(): Promise<void> };
  readonly sim: { stop(): Promise<void> };
  readonly stateDir: string;
  readonly kafka: Config["kafka"];
  readonly topics: IngestTopics;
  readonly log: Logger;
}): Promise<void> {
  await run.ingester.stop();
  await run.sim.stop();
  rmSync(run.stateDir, { recursive: true, force: true });
  await deleteBenchTopics(run.kafka, run.topics, run.log);
}

/** Removes a run's topics; a failure is logged, never thrown (the figures stand). */
export async function deleteBenchTopics(
  kafka: Config["kafka"],
  topics: IngestTopics,
  log: Logger,
): Promise<void> {
  const admin = createKafka(kafka, "bench-cleanup").admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: ingestTopicSpecs(kafka, topics).map((s) => s.topic) });
  } catch (err) {
    log.warn("could not delete bench topics", { error: (err as Error).message });
  } finally {
    await admin.disconnect();
  }
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export async function runIngestBench(opts: IngestBenchOptions): Promise<IngestBenchResult> {
  const log = opts.log ?? createLogger("bench.ingest", "warn");
  const throughputTrades = opts.throughputTrades ?? 100_000;
  const latencyRate = opts.latencyRate ?? 5_000;
  const latencyTrades = Math.round(latencyRate * (opts.latencySeconds ?? 10));

  const fast = await run(opts, "throughput", 1_000_000, throughputTrades, 0, log);
  const seconds = (fast.lastAckMs - fast.firstSentMs) / 1000;
  const tradesPerS = seconds > 0 ? fast.trades / seconds : 0;

  const paced = await run(opts, "latency", latencyRate, latencyTrades, (opts.warmupSeconds ?? 1) * 1000, log);
  const sorted = paced.latenciesMs.slice().sort();
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    trades_per_s: Math.round(tradesPerS),
    p99_ms: round(percentile(sorted, 99)),
    p50_ms: round(percentile(sorted, 50)),
    max_ms: round(sorted[sorted.length - 1] ?? Number.NaN),
    ingester_cpu_us_per_trade: fast.trades > 0 ? round(fast.threadCpuUs / fast.trades) : Number.NaN,
    throughput_trades: fast.trades,
    latency_trades: paced.latenciesMs.length,
    latency_rate: latencyRate,
  };
}
