/**
 * The read-only query engine behind the SQL box, the lake browser and the quality charts: one
 * in-memory DuckDB whose views (`bronze.kraken_trades`, also `bronze_kraken_trades`) read the lake's
 * Parquet, locked down before any user SQL runs — external access off except the lake's layer
 * directories, no extension loading, configuration locked. User SQL goes through the guard, is
 * prepared once, must be a SELECT, and runs on its own connection with a row and a time limit.
 */
import {
  DuckDBBlobValue,
  type DuckDBConnection,
  type DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
  DuckDBInstance as Instance,
  type Json,
  JsonDuckDBValueConverter,
  StatementType,
} from "@duckdb/node-api";
import { LAYERS, type Layer } from "@tributary/shared/lake/layout";
import { checkAst, checkText, QueryRefused } from "./guard.ts";

export interface ViewSpec {
  readonly layer: Layer;
  readonly dataset: string;
  /** Absolute glob of the dataset's committed Parquet files. */
  readonly glob: string;
}

export interface QueryLimits {
  readonly rowLimit: number;
  readonly timeoutMs: number;
}

export interface QueryColumn {
  readonly name: string;
  readonly type: string;
}

export interface QueryResult {
  readonly columns: readonly QueryColumn[];
  /** JSON-safe values: BIGINT, DECIMAL and timestamps as exact strings. */
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
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export class QueryEngine {
  private views = new Map<string, string>();
  private ddl: Promise<unknown> = Promise.resolve();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    readonly layerRoots: readonly string[],
    private readonly maxConcurrent: number,
  ) {}

