/**
 * `bun run ingest`: the Kraken ingester (live Kraken by default; point --rest-url/--ws-url or
 * KRAKEN_REST_URL/KRAKEN_WS_URL at the simulator). SIGINT/SIGTERM flush the producer and save cursors.
 */
import { commandLineOrExit } from "@tributary/shared/cli";
import { type Config, loadConfigOrExit } from "@tributary/shared/config";
import { KafkaUnreachableError } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { KrakenConfigError } from "./kraken/errors.ts";
import { INGEST_USAGE, parseIngestArgs } from "./kraken/ingester/cli-args.ts";
import { startIngester } from "./kraken/ingester/ingester.ts";
import { fetchOhlcOnce } from "./kraken/ohlc/fetch-ohlc.ts";

let config: Config | undefined;
const parsed = commandLineOrExit("ingest", INGEST_USAGE, Bun.argv.slice(2), (argv) => {
  config = loadConfigOrExit();
  return parseIngestArgs(argv, config);
});
// --help is answered before parsing; a parse returns options.
if (parsed === "help" || !config) process.exit(0);
const options = parsed;
const log = createLogger("ingest", config.logLevel);

if (options.ohlcOnly) {
  try {
    const result = await fetchOhlcOnce({
      restUrl: options.restUrl,
      symbols: options.symbols,
      stateDir: options.stateDir,
      kafka: options.kafka,
      ...(options.topics.ohlc === undefined ? {} : { topic: options.topics.ohlc }),
      log,
      signal: AbortSignal.timeout(120_000),
    });
    console.log(JSON.stringify(result));
    process.exit(0);
  } catch (err) {
    const config = err instanceof KrakenConfigError;
    console.error(`${config ? "configuration error" : "ingest --ohlc"}: ${(err as Error).message}`);
    process.exit(config ? 2 : 1);
  }
}

try {
  const ingester = await startIngester(options, { log });
  log.info("ingester running", {
    mode: options.once ? "once" : options.mode,
    symbols: options.symbols,
    rest: options.restUrl,
    ws: options.mode === "stream" ? options.wsUrl : undefined,
    metrics:
      ingester.metricsPort === undefined ? undefined : `http://127.0.0.1:${ingester.metricsPort}/metrics`,
  });
  let signals = 0;
  const onSignal = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn("second signal: exiting without waiting", { signal });
      process.exit(130);
    }
    log.info("stopping: flushing Kafka and saving cursors", { signal });
    void ingester.stop();
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  await ingester.done;
  process.exit(0);
} catch (err) {
  if (err instanceof KrakenConfigError) {
    log.error("configuration error", { error: err.message });
    console.error(`configuration error: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof KafkaUnreachableError) {
    log.error("Kafka unreachable", { error: err.message });
    console.error(`ingest: ${err.message}`);
    process.exit(1);
  }
  log.error("ingester failed", { error: (err as Error).message, stack: (err as Error).stack });
  process.exit(1);
}
