/**
 * Rewrites whole silver hour partitions: DuckDB stages one file per (symbol, hour), then each is
 * published over `part-0.parquet` of its partition (atomic per file, see staging.ts), and the
 * affected partitions that no longer have rows lose their file.
 */

import { rmSync } from "node:fs";
import type { LakeStore } from "@tributary/shared/lake/store";
import { type HourPartition, hourPartitionKey, partitionId } from "./datasets.ts";
import { type DuckSession, sqlString, sqlStringList } from "./duckdb.ts";
import type { Staging } from "./staging.ts";
import { copyHourPartitionsSql } from "./trades.sql.ts";

export class PartitionWriteError extends Error {
  override readonly name = "PartitionWriteError";
}

export interface StagedPartitions {
  readonly dataset: string;
  /** Staged file (relative to the staging dir) per partition id. */
  readonly files: ReadonlyMap<string, { readonly partition: HourPartition; readonly rel: string }>;
  /** Partitions this write owns: those without a staged file are deleted on publish. */
  readonly affected: readonly HourPartition[];
}

/** Stages `select` (columns + `p_symbol`, `p_hour`) as one file per partition under `<staging>/<dataset>/`. */
export async function stageHourPartitions(
  duck: DuckSession,
  staging: Staging,
  dataset: string,
  select: string,
  orderBy: string,
  affected: readonly HourPartition[],
): Promise<StagedPartitions> {
  const sub = dataset;
  await duck.run(copyHourPartitionsSql(select, `${staging.dir}/${sub}`));
  const owned = new Set(affected.map(partitionId));
  const grouped = new Map<string, { partition: HourPartition; rels: string[] }>();
  for (const rel of staging.files(sub)) {
    const m = /p_symbol=([^/]+)\/p_hour_us=(-?\d+)\/[^/]+\.parquet$/.exec(rel);
    if (!m) throw new PartitionWriteError(`${dataset}: unexpected staged file ${rel}`);
    const partition: HourPartition = {
      symbol: decodeURIComponent(m[1] as string),
      hour: BigInt(m[2] as string),
    };
    const id = partitionId(partition);
    if (!owned.has(id))
      throw new PartitionWriteError(`${dataset}: staged partition ${id} outside the affected set`);
    const g = grouped.get(id) ?? { partition, rels: [] };
    g.rels.push(rel);
    grouped.set(id, g);
  }
  const files = new Map<string, { partition: HourPartition; rel: string }>();
  for (const [id, g] of grouped) {
    files.set(id, { partition: g.partition, rel: await singleFile(duck, staging, g.rels, orderBy) });
  }
  return { dataset, files, affected };
}

/** Publishes staged partitions, then deletes the affected ones left without rows. */
export async function publishHourPartitions(
  store: LakeStore,
  staging: Staging,
  staged: StagedPartitions,
): Promise<{ published: number; deleted: number }> {
  let published = 0;
  let deleted = 0;
  for (const { partition, rel } of staged.files.values()) {
    await staging.publish(rel, hourPartitionKey(staged.dataset, partition));
    published += 1;
  }
  for (const p of staged.affected) {
    if (staged.files.has(partitionId(p))) continue;
    const key = hourPartitionKey(staged.dataset, p);
    if (await store.exists(key)) {
      await store.delete(key);
      deleted += 1;
    }
  }
  return { published, deleted };
}

/**
 * DuckDB may split a partition over several files when a write spans more partitions than it keeps
 * open; a silver partition is one file, so those are merged (rare: large rebuilds only).
 */
export async function singleFile(
  duck: DuckSession,
  staging: Staging,
  rels: readonly string[],
  orderBy: string,
): Promise<string> {
  if (rels.length === 1) return rels[0] as string;
  const paths = rels.map((r) => `${staging.dir}/${r}`);
  const merged = `${(rels[0] as string).replace(/\.parquet$/, "")}-merged.parquet`;
  await duck.run(
    `COPY (SELECT * FROM read_parquet(${sqlStringList(paths)}, hive_partitioning = false) ORDER BY ${orderBy}) TO ${sqlString(`${staging.dir}/${merged}`)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  for (const p of paths) rmSync(p);
  return merged;
}
