/**
 * Read-only access to the lake through an in-memory DuckDB session (UTC). Every committed dataset
 * becomes a view `<layer>.<dataset>` over `read_parquet(…, hive_partitioning = true, union_by_name =
 * true)`, so notebooks write `FROM gold.candles_1m`. No partition key repeats a file column
 * (shared/src/lake/layout.ts), so `symbol` is the file's `BTC/USD` and `pair` its path form.
 *
 * A dataset with an Iceberg table is read as one snapshot of it, pinned when the lake opens: the
 * current one, or the one `asOf` names (by time, or the ids a previous run recorded), so a notebook
 * sees whole runs only and can be re-run on exactly the data it read. `snapshots()` says what was
 * pinned; under the notebook runner it is reported and written into the `.ipynb`. A dataset without
 * a table (Hive-only) is read from its Hive tree as it is now, and recorded as `hive`.
 */
import type { DuckDBConnection, DuckDBResultReader } from "@duckdb/node-api";
import type { Config } from "@tributary/shared/config";
import { type OpenDuck, openDuck, parquetScan, sqlString } from "@tributary/shared/duckdb";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { readSnapshot, type SnapshotChoice } from "@tributary/shared/lake/iceberg/time-travel";
import { datasetGlob, INTERNAL_DIR, LAYERS, type Layer } from "@tributary/shared/lake/layout";
import { createLakeStore } from "@tributary/shared/lake/store";
import type { Table } from "apache-arrow";
import { arrowTableFromColumns } from "./arrow.ts";
import { currentRuntime } from "./display.ts";
import { fromDuckDB, type LakeRow } from "./values.ts";

export type LakeConfig = Pick<Config, "lake" | "s3" | "iceberg">;

/**
 * Which snapshots a lake session reads: those current at a time (epoch ms), or the ids a previous
 * run recorded (`layer.dataset` → snapshot id, `hive` or `none`, as `snapshots()` returns them).
 */
export type LakeAsOf =
  | { readonly kind: "time"; readonly ms: number }
  | { readonly kind: "snapshots"; readonly tables: Readonly<Record<string, string>> };

/** What a session read of a dataset: a snapshot id, `hive` (no table: its Hive tree now), `none` (empty then). */
export type PinnedSnapshots = Readonly<Record<string, string>>;

export interface DatasetRef {
  readonly layer: Layer;
  readonly dataset: string;
  readonly files: number;
}

export interface Lake extends AsyncDisposable {
  readonly uri: string;
  /** Rows with exact values (see values.ts); `T` names the columns the query returns. */
  query<T extends object = LakeRow>(sql: string): Promise<T[]>;
  arrow(sql: string): Promise<Table>;
  datasets(): readonly DatasetRef[];
  /** `layer.dataset` → the snapshot id its view reads, `hive` for a dataset without a table. */
  snapshots(): PinnedSnapshots;
  has(layer: Layer, dataset: string): boolean;
  /** The Parquet glob of a dataset. */
  path(layer: Layer, dataset: string): string;
  close(): void;
}

export class LakeError extends Error {
  override readonly name = "LakeError";
}

/**
 * Opens the lake. `options.asOf` (default: what the notebook runner was asked, `--as-of`) picks the
 * snapshots; a recorded snapshot the table no longer holds (expired) is an error naming it.
 */
export async function openLake(
  config: LakeConfig,
  options: { readonly asOf?: LakeAsOf } = {},
): Promise<Lake> {
  const uri = config.lake.uri.replace(/\/+$/, "");
  const asOf = options.asOf ?? currentRuntime()?.asOf;
  let datasets: DatasetRef[] = [];
  const pinned: Record<string, string> = {};
  const duck = await openDuck({
    prepare: async (connection) => {
      if (uri.startsWith("s3://")) await configureS3(connection, config.s3);
      const found = await discover(connection, uri);
      const store = createLakeStore(config);
      const catalog = openCatalog(config, store);
      for (const layer of LAYERS) await connection.run(`CREATE SCHEMA IF NOT EXISTS ${layer}`);
      for (const d of found) {
        if (!/^[a-z0-9_]+$/.test(d.dataset)) continue;
        const name = `${d.layer}.${d.dataset}`;
        const choice = snapshotChoice(name, asOf);
        if (choice === undefined) continue; // the recorded run did not see this dataset
        const id = { namespace: d.layer, name: d.dataset };
        const read = choice === "hive" ? undefined : await readSnapshot(catalog, store, id, choice);
        if (read === undefined) {
          if (choice !== "hive" && choice.kind === "snapshot")
            throw new LakeError(`${name}: the recorded snapshot ${choice.id} is gone with its table`);
          pinned[name] = "hive";
          await createView(connection, d, parquetScan(datasetGlob(uri, d.layer, d.dataset)));
          datasets.push(d);
          continue;
        }
        pinned[name] = read.snapshot === undefined ? "none" : String(read.snapshot["snapshot-id"]);
        if (read.locations.length === 0) continue;
        await createView(connection, d, parquetScan(read.locations));
        datasets.push({ ...d, files: read.locations.length });
      }
      datasets = datasets.sort((a, b) => `${a.layer}/${a.dataset}`.localeCompare(`${b.layer}/${b.dataset}`));
    },
  });
  currentRuntime()?.reportSnapshots?.(pinned);
  return new DuckDBLake(uri, duck, datasets, pinned);
}

