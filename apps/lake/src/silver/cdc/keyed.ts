/**
 * Incremental CDC silver for a table with a primary key. A run folds the bronze commits after its
 * watermark into the stored state of the keys they touch and rewrites only those keys' groups
 * (silver-state.ts), so its cost follows the changes, not the table's history. It rebuilds from all
 * of bronze when the frame moves: the first run, a newer initial snapshot (an incremental
 * snapshot's reads are folded like changes), a truncate, new or dropped columns, other column
 * types. Crash-safe: a group's state file is published after its other files, and events at or
 * before a key's stored position are skipped, so a re-run after kill -9 finishes the same fold.
 */
import { mkdirSync } from "node:fs";
import { catalogOf } from "../../runtime/dataset-table.ts";
import { type JsonRow, sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { checkAborted } from "../../runtime/env.ts";
import { collectStaged, type FileLayout, publishStaged } from "../../runtime/staged-publish.ts";
import { type ColumnSources, mergeSources } from "./column-types.ts";
import {
  deleteUnwritten,
  type FoldContext,
  type FoldOutcome,
  frameTypes,
  type LoadedBatch,
  resolveColumns,
} from "./fold-context.ts";
import { departedOutputSelect, injectPendingSql, PENDING_OUTPUT_SELECT } from "./key-moves.sql.ts";
import { foldVersions } from "./key-moves.ts";
import {
  ATTEMPT_SQL,
  addTouchedStateSql,
  CUT_BATCH_SQL,
  closedHistoryOutputSelect,
  createGroupStateSql,
  createKeyedEventsSql,
  createNewStateSql,
  currentOutputSelect,
  GROUP_COUNTS_SQL,
  loadTouchedStateSql,
  NEW_KEY_GROUPS_SQL,
  NEWEST_IMAGE_SQL,
  OLD_STATE_SQL,
  openHistoryOutputSelect,
  probeGroupsSql,
  stateOutputSelect,
} from "./keyed.sql.ts";
import { allColumnsSql, currentColumnsSql } from "./replay.sql.ts";
import {
  type CdcGroup,
  type CdcPosition,
  type CdcSilverState,
  closedHistoryKey,
  comparePosition,
  currentPartKey,
  departedDir,
  groupOfKey,
  openHistoryKey,
  pendingDir,
  runFileKey,
  stateDir,
  statePartKey,
} from "./silver-state.ts";
import { type CdcColumn, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

const POSITION_OF = "commit_lsn::VARCHAR AS p_commit, p_read, lsn::VARCHAR AS p_lsn";
const NO_COLUMNS: readonly CdcColumn[] = [{ name: "_no_columns", type: "VARCHAR" }];

export async function runKeyedFold(
  ctx: FoldContext,
  first: LoadedBatch,
  facts: JsonRow,
): Promise<FoldOutcome> {
  const { env, table, duck, reader } = ctx;
  const prior = ctx.prior?.mode === "keyed" ? ctx.prior : undefined;
  const dataset = cdcDatasetName(table);
  const history = cdcHistoryDatasetName(table);
  // Older states did not record the schemas: their files hold text, as schema-less envelopes give.
  const sources =
    prior && !ctx.table.columns
      ? mergeSources(prior.columnSources ?? LEGACY_SOURCES, await ctx.columnSources("cdc_batch"))
      : undefined;
  const rebuild = prior === undefined || (await needsRebuild(ctx, prior, facts, sources));
  const loaded = rebuild && ctx.prior !== undefined ? await ctx.loadBatch("all") : first;
  if (rebuild) for (const sql of CUT_BATCH_SQL) await duck.run(sql);
  const frame = rebuild
    ? await rebuiltFrame(ctx)
    : { ...frameOf(prior), ...(sources ? { columnSources: sources } : {}) };
  const typed = (names: readonly string[]): readonly CdcColumn[] =>
    names.length === 0 ? NO_COLUMNS : resolveColumns(ctx.table, names, frame.columnSources);
  const columns = typed(frame.columns);
  const allColumns = typed(frame.allColumns);
  // Key changes an earlier run held back (key-moves.ts) join the batch; other pending files are stale.
  if (!rebuild) {
    for (const key of await reader.parquetKeys(pendingDir(dataset)))
      if (key !== prior.pending?.key) await env.store.delete(key);
    if (prior.pending) {
      const [file] = await reader.paths([prior.pending.key]);
      if (file) await duck.run(injectPendingSql(file));
    }
  }

  // The groups holding the batch's keys, read whole: they are rewritten.
  const stateKeys = rebuild ? [] : await reader.parquetKeys(stateDir(dataset));
  const groupKey = new Map(stateKeys.map((k) => [groupOfKey(k) ?? -1, k]));
  const probed =
    stateKeys.length === 0
      ? []
      : (await duck.rows(probeGroupsSql(await reader.paths(stateKeys)))).map((r) => Number(r.grp));
  const filesOf = (groups: readonly number[]) =>
    reader.paths(groups.flatMap((g) => (groupKey.has(g) ? [groupKey.get(g) as string] : [])));
  await duck.run(loadTouchedStateSql(allColumns, await filesOf(probed)));
  await duck.run(OLD_STATE_SQL);
  await duck.run(createKeyedEventsSql(allColumns, rebuild ? null : prior.cut));
  const pending = await foldVersions(ctx, allColumns, dataset);
  const groups = rebuild ? [] : [...prior.groups];
  await duck.run(
    createNewStateSql(
      allColumns,
      groups.reduce((n, g) => n + g.keys, 0),
      ctx.groupKeys,
    ),
  );
  const joined = (await duck.rows(NEW_KEY_GROUPS_SQL))
    .map((r) => Number(r.grp))
    .filter((g) => !probed.includes(g));
  const more = await filesOf(joined);
  if (more.length > 0) await duck.run(addTouchedStateSql(more));
  const touched = [...new Set([...probed, ...joined, ...(rebuild ? [0] : [])])].sort((a, b) => a - b);
  const seq = (prior?.seq ?? 0) + 1;
  const attempt = Number(await duck.scalar(ATTEMPT_SQL(seq)));
  await duck.run(createGroupStateSql(seq, attempt));
  checkAborted(env, "writing silver");

  // Published in this order: departed rows, closed history, open history, current, state (the
  // groups' commit point), then the held-back events (the job state names them).
  const pendingKey = runFileKey(pendingDir(dataset), seq, attempt);
  const outputs: [string, string, (g: number) => string, readonly number[]][] = [
    ["departed", departedOutputSelect(allColumns), () => runFileKey(departedDir(dataset), seq, attempt), []],
    ["closed", closedHistoryOutputSelect(allColumns), (g) => closedHistoryKey(history, g, seq, attempt), []],
    ["open", openHistoryOutputSelect(allColumns), (g) => openHistoryKey(history, g), touched],
    ["current", currentOutputSelect(columns), (g) => currentPartKey(dataset, g), touched],
    ["state", stateOutputSelect(), (g) => statePartKey(dataset, g), touched],
    ["pending", PENDING_OUTPUT_SELECT, () => pendingKey, []],
  ];
  const departed = Number(await duck.scalar(`SELECT count(*) FROM (${departedOutputSelect(allColumns)})`));
  const staged = [];
  for (const [name, select, key, owned] of outputs) {
    if ((name === "departed" && departed === 0) || (name === "pending" && pending === 0)) continue;
    const dir = `${ctx.staging.dir}/${name}`;
    await duck.run(
      `COPY (${select}) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (g))`,
    );
    // Group 0's current and open files always exist, so the datasets are never without a file.
    if (
      (name === "open" || name === "current") &&
      touched.includes(0) &&
      ctx.staging.files(`${name}/g=0`).length === 0
    ) {
      mkdirSync(`${dir}/g=0`, { recursive: true });
      await duck.run(
        `COPY (SELECT * EXCLUDE (g) FROM (${select}) WHERE false) TO ${sqlString(`${dir}/g=0/empty.parquet`)} (FORMAT parquet)`,
      );
    }
    const layout: FileLayout<number> = {
      id: (g) => String(g),
      key: (_, g) => key(g),
      parseStaged: (rel) => {
        const m = /\/g=(\d+)\//.exec(rel);
        return m ? Number(m[1]) : undefined;
      },
    };
    const files = ctx.staging.files(name).map((rel) => layout.parseStaged(rel) ?? -1);
    staged.push(await collectStaged(duck, ctx.staging, layout, name, "1", owned.length > 0 ? owned : files));
  }
  checkAborted(env, "publishing silver");
  const written = new Set<string>();
  for (const s of staged) for (const { file } of s.files.values()) written.add(s.layout.key(s.dataset, file));
  // A rebuild replaces both datasets whole: their files it did not write leave the tables in its snapshots.
  const unwritten = [];
  if (rebuild)
    for (const prefix of [`silver/${dataset}/`, `silver/${history}/`])
      for (const key of await ctx.reader.parquetKeys(prefix)) if (!written.has(key)) unwritten.push(key);
  const filesWritten = (await publishStaged(env, ctx.staging, staged, { remove: unwritten })).published;
  if (rebuild) await deleteUnwritten(ctx, written);

  for (const row of await duck.rows(GROUP_COUNTS_SQL)) {
    const g = Number(row.grp);
    while (groups.length <= g) groups.push({ keys: 0, rows: 0 });
    groups[g] = { keys: Number(row.keys), rows: Number(row.rows) } satisfies CdcGroup;
  }
  const events = Number(await duck.scalar("SELECT count(*) FROM cdc_live WHERE NOT pseudo"));
  return {
    state: {
      ...frame,
      v: 1,
      mode: "keyed",
      cursor: loaded.cursor,
      seq,
      groups,
      ...(pending > 0 ? { pending: { key: pendingKey, events: pending } } : {}),
      // A rebuild rewrote every file, and an incremental run found no UBIGINT `_lsn` left to rewrite.
      lsnBigint: true,
      updatedAt: "",
    },
    events,
    filesWritten,
    rebuilt: rebuild,
    bronzeFiles: loaded.files,
    invalid: loaded.invalid,
  };
}

type Frame = Pick<
  CdcSilverState,
  "snapshotLsn" | "cut" | "columns" | "columnsAt" | "allColumns" | "columnTypes" | "columnSources"
>;

const LEGACY_SOURCES: ColumnSources = { schemaless: true, columns: {} };

/**
 * Whether the new events move the fold's frame, so that only a rebuild from all of bronze is right:
 * also when their schemas change a column's type (`sources`: the prior frame's and the batch's).
 */
async function needsRebuild(
  ctx: FoldContext,
  prior: CdcSilverState,
  facts: JsonRow,
  sources: ColumnSources | undefined,
): Promise<boolean> {
  const types = frameTypes(ctx.table, prior.allColumns, sources);
  if (JSON.stringify(prior.columnTypes ?? null) !== JSON.stringify(types)) return true;
  if (prior.lsnBigint !== true && (await holdsUnsignedLsn(ctx))) return true;
  const snapshot =
    facts.snapshot_lsn === null || facts.snapshot_lsn === undefined ? null : String(facts.snapshot_lsn);
  if (snapshot !== null && (prior.snapshotLsn === null || BigInt(snapshot) > BigInt(prior.snapshotLsn)))
    return true;
  if (Number(facts.truncates ?? 0) > 0) return true;
  if (ctx.table.columns) return false;
  const names = (facts.names ?? []) as string[];
  if (names.some((n) => !prior.allColumns.includes(n))) return true;
  const [newest] = await ctx.duck.rows(NEWEST_IMAGE_SQL);
  if (!newest) return false;
  const newer = prior.columnsAt === null || comparePosition(positionOf(newest), prior.columnsAt) > 0;
  return newer && JSON.stringify(newest.names) !== JSON.stringify(prior.columns);
}

/**
 * Whether a dataset without a table yet holds files written before `_lsn` became a BIGINT (a UBIGINT
 * there keeps it Hive-only, dataset-table.ts): then the run rebuilds, rewriting every file of both
 * datasets, and the table starts from the rebuilt files. Footers only, once per dataset: the state
 * records `lsnBigint` after the first keyed run of this code.
 */
async function holdsUnsignedLsn(ctx: FoldContext): Promise<boolean> {
  const catalog = catalogOf(ctx.env);
  const keys: string[] = [];
  for (const name of [cdcDatasetName(ctx.table), cdcHistoryDatasetName(ctx.table)])
    if ((await catalog.load({ namespace: "silver", name })) === undefined)
      keys.push(...(await ctx.reader.parquetKeys(`silver/${name}/`)));
  if (keys.length === 0) return false;
  const unsigned = Number(
    await ctx.duck.scalar(
      `SELECT count(*) FROM parquet_schema(${sqlStringList(keys.map((k) => ctx.env.store.url(k)))}) WHERE name = '_lsn' AND converted_type = 'UINT_64'`,
    ),
  );
  if (unsigned > 0)
    ctx.env.log.info(
      "CDC silver: rebuilding once, its files hold the older UBIGINT _lsn (Iceberg has none)",
      {
        table: `${ctx.table.schema}.${ctx.table.table}`,
        files: unsigned,
      },
    );
  return unsigned > 0;
}

function frameOf(state: CdcSilverState): Frame {
  const { snapshotLsn, cut, columns, columnsAt, allColumns, columnTypes, columnSources } = state;
  return {
    snapshotLsn,
    cut,
    columns,
    columnsAt,
    allColumns,
    columnTypes,
    ...(columnSources ? { columnSources } : {}),
  };
}

/** The frame after a rebuild: latest snapshot, cut, and columns of the (cut) batch. */
async function rebuiltFrame(ctx: FoldContext): Promise<Frame> {
  const { duck } = ctx;
  const snapshot = await duck.scalar("SELECT max(lsn)::VARCHAR FROM cdc_batch WHERE op = 'r' AND p_read = 0");
  const [truncate] = await duck.rows(
    `SELECT ${POSITION_OF} FROM cdc_batch WHERE op = 't' ORDER BY commit_lsn DESC, p_read DESC, lsn DESC LIMIT 1`,
  );
  const snapCut: CdcPosition | null =
    snapshot === null ? null : { commit: String(snapshot), read: 0, lsn: String(snapshot) };
  const truncCut = truncate ? positionOf(truncate) : null;
  const cut =
    snapCut && truncCut
      ? comparePosition(snapCut, truncCut) > 0
        ? snapCut
        : truncCut
      : (snapCut ?? truncCut);
  const [newest] = await duck.rows(
    `SELECT ${POSITION_OF} FROM cdc_batch WHERE op IN ('r', 'c', 'u') ORDER BY ord DESC LIMIT 1`,
  );
  const declared = ctx.table.columns?.map((c) => c.name);
  const current = declared ?? (await duck.rows(currentColumnsSql("cdc_batch"))).map((r) => String(r.name));
  const all = declared ?? (await duck.rows(allColumnsSql("cdc_batch"))).map((r) => String(r.name));
  const sources = declared ? undefined : await ctx.columnSources("cdc_batch");
  return {
    snapshotLsn: snapshot === null ? null : String(snapshot),
    cut,
    columns: current,
    columnsAt: newest ? positionOf(newest) : null,
    allColumns: all,
    columnTypes: frameTypes(ctx.table, all, sources),
    ...(sources ? { columnSources: sources } : {}),
  };
}

function positionOf(row: JsonRow): CdcPosition {
  return { commit: String(row.p_commit), read: Number(row.p_read) === 0 ? 0 : 1, lsn: String(row.p_lsn) };
}
