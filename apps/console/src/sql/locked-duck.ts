/**
 * A DuckDB for SQL the console does not trust, set up in one place for the query engine and the
 * download writer: no extension loading, bounded threads and memory, spill only into a bounded
 * directory of its own (or none, never the working directory), file access only below
 * `allowedDirs`, then the configuration locked so no later statement can loosen any of it.
 */
import { mkdirSync, rmSync } from "node:fs";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { openDuck, sqlString } from "@tributary/shared/duckdb";

export interface LockedDuckOptions {
  /** Directories (absolute, with or without a trailing slash) DuckDB may read and write. */
  readonly allowedDirs: readonly string[];
  readonly threads: number;
  /** DuckDB's memory_limit, e.g. `512MB`. */
  readonly memoryLimit: string;
  /** Spill beyond memory_limit into this directory (emptied first), at most `limitMb`; none without it. */
  readonly spill?: { readonly dir: string; readonly limitMb: number };
  /** Runs on the admin connection before the lock (schemas, tables the caller needs). */
  readonly prepare?: (admin: DuckDBConnection) => Promise<void>;
}

export interface LockedDuck {
  readonly instance: DuckDBInstance;
  /** The connection that set it up; the caller may keep it for views or appenders. */
  readonly admin: DuckDBConnection;
  close(): void;
  [Symbol.dispose](): void;
}

export async function openLockedDuck(o: LockedDuckOptions): Promise<LockedDuck> {
  const {
    instance,
    connection: admin,
    close,
  } = await openDuck({
    settings: {
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      threads: String(o.threads),
      memory_limit: o.memoryLimit,
    },
    prepare: async (admin) => {
      if (o.spill) {
        rmSync(o.spill.dir, { recursive: true, force: true });
        mkdirSync(o.spill.dir, { recursive: true });
        await admin.run(`SET temp_directory = ${sqlString(o.spill.dir)}`);
        await admin.run(`SET max_temp_directory_size = '${Math.floor(o.spill.limitMb)}MiB'`);
      } else {
        await admin.run("SET temp_directory = ''"); // no spill rather than into the working directory
      }
      await o.prepare?.(admin);
      const dirs = o.allowedDirs.map((d) => sqlString(d.endsWith("/") ? d : `${d}/`)).join(", ");
      await admin.run(`SET allowed_directories = [${dirs}]`);
      await admin.run("SET enable_external_access = false");
      await admin.run("SET lock_configuration = true");
    },
  });
  return { instance, admin, close, [Symbol.dispose]: close };
}
