/**
 * Quarantine datasets (`silver/kraken_trades_quarantine`, `silver/kraken_ticker_quarantine`): every
 * bronze row that is not a valid message, verbatim (`raw` bytes, `raw_text` when UTF-8), with the
 * reason and its Kafka coordinates. Partitioned like silver by the hour and symbol the row is
 * counted under (`partition_hour`, `partition_symbol`): the message's own ts and symbol when they
 * parse, else bronze `event_ts` and the Kafka key. Idempotent: one row per (topic, partition, offset).
 */

import { type DuckSession, sqlStringList } from "../runtime/duckdb.ts";
import type { LakeReader } from "../runtime/lake-reader.ts";
import type { Staging } from "../runtime/staging.ts";
import { type HourPartition, hourPartitionKey, partitionId } from "./datasets.ts";
import { type StagedPartitions, stageHourPartitions } from "./partition-writer.ts";
import { QUARANTINE_COLUMNS } from "./trades.sql.ts";

const COLS = [...QUARANTINE_COLUMNS, "partition_symbol", "partition_hour"].join(", ");

/**
 * Merges the new rejected rows of `newTable` (QUARANTINE_COLUMNS + p_symbol, p_hour) into their
 * partitions and stages the result. `rebuild` ignores (and replaces) what exists.
 */
export async function stageQuarantine(
  duck: DuckSession,
  reader: LakeReader,
  staging: Staging,
  dataset: string,
  newTable: string,
  rebuild: { readonly existing: readonly HourPartition[] } | undefined,
): Promise<StagedPartitions> {
  const fresh = await distinctPartitions(duck, newTable);
  const affected = rebuild ? unionPartitions(fresh, rebuild.existing) : fresh;
  const existingKeys = rebuild ? [] : await reader.existing(fresh.map((p) => hourPartitionKey(dataset, p)));
  const existingSql =
    existingKeys.length > 0
      ? `SELECT ${COLS}, partition_symbol AS p_symbol, partition_hour AS p_hour, 0 AS origin FROM read_parquet(${sqlStringList(await reader.paths(existingKeys))}, hive_partitioning = false, union_by_name = true)`
      : undefined;
  const newSql = `SELECT ${QUARANTINE_COLUMNS.join(", ")}, p_symbol AS partition_symbol, p_hour AS partition_hour, p_symbol, p_hour, 1 AS origin FROM ${newTable}`;
  const union = existingSql ? `${existingSql} UNION ALL BY NAME ${newSql}` : newSql;
  await duck.run(`CREATE OR REPLACE TEMP TABLE quarantine_merged AS
SELECT DISTINCT ON (topic, kafka_partition, kafka_offset) * EXCLUDE (origin)
FROM (${union}) ORDER BY topic, kafka_partition, kafka_offset, origin`);
  return stageHourPartitions(
    duck,
    staging,
    dataset,
    `SELECT ${COLS}, p_symbol, p_hour FROM quarantine_merged`,
    "topic, kafka_partition, kafka_offset",
    affected,
  );
}

export async function distinctPartitions(duck: DuckSession, table: string): Promise<HourPartition[]> {
  const rows = await duck.rows(
    `SELECT DISTINCT p_symbol, epoch_us(p_hour)::VARCHAR AS hour FROM ${table} ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ symbol: String(r.p_symbol), hour: BigInt(String(r.hour)) }));
}

export function unionPartitions(...lists: ReadonlyArray<readonly HourPartition[]>): HourPartition[] {
  const seen = new Map<string, HourPartition>();
  for (const list of lists) for (const p of list) seen.set(partitionId(p), p);
  return [...seen.values()].sort((a, b) =>
    a.symbol === b.symbol ? (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : 0) : a.symbol < b.symbol ? -1 : 1,
  );
}
