/**
 * Test helper: ingester options pointed at a Kraken simulator and the test broker, with the
 * settings every ingester test shares; each test overrides what it exercises (mode, log level,
 * WebSocket and REST tuning, …).
 */
import type { Config } from "@tributary/shared/config";
import type { IngestTopics } from "../../producer/topics.ts";
import type { KrakenSimulator } from "../../simulator/server.ts";
import type { IngestOptions } from "./options.ts";

/** Where a simulator (in-process or on its own thread) answers. */
export interface SimulatorEndpoints {
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly symbols: readonly string[];
}

/**
 * The ingester in stream mode against a simulator, on `stateDir` and its own topics: one cron poll a
 * second, from the start of history, no metrics port, warnings only; `over` sets the rest.
 */
export function simulatorIngestOptions(
  sim: SimulatorEndpoints,
  kafka: Config["kafka"],
  topics: IngestTopics,
  stateDir: string,
  over: Partial<IngestOptions> = {},
): IngestOptions {
  return {
    mode: "stream",
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    symbols: sim.symbols,
    pollCron: "* * * * * *",
    once: false,
    since: "0",
    durationMs: undefined,
    stateDir,
    kafka,
    topics,
    metricsPort: undefined,
    logLevel: "warn",
    ...over,
  };
}

/** `simulatorIngestOptions` for an in-process simulator, errors only. */
export function simulatorOptions(
  sim: KrakenSimulator,
  config: Config,
  topics: IngestTopics,
  stateDir: string,
  over: Partial<IngestOptions>,
): IngestOptions {
  const endpoints = { restUrl: sim.restUrl, wsUrl: sim.wsUrl, symbols: sim.symbols() };
  return simulatorIngestOptions(endpoints, config.kafka, topics, stateDir, { logLevel: "error", ...over });
}
