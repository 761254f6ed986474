/**
 * What a reader of one Iceberg snapshot must see, checked with DuckDB over the snapshot's planned
 * files only (no commit log, no Hive tree): bronze holds exactly the Kafka offsets its summary
 * claims, silver and gold hold whole runs, and gold candles are a function of one silver snapshot.
 */
import { statSync } from "node:fs";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import type { Snapshot, TableMetadata } from "@tributary/shared/lake/iceberg/metadata";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import type { LakeStore } from "@tributary/shared/lake/store";
import { snapshotOffsets } from "../bronze/table-commit.ts";
import { type DuckSession, sqlStringList } from "../runtime/duckdb.ts";

/** A table opened for reading: the definition is only used by writers, so it is left empty. */
export function readableTable(store: LakeStore, namespace: string, name: string): IcebergTable {
  return new IcebergTable(
    new EmbeddedCatalog(store),
    store,
    { namespace, name },
    { columns: [], partitionBy: [] },
  );
}

export interface PlannedFiles {
  readonly paths: readonly string[];
  /** Planned files not in place, or whose size differs from the manifest's `file_size_in_bytes`. */
  readonly broken: readonly string[];
  /** Σ record_count of the manifests. */
  readonly manifestRows: number;
}

export async function plannedFiles(
  table: IcebergTable,
  snap: Snapshot,
  m: TableMetadata,
): Promise<PlannedFiles> {
  const paths: string[] = [];
  const broken: string[] = [];
  let manifestRows = 0;
  for (const f of await table.files(snap, m)) {
    manifestRows += f.recordCount;
    let size = -1;
    try {
      size = statSync(f.path).size;
    } catch {}
    if (size !== f.fileSizeBytes) broken.push(`${f.path} (${size} of ${f.fileSizeBytes} bytes)`);
    else paths.push(f.path);
  }
  return { paths, broken, manifestRows };
}

const source = (paths: readonly string[]): string => `read_parquet(${sqlStringList(paths)})`;

/** Per topic-partition, what a bronze snapshot holds, next to what its summary says it holds. */
export async function bronzeSnapshotReport(
  duck: DuckSession,
  files: PlannedFiles,
  snap: Snapshot,
): Promise<{ rows: Record<string, [number, number, number, number]>; claimed: Record<string, number> }> {
  const claimed = Object.fromEntries(
    Object.entries(snapshotOffsets(snap)).map(([k, v]) => [k, Number(v)] as const),
  );
  const rows: Record<string, [number, number, number, number]> = {};
  if (files.paths.length > 0) {
    const per = await duck.rows(
      `SELECT topic || '/' || kafka_partition AS tp, count(*)::BIGINT AS c, count(DISTINCT kafka_offset)::BIGINT AS d,
         min(kafka_offset)::BIGINT AS lo, max(kafka_offset)::BIGINT AS hi
       FROM ${source(files.paths)} GROUP BY 1 ORDER BY 1`,
    );
    for (const r of per) rows[String(r.tp)] = [Number(r.c), Number(r.d), Number(r.lo), Number(r.hi)];
  }
  return { rows, claimed };
}

/** The bronze report every snapshot must give: offsets [0, next) per partition, each once. */
export function wholeCommitsOf(
  claimed: Record<string, number>,
): Record<string, [number, number, number, number]> {
  return Object.fromEntries(
    Object.entries(claimed)
      .filter(([, next]) => next > 0)
      .map(([tp, next]) => [tp, [next, next, 0, next - 1]] as const),
  );
}

/** Silver trades of a snapshot: rows read, duplicate trade keys, and the summary's total. */
export async function silverSnapshotReport(
  duck: DuckSession,
  files: PlannedFiles,
  snap: Snapshot,
): Promise<{ rows: number; duplicates: number; summaryRows: number }> {
  const summaryRows = Number(snap.summary["total-records"] ?? Number.NaN);
  if (files.paths.length === 0) return { rows: 0, duplicates: 0, summaryRows };
  const rows = Number(await duck.scalar(`SELECT count(*)::BIGINT FROM ${source(files.paths)}`));
  const duplicates = Number(
    await duck.scalar(
      `SELECT count(*)::BIGINT FROM (SELECT symbol, trade_id FROM ${source(files.paths)} GROUP BY ALL HAVING count(*) > 1)`,
    ),
  );
  return { rows, duplicates, summaryRows };
}

/**
 * Gold 1-minute candles of a snapshot against a recomputation from silver trades files: rows that
 * differ in either direction (symbol, minute, trade count, exact base volume).
 */
export async function candleDisagreement(
  duck: DuckSession,
  gold: PlannedFiles,
  silver: PlannedFiles,
): Promise<{ goldCandles: number; differing: number }> {
  const goldSql =
    gold.paths.length === 0
      ? "(SELECT NULL::VARCHAR AS symbol, NULL::TIMESTAMPTZ AS bucket_start, NULL::BIGINT AS trade_count, NULL::DECIMAL(38,10) AS base_volume WHERE false)"
      : source(gold.paths);
  const silverSql =
    silver.paths.length === 0
      ? "(SELECT NULL::VARCHAR AS symbol, NULL::TIMESTAMPTZ AS ts, NULL::DECIMAL(38,10) AS qty WHERE false)"
      : source(silver.paths);
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE g AS SELECT symbol, epoch_us(bucket_start) AS m, trade_count::BIGINT AS n, base_volume::DECIMAL(38,10) AS v FROM ${goldSql}`,
  );
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE s AS SELECT symbol, epoch_us(ts) // 60000000 * 60000000 AS m, count(*)::BIGINT AS n, sum(qty)::DECIMAL(38,10) AS v FROM ${silverSql} GROUP BY 1, 2`,
  );
  const differing = Number(
    await duck.scalar(
      "SELECT count(*)::BIGINT FROM ((SELECT * FROM g EXCEPT ALL SELECT * FROM s) UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM g))",
    ),
  );
  const goldCandles = Number(await duck.scalar("SELECT count(*)::BIGINT FROM g"));
  return { goldCandles, differing };
}
