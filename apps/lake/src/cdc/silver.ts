/**
 * CDC silver for one table: bronze change events → the table's current state and its full history.
 * Each run rebuilds both from every committed bronze file (deterministic: re-running gives the same
 * rows) and replaces each dataset's single file atomically (silver/staging.ts), so a reader sees the
 * old state or the new one, never a mix.
 */
import type { DatasetRef } from "@tributary/shared/lake/commit-log";
import { nextBronzeBatch } from "../silver/bronze-feed.ts";
import { type DuckSession, openDuckSession, sqlString } from "../silver/duckdb.ts";
import { checkAborted, type LakeJobEnv } from "../silver/env.ts";
import { LakeReader } from "../silver/lake-reader.ts";
import { createStaging } from "../silver/staging.ts";
import {
  CREATE_LIVE_SQL,
  createEventsSql,
  createVersionsSql,
  currentSelect,
  DISCOVER_COLUMNS_SQL,
  historySelect,
  invalidEventsSql,
} from "./silver.sql.ts";
import { type CdcColumn, type CdcTable, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

export const SILVER_FILE = "part-0.parquet";

export interface CdcSilverResult {
  readonly table: string;
  readonly bronzeFiles: number;
  /** Distinct change events read (after deduplication). */
  readonly events: number;
  /** Bronze rows that are not change events (quarantined from silver, counted). */
  readonly invalid: number;
  readonly rows: number;
  readonly versions: number;
  readonly currentKey: string;
  readonly historyKey: string;
}

export const cdcSilverJob = (t: CdcTable): string => `silver.${cdcDatasetName(t)}`;

export async function runCdcSilver(env: LakeJobEnv, table: CdcTable): Promise<CdcSilverResult> {
  const bronze: DatasetRef = { layer: "bronze", name: cdcDatasetName(table) };
  const batch = await nextBronzeBatch(env.commitLog, bronze);
  const reader = new LakeReader(env.store, env.scratchDir);
  const staging = createStaging(env.store, cdcSilverJob(table), env.scratchDir);
  let duck: DuckSession | undefined;
  try {
    const keys = [...batch.files];
    // Compacted commits: their directory holds the same rows; anything read twice is deduplicated.
    for (const dir of new Set(batch.filtered.map((f) => f.dirKey)))
      keys.push(...(await reader.parquetKeys(`${dir}/`)));
    const paths = await reader.paths([...new Set(keys)]);
    duck = await openDuckSession(env.duck);
    checkAborted(env, "reading bronze");
    let invalid = 0;
    if (paths.length > 0) {
      await duck.run(createEventsSql(paths));
      invalid = Number(await duck.scalar(invalidEventsSql(paths)));
    } else {
      await duck.run(
        "CREATE OR REPLACE TEMP TABLE cdc_events (k VARCHAR, op VARCHAR, lsn UBIGINT, after JSON, commit_lsn UBIGINT, commit_ts TIMESTAMPTZ, ord BIGINT)",
      );
    }
    await duck.run(CREATE_LIVE_SQL);
    const discovered: readonly CdcColumn[] =
      table.columns ??
      (await duck.rows(DISCOVER_COLUMNS_SQL)).map((r) => ({ name: String(r.name), type: "VARCHAR" }));
    if (discovered.length === 0) {
      env.log.warn(
        "no columns known for this CDC table yet (no rows, no declared schema): silver is written empty",
        {
          table: `${table.schema}.${table.table}`,
        },
      );
    }
    // DuckDB needs at least one column to write a Parquet file.
    const cols = discovered.length > 0 ? discovered : [{ name: "_no_columns", type: "VARCHAR" }];
    await duck.run(createVersionsSql(cols));
    checkAborted(env, "writing silver");
    await duck.run(
      `COPY (${currentSelect(cols)}) TO ${sqlString(`${staging.dir}/current.parquet`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    await duck.run(
      `COPY (${historySelect(cols)}) TO ${sqlString(`${staging.dir}/history.parquet`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const events = Number(await duck.scalar("SELECT count(*) FROM cdc_events"));
    const rows = Number(await duck.scalar("SELECT count(*) FROM cdc_versions WHERE is_current"));
    const versions = Number(await duck.scalar("SELECT count(*) FROM cdc_versions"));
    const currentKey = `silver/${cdcDatasetName(table)}/${SILVER_FILE}`;
    const historyKey = `silver/${cdcHistoryDatasetName(table)}/${SILVER_FILE}`;
    await staging.publish("current.parquet", currentKey);
    await staging.publish("history.parquet", historyKey);
    if (invalid > 0)
      env.log.warn("bronze rows that are not change events were left out of silver", {
        table: table.table,
        invalid,
      });
    return {
      table: `${table.schema}.${table.table}`,
      bronzeFiles: paths.length,
      events,
      invalid,
      rows,
      versions,
      currentKey,
      historyKey,
    };
  } finally {
    duck?.close();
    reader.dispose();
    staging.dispose();
  }
}