/** The snapshot of `name` to read; `hive` to read its tree; undefined: the recorded run had no such dataset. */
function snapshotChoice(name: string, asOf: LakeAsOf | undefined): SnapshotChoice | "hive" | undefined {
  if (asOf === undefined) return { kind: "current" };
  if (asOf.kind === "time") return { kind: "time", ms: asOf.ms };
  const recorded = asOf.tables[name];
  if (recorded === undefined || recorded === "none") return undefined;
  if (recorded === "hive") return "hive";
  if (!/^\d{1,19}$/.test(recorded) || !Number.isSafeInteger(Number(recorded)))
    throw new LakeError(`recorded snapshot of ${name} ${JSON.stringify(recorded)} is not a snapshot id`);
  return { kind: "snapshot", id: Number(recorded) };
}

class DuckDBLake implements Lake {
  private closed = false;
  private readonly connection: DuckDBConnection;
  constructor(
    readonly uri: string,
    private readonly duck: OpenDuck,
    private readonly found: readonly DatasetRef[],
    private readonly pinned: PinnedSnapshots,
  ) {
    this.connection = duck.connection;
  }

  snapshots(): PinnedSnapshots {
    return { ...this.pinned };
  }

  async query<T extends object = LakeRow>(sql: string): Promise<T[]> {
    const result = await this.run(sql);
    const names = result.deduplicatedColumnNames();
    return result.getRows().map((row) => {
      const out: Record<string, unknown> = {};
      names.forEach((n, i) => {
        out[n] = fromDuckDB(row[i] ?? null);
      });
      return out as T;
    });
  }

  async arrow(sql: string): Promise<Table> {
    const result = await this.run(sql);
    return arrowTableFromColumns(result.deduplicatedColumnNames(), result.columnTypes(), result.getColumns());
  }

  datasets(): readonly DatasetRef[] {
    return this.found;
  }

  has(layer: Layer, dataset: string): boolean {
    return this.found.some((d) => d.layer === layer && d.dataset === dataset);
  }

  path(layer: Layer, dataset: string): string {
    return datasetGlob(this.uri, layer, dataset);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.duck.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  private async run(sql: string): Promise<DuckDBResultReader> {
    if (this.closed) throw new LakeError("the lake session is closed");
    try {
      return await this.connection.runAndReadAll(sql);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new LakeError(
        `query failed: ${message}\n  SQL: ${sql.trim().replace(/\s+/g, " ").slice(0, 500)}`,
        {
          cause: err,
        },
      );
    }
  }
}

async function discover(connection: DuckDBConnection, uri: string): Promise<DatasetRef[]> {
  const result = await connection.runAndReadAll(
    `SELECT file FROM glob(${sqlString(`${uri}/*/*/**/*.parquet`)})`,
  );
  const counts = new Map<string, number>();
  for (const [file] of result.getRows()) {
    const rel = String(file)
      .slice(uri.length + 1)
      .split("/");
    const [layer, dataset] = rel;
    if (!layer || !dataset || layer === INTERNAL_DIR || !(LAYERS as readonly string[]).includes(layer))
      continue;
    // Hidden or underscore names are staging areas, never committed datasets.
    if (rel.some((seg) => seg.startsWith(".") || seg.startsWith("_"))) continue;
    const key = `${layer}/${dataset}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([key, files]) => {
      const [layer, dataset] = key.split("/") as [Layer, string];
      return { layer, dataset, files };
    })
    .sort((a, b) => `${a.layer}/${a.dataset}`.localeCompare(`${b.layer}/${b.dataset}`));
}

async function createView(connection: DuckDBConnection, d: DatasetRef, scan: string): Promise<void> {
  await connection.run(`CREATE OR REPLACE VIEW ${d.layer}.${d.dataset} AS SELECT * FROM ${scan}`);
}

async function configureS3(connection: DuckDBConnection, s3: LakeConfig["s3"]): Promise<void> {
  try {
    await connection.run("LOAD httpfs");
  } catch (err) {
    throw new LakeError(
      "the lake is on S3 but DuckDB's httpfs extension is not installed; run `INSTALL httpfs` once on a machine that can reach the DuckDB extension repository",
      { cause: err },
    );
  }
  const endpoint = new URL(s3.endpoint);
  await connection.run(
    `CREATE OR REPLACE SECRET tributary_lake (TYPE s3, KEY_ID ${sqlString(s3.accessKeyId)}, SECRET ${sqlString(
      s3.secretAccessKey,
    )}, REGION ${sqlString(s3.region)}, ENDPOINT ${sqlString(endpoint.host)}, URL_STYLE 'path', USE_SSL ${
      endpoint.protocol === "https:" ? "true" : "false"
    })`,
  );
}

export { sqlString };

/** A comma-separated list of SQL string literals, for `IN (…)`. */
export function sqlList(values: readonly string[]): string {
  return values.length === 0 ? "NULL" : values.map(sqlString).join(", ");
}
