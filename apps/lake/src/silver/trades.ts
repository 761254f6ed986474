/**
 * Silver trades: the one typed, deduplicated record of every trade.
 *
 * A run reads the bronze commits after its watermark (a CommitCursor in its state.json), parses
 * each Kafka value with DuckDB's JSON functions, sends invalid rows to the quarantine with a reason,
 * and rewrites only the affected hour partitions: the existing rows of each partition (silver and
 * removed duplicates) plus the new ones, ranked per (exchange, symbol, trade_id): a WebSocket copy
 * first, then first seen (the lowest Kafka coordinates). The result depends only on the set of bronze
 * rows, not on the batches they came in, so a re-run, a backfill and a full rebuild all give the same rows.
 */
import { BRONZE_DATASETS } from "@tributary/shared/lake/layout";
import type { ChangedPartition } from "../runtime/change-journal.ts";
import { checkAborted, type LakeJobEnv } from "../runtime/env.ts";
import { publishStaged } from "../runtime/staged-publish.ts";
import { hourPartitionKey, KEY_INDEX_DIR, SILVER, SILVER_TRADES_JOB } from "./datasets.ts";
import { bucketsOf, loadKeyIndex, stageKeyIndex } from "./key-index.ts";
import { stageHourPartitions } from "./partition-writer.ts";
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
  createQuarantineNewSql,
  createTradesExistingSql,
  createTradesNewSql,
  createTradesParsedSql,
  createTradesRankedSql,
  duplicatesSelect,
  silverWinnersSelect,
} from "./trades.sql.ts";

export interface SilverTradesCounts {
  readonly bronzeRows: number;
  readonly validRows: number;
  readonly quarantinedRows: number;
  /** Removed duplicates now held by the rewritten partitions. */
  readonly duplicateRows: number;
  readonly partitionsRewritten: number;
  readonly partitionsDeleted: number;
}

const EMPTY_COUNTS: SilverTradesCounts = {
  bronzeRows: 0,
  validRows: 0,
  quarantinedRows: 0,
  duplicateRows: 0,
  partitionsRewritten: 0,
  partitionsDeleted: 0,
};

export function runSilverTrades(
  env: LakeJobEnv,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<SilverTradesCounts>> {
  return runSilverJob(
    env,
    {
      job: SILVER_TRADES_JOB,
      bronzeDataset: BRONZE_DATASETS["kraken.trades"],
      empty: EMPTY_COUNTS,
      merge: mergeTrades,
    },
    opts,
  );
}

async function mergeTrades(ctx: MergeContext): Promise<MergeOutcome<SilverTradesCounts>> {
  const { env, duck, reader, staging, rebuild, mayRepeatOffsets } = ctx;
  await duck.run(createTradesParsedSql("bronze_batch"));
  await duck.run(createTradesNewSql());
  await duck.run(createQuarantineNewSql("trades_bad", "trades_parsed"));
  checkAborted(env, "merging partitions");

  const existingSilver = rebuild ? await listHourPartitions(reader, SILVER.trades) : [];
  const existingDups = rebuild ? await listHourPartitions(reader, SILVER.tradeDuplicates) : [];
  const existingQuarantine = rebuild ? await listHourPartitions(reader, SILVER.tradeQuarantine) : [];

  // Where do incoming keys already live? Those partitions are merged too (cross-hour copies).
  const buckets = await bucketsOf(duck, "trades_new");
  if (rebuild) await loadKeyIndex(duck, reader, []);
  else await loadKeyIndex(duck, reader, buckets);
  const fresh = await distinctPartitions(duck, "trades_new");
  const movedRows = await duck.rows(`SELECT DISTINCT o.symbol AS p_symbol, epoch_us(o.hour)::VARCHAR AS hour
FROM key_index_old o JOIN trades_new n ON n.p_symbol = o.symbol AND n.trade_id = o.trade_id AND n.p_hour <> o.hour`);
  const moved = movedRows.map((r) => ({ symbol: String(r.p_symbol), hour: BigInt(String(r.hour)) }));
  const affected = unionPartitions(fresh, moved, existingSilver, existingDups);

  const silverKeys = rebuild
    ? []
    : await reader.existing(affected.map((p) => hourPartitionKey(SILVER.trades, p)));
  const dupKeys = rebuild
    ? []
    : await reader.existing(affected.map((p) => hourPartitionKey(SILVER.tradeDuplicates, p)));
  await duck.run(createTradesExistingSql(await reader.paths(silverKeys), await reader.paths(dupKeys)));
  const hasExisting = silverKeys.length + dupKeys.length > 0;
  for (const sql of createTradesRankedSql(hasExisting || mayRepeatOffsets)) await duck.run(sql);
  checkAborted(env, "staging");

  const silverStaged = await stageHourPartitions(
    duck,
    staging,
    SILVER.trades,
    silverWinnersSelect(),
    "trade_id",
    affected,
  );
  const dupStaged = await stageHourPartitions(
    duck,
    staging,
    SILVER.tradeDuplicates,
    duplicatesSelect(),
    "trade_id, kafka_topic, kafka_partition, kafka_offset",
    affected,
  );
  const quarantineStaged = await stageQuarantine(
    duck,
    reader,
    staging,
    SILVER.tradeQuarantine,
    "trades_bad",
    rebuild ? { existing: existingQuarantine } : undefined,
  );
  // Every key of the run has its winner among trades_new's buckets, in a rebuild too.
  const stagedIndex = await stageKeyIndex(duck, staging, buckets);
  checkAborted(env, "publishing");

  const counts = await duck.rows(`SELECT
  (SELECT count(*) FROM trades_parsed)::BIGINT AS bronze_rows,
  (SELECT count(*) FROM trades_new)::BIGINT AS valid_rows,
  (SELECT count(*) FROM trades_bad)::BIGINT AS bad_rows,
  (SELECT count(*) FROM trades_losers)::BIGINT AS dup_rows`);
  const c = counts[0] ?? {};

  // Publish: silver first, then its duplicates, the quarantine, and the key index (a hint only).
  const published = await publishStaged(env, staging, [silverStaged, dupStaged, quarantineStaged]);
  for (const [key, rel] of stagedIndex) await staging.publish(rel, key);
  if (rebuild) {
    for (const key of await reader.parquetKeys(`${KEY_INDEX_DIR}/`)) {
      if (!stagedIndex.has(key)) await env.store.delete(key);
    }
  }

  const changed: ChangedPartition[] = [
    ...affected.map((p) => changedOf(SILVER.trades, p)),
    ...affected.map((p) => changedOf(SILVER.tradeDuplicates, p)),
    ...quarantineStaged.owned.map((p) => changedOf(SILVER.tradeQuarantine, p)),
  ];
  return {
    counts: {
      bronzeRows: Number(c.bronze_rows ?? 0),
      validRows: Number(c.valid_rows ?? 0),
      quarantinedRows: Number(c.bad_rows ?? 0),
      duplicateRows: Number(c.dup_rows ?? 0),
      partitionsRewritten: published.published,
      partitionsDeleted: published.deleted,
    },
    changed,
  };
}
