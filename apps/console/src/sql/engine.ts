/**
 * The read-only query engine behind the SQL box, the lake browser and the quality charts: one
 * in-memory DuckDB whose views (`bronze.kraken_trades`, also `bronze_kraken_trades`) read the lake's
 * Parquet, locked down before any user SQL runs — external access off except the lake's layer
 * directories and its Iceberg warehouse, no extension loading, spill bounded in a directory of its own, configuration locked.
 * User SQL must parse as one SELECT, pass the guard, and be prepared as a SELECT; it runs on its own
 * connection within a deadline that holds whatever step it falls in (checked after every step, and
 * a running statement is interrupted until it stops), and its answer is bounded in rows and bytes.
 */
import {
  type DuckDBConnection,
  type DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBType,
  type DuckDBValue,
  type Json,
  StatementType,
} from "@duckdb/node-api";
import { parquetScan, sqlString, sqlStringList } from "@tributary/shared/duckdb";
import { WAREHOUSE_DIR } from "@tributary/shared/lake/iceberg/catalog";
import { LAYERS, type Layer } from "@tributary/shared/lake/layout";
import { readAnswer } from "./answer.ts";
import { checkAst, checkText, notASelect, QueryRefused } from "./guard.ts";
import { type LockedDuck, openLockedDuck } from "./locked-duck.ts";
import { QuerySlots } from "./slots.ts";

export interface ViewSpec {
  readonly layer: Layer;
  readonly dataset: string;
  /** Absolute glob of the dataset's committed Parquet files (its Hive tree). */
  readonly glob: string;
  /** The current snapshot of the dataset's Iceberg table: the view reads its data files instead. */
  readonly snapshot?: { readonly id: string; readonly files: readonly string[] };
}

/** What a view reads: a new snapshot (or a new glob) re-creates it. */
const viewSource = (spec: ViewSpec): string => (spec.snapshot ? `snapshot ${spec.snapshot.id}` : spec.glob);

export interface QueryLimits {
  readonly rowLimit: number;
  readonly timeoutMs: number;
  /** Bytes of the answer's JSON rows; the engine's default when absent. */
  readonly maxBytes?: number;
}

export interface QueryColumn {
  readonly name: string;
  readonly type: string;
}

export interface QueryResult {
  readonly columns: readonly QueryColumn[];
  /** JSON-safe values: BIGINT, DECIMAL as exact strings, TIMESTAMPTZ as RFC 3339 UTC. */
  readonly rows: readonly (readonly Json[])[];
  readonly truncated: boolean;
  readonly elapsedMs: number;
  /** DuckDB types and raw values, for Arrow IPC. */
  readonly types: readonly DuckDBType[];
  readonly values: readonly (readonly DuckDBValue[])[];
}

export interface EngineOptions {
  /** Absolute local directory of the lake (LAKE_URI). */
  readonly lakeRoot: string;
  readonly threads?: number;
  readonly memoryLimit?: string;
  /** Queries running at once; more wait their turn (within their time limit). */
  readonly maxConcurrent?: number;
  /** Default bound on an answer's bytes (CONSOLE_QUERY_MAX_BYTES). */
  readonly maxAnswerBytes?: number;
  /** Where DuckDB spills what does not fit in memory (emptied at start), and its bound in MB. */
  readonly spillDir?: string;
  readonly spillLimitMb?: number;
}

