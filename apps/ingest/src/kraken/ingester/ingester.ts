/**
 * The Kraken ingester: loads the pair registry, restores cursors, runs `stream` (WS v2 + REST backfill)
 * or `poll` (REST Trades on a croner schedule), writes the trade and ticker contracts to Kafka and
 * quarantines anything unreadable in the dead-letter topics. Bad input never stops it; only a
 * configuration error (unknown pair, refused symbol) or a stop request does.
 */
import type { BookMessage } from "@tributary/shared/contracts/book";
import { connectKafka, createKafka } from "@tributary/shared/kafka";
import { createLogger, type Logger } from "@tributary/shared/log";
import { Cron } from "croner";
import { DEFAULT_BOOK_SILENT_AFTER_MS } from "../../metrics/book-watch.ts";
import { IngestMetrics } from "../../metrics/ingest-metrics.ts";
import { type MetricsServer, serveMetrics } from "../../metrics/server.ts";
import { IngestProducer } from "../../producer/ingest-producer.ts";
import { ensureIngestTopics } from "../../producer/topics.ts";
import { cursorDir, TradeCursorStore } from "../cursor-store.ts";
import { KrakenConfigError } from "../errors.ts";
import type { SequencedTrade } from "../mappers/trade.ts";
import { KrakenRestClient, resolveSymbols } from "../rest/client.ts";
import { AckedCursors } from "./acked-cursors.ts";
import type { IngestOptions } from "./options.ts";
import { TradeSequencer } from "./sequencer.ts";
import { runStream } from "./stream.ts";

export interface IngesterHandle {
  /** Settles when the ingester has stopped: resolves after a clean stop, rejects on a fatal error. */
  readonly done: Promise<void>;
  /** Graceful stop: flush the producer, save cursors. */
  stop(): Promise<void>;
  readonly metrics: IngestMetrics;
  readonly metricsPort: number | undefined;
}

export interface IngesterHooks {
  readonly log?: Logger;
  /** Called after Kafka acknowledged trades (benchmarks measure latency here). */
  readonly onTradesAcked?: (trades: readonly SequencedTrade[], ackedAtMs: number) => void;
  /** Called after Kafka acknowledged book messages. */
  readonly onBooksAcked?: (books: readonly BookMessage[], ackedAtMs: number) => void;
}

