/**
 * A CDC source in its own process, for tests that kill it (`kill -9`) mid-stream.
 * argv[2] = JSON {prefix, slot, publication, tables, stateDir}; SIGTERM stops it cleanly.
 */
import { loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { CdcSource } from "../source.ts";

interface ChildOptions {
  readonly prefix: string;
  readonly slot: string;
  readonly publication: string;
  readonly tables: readonly string[];
  readonly stateDir: string;
}

const opts = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
const config = loadConfig();
const abort = new AbortController();
process.on("SIGTERM", () => abort.abort());
const source = new CdcSource({
  ...opts,
  pgUrl: config.postgres.url,
  kafka: createKafka(config.kafka, "cdc-child"),
  kafkaConfig: config.kafka,
  log: createLogger("cdc-child", "warn"),
  reconnect: { initialMs: 100, maxMs: 2000 },
});
let last = "";
const report = setInterval(() => {
  const state = source.metrics.state;
  if (state !== last) {
    last = state;
    process.stdout.write(`${JSON.stringify({ state })}\n`);
  }
}, 50);
try {
  await source.run(abort.signal);
  process.exitCode = 0;
} catch (err) {
  process.stderr.write(`${JSON.stringify({ fatal: err instanceof Error ? err.message : String(err) })}\n`);
  process.exitCode = 1;
} finally {
  clearInterval(report);
}
