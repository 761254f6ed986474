/**
 * Read-only access to the lake through an in-memory DuckDB session (UTC). Every committed dataset
 * becomes a view `<layer>.<dataset>` over `read_parquet(<glob>, hive_partitioning = true,
 * union_by_name = true)`, so notebooks write `FROM gold.candles_1m`. No partition key repeats a file
 * column (shared/src/lake/layout.ts), so `symbol` is the file's `BTC/USD` and `pair` its path form.
 */
import type { DuckDBConnection, DuckDBResultReader } from "@duckdb/node-api";
import type { Config } from "@tributary/shared/config";
import { type OpenDuck, openDuck, sqlString } from "@tributary/shared/duckdb";
import { datasetGlob, INTERNAL_DIR, LAYERS, type Layer } from "@tributary/shared/lake/layout";
import type { Table } from "apache-arrow";
import { arrowTableFromColumns } from "./arrow.ts";
import { fromDuckDB, type LakeRow } from "./values.ts";

export type LakeConfig = Pick<Config, "lake" | "s3">;

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
  has(layer: Layer, dataset: string): boolean;
  /** The Parquet glob of a dataset. */
  path(layer: Layer, dataset: string): string;
  close(): void;
}

export class LakeError extends Error {
  override readonly name = "LakeError";
}

export async function openLake(config: LakeConfig): Promise<Lake> {
  const uri = config.lake.uri.replace(/\/+$/, "");
  let datasets: DatasetRef[] = [];
  const duck = await openDuck({
    prepare: async (connection) => {
      if (uri.startsWith("s3://")) await configureS3(connection, config.s3);
      datasets = await discover(connection, uri);
      for (const layer of LAYERS) await connection.run(`CREATE SCHEMA IF NOT EXISTS ${layer}`);
      for (const d of datasets) await createView(connection, uri, d);
    },
  });
  return new DuckDBLake(uri, duck, datasets);
}

class DuckDBLake implements Lake {
  private closed = false;
  private readonly connection: DuckDBConnection;
  constructor(
    readonly uri: string,
    private readonly duck: OpenDuck,
    private readonly found: readonly DatasetRef[],
  ) {
    this.connection = duck.connection;
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

export function scanSql(glob: string): string {
  return `read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true)`;
}

async function createView(connection: DuckDBConnection, uri: string, d: DatasetRef): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(d.dataset)) return;
  const scan = scanSql(datasetGlob(uri, d.layer, d.dataset));
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
