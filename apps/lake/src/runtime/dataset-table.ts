/**
 * Silver and gold datasets as Apache Iceberg tables, committed by the staged publish.
 *
 * A Hive key (`silver/<dataset>/…/part-0.parquet`) is replaced in place run after run, so a table
 * cannot point at it: an old snapshot would read new bytes. A table's data files are immutable
 * copies under its location, `<table>/data/<Hive path without .parquet>/<run>.parquet`, one per
 * (Hive key, run); the Hive key is derived back from that path, so a commit replaces by Hive key
 * and a re-run after a crash never leaves two files of one key in a table. Tables are
 * unpartitioned: the Hive partitions (pair, hour; pair, day or month) come from columns that differ
 * per dataset and, for quarantine rows, from values the file may not hold, and an Iceberg partition
 * value must be exact for every row. The columns are the files' own (DuckDB's DESCRIBE).
 */
import type { IcebergCatalog, TableIdent } from "@tributary/shared/lake/iceberg/catalog";
import { EmbeddedCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import type { DataFile } from "@tributary/shared/lake/iceberg/manifest";
import { currentSchema, currentSnapshot, type Snapshot } from "@tributary/shared/lake/iceberg/metadata";
import {
  type Column,
  type IcebergPrimitive,
  type IcebergType,
  icebergType,
} from "@tributary/shared/lake/iceberg/schema";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import type { LakeStore } from "@tributary/shared/lake/store";
import { sqlStringList } from "./duckdb.ts";
import { type LakeJobEnv, openJobDuck } from "./env.ts";
import { LakeReader } from "./lake-reader.ts";

/** One file a run publishes into a dataset: its Hive key, its immutable table key, rows and bytes. */
export interface TableWrite {
  readonly key: string;
  readonly dataKey: string;
  readonly rows: number;
  readonly bytes: number;
}

/** What a run changes in one table: files written, Hive keys emptied, the columns of its files. */
export interface TableChangeSet {
  readonly id: TableIdent;
  readonly writes: readonly TableWrite[];
  readonly emptied: readonly string[];
  readonly columns: readonly Column[];
}

/** Summary key of every silver and gold snapshot: the job and run that committed it. */
export const RUN_KEY = "tributary.run";

const DATASET_KEY = /^(silver|gold)\/([^/]+)\/.+\.parquet$/;

/** The table a Hive key belongs to; undefined for keys outside silver and gold (internal state). */
export function datasetTableOf(key: string): TableIdent | undefined {
  const m = DATASET_KEY.exec(key);
  return m ? { namespace: m[1] as string, name: m[2] as string } : undefined;
}

export function catalogOf(env: Pick<LakeJobEnv, "store" | "catalog">): IcebergCatalog {
  return env.catalog ?? new EmbeddedCatalog(env.store);
}

/** The lake key of a table's location (`_iceberg/silver/kraken_trades`). */
export function tableLocationKey(store: LakeStore, catalog: IcebergCatalog, id: TableIdent): string {
  return lakeKeyOf(store, catalog.tableLocation(id));
}

/** `<table>/data/<Hive path without .parquet>/<run>.parquet`: the immutable copy of a Hive key's run. */
export function dataKeyOf(location: string, id: TableIdent, hiveKey: string, run: string): string {
  const rel = hiveKey.slice(`${id.namespace}/${id.name}/`.length).replace(/\.parquet$/, "");
  return `${location}/data/${rel}/${run}.parquet`;
}

/** The Hive key a table data file (a lake key) stands for; undefined for files not named by dataKeyOf. */
export function hiveKeyOf(location: string, id: TableIdent, dataKey: string): string | undefined {
  const prefix = `${location}/data/`;
  if (!dataKey.startsWith(prefix)) return undefined;
  const rel = dataKey.slice(prefix.length);
  const slash = rel.lastIndexOf("/");
  return slash <= 0 ? undefined : `${id.namespace}/${id.name}/${rel.slice(0, slash)}.parquet`;
}

/** Tables already said to stay Hive-only in this process: warned once, then at debug level. */
const hiveOnly = new Set<string>();

/**
 * Whether Iceberg can hold every column exactly and Spark read it; a time of day, an unsigned integer,
 * a map or an interval keeps the dataset Hive-only (logged, with the column and why).
 */
export function icebergCompatible(
  env: Pick<LakeJobEnv, "log">,
  id: TableIdent,
  columns: readonly Column[],
): boolean {
  for (const [name, type] of columns) {
    try {
      icebergType(name, type);
    } catch (err) {
      const table = `${id.namespace}.${id.name}`;
      const fields = {
        table,
        column: `${name} ${type}`,
        reason: err instanceof Error ? err.message : String(err),
      };
      const msg = "iceberg: dataset stays Hive-only (a column Iceberg cannot hold, or Spark read)";
      if (hiveOnly.has(table)) env.log.debug(msg, fields);
      else env.log.warn(msg, fields);
      hiveOnly.add(table);
      return false;
    }
  }
  return true;
}

/**
 * Commits one run's change to a table as one snapshot: its new files added, and every file of the
 * table whose Hive key the run wrote or emptied removed (`overwrite`; `append` when none is). A
 * table committed for the first time also takes the dataset's other Hive files (see importHive).
 * Idempotent: files the table already holds are not added again.
 */
export async function commitDatasetTable(
  env: LakeJobEnv,
  change: TableChangeSet,
  summary: Readonly<Record<string, string>>,
): Promise<Snapshot | undefined> {
  const { store } = env;
  const catalog = catalogOf(env);
  const { id } = change;
  const location = tableLocationKey(store, catalog, id);
  const prior = await catalog.load(id);
  const touched = new Set([...change.writes.map((w) => w.key), ...change.emptied]);
  const imported =
    prior === undefined || currentSnapshot(prior.metadata) === undefined
      ? await importHive(env, change, location, touched, summary[RUN_KEY] ?? "import")
      : { files: [], columns: [] };
  const priorColumns = prior === undefined ? [] : duckColumnsOf(currentSchema(prior.metadata).fields);
  const columns = unionColumns([change.columns, imported.columns, priorColumns]);
  // Files the new table would import that hold a column with another type (written before a type
  // change, e.g. CDC silver's `_lsn` UBIGINT → BIGINT): one table cannot describe both, so the dataset
  // stays Hive-only until those files are rewritten.
  const clash = imported.columns.find(([n, t]) => columns.some(([m, u]) => m === n && u !== t));
  if (clash !== undefined) {
    env.log.warn("iceberg: dataset stays Hive-only (its older files hold a column with another type)", {
      table: `${id.namespace}.${id.name}`,
      column: `${clash[0]} ${clash[1]}`,
      now: columns.find(([m]) => m === clash[0])?.[1],
    });
    return undefined;
  }
  if (!icebergCompatible(env, id, columns)) return undefined;
  const table = new IcebergTable(catalog, store, id, { columns, partitionBy: [] });
  const adds: DataFile[] = change.writes.map((w) => ({
    path: store.url(w.dataKey),
    partition: [],
    recordCount: w.rows,
    fileSizeBytes: w.bytes,
  }));
  return table.commit(async (base) => {
    const snapshot = currentSnapshot(base.metadata);
    const current = await table.files(snapshot, base.metadata);
    const held = new Set(current.map((f) => f.path));
    const adding = new Set(adds.map((f) => f.path));
    const remove = current
      .filter((f) => !adding.has(f.path))
      .filter((f) => {
        const hive = hiveKeyOf(location, id, lakeKeyOf(store, f.path));
        return hive !== undefined && touched.has(hive);
      })
      .map((f) => f.path);
    // Another writer may have created the table meanwhile: then its files stand, not our import.
    const add = [...adds, ...(snapshot === undefined ? imported.files : [])].filter((f) => !held.has(f.path));
    if (add.length === 0 && remove.length === 0) return undefined;
    return { operation: remove.length > 0 ? "overwrite" : "append", add, remove, summary };
  });
}

/**
 * A dataset whose table does not exist yet may already hold Hive files (a lake older than its
 * table): each one this run does not replace is copied to an immutable key of the run and joins the
 * first snapshot, so the table starts equal to the Hive tree.
 */
async function importHive(
  env: LakeJobEnv,
  change: TableChangeSet,
  location: string,
  touched: ReadonlySet<string>,
  run: string,
): Promise<{ files: DataFile[]; columns: readonly Column[] }> {
  const { id } = change;
  using reader = new LakeReader(env.store, env.scratchDir);
  const keys = (await reader.parquetKeys(`${id.namespace}/${id.name}/`)).filter(
    (k) => !touched.has(k) && datasetTableOf(k) !== undefined,
  );
  if (keys.length === 0) return { files: [], columns: [] };
  const runId = run.slice(run.lastIndexOf("/") + 1);
  const paths = await reader.paths(keys);
  using duck = await openJobDuck(env);
  const meta = await duck.rows(
    `SELECT file_name, num_rows::BIGINT AS num_rows FROM parquet_file_metadata(${sqlStringList(paths)})`,
  );
  const rowsOf = new Map(meta.map((r) => [String(r.file_name), Number(r.num_rows)]));
  const described = await duck.rows(
    `DESCRIBE SELECT * FROM read_parquet(${sqlStringList(paths)}, union_by_name = true, hive_partitioning = false)`,
  );
  const columns: Column[] = described.map((r) => [String(r.column_name), String(r.column_type)]);
  const sizes = new Map<string, number>();
  for await (const o of env.store.list(`${id.namespace}/${id.name}/`)) sizes.set(o.key, o.bytes);
  const files: DataFile[] = [];
  for (const [i, key] of keys.entries()) {
    const dataKey = dataKeyOf(location, id, key, runId);
    await env.store.copy(key, dataKey);
    files.push({
      path: env.store.url(dataKey),
      partition: [],
      recordCount: rowsOf.get(paths[i] as string) ?? 0,
      fileSizeBytes: sizes.get(key) ?? 0,
    });
  }
  env.log.info("iceberg: imported the dataset's Hive files into its new table", {
    table: `${id.namespace}.${id.name}`,
    files: files.length,
  });
  return { files, columns };
}

/** Columns in first-seen order across lists; a column keeps its first type (evolveSchema checks types). */
function unionColumns(lists: readonly (readonly Column[])[]): Column[] {
  const out = new Map<string, Column>();
  for (const list of lists) for (const c of list) if (!out.has(c[0])) out.set(c[0], c);
  return [...out.values()];
}

const DUCK_TYPES: Record<Exclude<IcebergPrimitive, `decimal(${number}, ${number})`>, string> = {
  boolean: "BOOLEAN",
  int: "INTEGER",
  long: "BIGINT",
  float: "FLOAT",
  double: "DOUBLE",
  date: "DATE",
  timestamp: "TIMESTAMP",
  timestamptz: "TIMESTAMPTZ",
  string: "VARCHAR",
  uuid: "UUID",
  binary: "BLOB",
};

/** A table's columns as DuckDB types, so a run whose files lack a column keeps it in the schema. */
function duckColumnsOf(fields: readonly { name: string; type: IcebergType }[]): Column[] {
  return fields.map((f) => [f.name, duckTypeOf(f.type)]);
}

function duckTypeOf(t: IcebergType): string {
  if (typeof t !== "string") {
    if (t.type === "list") return `${duckTypeOf(t.element)}[]`;
    return `STRUCT(${t.fields.map((f) => `"${f.name.replaceAll('"', '""')}" ${duckTypeOf(f.type)}`).join(", ")})`;
  }
  const dec = /^decimal\((\d+), (\d+)\)$/.exec(t);
  return dec ? `DECIMAL(${dec[1]},${dec[2]})` : DUCK_TYPES[t as keyof typeof DUCK_TYPES];
}