export async function startIngester(opts: IngestOptions, hooks: IngesterHooks = {}): Promise<IngesterHandle> {
  const log = hooks.log ?? createLogger("ingest", opts.logLevel);
  const bookDepth =
    opts.mode === "stream" && !opts.once && opts.topics.book !== undefined ? opts.book?.depth : undefined;
  const metrics = new IngestMetrics(
    opts.once ? "once" : opts.mode,
    opts.stallAfterMs,
    bookDepth === undefined
      ? undefined
      : { symbols: opts.symbols, silentAfterMs: opts.book?.silentAfterMs ?? DEFAULT_BOOK_SILENT_AFTER_MS },
  );
  const abort = new AbortController();
  const signal = abort.signal;

  const rest = new KrakenRestClient({
    baseUrl: opts.restUrl,
    signal,
    ...(opts.rest?.timeoutMs === undefined ? {} : { timeoutMs: opts.rest.timeoutMs }),
    ...(opts.rest?.maxAttempts === undefined ? {} : { maxAttempts: opts.rest.maxAttempts }),
    ...(opts.rest?.backoff === undefined ? {} : { backoff: opts.rest.backoff }),
    ...(opts.rest?.rateLimitDelayMs === undefined ? {} : { rateLimitDelayMs: opts.rest.rateLimitDelayMs }),
    onRetry: (error, attempt, delayMs) => {
      metrics.restRetries.inc({ kind: error.kind });
      log.debug("Kraken REST retry", { kind: error.kind, attempt, delayMs, error: error.message });
    },
    onInvalidBody: (endpoint, body, reason) => {
      void producer.enqueueDeadLetter("trades", body, reason, `kraken.rest.${endpoint}`);
    },
  });

  const kafka = createKafka(opts.kafka, "ingest");
  const store = new TradeCursorStore(cursorDir(opts.stateDir));
  const cursors = new AckedCursors(store, opts.cursorFlushMs ?? 250, (err) =>
    log.error("cannot save cursor", { error: err.message }),
  );
  const producer: IngestProducer = new IngestProducer({
    kafka,
    topics: opts.topics,
    log: log.child("producer"),
    ...(opts.producer?.maxBatch === undefined ? {} : { maxBatch: opts.producer.maxBatch }),
    ...(opts.producer?.maxBuffered === undefined ? {} : { maxBuffered: opts.producer.maxBuffered }),
    ...(opts.producer?.idempotent === undefined ? {} : { idempotent: opts.producer.idempotent }),
    onTradesAcked: (trades, ackedAtMs) => {
      cursors.acked(trades);
      metrics.tradesAckedBatch(
        trades.map((t) => ({
          symbol: t.message.symbol,
          source: t.message.source,
          exchangeMs: Number(t.timeNs / 1_000_000n),
        })),
      );
      hooks.onTradesAcked?.(trades, ackedAtMs);
    },
    onTickersAcked: (tickers) => {
      for (const t of tickers) metrics.tickersAcked.inc({ symbol: t.symbol });
    },
    onBooksAcked: (books, ackedAtMs) => {
      metrics.booksAckedBatch(books);
      hooks.onBooksAcked?.(books, ackedAtMs);
    },
    onDeadLetter: (stream, reason) => metrics.dlq.inc({ topic: stream, kind: deadLetterKind(reason) }),
    onSendError: () => {
      metrics.kafkaErrors.inc();
      metrics.kafkaFailingSinceMs ??= Date.now();
    },
  });

  metrics.unacknowledged = () => producer.buffered;
  let server: MetricsServer | undefined;
  const cleanup = async (): Promise<void> => {
    try {
      await producer.close();
    } finally {
      await cursors.stop();
      await server?.stop();
    }
  };

  try {
    const registry = await resolveSymbols(rest, opts.symbols);
    log.info("pairs resolved", {
      pairs: opts.symbols.map((s) => {
        const p = registry.bySymbolName(s);
        return `${s}=${p?.pairId}(${p?.priceDecimals}/${p?.lotDecimals})`;
      }),
    });
    const admin = kafka.admin();
    await connectKafka(admin, opts.kafka);
    try {
      const created = await ensureIngestTopics(admin, opts.kafka, opts.topics);
      if (created.length) log.info("topics created", { topics: created });
    } finally {
      await admin.disconnect();
    }
    await producer.connect();
    if (opts.metricsPort !== undefined) server = serveMetrics(metrics, opts.metricsPort);

    const sequencer = new TradeSequencer({
      rest,
      registry,
      signal,
      log: log.child("sequencer"),
      ...(opts.rest?.pageSize === undefined ? {} : { pageSize: opts.rest.pageSize }),
      sink: {
        emit: async (trades, via) => {
          if (via === "backfill")
            metrics.backfilled.inc({ symbol: trades[0]?.message.symbol ?? "" }, trades.length);
          await producer.enqueueTrades(trades);
        },
        rejectPage: (symbol, body, reason) =>
          producer.enqueueDeadLetter("trades", body, reason, "kraken.rest.Trades", symbol),
        unrecoverable: (symbol, fromId, toId, reason) => {
          metrics.gapsUnrecoverable.inc({ symbol, reason }, toId - fromId + 1);
          log.error(
            reason === "rest_unreachable"
              ? "trade_ids REST Trades cannot page to (more fills at one instant than a page holds) and the WebSocket did not deliver: a gap"
              : "trade_ids REST Trades did not catch up with the WebSocket for: a gap",
            { symbol, fromId, toId, count: toId - fromId + 1, reason },
          );
        },
        duplicate: (symbol) => metrics.duplicates.inc({ symbol }),
      },
    });
    for (const symbol of opts.symbols) {
      const cursor = store.load(symbol);
      sequencer.start(symbol, cursor, opts.since);
      log.info("start position", {
        symbol,
        cursor: cursor ? { lastTradeId: cursor.lastTradeId, since: cursor.since } : null,
        since: cursor ? undefined : opts.since,
      });
    }
    cursors.start();

    const run = async (): Promise<void> => {
      if (opts.once) await pollOnce(sequencer, opts.symbols, metrics);
      else if (opts.mode === "poll")
        await runPoll(opts.pollCron, sequencer, opts.symbols, metrics, log, signal);
      else {
        await runStream({
          url: opts.wsUrl,
          symbols: opts.symbols,
          registry,
          sequencer,
          producer,
          metrics,
          log: log.child("ws"),
          signal,
          ...(opts.ws ? { ws: opts.ws } : {}),
          ...(opts.ws?.resyncAfterMs === undefined ? {} : { resyncAfterMs: opts.ws.resyncAfterMs }),
          ...(bookDepth === undefined ? {} : { bookDepth }),
        });
      }
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (opts.durationMs !== undefined) timer = setTimeout(() => abort.abort(), opts.durationMs);
    const done = (async () => {
      try {
        await run();
      } catch (err) {
        abort.abort();
        throw err;
      } finally {
        if (timer) clearTimeout(timer);
        await cleanup();
        log.info("ingester stopped", { acked: producer.ackedRecords });
      }
    })();
    return {
      done,
      metrics,
      metricsPort: server?.port,
      stop: async () => {
        abort.abort();
        await done.catch(() => undefined);
      },
    };
  } catch (err) {
    abort.abort();
    await cleanup().catch(() => undefined);
    throw err;
  }
}

async function pollOnce(
  sequencer: TradeSequencer,
  symbols: readonly string[],
  metrics: IngestMetrics,
): Promise<void> {
  try {
    for (const symbol of symbols) await sequencer.backfill(symbol, undefined, "poll", true);
    metrics.polls.inc({ outcome: "ok" });
    metrics.lastPollOkMs = Date.now();
  } catch (err) {
    metrics.polls.inc({ outcome: "error" });
    metrics.lastPollErrorMs = Date.now();
    throw err;
  }
}

/** REST Trades on a croner schedule (seconds resolution); `protect` prevents overlapping runs. */
async function runPoll(
  pattern: string,
  sequencer: TradeSequencer,
  symbols: readonly string[],
  metrics: IngestMetrics,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  let fatal: Error | undefined;
  let wake: (() => void) | undefined;
  let running: Promise<void> | undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const onTick = async (): Promise<void> => {
    try {
      await pollOnce(sequencer, symbols, metrics);
    } catch (err) {
      if (err instanceof KrakenConfigError) {
        fatal = err;
        wake?.();
      } else log.error("poll failed", { error: (err as Error).message });
    }
  };
  const job = new Cron(
    pattern,
    { protect: () => log.warn("previous poll still running; skipping this tick"), timezone: "UTC" },
    () => {
      running = onTick();
      return running;
    },
  );
  try {
    await stopped;
  } finally {
    job.stop();
    await running;
  }
  if (fatal) throw fatal;
}

/** A low-cardinality label for a dead-letter reason: its first clause, without indexes. */
function deadLetterKind(reason: string): string {
  return (reason.split(":")[0] ?? "").replace(/\[\d+\]/g, "[]").slice(0, 40);
}
