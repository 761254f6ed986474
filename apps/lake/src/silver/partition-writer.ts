/**
 * Rewrites whole silver hour partitions: DuckDB stages one file per (symbol, hour), then each is
 * published over `part-0.parquet` of its partition and the affected partitions that no longer have
 * rows lose their file (runtime/staged-publish.ts).
 */
import type { DuckSession } from "../runtime/duckdb.ts";
import { collectStaged, type FileLayout, type StagedFiles } from "../runtime/staged-publish.ts";
import type { Staging } from "../runtime/staging.ts";
import { type HourPartition, hourPartitionKey, partitionId } from "./datasets.ts";
import { copyHourPartitionsSql } from "./trades.sql.ts";

/** A silver dataset's files: one per (symbol, UTC hour) partition. */
export const HOUR_PARTITIONS: FileLayout<HourPartition> = {
  id: partitionId,
  key: hourPartitionKey,
  parseStaged(rel) {
    const m = /p_symbol=([^/]+)\/p_hour_us=(-?\d+)\/[^/]+\.parquet$/.exec(rel);
    return m ? { symbol: decodeURIComponent(m[1] as string), hour: BigInt(m[2] as string) } : undefined;
  },
};

export type StagedPartitions = StagedFiles<HourPartition>;

/** Stages `select` (columns + `p_symbol`, `p_hour`) as one file per partition under `<staging>/<dataset>/`. */
export async function stageHourPartitions(
  duck: DuckSession,
  staging: Staging,
  dataset: string,
  select: string,
  orderBy: string,
  affected: readonly HourPartition[],
): Promise<StagedPartitions> {
  await duck.run(copyHourPartitionsSql(select, `${staging.dir}/${dataset}`));
  return collectStaged(duck, staging, HOUR_PARTITIONS, dataset, orderBy, affected);
}
