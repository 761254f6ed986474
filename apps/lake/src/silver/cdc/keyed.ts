/**
 * Incremental CDC silver for a table with a primary key. A run folds the bronze commits after its
 * watermark into the stored state of the keys they touch and rewrites only those keys' groups
 * (silver-state.ts), so its cost follows the changes, not the table's history. It rebuilds from all
 * of bronze when the frame moves: the first run, a newer snapshot, a truncate, new or dropped
 * columns, other column types. Crash-safe: a group's state file is published after its other
 * files, and events at or before a key's stored position are skipped, so a re-run after kill -9
 * finishes the same fold.
 */
import { mkdirSync } from "node:fs";
import { type JsonRow, sqlString } from "../../runtime/duckdb.ts";
import { checkAborted } from "../../runtime/env.ts";
import { collectStaged, type FileLayout, publishStaged } from "../../runtime/staged-publish.ts";
import { deleteUnwritten, type FoldContext, type FoldOutcome, type LoadedBatch } from "./fold-context.ts";
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
  placeholdersSql,
  probeGroupsSql,
  stateOutputSelect,
} from "./keyed.sql.ts";
import { allColumnsSql, createVersionsSql, currentColumnsSql } from "./replay.sql.ts";
import {
  type CdcGroup,
  type CdcPosition,
  type CdcSilverState,
  closedHistoryKey,
  comparePosition,
  currentPartKey,
  groupOfKey,
  openHistoryKey,
  stateDir,
  statePartKey,
} from "./silver-state.ts";
import { type CdcColumn, cdcDatasetName, cdcHistoryDatasetName } from "./tables.ts";

const POSITION_OF = `commit_lsn::VARCHAR AS p_commit, CASE WHEN op = 'r' THEN 0 ELSE 1 END AS p_read, lsn::VARCHAR AS p_lsn`;
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
  const rebuild = prior === undefined || (await needsRebuild(ctx, prior, facts));
  const loaded = rebuild && ctx.prior !== undefined ? await ctx.loadBatch("all") : first;
  if (rebuild) for (const sql of CUT_BATCH_SQL) await duck.run(sql);
  const frame = rebuild ? await rebuiltFrame(ctx) : prior;
  const typed = (names: readonly string[]): readonly CdcColumn[] =>
    names.length === 0 ? NO_COLUMNS : (ctx.table.columns ?? names.map((name) => ({ name, type: "VARCHAR" })));
  const columns = typed(frame.columns);
  const allColumns = typed(frame.allColumns);

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
  const placeholders = Boolean(await duck.scalar(placeholdersSql(allColumns)));
  await duck.run(createVersionsSql(allColumns, placeholders));
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

  // Published in this order: closed history, open history, current, then state (the commit point).
  const outputs: [string, string, (g: number) => string, readonly number[]][] = [
    ["closed", closedHistoryOutputSelect(allColumns), (g) => closedHistoryKey(history, g, seq, attempt), []],
    ["open", openHistoryOutputSelect(allColumns), (g) => openHistoryKey(history, g), touched],
    ["current", currentOutputSelect(columns), (g) => currentPartKey(dataset, g), touched],
    ["state", stateOutputSelect(), (g) => statePartKey(dataset, g), touched],
  ];
  const staged = [];
  for (const [name, select, key, owned] of outputs) {
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
  let filesWritten = 0;
  for (const s of staged) {
    filesWritten += (await publishStaged(env.store, ctx.staging, s)).published;
    for (const { file } of s.files.values()) written.add(s.layout.key(s.dataset, file));
  }
  if (rebuild) await deleteUnwritten(ctx, written);

  for (const row of await duck.rows(GROUP_COUNTS_SQL)) {
    const g = Number(row.grp);
    while (groups.length <= g) groups.push({ keys: 0, rows: 0 });
    groups[g] = { keys: Number(row.keys), rows: Number(row.rows) } satisfies CdcGroup;
  }
  const events = Number(await duck.scalar("SELECT count(*) FROM cdc_live WHERE NOT pseudo"));
  return {
    state: { ...frame, v: 1, mode: "keyed", cursor: loaded.cursor, seq, groups, updatedAt: "" },
    events,
    filesWritten,
    rebuilt: rebuild,
    bronzeFiles: loaded.files,
    invalid: loaded.invalid,
  };
}

type Frame = Pick<
  CdcSilverState,
  "snapshotLsn" | "cut" | "columns" | "columnsAt" | "allColumns" | "columnTypes"
>;

const typesOf = (ctx: FoldContext): readonly string[] | null =>
  ctx.table.columns ? ctx.table.columns.map((c) => `${c.name} ${c.type}`) : null;

/** Whether the new events move the fold's frame, so that only a rebuild from all of bronze is right. */
async function needsRebuild(ctx: FoldContext, prior: CdcSilverState, facts: JsonRow): Promise<boolean> {
  if (JSON.stringify(prior.columnTypes ?? null) !== JSON.stringify(typesOf(ctx))) return true;
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

/** The frame after a rebuild: latest snapshot, cut, and columns of the (cut) batch. */
async function rebuiltFrame(ctx: FoldContext): Promise<Frame> {
  const { duck } = ctx;
  const snapshot = await duck.scalar("SELECT max(lsn)::VARCHAR FROM cdc_batch WHERE op = 'r'");
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
  return {
    snapshotLsn: snapshot === null ? null : String(snapshot),
    cut,
    columns: current,
    columnsAt: newest ? positionOf(newest) : null,
    allColumns: all,
    columnTypes: typesOf(ctx),
  };
}

function positionOf(row: JsonRow): CdcPosition {
  return { commit: String(row.p_commit), read: Number(row.p_read) === 0 ? 0 : 1, lsn: String(row.p_lsn) };
}
