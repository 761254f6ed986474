/**
 * CDC silver for a table without a primary key: a multiset (multiset.sql.ts). A run folds the bronze
 * commits after its watermark onto the stored counts and writes the current file, the run's new
 * history images and the new counts, so its cost follows the table's size and the changes, not its
 * history. It rebuilds from all of bronze when the incremental fold would not be exact: the first
 * run, a new initial snapshot, changed columns or types, events from more than one Kafka partition
 * (their commit order across partitions is unknown) or without `transaction.total_order` (equal rows
 * of one COPY share their LSN), or a missing state file.
 *
 * Crash-safe: the counts of run <seq> go to their own file, published after the silver files; the
 * job state names the run, so a re-run after kill -9 folds the same batch onto the same counts, and
 * its history file (named by the run) replaces the one the crashed attempt wrote.
 */
import { mkdirSync } from "node:fs";
import { type JsonRow, sqlString } from "../../runtime/duckdb.ts";
import { checkAborted } from "../../runtime/env.ts";
import { collectStaged, type FileLayout, publishStaged } from "../../runtime/staged-publish.ts";
import { type ColumnSources, mergeSources, NO_SOURCES } from "./column-types.ts";
import {
  deleteUnwritten,
  type FoldContext,
  type FoldOutcome,
  frameTypes,
  type LoadedBatch,
  resolveColumns,
} from "./fold-context.ts";
import {
  createMultisetVersionsSql,
  LIVE_FACTS_SQL,
  liveAfterSql,
  type MultisetWatermark,
  STATE_SELECT,
  watermarkSql,
} from "./multiset.sql.ts";
import { CURRENT_COLUMNS_SQL, currentSelect, historySelect, liveSql } from "./replay.sql.ts";
import {
  type CdcSilverState,
  currentPartKey,
  multisetStateKey,
  openHistoryKey,
  runHistoryKey,
  stateDir,
} from "./silver-state.ts";
import { type CdcColumn, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

/** What an incremental run folds onto: the stored counts and the frame the batch keeps. */
interface Base {
  readonly file: string;
  readonly names: readonly string[];
  readonly sources: ColumnSources | undefined;
}

export async function runMultisetFold(ctx: FoldContext, first: LoadedBatch): Promise<FoldOutcome> {
  const { env, table, duck, staging } = ctx;
  const prior = ctx.prior?.mode === "multiset" ? ctx.prior : undefined;
  const base = prior ? await incrementalBase(ctx, prior) : undefined;
  const rebuild = base === undefined;
  // A first run has read all of bronze already.
  const loaded = rebuild && ctx.prior !== undefined ? await ctx.loadBatch("all") : first;
  if (rebuild) await duck.run(liveSql("cdc_batch", "cdc_live"));
  const events = Number(await duck.scalar(`SELECT count(*) FROM ${rebuild ? "cdc_batch" : "cdc_live"}`));
  const seq = (prior?.seq ?? 0) + 1;
  if (base && events === 0 && prior)
    return {
      state: { ...prior, cursor: loaded.cursor },
      events: 0,
      filesWritten: 0,
      rebuilt: false,
      bronzeFiles: loaded.files,
      invalid: loaded.invalid,
    };

  const names = base?.names ?? (await duck.rows(CURRENT_COLUMNS_SQL)).map((r) => String(r.name));
  const sources = base ? base.sources : table.columns ? undefined : await ctx.columnSources("cdc_live");
  const current: readonly CdcColumn[] = resolveColumns(table, names, sources);
  if (current.length === 0) {
    env.log.warn(
      "no columns known for this CDC table yet (no rows, no declared schema): silver is written empty",
      { table: `${table.schema}.${table.table}` },
    );
  }
  // DuckDB needs at least one column to write a Parquet file.
  const cols = current.length > 0 ? current : [{ name: "_no_columns", type: "VARCHAR" }];
  for (const sql of createMultisetVersionsSql(cols, base?.file)) await duck.run(sql);
  checkAborted(env, "writing silver");
  const dataset = cdcDatasetName(table);
  const currentKey = currentPartKey(dataset, 0);
  const historyKey = rebuild
    ? openHistoryKey(cdcHistoryDatasetName(table), 0)
    : runHistoryKey(cdcHistoryDatasetName(table), seq);
  const stateKey = multisetStateKey(dataset, seq);
  const newImages = Number(await duck.scalar("SELECT count(*) FROM cdc_versions WHERE in_history"));
  // Each file is staged, then published with the staged publish the keyed fold uses: one snapshot
  // per table, the counts (internal) last. A run without new images adds no history file.
  const outputs = [
    ["current", currentSelect(cols), currentKey],
    ...(rebuild || newImages > 0 ? [["history", historySelect(cols), historyKey] as const] : []),
    ["state", STATE_SELECT, stateKey],
  ] as const;
  const staged = [];
  for (const [name, select, key] of outputs) {
    mkdirSync(`${staging.dir}/${name}`, { recursive: true });
    await duck.run(
      `COPY (${select}) TO ${sqlString(`${staging.dir}/${name}/0.parquet`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const layout: FileLayout<number> = { id: () => "0", key: () => key, parseStaged: () => 0 };
    staged.push(await collectStaged(duck, staging, layout, name, "1", [0]));
  }
  checkAborted(env, "publishing silver");
  const written = new Set(outputs.map(([, , key]) => key));
  const unwritten = [];
  if (rebuild)
    for (const prefix of [`silver/${dataset}/`, `silver/${cdcHistoryDatasetName(table)}/`])
      for (const key of await ctx.reader.parquetKeys(prefix)) if (!written.has(key)) unwritten.push(key);
  await publishStaged(env, staging, staged, { remove: unwritten });
  if (rebuild) await deleteUnwritten(ctx, written);
  else {
    // Counts older than the prior run's are no longer needed (the prior's stay until this run's state is saved).
    for (const key of await ctx.reader.parquetKeys(stateDir(dataset)))
      if (key !== stateKey && key !== multisetStateKey(dataset, prior?.seq ?? 0)) await env.store.delete(key);
  }

  const rows = Number(await duck.scalar("SELECT count(*) FROM cdc_versions WHERE is_current"));
  // Empty only for a first run over no bronze (then no watermark); an incremental run without events returned above.
  const watermark = nextWatermark((await duck.rows(watermarkSql(rebuild ? "cdc_batch" : "cdc_live")))[0]);
  return {
    state: {
      v: 1,
      mode: "multiset",
      cursor: loaded.cursor,
      seq,
      snapshotLsn: null,
      cut: null,
      columns: names,
      columnsAt: null,
      allColumns: names,
      columnTypes: frameTypes(table, names, sources),
      ...(sources ? { columnSources: sources } : {}),
      groups: [{ keys: rows, rows }],
      ...(watermark ? { watermark } : {}),
      updatedAt: "",
    },
    events,
    filesWritten: outputs.length,
    rebuilt: rebuild,
    bronzeFiles: loaded.files,
    invalid: loaded.invalid,
  };
}

/**
 * Whether this run can fold `cdc_batch` onto the prior run's counts; if so, `cdc_live` holds the
 * events after the watermark. Otherwise says why in the log and returns undefined (a rebuild).
 */
async function incrementalBase(ctx: FoldContext, prior: CdcSilverState): Promise<Base | undefined> {
  const { duck, table } = ctx;
  const rebuild = (why: string): undefined => {
    ctx.env.log.info("CDC silver (keyless): rebuilding from all of bronze", {
      table: `${table.schema}.${table.table}`,
      why,
    });
    return undefined;
  };
  const w = prior.watermark;
  if (!w) return rebuild("the stored state has no single-partition watermark");
  const stateKey = multisetStateKey(cdcDatasetName(table), prior.seq);
  if ((await ctx.reader.existing([stateKey])).length === 0) return rebuild("the stored counts are missing");
  await duck.run(liveAfterSql(w));
  const facts = (await duck.rows(LIVE_FACTS_SQL))[0] ?? {};
  if (Number(facts.reads ?? 0) > 0) return rebuild("a new initial snapshot");
  if (Number(facts.unordered ?? 0) > 0) return rebuild("events without transaction.total_order");
  const partitions = ((facts.partitions ?? []) as number[]).map(Number);
  if (partitions.some((p) => p !== w.partition))
    return rebuild(`events in Kafka partitions ${partitions.join(", ")} (the state's: ${w.partition})`);
  const newest = (await duck.rows(CURRENT_COLUMNS_SQL)).map((r) => String(r.name));
  const names = newest.length > 0 ? newest : prior.columns;
  if (JSON.stringify(names) !== JSON.stringify(prior.columns)) return rebuild("the table's columns changed");
  const sources = table.columns
    ? undefined
    : mergeSources(prior.columnSources ?? NO_SOURCES, await ctx.columnSources("cdc_live"));
  if (JSON.stringify(frameTypes(table, names, sources)) !== JSON.stringify(prior.columnTypes ?? null))
    return rebuild("a column's type changed");
  // One path per key (on S3 the file is fetched to the scratch dir): it exists, checked above.
  const file = (await ctx.reader.paths([stateKey]))[0] as string;
  return { file, names, sources };
}

/**
 * The watermark after a run: its newest event, if every event it folded came from one partition (an
 * incremental run's are those of the prior watermark, checked before folding).
 */
function nextWatermark(row: JsonRow | undefined): MultisetWatermark | undefined {
  if (!row || Number(row.partitions) !== 1) return undefined;
  return {
    partition: Number(row.partition),
    commit: String(row.commit),
    read: Number(row.read) === 0 ? 0 : 1,
    lsn: String(row.lsn),
    order: String(row.order),
  };
}
