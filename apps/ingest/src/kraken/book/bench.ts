/**
 * Book ingest benchmark: Kraken WS v2 `book` (depth 10, three symbols) → the real ingester (numbers
 * read losslessly, one book per symbol, Kraken's CRC32 of the top 10 levels verified after every update) → the
 * real broker (idempotent, acks=all), fed by the simulator's synthetic market on its own thread. Two
 * runs on fresh topics, trades flowing beside the book at a low rate as in production:
 *  - throughput: a burst of `burstUpdates` book updates, rendered by the simulator's own book market
 *    before the run (snapshots and updates with Kraken's CRC32), sent back-to-back once the ingester has
 *    subscribed, pausing only when the socket pushes back; updates/s = updates acknowledged by Kafka /
 *    time from the first update sent to the last acknowledgement. The source's own send rate is reported
 *    beside it, so a reader sees which side set the pace (rendering while sending, the simulator did). The
 *    burst stays below the ingester's bounds (50,000 queued frames, 50,000 unacknowledged records): past
 *    them it drops frames by design, and the run would throw;
 *  - latency: book updates at `latencyRate` per second for `latencySeconds`; latency of an update =
 *    Kafka acknowledgement − the simulator's send of its frame (the n-th update the simulator sent for a
 *    symbol is seq n of the ingester's session; updates of the first `warmupSeconds` are not sampled).
 * A run counts only if every update arrived, in one session per symbol, and verified `ok`: a dropped
 * frame or a checksum mismatch would mean the benchmark measured something else, so it throws.
 * `ingester_cpu_us_per_update` is the ingester thread's CPU per update over the throughput run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import type { BookMessage } from "@tributary/shared/contracts/book";
import { createLogger, type Logger } from "@tributary/shared/log";
import { benchIngestOptions, endBenchRun, percentile, threadCpuUs } from "../../bench.ts";
import type { BookBurstOptions } from "../../simulator/book-burst.ts";
import { SimulatorThread } from "../../simulator/thread.ts";
import { startIngester } from "../ingester/ingester.ts";

export interface BookBenchOptions {
  readonly kafka: Config["kafka"];
  /** Book update frames in the burst, over the three symbols. */
  readonly burstUpdates?: number;
  /** Maker actions per second of the burst's market time (its timestamps; it is sent as fast as it is taken). */
  readonly burstRate?: number;
  /** Maker actions per second in the latency run (with the taker orders, about as many updates are sent). */
  readonly latencyRate?: number;
  readonly latencySeconds?: number;
  readonly warmupSeconds?: number;
  readonly seed?: number;
  readonly log?: Logger;
}

export interface BookBenchResult {
  readonly book_updates_per_s: number;
  /** How fast the source sent the burst: when close to the figure above, the source bounded it. */
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
const DEPTH = 10;
/** The trade bench's sweeps (at most 12 fills, no giant ones): taker orders move a few levels at once. */
const SWEEPS = { probability: 0.29, maxFills: 12, giantProbability: 0 };

/** One run: either the live market at `bookRate` for `seconds`, or the pre-rendered `burst`. */
interface RunPlan {
  readonly label: "throughput" | "latency";
  readonly bookRate: number;
  readonly seconds: number;
  readonly warmupMs: number;
  readonly burst?: BookBurstOptions;
}

async function run(opts: BookBenchOptions, plan: RunPlan, log: Logger): Promise<RunResult> {
  const { label, burst } = plan;
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
    // The burst's trades flow beside it until the run stops; the live run stops with its trades.
    ...(burst ? {} : { totalTrades: Math.max(1, Math.round(TRADES_PER_S * plan.seconds)) }),
    bookEventsPerSecond: plan.bookRate,
    bookSendTimes: true,
    autoStart: false,
    tickMs: 2,
    sweeps: SWEEPS,
    ...(burst ? { bookBurst: burst } : {}),
  });
  const acked: { message: BookMessage; at: number }[] = [];
  let lastAckMs = 0;
  const ingester = await startIngester(
    { ...benchIngestOptions(sim, stateDir, opts.kafka, topics), book: { depth: DEPTH } },
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
    if (burst) await sim.sendBookBurst();
    else await sim.whenFinished();
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
      if (sentAt - firstSentMs >= plan.warmupMs) latencies.push(at - sentAt);
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
    await endBenchRun({ ingester, sim, stateDir, kafka: opts.kafka, topics, log });
  }
}

export async function runBookBench(opts: BookBenchOptions): Promise<BookBenchResult> {
  const log = opts.log ?? createLogger("bench.book", "warn");
  const latencyRate = opts.latencyRate ?? 2_000;
  const round = (v: number) => Math.round(v * 100) / 100;

  const burstRate = opts.burstRate ?? 100_000;
  const burst = await run(
    opts,
    {
      label: "throughput",
      bookRate: burstRate,
      seconds: 0,
      warmupMs: 0,
      burst: {
        updates: opts.burstUpdates ?? 40_000,
        depth: DEPTH,
        makerEventsPerSecond: burstRate,
        tradesPerSecond: TRADES_PER_S,
        sweeps: SWEEPS,
      },
    },
    log,
  );
  const seconds = (burst.lastAckMs - burst.firstSentMs) / 1000;
  const simSeconds = (burst.lastSentMs - burst.firstSentMs) / 1000;

  const paced = await run(
    opts,
    {
      label: "latency",
      bookRate: latencyRate,
      seconds: opts.latencySeconds ?? 10,
      warmupMs: (opts.warmupSeconds ?? 1) * 1000,
    },
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
