/**
 * Kraken's own 1-minute OHLC as a reference dataset, `silver/kraken_ohlc_1m` (partitioned like every
 * silver market dataset by hour and symbol), for gold's candle reconciliation.
 *
 * Fed from bronze: the ingest app's scheduled OHLC job publishes Kraken's committed candles to
 * `kraken.ohlc`, the bronze writer lands them in `bronze/kraken_ohlc`, and this job types them
 * (invalid rows go to `silver/kraken_ohlc_1m_quarantine` with a reason). A minute fetched again is
 * replaced by its latest fetch. Every run appends to the `silver.kraken_ohlc` change journal, so the
 * next gold run re-reconciles those minutes and the quality dataset shows disagreements.
 */
import { BRONZE_DATASETS } from "@tributary/shared/lake/layout";
import type { LakeJobEnv } from "../runtime/env.ts";
import { KRAKEN_OHLC_JOB, SILVER } from "./datasets.ts";
import { createOhlcMergedSql, createOhlcNewSql, createOhlcParsedSql, ohlcSelect } from "./kraken-ohlc.sql.ts";
import type { SilverRunOptions, SilverRunResult } from "./silver-run.ts";
import { runTypedMessageJob, type TypedMessageCounts } from "./typed-messages.ts";

export function runSilverKrakenOhlc(
  env: LakeJobEnv,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<TypedMessageCounts>> {
  return runTypedMessageJob(
    env,
    {
      job: KRAKEN_OHLC_JOB,
      bronzeDataset: BRONZE_DATASETS["kraken.ohlc"],
      name: "ohlc",
      dataset: SILVER.krakenOhlc,
      quarantine: SILVER.krakenOhlcQuarantine,
      parseSql: [createOhlcParsedSql(), createOhlcNewSql()],
      mergedSql: createOhlcMergedSql,
      select: ohlcSelect(),
      orderBy: "minute",
    },
    opts,
  );
}
