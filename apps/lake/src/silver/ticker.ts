/**
 * Silver ticker: every ticker snapshot, typed (DECIMAL(38,10), TIMESTAMPTZ µs), partitioned by the
 * snapshot's UTC hour and symbol. Invalid rows go to `silver/kraken_ticker_quarantine` with a reason.
 * A snapshot seen twice (same symbol, source, exchange time and values) is kept once. Incremental on
 * the bronze commit log like silver trades; re-runs and rebuilds give the same rows.
 */
import { BRONZE_DATASETS } from "@tributary/shared/lake/layout";
import { hourPartitionKey, SILVER } from "./datasets.ts";
import { checkAborted, type LakeJobEnv } from "./env.ts";
import { publishHourPartitions, stageHourPartitions } from "./partition-writer.ts";
import { distinctPartitions, stageQuarantine, unionPartitions } from "./quarantine.ts";
import {
  changedOf,
  listHourPartitions,
  type MergeContext,
  type MergeOutcome,
  runSilverJob,
  type SilverRunOptions,
  type SilverRunResult,
} from "./silver-run.ts";
import {
  createTickerMergedSql,
  createTickerNewSql,
  createTickerParsedSql,
  tickerSelect,
} from "./ticker.sql.ts";
import { createQuarantineNewSql } from "./trades.sql.ts";

export const SILVER_TICKER_JOB = "silver.ticker";

export interface SilverTickerCounts {
  readonly bronzeRows: number;
  readonly validRows: number;
  readonly quarantinedRows: number;
  readonly partitionsRewritten: number;
  readonly partitionsDeleted: number;
}

const EMPTY_COUNTS: SilverTickerCounts = {
  bronzeRows: 0,
  validRows: 0,
  quarantinedRows: 0,
  partitionsRewritten: 0,
  partitionsDeleted: 0,
};

export function runSilverTicker(
  env: LakeJobEnv,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<SilverTickerCounts>> {
  return runSilverJob(
    env,
    {
      job: SILVER_TICKER_JOB,
      bronzeDataset: BRONZE_DATASETS["kraken.ticker"],
      empty: EMPTY_COUNTS,
      merge: mergeTicker,
    },
    opts,
  );
}

async function mergeTicker(ctx: MergeContext): Promise<MergeOutcome<SilverTickerCounts>> {
  const { env, duck, reader, staging, rebuild } = ctx;
  await duck.run(createTickerParsedSql());
  await duck.run(createTickerNewSql());
  await duck.run(createQuarantineNewSql("ticker_bad", "ticker_parsed"));
  checkAborted(env, "merging ticker partitions");

  const fresh = await distinctPartitions(duck, "ticker_new");
  const existing = rebuild ? await listHourPartitions(reader, SILVER.ticker) : [];
  const affected = unionPartitions(fresh, existing);
  const existingKeys = rebuild
    ? []
    : await reader.existing(affected.map((p) => hourPartitionKey(SILVER.ticker, p)));
  await duck.run(createTickerMergedSql(await reader.paths(existingKeys)));
  const staged = await stageHourPartitions(
    duck,
    staging,
    SILVER.ticker,
    tickerSelect(),
    "ts, kafka_topic, kafka_partition, kafka_offset",
    affected,
  );
  const quarantine = await stageQuarantine(
    duck,
    reader,
    staging,
    SILVER.tickerQuarantine,
    "ticker_bad",
    rebuild ? { existing: await listHourPartitions(reader, SILVER.tickerQuarantine) } : undefined,
  );
  const [c = {}] = await duck.rows(`SELECT
  (SELECT count(*) FROM ticker_parsed)::BIGINT AS bronze_rows,
  (SELECT count(*) FROM ticker_new)::BIGINT AS valid_rows,
  (SELECT count(*) FROM ticker_bad)::BIGINT AS bad_rows`);
  checkAborted(env, "publishing ticker partitions");
  const t = await publishHourPartitions(env.store, staging, staged);
  const q = await publishHourPartitions(env.store, staging, quarantine);
  return {
    counts: {
      bronzeRows: Number(c.bronze_rows ?? 0),
      validRows: Number(c.valid_rows ?? 0),
      quarantinedRows: Number(c.bad_rows ?? 0),
      partitionsRewritten: t.published + q.published,
      partitionsDeleted: t.deleted + q.deleted,
    },
    changed: [
      ...affected.map((p) => changedOf(SILVER.ticker, p)),
      ...quarantine.affected.map((p) => changedOf(SILVER.tickerQuarantine, p)),
    ],
  };
}
