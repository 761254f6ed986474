/**
 * The scheduled Kraken OHLC fetch: for every configured symbol, Kraken's committed 1-minute candles since
 * the previous fetch (`GET /0/public/OHLC?interval=1&since=<last>`) go to `kraken.ohlc` (key = symbol),
 * the reference gold reconciles its own candles against. A symbol's cursor (Kraken's `last`) moves only
 * after Kafka acknowledged its candles, so a crash repeats candles (silver keeps the latest fetch of a
 * minute) and never skips one. Rows Kraken sends malformed go to `kraken.ohlc.dlq` with the reason.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { TOPICS } from "@tributary/shared/contracts/topics";
import { connectKafka, createKafka, ensureTopics } from "@tributary/shared/kafka";
import type { Logger } from "@tributary/shared/log";
import { nowRfc3339 } from "@tributary/shared/time";
import { IngestProducer } from "../../producer/ingest-producer.ts";
import { ohlcTopicSpecs } from "../../producer/topics.ts";
import { cursorFileName, writeFileAtomic } from "../cursor-store.ts";
import { KrakenRestClient, resolveSymbols } from "../rest/client.ts";

export interface OhlcFetchOptions {
  readonly restUrl: string;
  readonly symbols: readonly string[];
  /** Cursors live in `<stateDir>/ingest/ohlc/`. */
  readonly stateDir: string;
  readonly kafka: Config["kafka"];
  /** Default `kraken.ohlc`. */
  readonly topic?: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly rest?: { readonly maxAttempts?: number; readonly timeoutMs?: number };
}

export interface OhlcFetchResult {
  /** Candles published per symbol. */
  readonly candles: Readonly<Record<string, number>>;
  readonly rejected: number;
}

interface OhlcCursor {
  readonly symbol: string;
  /** Kraken's `last`: unix seconds of the last committed candle published. */
  readonly last: number;
  readonly updatedAt: string;
}

export function ohlcCursorDir(stateDir: string): string {
  return join(stateDir, "ingest", "ohlc");
}

function loadCursor(dir: string, symbol: string): OhlcCursor | undefined {
  try {
    const c = JSON.parse(readFileSync(join(dir, cursorFileName(symbol)), "utf8")) as Partial<OhlcCursor>;
    return c.symbol === symbol && Number.isSafeInteger(c.last) ? (c as OhlcCursor) : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(
      `OHLC cursor of ${symbol} in ${dir} is unreadable (${(err as Error).message}); fix or delete it`,
    );
  }
}

/** One fetch of every symbol's new committed 1-minute candles into Kafka. */
export async function fetchOhlcOnce(opts: OhlcFetchOptions): Promise<OhlcFetchResult> {
  const topic = opts.topic ?? TOPICS.ohlc;
  const dir = ohlcCursorDir(opts.stateDir);
  mkdirSync(dir, { recursive: true });
  const rest = new KrakenRestClient({
    baseUrl: opts.restUrl,
    signal: opts.signal,
    ...(opts.rest?.maxAttempts === undefined ? {} : { maxAttempts: opts.rest.maxAttempts }),
    ...(opts.rest?.timeoutMs === undefined ? {} : { timeoutMs: opts.rest.timeoutMs }),
  });
  const registry = await resolveSymbols(rest, opts.symbols);
  const kafka = createKafka(opts.kafka, "ingest-ohlc");
  const admin = kafka.admin();
  await connectKafka(admin, opts.kafka);
  try {
    await ensureTopics(admin, ohlcTopicSpecs(opts.kafka, topic));
  } finally {
    await admin.disconnect();
  }
  const producer = new IngestProducer({
    kafka,
    topics: { trades: TOPICS.trades, ticker: TOPICS.ticker, ohlc: topic },
    log: opts.log.child("producer"),
  });
  const candles: Record<string, number> = {};
  let rejected = 0;
  try {
    for (const symbol of opts.symbols) {
      if (opts.signal.aborted) break;
      const pair = registry.bySymbolName(symbol);
      if (!pair) continue;
      const cursor = loadCursor(dir, symbol);
      const page = await rest.ohlc(pair, registry, 1, cursor?.last);
      const fresh = page.candles.filter((c) => cursor === undefined || Date.parse(c.ts) / 1000 > cursor.last);
      if (page.rejections.length) {
        rejected += page.rejections.length;
        opts.log.warn("Kraken OHLC rows rejected", { symbol, reasons: page.rejections.map((r) => r.reason) });
        await producer.enqueueDeadLetter(
          "ohlc",
          page.body,
          page.rejections.map((r) => r.reason).join("; "),
          "kraken.rest.OHLC",
          symbol,
        );
      }
      await producer.enqueueOhlc(fresh);
      await producer.flush();
      candles[symbol] = fresh.length;
      if (cursor === undefined || page.last > cursor.last) {
        const next: OhlcCursor = { symbol, last: page.last, updatedAt: nowRfc3339() };
        writeFileAtomic(join(dir, cursorFileName(symbol)), `${JSON.stringify(next)}\n`);
      }
    }
  } finally {
    await producer.close();
  }
  return { candles, rejected };
}
