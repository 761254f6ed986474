/**
 * CDC silver for a table without a primary key: a multiset, rebuilt from all of bronze by every run
 * that has new commits (its rows have no identity to fold incrementally by). One current file and
 * one history file (every image; valid_to stays null), each run one Iceberg snapshot per dataset.
 */
import { mkdirSync } from "node:fs";
import { sqlString } from "../../runtime/duckdb.ts";
import { checkAborted } from "../../runtime/env.ts";
import { collectStaged, type FileLayout, publishStaged } from "../../runtime/staged-publish.ts";
import {
  deleteUnwritten,
  type FoldContext,
  type FoldOutcome,
  frameTypes,
  resolveColumns,
} from "./fold-context.ts";
import {
  CREATE_LIVE_SQL,
  CURRENT_COLUMNS_SQL,
  createMultisetVersionsSql,
  currentSelect,
  historySelect,
} from "./replay.sql.ts";
import { currentPartKey, openHistoryKey } from "./silver-state.ts";
import { type CdcColumn, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

export async function runMultisetFold(ctx: FoldContext): Promise<FoldOutcome> {
  const { env, table, duck, staging } = ctx;
  const loaded = await ctx.loadBatch("all");
  await duck.run("CREATE OR REPLACE TEMP TABLE cdc_events AS SELECT * FROM cdc_batch");
  await duck.run(CREATE_LIVE_SQL);
  const names = (await duck.rows(CURRENT_COLUMNS_SQL)).map((r) => String(r.name));
  const sources = table.columns ? undefined : await ctx.columnSources("cdc_live");
  const current: readonly CdcColumn[] = resolveColumns(table, names, sources);
  if (current.length === 0) {
    env.log.warn(
      "no columns known for this CDC table yet (no rows, no declared schema): silver is written empty",
      { table: `${table.schema}.${table.table}` },
    );
  }
  // DuckDB needs at least one column to write a Parquet file.
  const cols = current.length > 0 ? current : [{ name: "_no_columns", type: "VARCHAR" }];
  await duck.run(createMultisetVersionsSql(cols));
  checkAborted(env, "writing silver");
  const currentKey = currentPartKey(cdcDatasetName(table), 0);
  const historyKey = openHistoryKey(cdcHistoryDatasetName(table), 0);
  // Each dataset is one file; both are staged, then published as one snapshot per table (the same
  // staged publish as the keyed fold), the files they replace removed from the tables.
  const staged = [];
  for (const [name, select, key] of [
    ["current", currentSelect(cols), currentKey],
    ["history", historySelect(cols), historyKey],
  ] as const) {
    mkdirSync(`${staging.dir}/${name}`, { recursive: true });
    await duck.run(
      `COPY (${select}) TO ${sqlString(`${staging.dir}/${name}/0.parquet`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const layout: FileLayout<number> = { id: () => "0", key: () => key, parseStaged: () => 0 };
    staged.push(await collectStaged(duck, staging, layout, name, "1", [0]));
  }
  checkAborted(env, "publishing silver");
  const written = new Set([currentKey, historyKey]);
  const unwritten = [];
  for (const prefix of [`silver/${cdcDatasetName(table)}/`, `silver/${cdcHistoryDatasetName(table)}/`])
    for (const key of await ctx.reader.parquetKeys(prefix)) if (!written.has(key)) unwritten.push(key);
  await publishStaged(env, staging, staged, { remove: unwritten });
  await deleteUnwritten(ctx, written);
  const rows = Number(await duck.scalar("SELECT count(*) FROM cdc_versions WHERE is_current"));
  return {
    state: {
      v: 1,
      mode: "multiset",
      cursor: loaded.cursor,
      seq: (ctx.prior?.seq ?? 0) + 1,
      snapshotLsn: null,
      cut: null,
      columns: names,
      columnsAt: null,
      allColumns: names,
      columnTypes: frameTypes(table, names, sources),
      ...(sources ? { columnSources: sources } : {}),
      groups: [{ keys: rows, rows }],
      updatedAt: "",
    },
    events: Number(await duck.scalar("SELECT count(*) FROM cdc_events")),
    filesWritten: 2,
    rebuilt: true,
    bronzeFiles: loaded.files,
    invalid: loaded.invalid,
  };
}
