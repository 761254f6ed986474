/**
 * The staged publish every silver and gold job shares: DuckDB writes a dataset's new files into the
 * run's staging area, one directory per file they replace (`p_…=` partitions). Publishing a run is
 * also one Iceberg snapshot per dataset table (dataset-table.ts), in an order that survives a crash
 * anywhere:
 *
 * 1. each staged file of a dataset goes to its immutable table key (`<table>/data/…/<run>.parquet`);
 * 2. one commit per table adds them and removes the files of the Hive keys the run rewrote or emptied;
 * 3. each immutable file is copied over its Hive key (atomic per file, see staging.ts; a hard link on
 *    disk), files outside silver and gold (internal state) are published in the order given, and the
 *    files the run owns that got no rows are deleted.
 *
 * A crash between 2 and 3 leaves the Hive view one run behind the table until the next run, which
 * redoes the same change (its job state was not saved) and replaces by Hive key, never duplicating.
 * A layer describes its files once, as a FileLayout (silver: hour partitions; gold market: a
 * symbol's day or month files).
 */
import { statSync } from "node:fs";
import type { Column } from "@tributary/shared/lake/iceberg/schema";
import {
  catalogOf,
  commitDatasetTable,
  dataKeyOf,
  datasetTableOf,
  icebergCompatible,
  RUN_KEY,
  type TableChangeSet,
  type TableWrite,
  tableLocationKey,
} from "./dataset-table.ts";
import { type DuckSession, sqlStringList } from "./duckdb.ts";
import type { LakeJobEnv } from "./env.ts";
import { type Staging, singleFile } from "./staging.ts";

/** How a layer names its files: the lake key of each, and which file a staged path belongs to. */
export interface FileLayout<F> {
  /** Stable id of a file within a dataset (e.g. `BTC/USD@2024-03-10`). */
  id(file: F): string;
  key(dataset: string, file: F): string;
  /** The file a staged path (relative to the dataset's staging directory) belongs to. */
  parseStaged(rel: string): F | undefined;
}

export class StagedWriteError extends Error {
  override readonly name = "StagedWriteError";
}

export interface StagedFiles<F> {
  readonly dataset: string;
  readonly layout: FileLayout<F>;
  /** Staged file (relative to the staging dir), its rows and bytes, per file id. */
  readonly files: ReadonlyMap<string, StagedFile<F>>;
  /** Files this write owns: those without a staged file are deleted on publish. */
  readonly owned: readonly F[];
  /** The staged files' columns (DuckDB types); empty when nothing was staged. */
  readonly columns: readonly Column[];
}

