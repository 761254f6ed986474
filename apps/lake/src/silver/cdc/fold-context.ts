/** What a CDC silver fold (keyed.ts, multiset.ts) gets from the run (replay.ts) and gives back. */
import type { CommitCursor } from "@tributary/shared/lake/commit-log";
import type { DuckSession } from "../../runtime/duckdb.ts";
import type { LakeJobEnv } from "../../runtime/env.ts";
import type { LakeReader } from "../../runtime/lake-reader.ts";
import type { Staging } from "../../runtime/staging.ts";
import { type ColumnSources, chooseColumn, NO_SOURCES, typeList } from "./column-types.ts";
import { type CdcSilverState, departedDir, pendingDir, stateDir } from "./silver-state.ts";
import { type CdcColumn, type CdcTable, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

/** What a fold needs: the session with `cdc_batch` loaded, and where its files go. */
export interface FoldContext {
  readonly env: LakeJobEnv;
  readonly table: CdcTable;
  readonly duck: DuckSession;
  readonly reader: LakeReader;
  readonly staging: Staging;
  readonly prior: CdcSilverState | undefined;
  /** Keys per group for keys new to silver. */
  readonly groupKeys: number;
  /** Loads the run's bronze batch (`all`: every commit, for a rebuild) into `cdc_batch`. */
  readonly loadBatch: (all?: "all") => Promise<LoadedBatch>;
  /** What the schemas of the events in `table` (a temp table of loaded events) say about column types. */
  readonly columnSources: (table: string) => Promise<ColumnSources>;
}

export interface LoadedBatch {
  readonly cursor: CommitCursor;
  readonly files: number;
  readonly invalid: number;
}

export interface FoldOutcome {
  readonly state: CdcSilverState;
  readonly events: number;
  readonly filesWritten: number;
  readonly rebuilt: boolean;
  readonly bronzeFiles: number;
  readonly invalid: number;
}

/**
 * After a rebuild: deletes the files of the table's silver datasets and state that the rebuild did
 * not write (groups that no longer exist, history closed before it, files of an older layout).
 */
export async function deleteUnwritten(
  ctx: Pick<FoldContext, "env" | "table" | "reader">,
  written: ReadonlySet<string>,
): Promise<void> {
  const prefixes = [
    `silver/${cdcDatasetName(ctx.table)}/`,
    `silver/${cdcHistoryDatasetName(ctx.table)}/`,
    stateDir(cdcDatasetName(ctx.table)),
    departedDir(cdcDatasetName(ctx.table)),
    pendingDir(cdcDatasetName(ctx.table)),
  ];
  for (const prefix of prefixes)
    for (const key of await ctx.reader.parquetKeys(prefix))
      if (!written.has(key)) await ctx.env.store.delete(key);
}

/** The silver columns for `names`: declared types, else the types the envelopes' schemas agree on. */
export function resolveColumns(
  table: CdcTable,
  names: readonly string[],
  sources: ColumnSources | undefined,
): readonly CdcColumn[] {
  if (table.columns) return table.columns;
  return names.map((n) => chooseColumn(n, sources ?? NO_SOURCES)).map(({ textReason: _, ...c }) => c);
}

/** The state's `columnTypes`: the declared or chosen types; null when every column is plain VARCHAR. */
export function frameTypes(
  table: CdcTable,
  names: readonly string[],
  sources: ColumnSources | undefined,
): readonly string[] | null {
  const columns = resolveColumns(table, names, sources);
  if (!table.columns && columns.every((c) => c.type === "VARCHAR" && !c.encoding)) return null;
  return typeList(columns);
}
