/**
 * Book ingest benchmark: Kraken WS v2 `book` (depth 10, three symbols) → the real ingester (numbers
 * read losslessly, one book per symbol, Kraken's CRC32 of the top 10 levels verified after every update) → the
 * real broker (idempotent, acks=all), fed by the simulator's synthetic market on its own thread. Two
 * runs on fresh topics, trades flowing beside the book at a low rate as in production:
 *  - throughput: the simulator emits a burst of book updates as fast as it can; updates/s = updates
 *    acknowledged by Kafka / time from the first update sent to the last acknowledgement;
 *  - latency: book updates at `latencyRate` per second for `latencySeconds`; latency of an update =
 *    Kafka acknowledgement − the simulator's send of its frame (the n-th update the simulator sent for a
 *    symbol is seq n of the ingester's session; updates of the first `warmupSeconds` are not sampled).
 * A run counts only if every update arrived, in one session per symbol, and verified `ok`: a dropped
 * frame or a checksum mismatch would mean the benchmark measured something else, so it throws.
 * `ingester_cpu_us_per_update` is the ingester thread's CPU per update over the throughput run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import type { BookMessage } from "@tributary/shared/contracts/book";
import { createLogger, type Logger } from "@tributary/shared/log";
import { benchIngestOptions, deleteBenchTopics, percentile, threadCpuUs } from "../../bench.ts";
import { SimulatorThread } from "../../simulator/thread.ts";
import { startIngester } from "../ingester/ingester.ts";

export interface BookBenchOptions {
  readonly kafka: Config["kafka"];
  /** Book events per second of market time in the burst (the simulator sends them as fast as it can). */
  readonly burstRate?: number;
  /** Market seconds of the burst (the books open 0.3 s before the market, so the burst is rate × (0.3 + this)). */
  readonly burstSeconds?: number;
  /** Maker actions per second in the latency run (with the taker orders, about as many updates are sent). */
  readonly latencyRate?: number;
  readonly latencySeconds?: number;
  readonly warmupSeconds?: number;
  readonly seed?: number;
  readonly log?: Logger;
}

export interface BookBenchResult {
  readonly book_updates_per_s: number;
  /** How fast the simulator sent the burst: when close to the figure above, the simulator bounded it. */
  readonly sim_book_updates_per_s: number;
  readonly book_p99_ms: number;
  readonly book_p50_ms: number;
  readonly book_max_ms: number;
  readonly ingester_cpu_us_per_update: number;
  readonly throughput_updates: number;
  readonly latency_updates: number;
  /** Book updates per second the simulator actually sent in the latency run. */
  readonly latency_updates_per_s: number;
}

interface RunResult {
  readonly updates: number;
  readonly firstSentMs: number;
  readonly lastSentMs: number;
  readonly lastAckMs: number;
  readonly latenciesMs: Float64Array;
  readonly threadCpuUs: number;
}

/** Trades beside the book: a light, steady tape (the book bench measures the book). */
const TRADES_PER_S = 100;
/** The ingester subscribes before the market opens; the books open with its subscription. */
const SUBSCRIBED_MS = 300;