export interface StagedFile<F> {
  readonly file: F;
  readonly rel: string;
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Collects what DuckDB wrote under `<staging>/<dataset>/`: one file per owned file (merging the rare
 * splits, ordered by `orderBy`); a staged file outside `owned` is refused.
 */
export async function collectStaged<F>(
  duck: DuckSession,
  staging: Staging,
  layout: FileLayout<F>,
  dataset: string,
  orderBy: string,
  owned: readonly F[],
): Promise<StagedFiles<F>> {
  const ownedIds = new Set(owned.map((f) => layout.id(f)));
  const grouped = new Map<string, { file: F; rels: string[] }>();
  for (const rel of staging.files(dataset)) {
    const file = layout.parseStaged(rel);
    if (file === undefined) throw new StagedWriteError(`${dataset}: unexpected staged file ${rel}`);
    const id = layout.id(file);
    if (!ownedIds.has(id))
      throw new StagedWriteError(`${dataset}: staged file ${id} outside the files this run owns`);
    const g = grouped.get(id) ?? { file, rels: [] };
    g.rels.push(rel);
    grouped.set(id, g);
  }
  const rels = new Map<string, { file: F; rel: string }>();
  for (const [id, g] of grouped)
    rels.set(id, { file: g.file, rel: await singleFile(duck, staging, g.rels, orderBy) });
  const files = new Map<string, StagedFile<F>>();
  if (rels.size === 0) return { dataset, layout, files, owned, columns: [] };
  // The footers only: the row count each table data file needs, and the columns of the table.
  const paths = [...rels.values()].map((r) => `${staging.dir}/${r.rel}`);
  const meta = await duck.rows(
    `SELECT file_name, num_rows::BIGINT AS num_rows FROM parquet_file_metadata(${sqlStringList(paths)})`,
  );
  const rowsOf = new Map(meta.map((r) => [String(r.file_name), Number(r.num_rows)]));
  for (const [id, r] of rels) {
    const path = `${staging.dir}/${r.rel}`;
    files.set(id, { ...r, rows: rowsOf.get(path) ?? 0, bytes: statSync(path).size });
  }
  const described = await duck.rows(
    `DESCRIBE SELECT * FROM read_parquet(${sqlStringList(paths.slice(0, 1))}, hive_partitioning = false)`,
  );
  const columns: Column[] = described.map((r) => [String(r.column_name), String(r.column_type)]);
  return { dataset, layout, files, owned, columns };
}

export interface PublishOptions {
  /** More keys this run removes, beyond its owned files (a rebuild's files it no longer writes). */
  readonly remove?: readonly string[];
  /** More snapshot summary entries (e.g. the snapshots of the tables the run read). */
  readonly summary?: Readonly<Record<string, string>>;
}

/**
 * Publishes a run's staged files (one dataset, or several in the order given) and deletes the owned
 * files left without rows, committing each silver or gold dataset's change as one Iceberg snapshot.
 */
export async function publishStaged(
  env: LakeJobEnv,
  staging: Staging,
  staged: StagedFiles<unknown> | readonly StagedFiles<unknown>[],
  opts: PublishOptions = {},
): Promise<{ published: number; deleted: number; snapshots: number }> {
  const all: readonly StagedFiles<unknown>[] = Array.isArray(staged)
    ? staged
    : [staged as StagedFiles<unknown>];
  const { store } = env;
  const catalog = catalogOf(env);
  const changes = new Map<string, MutableChange>();
  const changeOf = (key: string): MutableChange | undefined => {
    const id = datasetTableOf(key);
    if (id === undefined) return undefined;
    const name = `${id.namespace}.${id.name}`;
    const change = changes.get(name) ?? { name, id, writes: [], emptied: [], columns: [] };
    changes.set(name, change);
    return change;
  };
  // Per staged dataset, in order: its writes, then its emptied keys (a layer's crash order relies on it).
  const steps: Step[] = [];
  for (const s of all) {
    const step: Step = { writes: [], emptied: [] };
    steps.push(step);
    for (const f of s.files.values()) {
      const key = s.layout.key(s.dataset, f.file);
      const change = changeOf(key);
      if (change === undefined) {
        step.writes.push({ key, rel: f.rel });
        continue;
      }
      const location = tableLocationKey(store, catalog, change.id);
      const dataKey = dataKeyOf(location, change.id, key, staging.run);
      const table = { key, dataKey, rows: f.rows, bytes: f.bytes };
      change.writes.push(table);
      for (const col of s.columns) if (!change.columns.some(([n]) => n === col[0])) change.columns.push(col);
      step.writes.push({ key, rel: f.rel, table, change });
    }
    for (const f of s.owned) if (!s.files.has(s.layout.id(f))) step.emptied.push(s.layout.key(s.dataset, f));
  }
  steps.push({ writes: [], emptied: [...(opts.remove ?? [])] });
  for (const key of steps.flatMap((s) => s.emptied)) changeOf(key)?.emptied.push(key);
  // A change that only empties keys of a table never committed waits for the dataset's first staged
  // file (a table needs files to describe it); a column Iceberg cannot hold keeps the dataset Hive-only.
  const committed = new Set<MutableChange>();
  for (const change of changes.values()) {
    if (!icebergCompatible(env, change.id, change.columns)) continue;
    if (change.writes.length > 0 || (await catalog.load(change.id)) !== undefined) {
      committed.add(change);
    }
  }
  const viaTable = (w: StepWrite): TableWrite | undefined =>
    w.change !== undefined && committed.has(w.change) ? w.table : undefined;

  const writes = steps.flatMap((s) => s.writes);
  for (const w of writes) {
    const t = viaTable(w);
    if (t !== undefined) await staging.publish(w.rel, t.dataKey); // 1. immutable table files
  }
  let snapshots = 0;
  const summary = { ...opts.summary, [RUN_KEY]: `${staging.job}/${staging.run}` };
  for (const change of committed) {
    if ((await commitDatasetTable(env, change, summary)) !== undefined) snapshots += 1; // 2. one commit per table
  }
  let deleted = 0;
  for (const step of steps) {
    for (const w of step.writes) {
      const t = viaTable(w);
      if (t !== undefined)
        await store.copy(t.dataKey, w.key); // 3. the Hive view
      else await staging.publish(w.rel, w.key);
    }
    for (const key of step.emptied) {
      if (await store.exists(key)) {
        await store.delete(key);
        deleted += 1;
      }
    }
  }
  return { published: writes.length, deleted, snapshots };
}

interface MutableChange extends TableChangeSet {
  readonly name: string;
  readonly writes: TableWrite[];
  readonly emptied: string[];
  readonly columns: Column[];
}

interface StepWrite {
  readonly key: string;
  readonly rel: string;
  readonly table?: TableWrite;
  readonly change?: MutableChange;
}

interface Step {
  readonly writes: StepWrite[];
  readonly emptied: string[];
}
