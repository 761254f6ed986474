/**
 * The ingest app's scheduled jobs, for the one scheduler that composes every app's job set (apps/jobs):
 *
 *   ingest.kraken_ohlc   KRAKEN_OHLC_CRON (every minute)   Kraken's committed 1-minute OHLC → kraken.ohlc
 */
import type { Config } from "@tributary/shared/config";
import type { JobDefinition } from "@tributary/shared/scheduler/job";
import { PermanentJobError } from "@tributary/shared/scheduler/job";
import { KrakenConfigError } from "./kraken/errors.ts";
import { fetchOhlcOnce } from "./kraken/ohlc/fetch-ohlc.ts";

export const KRAKEN_OHLC_JOB = "ingest.kraken_ohlc";

/** `ohlcTopic` replaces `kraken.ohlc` (tests keep their candles out of the shared topic). */
export function ingestJobs(config: Config, opts: { readonly ohlcTopic?: string } = {}): JobDefinition[] {
  return [
    {
      name: KRAKEN_OHLC_JOB,
      pattern: config.kraken.ohlcCron,
      description:
        "Kraken's committed 1-minute OHLC of KRAKEN_SYMBOLS → kraken.ohlc (gold's candle reconciliation)",
      timeoutMs: 50_000,
      retries: 1,
      run: async (ctx) => {
        try {
          const r = await fetchOhlcOnce({
            restUrl: config.kraken.restUrl,
            symbols: config.kraken.symbols,
            stateDir: config.stateDir,
            kafka: config.kafka,
            ...(opts.ohlcTopic === undefined ? {} : { topic: opts.ohlcTopic }),
            log: ctx.log,
            signal: ctx.signal,
          });
          return { rows: Object.values(r.candles).reduce((a, b) => a + b, 0), detail: { ...r } };
        } catch (err) {
          if (err instanceof KrakenConfigError) throw new PermanentJobError(err.message, { cause: err });
          throw err;
        }
      },
    },
  ];
}
