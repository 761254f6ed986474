/**
 * Test helper: ingester options pointed at a Kraken simulator and the test broker, with the
 * settings every ingester test shares; each test overrides what it exercises (mode, log level,
 * WebSocket and REST tuning, …).
 */
import type { Config } from "@tributary/shared/config";
import type { IngestTopics } from "../../producer/topics.ts";
import type { KrakenSimulator } from "../../simulator/server.ts";
import type { IngestOptions } from "./options.ts";

export function simulatorOptions(
  sim: KrakenSimulator,
  config: Config,
  topics: IngestTopics,
  stateDir: string,
  over: Partial<IngestOptions>,
): IngestOptions {
  return {
    mode: "stream",
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    symbols: sim.symbols(),
    pollCron: "* * * * * *",
    once: false,
    since: "0",
    durationMs: undefined,
    stateDir,
    kafka: config.kafka,
    topics,
    metricsPort: undefined,
    logLevel: "error",
    ...over,
  };
}