/** How often a statement past its deadline is interrupted again, until it stops. */
const INTERRUPT_EVERY_MS = 20;

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export class QueryEngine {
  private views = new Map<string, ViewSpec>();
  private ddl: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly slots: QuerySlots;

  private readonly instance: DuckDBInstance;
  private readonly admin: DuckDBConnection;

  private constructor(
    private readonly duck: LockedDuck,
    readonly layerRoots: readonly string[],
    maxConcurrent: number,
    private readonly maxAnswerBytes: number,
    readonly spillDir: string | undefined,
    private readonly spillLimitMb: number,
  ) {
    this.slots = new QuerySlots(maxConcurrent);
    this.instance = duck.instance;
    this.admin = duck.admin;
  }

  static async create(options: EngineOptions): Promise<QueryEngine> {
    const root = options.lakeRoot.replace(/\/+$/, "");
    const layerRoots = LAYERS.map((l) => `${root}/${l}`);
    const duck = await openLockedDuck({
      // The Iceberg warehouse too: a table's as-of read names its immutable data files there.
      allowedDirs: [...layerRoots, `${root}/${WAREHOUSE_DIR}`],
      threads: options.threads ?? 2,
      memoryLimit: options.memoryLimit ?? "512MB",
      ...(options.spillDir
        ? { spill: { dir: options.spillDir, limitMb: options.spillLimitMb ?? 1024 } }
        : {}),
      prepare: async (conn) => {
        for (const layer of LAYERS) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(layer)}`);
      },
    });
    return new QueryEngine(
      duck,
      layerRoots,
      options.maxConcurrent ?? 2,
      options.maxAnswerBytes ?? 32 * 1024 * 1024,
      options.spillDir,
      options.spillLimitMb ?? 1024,
    );
  }

  /**
   * Creates, replaces and drops views so that there is exactly one per given dataset. A dataset
   * whose view cannot be built is left without one: the answer maps `layer.dataset` to the reason.
   */
  setViews(specs: readonly ViewSpec[]): Promise<Map<string, string>> {
    const next = this.ddl.then(async () => {
      const failed = new Map<string, string>();
      const wanted = new Map(specs.map((s) => [`${s.layer}.${s.dataset}`, s]));
      for (const [key, view] of this.views) {
        const next = wanted.get(key);
        if (next !== undefined && viewSource(next) === viewSource(view)) continue;
        const [layer, dataset] = key.split(".") as [string, string];
        await this.admin.run(`DROP VIEW IF EXISTS ${quoteIdent(layer)}.${quoteIdent(dataset)}`);
        await this.admin.run(`DROP VIEW IF EXISTS ${quoteIdent(`${layer}_${dataset}`)}`);
        this.views.delete(key);
      }
      for (const [key, spec] of wanted) {
        if (this.views.has(key)) continue;
        try {
          await this.createView(spec);
          this.views.set(key, spec);
        } catch (err) {
          failed.set(key, `its files cannot be read as one table: ${duckMessage(err)}`);
        }
      }
      return failed;
    });
    this.ddl = next.catch(() => undefined);
    return next;
  }

  /** Re-creates one view (its files' schema changed under it). */
  private async createView(spec: ViewSpec): Promise<void> {
    const source = `SELECT * FROM ${parquetScan(spec.snapshot ? spec.snapshot.files : spec.glob)}`;
    await this.admin.run(
      `CREATE OR REPLACE VIEW ${quoteIdent(spec.layer)}.${quoteIdent(spec.dataset)} AS ${source}`,
    );
    await this.admin.run(
      `CREATE OR REPLACE VIEW ${quoteIdent(`${spec.layer}_${spec.dataset}`)} AS SELECT * FROM ${quoteIdent(spec.layer)}.${quoteIdent(spec.dataset)}`,
    );
  }

  viewNames(): string[] {
    return [...this.views.keys()].sort();
  }

  /** Runs user SQL after every check; throws QueryRefused for anything refused or failing. */
  query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    checkText(sql);
    return this.retryOnAlteredView(() =>
      this.bounded(limits, (conn, step) => this.checked(conn, sql, limits, step)),
    );
  }

  /** Runs SQL the console wrote itself (lake browser, charts) under the same lock-down and limits. */
  internal(sql: string, limits: QueryLimits): Promise<QueryResult> {
    return this.retryOnAlteredView(() =>
      this.bounded(limits, async (conn, step) => {
        const prepared = await conn.prepare(sql);
        try {
          step();
          return await this.execute(prepared, limits, step);
        } finally {
          prepared.destroySync();
        }
      }),
    );
  }

  /** A dataset whose files gained columns no longer matches its view: rebuild the views once and retry. */
  private async retryOnAlteredView<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof QueryRefused) || !/Contents of view were altered/i.test(err.message)) throw err;
      const specs = [...this.views.values()];
      this.views.clear();
      await this.setViews(specs);
      return fn();
    }
  }

  /** DuckDB parses it (one statement, a SELECT), the guard walks it, DuckDB prepares it as a SELECT. */
  private async checked(
    conn: DuckDBConnection,
    sql: string,
    limits: QueryLimits,
    step: () => void,
  ): Promise<QueryResult> {
    let count: number;
    try {
      count = (await conn.extractStatements(sql)).count;
    } catch (err) {
      step();
      // IMPORT DATABASE reads its script while parsing: DuckDB's lock-down refuses the file.
      if (/Permission Error/.test(duckMessage(err))) throw notASelect(sql, duckMessage(err));
      throw new QueryRefused(`the query does not parse: ${duckMessage(err)}`, "parse");
    }
    step();
    if (count === 0) throw new QueryRefused("the query is empty", "size");
    if (count !== 1) {
      throw new QueryRefused(
        `send exactly one statement (got ${count}); the SQL box runs one SELECT at a time`,
        "statements",
      );
    }
    const serialized = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
    step();
    const tree = JSON.parse(String(serialized.getRows()[0]?.[0] ?? "{}")) as {
      error?: boolean;
      statements?: unknown[];
    };
    if (tree.error || !Array.isArray(tree.statements) || tree.statements.length !== 1) throw notASelect(sql);
    checkAst(tree.statements[0], this.layerRoots);
    const prepared = await conn.prepare(sql);
    try {
      step();
      if (prepared.statementType !== StatementType.SELECT)
        throw notASelect(sql, `a ${StatementType[prepared.statementType]} statement`);
      if (prepared.parameterCount > 0)
        throw new QueryRefused("query parameters ($1, ?) are not supported here", "parse");
      return await this.execute(prepared, limits, step);
    } finally {
      prepared.destroySync();
    }
  }

  /** Row counts of Parquet files from their footers (no data read). Missing files are left out. */
  async parquetRows(paths: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < paths.length; i += 500) {
      const batch = paths.slice(i, i + 500);
      const list = sqlStringList(batch);
      try {
        const r = await this.internal(`SELECT file_name, num_rows FROM parquet_file_metadata(${list})`, {
          rowLimit: batch.length,
          timeoutMs: 30_000,
        });
        for (const [file, rows] of r.rows) out.set(String(file), Number(rows));
      } catch {
        // A file vanished between listing and reading (compaction): count the rest one by one.
        for (const p of batch) {
          try {
            const r = await this.internal(`SELECT num_rows FROM parquet_file_metadata(${sqlString(p)})`, {
              rowLimit: 1,
              timeoutMs: 10_000,
            });
            out.set(p, Number(r.rows[0]?.[0] ?? 0));
          } catch {
            // unreadable or gone: no count
          }
        }
      }
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.duck.close();
  }

  /**
   * Runs `fn` on a fresh connection within the query's deadline: the wait for a slot counts, `step`
   * throws once the deadline has passed (called after every await), and from the deadline on the
   * connection is interrupted every few milliseconds until `fn` settles, so an interrupt that falls
   * between DuckDB's steps is never lost. The slot and the connection are returned whatever happens.
   */
  private async bounded<T>(
    limits: QueryLimits,
    fn: (conn: DuckDBConnection, step: () => void) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new Error("query engine is closed");
    const deadline = Date.now() + limits.timeoutMs;
    const overrun = (): QueryRefused =>
      new QueryRefused(
        `the query ran longer than the limit of ${limits.timeoutMs} ms and was stopped`,
        "limit",
      );
    const step = (): void => {
      if (Date.now() >= deadline) throw overrun();
    };
    using _slot = await this.slots.acquire(deadline);
    const conn = await this.instance.connect();
    let repeat: ReturnType<typeof setInterval> | undefined;
    const interrupt = (): void => conn.interrupt();
    const alarm = setTimeout(
      () => {
        interrupt();
        repeat = setInterval(interrupt, INTERRUPT_EVERY_MS);
      },
      Math.max(deadline - Date.now(), 0),
    );
    try {
      step();
      return await fn(conn, step);
    } catch (err) {
      if (Date.now() >= deadline) throw overrun();
      if (err instanceof QueryRefused) throw err;
      if (/max_temp_directory_size/.test(duckMessage(err))) {
        throw new QueryRefused(
          `the query needs more memory than the engine has and more than the ${this.spillLimitMb} MiB it may spill to disk (CONSOLE_QUERY_SPILL_MB): filter or aggregate first`,
          "spill",
        );
      }
      throw new QueryRefused(duckMessage(err), "error");
    } finally {
      clearTimeout(alarm);
      clearInterval(repeat);
      conn.closeSync();
    }
  }

  private async execute(
    prepared: DuckDBPreparedStatement,
    limits: QueryLimits,
    step: () => void,
  ): Promise<QueryResult> {
    const started = performance.now();
    const result = await prepared.stream();
    step();
    const answer = await readAnswer(
      result,
      { rowLimit: limits.rowLimit, maxBytes: limits.maxBytes ?? this.maxAnswerBytes },
      step,
    );
    return {
      columns: answer.names.map((name, i) => ({ name, type: String(answer.types[i]) })),
      rows: answer.rows,
      truncated: answer.truncated,
      elapsedMs: Math.round(performance.now() - started),
      types: answer.types,
      values: answer.values,
    };
  }
}

/** DuckDB's message without the caret diagram that follows it. */
export function duckMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n\nLINE ")[0]?.trim().slice(0, 1000) ?? text;
}
