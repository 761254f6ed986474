/**
 * Silver ticker: every ticker snapshot, typed (DECIMAL(38,10), TIMESTAMPTZ µs), partitioned by the
 * snapshot's UTC hour and symbol. Invalid rows go to `silver/kraken_ticker_quarantine` with a reason.
 * A snapshot seen twice (same symbol, source, exchange time and values) is kept once. Incremental on
 * the bronze commit log like silver trades; re-runs and rebuilds give the same rows.
 */
import { BRONZE_DATASETS } from "@tributary/shared/lake/layout";
import type { LakeJobEnv } from "../runtime/env.ts";
import { SILVER, SILVER_TICKER_JOB } from "./datasets.ts";
import type { SilverRunOptions, SilverRunResult } from "./silver-run.ts";
import {
  createTickerMergedSql,
  createTickerNewSql,
  createTickerParsedSql,
  tickerSelect,
} from "./ticker.sql.ts";
import { runTypedMessageJob, type TypedMessageCounts } from "./typed-messages.ts";

export type SilverTickerCounts = TypedMessageCounts;

export function runSilverTicker(
  env: LakeJobEnv,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<SilverTickerCounts>> {
  return runTypedMessageJob(
    env,
    {
      job: SILVER_TICKER_JOB,
      bronzeDataset: BRONZE_DATASETS["kraken.ticker"],
      name: "ticker",
      dataset: SILVER.ticker,
      quarantine: SILVER.tickerQuarantine,
      parseSql: [createTickerParsedSql(), createTickerNewSql()],
      mergedSql: createTickerMergedSql,
      select: tickerSelect(),
      orderBy: "ts, kafka_topic, kafka_partition, kafka_offset",
    },
    opts,
  );
}
