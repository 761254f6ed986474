/**
 * `bun run ingest`: the Kraken ingester (live Kraken by default; point --rest-url/--ws-url or
 * KRAKEN_REST_URL/KRAKEN_WS_URL at the simulator). SIGINT/SIGTERM flush the producer and save cursors.
 */
import { loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { KrakenConfigError } from "./kraken/errors.ts";
import { INGEST_USAGE, parseIngestArgs, UsageError } from "./kraken/ingester/cli-args.ts";
import { startIngester } from "./kraken/ingester/ingester.ts";

const config = loadConfigOrExit();
const log = createLogger("ingest", config.logLevel);

let options: ReturnType<typeof parseIngestArgs>;
try {
  options = parseIngestArgs(Bun.argv.slice(2), config);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${INGEST_USAGE}`);
    process.exit(2);
  }
  throw err;
}
if (options === "help") {
  console.log(INGEST_USAGE);
  process.exit(0);
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
  log.error("ingester failed", { error: (err as Error).message, stack: (err as Error).stack });
  process.exit(1);
}
