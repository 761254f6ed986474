/**
 * One embedded DuckDB session per job run: in-memory, UTC, bounded memory with spilling to a temp
 * directory. Every query result crosses into TypeScript as JSON-safe values (DECIMAL, BIGINT and
 * TIMESTAMPTZ as strings), so money and time never pass through a binary float.
 */
import { mkdirSync } from "node:fs";
import type { DuckDBConnection } from "@duckdb/node-api";
import { type OpenDuck, openDuck, sqlString, sqlStringList } from "@tributary/shared/duckdb";

export { sqlString, sqlStringList };

export interface DuckSessionOptions {
  /** DuckDB memory_limit in MB; DuckDB spills to `tempDir` beyond it. */
  readonly memoryLimitMb?: number;
  readonly threads?: number;
  readonly tempDir?: string;
  /**
   * Keep the order of an `ORDER BY` into a multi-file `COPY` (compaction's sorted files). Default
   * false: files whose order matters say so with their own ORDER BY, and DuckDB may stream freely.
   */
  readonly preserveInsertionOrder?: boolean;
  /** Called after each statement with its duration (profiling, debug logs). */
  readonly onQuery?: (sql: string, ms: number) => void;
}

/** A result row as DuckDB renders it to JSON: DECIMAL, BIGINT and timestamps arrive as strings. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [k: string]: JsonValue };
export type JsonRow = Record<string, JsonValue>;

export class DuckQueryError extends Error {
  override readonly name = "DuckQueryError";
}

export interface DuckSession {
  run(sql: string): Promise<void>;
  rows(sql: string): Promise<JsonRow[]>;
  /** The single value of a one-row, one-column query (null when no row). */
  scalar(sql: string): Promise<JsonValue>;
  close(): void;
  /** `using duck = await openDuckSession(…)` closes the session when the scope ends. */
  [Symbol.dispose](): void;
}

export async function openDuckSession(opts: DuckSessionOptions = {}): Promise<DuckSession> {
  const duck = await openDuck({
    prepare: async (c) => {
      await c.run(`SET preserve_insertion_order = ${opts.preserveInsertionOrder === true}`);
      // Keep one writer per partition open in partitioned COPYs, so a partition is written as one file.
      await c.run("SET partitioned_write_max_open_files = 4096");
      if (opts.memoryLimitMb) await c.run(`SET memory_limit = '${Math.floor(opts.memoryLimitMb)}MB'`);
      if (opts.threads) await c.run(`SET threads = ${Math.floor(opts.threads)}`);
      if (opts.tempDir) {
        mkdirSync(opts.tempDir, { recursive: true });
        await c.run(`SET temp_directory = ${sqlString(opts.tempDir)}`);
      }
    },
  });
  return new EmbeddedDuckSession(duck, opts.onQuery);
}

class EmbeddedDuckSession implements DuckSession {
  private closed = false;
  private readonly connection: DuckDBConnection;
  constructor(
    private readonly duck: OpenDuck,
    private readonly onQuery?: (sql: string, ms: number) => void,
  ) {
    this.connection = duck.connection;
  }

  async run(sql: string): Promise<void> {
    await this.guard(sql, () => this.connection.run(sql));
  }

  async rows(sql: string): Promise<JsonRow[]> {
    return this.guard(sql, async () => {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJson() as JsonRow[];
    });
  }

  async scalar(sql: string): Promise<JsonValue> {
    const [row] = await this.rows(sql);
    if (!row) return null;
    const [value] = Object.values(row);
    return value ?? null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.duck.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private async guard<T>(sql: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new DuckQueryError("the DuckDB session is closed");
    const started = performance.now();
    try {
      return await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new DuckQueryError(`${message}\n  SQL: ${sql.trim().replace(/\s+/g, " ").slice(0, 600)}`, {
        cause: err,
      });
    } finally {
      this.onQuery?.(sql, performance.now() - started);
    }
  }
}

/** A TIMESTAMPTZ literal from epoch microseconds. */
export function sqlMicros(micros: bigint): string {
  return `make_timestamptz(${micros.toString()}::BIGINT)`;
}