  static async create(options: EngineOptions): Promise<QueryEngine> {
    const root = options.lakeRoot.replace(/\/+$/, "");
    const layerRoots = LAYERS.map((l) => `${root}/${l}`);
    const instance = await Instance.create(":memory:", {
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      threads: String(options.threads ?? 2),
      memory_limit: options.memoryLimit ?? "512MB",
    });
    const admin = await instance.connect();
    for (const layer of LAYERS) await admin.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(layer)}`);
    await admin.run("SET TimeZone = 'UTC'");
    const dirs = layerRoots.map((d) => quoteString(`${d}/`)).join(", ");
    await admin.run(`SET allowed_directories = [${dirs}]`);
    await admin.run("SET enable_external_access = false");
    await admin.run("SET lock_configuration = true");
    return new QueryEngine(instance, admin, layerRoots, options.maxConcurrent ?? 2);
  }

  /** Creates, replaces and drops views so that there is exactly one per given dataset. */
  setViews(specs: readonly ViewSpec[]): Promise<void> {
    const next = this.ddl.then(async () => {
      const wanted = new Map(specs.map((s) => [`${s.layer}.${s.dataset}`, s]));
      for (const [key, glob] of this.views) {
        if (wanted.get(key)?.glob === glob) continue;
        const [layer, dataset] = key.split(".") as [string, string];
        await this.admin.run(`DROP VIEW IF EXISTS ${quoteIdent(layer)}.${quoteIdent(dataset)}`);
        await this.admin.run(`DROP VIEW IF EXISTS ${quoteIdent(`${layer}_${dataset}`)}`);
        this.views.delete(key);
      }
      for (const [key, spec] of wanted) {
        if (this.views.has(key)) continue;
        await this.createView(spec);
        this.views.set(key, spec.glob);
      }
    });
    this.ddl = next.catch(() => undefined);
    return next;
  }

  /** Re-creates one view (its files' schema changed under it). */
  private async createView(spec: ViewSpec): Promise<void> {
    const source = `SELECT * FROM read_parquet(${quoteString(spec.glob)}, hive_partitioning = true, union_by_name = true)`;
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
    return this.retryOnAlteredView(() => this.checkedQuery(sql, limits));
  }

  /** Runs SQL the console wrote itself (lake browser, charts) under the same lock-down and limits. */
  internal(sql: string, limits: QueryLimits): Promise<QueryResult> {
    return this.retryOnAlteredView(() =>
      this.withConnection(limits.timeoutMs, (conn) => this.execute(conn, sql, limits, false)),
    );
  }

  /** A dataset whose files gained columns no longer matches its view: rebuild the views once and retry. */
  private async retryOnAlteredView<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof QueryRefused) || !/Contents of view were altered/i.test(err.message)) throw err;
      const specs = [...this.views.entries()].map(([key, glob]) => {
        const [layer, dataset] = key.split(".") as [Layer, string];
        return { layer, dataset, glob };
      });
      this.views.clear();
      await this.setViews(specs);
      return fn();
    }
  }

  private checkedQuery(sql: string, limits: QueryLimits): Promise<QueryResult> {
    return this.withConnection(limits.timeoutMs, async (conn) => {
      let count: number;
      try {
        count = (await conn.extractStatements(sql)).count;
      } catch (err) {
        throw new QueryRefused(`the query does not parse: ${duckMessage(err)}`, "parse");
      }
      if (count !== 1) {
        throw new QueryRefused(
          `send exactly one statement (got ${count}); the SQL box runs one SELECT at a time`,
          "statements",
        );
      }
      const serialized = await conn.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
      const tree = JSON.parse(String(serialized.getRows()[0]?.[0] ?? "{}")) as {
        error?: boolean;
        error_message?: string;
        statements?: unknown[];
      };
      if (tree.error || !Array.isArray(tree.statements) || tree.statements.length !== 1) {
        throw new QueryRefused(
          `only a SELECT query is allowed (DuckDB: ${tree.error_message ?? "not a single SELECT"})`,
          "type",
        );
      }
      checkAst(tree.statements[0], this.layerRoots);
      return this.execute(conn, sql, limits, true);
    });
  }

  /** Row counts of Parquet files from their footers (no data read). Missing files are left out. */
  async parquetRows(paths: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < paths.length; i += 500) {
      const batch = paths.slice(i, i + 500);
      const list = `[${batch.map(quoteString).join(", ")}]`;
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
            const r = await this.internal(`SELECT num_rows FROM parquet_file_metadata(${quoteString(p)})`, {
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
    this.admin.closeSync();
    this.instance.closeSync();
  }

  private async withConnection<T>(timeoutMs: number, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("query engine is closed");
    const deadline = Date.now() + timeoutMs;
    await this.acquire(timeoutMs);
    const conn = await this.instance.connect();
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        conn.interrupt();
      },
      Math.max(deadline - Date.now(), 1),
    );
    try {
      return await fn(conn);
    } catch (err) {
      if (timedOut)
        throw new QueryRefused(
          `the query ran longer than the limit of ${timeoutMs} ms and was stopped`,
          "limit",
        );
      if (err instanceof QueryRefused) throw err;
      throw new QueryRefused(duckMessage(err), "error");
    } finally {
      clearTimeout(timer);
      conn.closeSync();
      this.release();
    }
  }

  private async execute(
    conn: DuckDBConnection,
    sql: string,
    limits: QueryLimits,
    user: boolean,
  ): Promise<QueryResult> {
    const started = performance.now();
    const prepared = await conn.prepare(sql);
    try {
      if (user && prepared.statementType !== StatementType.SELECT) {
        throw new QueryRefused(
          `only a SELECT query is allowed (this is ${StatementType[prepared.statementType]})`,
          "type",
        );
      }
      if (prepared.parameterCount > 0)
        throw new QueryRefused("query parameters ($1, ?) are not supported here", "parse");
      const reader = await prepared.streamAndReadUntil(limits.rowLimit + 1);
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const all = reader.getRows();
      const truncated = all.length > limits.rowLimit || !reader.done;
      const values = all.slice(0, limits.rowLimit);
      const rows = values.map((row) => row.map((v, i) => toJson(v, types[i] as DuckDBType)));
      return {
        columns: names.map((name, i) => ({ name, type: String(types[i]) })),
        rows,
        truncated,
        elapsedMs: Math.round(performance.now() - started),
        types,
        values,
      };
    } finally {
      prepared.destroySync();
    }
  }

  private async acquire(timeoutMs: number): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return;
    }
    if (this.waiting.length >= 32)
      throw new QueryRefused("too many queries are waiting; try again shortly", "limit");
    // The slot is handed over by release(), so `running` already counts this query when it wakes.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new QueryRefused(`the query waited ${timeoutMs} ms for a free slot and was not run`, "limit"));
      }, timeoutMs);
      const go = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.push(go);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function toJson(value: DuckDBValue, type: DuckDBType): Json {
  if (value === null) return null;
  // Kafka keys and values are UTF-8 JSON in practice: show them as text; other bytes as DuckDB's escapes.
  if (value instanceof DuckDBBlobValue) {
    try {
      return utf8.decode(value.bytes);
    } catch {
      return value.toString();
    }
  }
  return JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter);
}

/** DuckDB's message without the caret diagram that follows it. */
export function duckMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n\nLINE ")[0]?.trim().slice(0, 1000) ?? text;
}