async function run(
  opts: BookBenchOptions,
  label: string,
  bookRate: number,
  seconds: number,
  warmupMs: number,
  log: Logger,
): Promise<RunResult> {
  const stateDir = mkdtempSync(join(tmpdir(), `tributary-bench-book-${label}-`));
  const stamp = `${Date.now().toString(36)}_${process.pid}`;
  const topics = {
    trades: `bench.book.${label}.${stamp}.trades`,
    ticker: `bench.book.${label}.${stamp}.ticker`,
    book: `bench.book.${label}.${stamp}.book`,
  };
  const sim = await SimulatorThread.start({
    seed: opts.seed ?? 1,
    tradesPerSecond: TRADES_PER_S,
    totalTrades: Math.max(1, Math.round(TRADES_PER_S * seconds)),
    bookEventsPerSecond: bookRate,
    bookSendTimes: true,
    autoStart: false,
    tickMs: 2,
    sweeps: { probability: 0.29, maxFills: 12, giantProbability: 0 },
  });
  const acked: { message: BookMessage; at: number }[] = [];
  let lastAckMs = 0;
  const ingester = await startIngester(
    { ...benchIngestOptions(sim, stateDir, opts.kafka, topics), book: { depth: 10 } },
    {
      log,
      onBooksAcked: (books, ackedAtMs) => {
        for (const message of books) if (message.type === "update") acked.push({ message, at: ackedAtMs });
        lastAckMs = ackedAtMs;
      },
    },
  );
  try {
    await Bun.sleep(SUBSCRIBED_MS);
    const cpuStartUs = threadCpuUs();
    await sim.startMarket();
    await sim.whenFinished();
    const sent = await sim.bookSentTimes();
    const total = [...sent.values()].reduce((n, t) => n + t.length, 0);
    const deadline = Date.now() + 120_000;
    while (acked.length < total && Date.now() < deadline) await Bun.sleep(5);
    const cpuUs = threadCpuUs() - cpuStartUs;
    const bad = acked.filter((a) => a.message.checksum_status !== "ok").length;
    const sessions = new Set(acked.map((a) => `${a.message.symbol} ${a.message.session}`)).size;
    if (acked.length !== total || bad > 0 || sessions > sent.size)
      throw new Error(
        `book bench ${label}: ${acked.length} of ${total} updates acknowledged, ${bad} not verified, ${sessions} sessions for ${sent.size} symbols`,
      );
    let firstSentMs = Number.POSITIVE_INFINITY;
    let lastSentMs = 0;
    for (const times of sent.values()) {
      firstSentMs = Math.min(firstSentMs, times[0] ?? Number.POSITIVE_INFINITY);
      lastSentMs = Math.max(lastSentMs, times.at(-1) ?? 0);
    }
    const latencies: number[] = [];
    for (const { message, at } of acked) {
      const sentAt = sent.get(message.symbol)?.[message.seq - 1] ?? Number.NaN;
      if (sentAt - firstSentMs >= warmupMs) latencies.push(at - sentAt);
    }
    return {
      updates: acked.length,
      firstSentMs,
      lastSentMs,
      lastAckMs,
      latenciesMs: Float64Array.from(latencies),
      threadCpuUs: cpuUs,
    };
  } finally {
    await ingester.stop();
    await sim.stop();
    rmSync(stateDir, { recursive: true, force: true });
    await deleteBenchTopics(opts.kafka, topics, log);
  }
}

export async function runBookBench(opts: BookBenchOptions): Promise<BookBenchResult> {
  const log = opts.log ?? createLogger("bench.book", "warn");
  const latencyRate = opts.latencyRate ?? 2_000;
  const round = (v: number) => Math.round(v * 100) / 100;

  const burst = await run(opts, "throughput", opts.burstRate ?? 100_000, opts.burstSeconds ?? 0.3, 0, log);
  const seconds = (burst.lastAckMs - burst.firstSentMs) / 1000;
  const simSeconds = (burst.lastSentMs - burst.firstSentMs) / 1000;

  const paced = await run(
    opts,
    "latency",
    latencyRate,
    opts.latencySeconds ?? 10,
    (opts.warmupSeconds ?? 1) * 1000,
    log,
  );
  const sorted = paced.latenciesMs.slice().sort();
  return {
    book_updates_per_s: seconds > 0 ? Math.round(burst.updates / seconds) : 0,
    sim_book_updates_per_s: simSeconds > 0 ? Math.round(burst.updates / simSeconds) : 0,
    book_p99_ms: round(percentile(sorted, 99)),
    book_p50_ms: round(percentile(sorted, 50)),
    book_max_ms: round(sorted[sorted.length - 1] ?? Number.NaN),
    ingester_cpu_us_per_update: burst.updates > 0 ? round(burst.threadCpuUs / burst.updates) : Number.NaN,
    throughput_updates: burst.updates,
    latency_updates: paced.latenciesMs.length,
    latency_updates_per_s: Math.round(paced.updates / ((paced.lastSentMs - paced.firstSentMs) / 1000)),
  };
}
