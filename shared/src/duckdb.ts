/**
 * The one way a DuckDB is opened and closed: an in-memory instance with the given settings, a first
 * connection in UTC, `prepare` run on it, and everything closed again if any step fails. Callers (the
 * lake's job sessions, the console's locked engine, the notebooks' lake, bronze staging) add their own
 * settings in `prepare`; `close` is idempotent and `using` closes at the end of a scope.
 */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

export interface OpenDuck {
  readonly instance: DuckDBInstance;
  /** The connection that set the instance up (UTC); callers keep it or connect more. */
  readonly connection: DuckDBConnection;
  close(): void;
  [Symbol.dispose](): void;
}

export interface OpenDuckOptions {
  /** Settings given at creation (DuckDB config names, e.g. `memory_limit`, `threads`). */
  readonly settings?: Readonly<Record<string, string>>;
  /** Runs on the first connection after `SET TimeZone = 'UTC'`; a throw closes the instance. */
  readonly prepare?: (connection: DuckDBConnection) => Promise<void>;
}

export async function openDuck(opts: OpenDuckOptions = {}): Promise<OpenDuck> {
  const instance = await DuckDBInstance.create(":memory:", { ...opts.settings });
  let connection: DuckDBConnection | undefined;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    connection?.closeSync();
    instance.closeSync();
  };
  try {
    connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    await opts.prepare?.(connection);
    return { instance, connection, close, [Symbol.dispose]: close };
  } catch (err) {
    close();
    throw err;
  }
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL list literal of strings, `['a', 'b']`; DuckDB's read_parquet takes one for many files. */
export function sqlStringList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(", ")}]`;
}

/**
 * A dataset's files as one relation, the way every lake reader sees them: a glob of its Hive tree or
 * the data files of one Iceberg snapshot, with the Hive path's `key=value` columns and files of
 * different column sets read by name.
 */
export function parquetScan(files: string | readonly string[]): string {
  const source = typeof files === "string" ? sqlString(files) : sqlStringList(files);
  return `read_parquet(${source}, hive_partitioning = true, union_by_name = true)`;
}
