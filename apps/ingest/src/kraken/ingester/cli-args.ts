/** `bun run ingest` flags: parsed at the edge into IngestOptions on top of the loaded Config. */

import { parseArgs } from "node:util";
import { UsageError as SharedUsageError } from "@tributary/shared/cli";
import type { Config } from "@tributary/shared/config";
import { BOOK_DEPTHS, type BookDepth } from "@tributary/shared/contracts/book";
import { DEFAULT_INGEST_TOPICS } from "../../producer/topics.ts";
import type { IngestOptions } from "./options.ts";

export const INGEST_USAGE = `usage: bun run ingest [flags]

  --symbols BTC/USD,ETH/USD   WS v2 symbols (default KRAKEN_SYMBOLS)
  --mode stream|poll          WebSocket + REST backfill, or REST on a schedule (default INGEST_MODE)
  --poll-cron "<pattern>"     croner pattern with seconds for poll mode (default INGEST_POLL_CRON)
  --once                      one REST catch-up from the cursor, then exit
  --ohlc                      instead: one fetch of Kraken's committed 1-minute OHLC into kraken.ohlc, then
                              exit (scheduled every KRAKEN_OHLC_CRON as the job ingest.kraken_ohlc of
                              bun run jobs); OHLC cursors under <state-dir>/ingest/ohlc
  --since now|<ns>            start of a symbol without a cursor: now, or a ns time (0 = first trade)
  --duration <seconds>        stop by itself after this long
  --rest-url <url>            Kraken REST base (default KRAKEN_REST_URL), e.g. http://127.0.0.1:8787/0
  --ws-url <url>              Kraken WS v2 URL (default KRAKEN_WS_URL), e.g. ws://127.0.0.1:8787/v2
  --metrics-port <n|off>      /health and /metrics port (default INGEST_METRICS_PORT; 0 = any free port)
  --state-dir <dir>           cursor files under <dir>/ingest/cursors (default TRIBUTARY_STATE_DIR)
  --trades-topic <name>       default kraken.trades (tests use their own)
  --ticker-topic <name>       default kraken.ticker
  --ohlc-topic <name>         default kraken.ohlc
  --book-depth <n|off>        WS v2 book depth 10|25|100|500|1000 or off (default KRAKEN_BOOK_DEPTH)
  --book-topic <name>         default kraken.book (with --trades-topic: no book unless given)
  --ws-stale-ms <ms>          silence after which the WebSocket is considered dead (default 5000)
  --help`;

/** A bad argument: `bun run ingest` answers it in one line with exit 2 (shared/src/cli.ts). */
export class UsageError extends SharedUsageError {}

const SYMBOL = /^[A-Z0-9]{2,10}\/[A-Z0-9]{2,10}$/;

export function parseIngestArgs(argv: readonly string[], config: Config): IngestOptions | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        symbols: { type: "string" },
        mode: { type: "string" },
        "poll-cron": { type: "string" },
        once: { type: "boolean" },
        ohlc: { type: "boolean" },
        "ohlc-topic": { type: "string" },
        since: { type: "string" },
        duration: { type: "string" },
        "rest-url": { type: "string" },
        "ws-url": { type: "string" },
        "metrics-port": { type: "string" },
        "state-dir": { type: "string" },
        "trades-topic": { type: "string" },
        "ticker-topic": { type: "string" },
        "ws-stale-ms": { type: "string" },
        "book-depth": { type: "string" },
        "book-topic": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const str = (k: string): string | undefined => values[k] as string | undefined;

  const symbols = str("symbols")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean) ?? [...config.kraken.symbols];
  const bad = symbols.filter((s) => !SYMBOL.test(s));
  if (symbols.length === 0 || bad.length)
    throw new UsageError(
      `--symbols: expected WS v2 symbols such as BTC/USD, got ${bad.join(",") || "nothing"}`,
    );
  const mode = str("mode") ?? config.kraken.mode;
  if (mode !== "stream" && mode !== "poll")
    throw new UsageError(`--mode: expected stream or poll, got ${mode}`);
  const since = str("since") ?? "now";
  if (!/^(now|\d{1,20})$/.test(since))
    throw new UsageError(`--since: expected now or a nanosecond time, got ${since}`);
  const duration = str("duration");
  if (duration !== undefined && !/^\d+(\.\d+)?$/.test(duration))
    throw new UsageError(`--duration: expected seconds, got ${duration}`);
  const metricsPortText = str("metrics-port");
  let metricsPort: number | undefined = config.ports.ingestMetrics;
  if (metricsPortText === "off") metricsPort = undefined;
  else if (metricsPortText !== undefined) {
    metricsPort = Number(metricsPortText);
    if (!/^\d+$/.test(metricsPortText) || metricsPort > 65535)
      throw new UsageError(`--metrics-port: expected 0-65535 or off, got ${metricsPortText}`);
  }
  const url = (k: string, fallback: string, protocols: readonly string[]): string => {
    const v = str(k) ?? fallback;
    let ok = false;
    try {
      ok = protocols.includes(new URL(v).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--${k}: expected a ${protocols.join(" or ")} URL, got ${v}`);
    return v;
  };
  const staleText = str("ws-stale-ms");
  if (staleText !== undefined && !/^\d+$/.test(staleText))
    throw new UsageError(`--ws-stale-ms: expected milliseconds, got ${staleText}`);
  const bookDepthText = str("book-depth");
  let bookDepth = config.kraken.bookDepth;
  if (bookDepthText === "off") bookDepth = undefined;
  else if (bookDepthText !== undefined) {
    const n = Number(bookDepthText);
    if (!(BOOK_DEPTHS as readonly number[]).includes(n))
      throw new UsageError(`--book-depth: expected ${BOOK_DEPTHS.join(", ")} or off, got ${bookDepthText}`);
    bookDepth = n as BookDepth;
  }
  // Own topics (tests) leave the shared book topic alone unless they name one.
  const bookTopic =
    str("book-topic") ?? (str("trades-topic") === undefined ? DEFAULT_INGEST_TOPICS.book : undefined);
  const book =
    bookDepth !== undefined && bookTopic !== undefined
      ? { depth: bookDepth, silentAfterMs: config.health.bookSilentAfterMs }
      : undefined;
  return {
    mode,
    ...(book ? { book } : {}),
    restUrl: url("rest-url", config.kraken.restUrl, ["http:", "https:"]),
    wsUrl: url("ws-url", config.kraken.wsUrl, ["ws:", "wss:"]),
    symbols,
    pollCron: str("poll-cron") ?? config.kraken.pollCron,
    once: values.once === true,
    ...(values.ohlc === true ? { ohlcOnly: true } : {}),
    since,
    durationMs: duration === undefined ? undefined : Math.round(Number(duration) * 1000),
    stateDir: str("state-dir") ?? config.stateDir,
    kafka: config.kafka,
    topics: {
      trades: str("trades-topic") ?? DEFAULT_INGEST_TOPICS.trades,
      ticker: str("ticker-topic") ?? DEFAULT_INGEST_TOPICS.ticker,
      // Own topics (tests) leave the shared OHLC topic alone; the default run creates it for the lake.
      ...(str("ohlc-topic") !== undefined
        ? { ohlc: str("ohlc-topic") }
        : str("trades-topic") === undefined
          ? { ohlc: DEFAULT_INGEST_TOPICS.ohlc }
          : {}),
      ...(book ? { book: bookTopic } : {}),
    },
    metricsPort,
    logLevel: config.logLevel,
    stallAfterMs: config.health.stallAfterMs,
    ...(staleText === undefined ? {} : { ws: { staleMs: Number(staleText) } }),
  };
}
