/**
 * The SQL box's rules on top of DuckDB's own lock-down (enable_external_access=false,
 * allowed_directories = the lake's layers, lock_configuration), which is the wall: the engine then
 * checks, on DuckDB's parse of the text, that it is one statement serialisable as a SELECT and, on
 * the prepared statement, that DuckDB runs it as a SELECT. This module holds what DuckDB cannot
 * say by itself: a short deny-list of functions and catalog views that reveal settings, secrets or
 * run SQL text, and that every file path named in the query is a Parquet path inside the lake that
 * does not leave it through a link (allowed_directories compares paths, it does not resolve links).
 */
import { existsSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isInside } from "../lake/paths.ts";

export class QueryRefused extends Error {
  override readonly name = "QueryRefused";
  constructor(
    message: string,
    /** Which rule refused it, for metrics: size, statements, parse, type, function, path, limit, bytes, error. */
    readonly rule: string,
  ) {
    super(message);
  }
}

export const MAX_SQL_CHARS = 20_000;

/**
 * Functions, table functions and catalog views that read settings, the environment or secrets,
 * execute SQL text (which would skip these checks), or change the connection's state.
 */
const DENIED = new Set([
  "current_setting",
  "duckdb_settings",
  "pg_settings",
  "duckdb_profiling_settings",
  "getenv",
  "query",
  "query_table",
  "duckdb_secrets",
  "duckdb_secret_types",
  "which_secret",
  "load_aws_credentials",
  "duckdb_extensions",
  "duckdb_temporary_files",
  "duckdb_logs",
  "duckdb_log_contexts",
  "setseed",
  "set_variable",
]);

/** Table functions that open the files their string arguments name. */
const FILE_FUNCTION = /^(read_\w+|parquet_\w+|glob|sniff_csv|\w+_scan|\w+_attach)$/;

/** Step 1, before DuckDB sees the text: size, emptiness, NUL. */
export function checkText(sql: string): void {
  if (sql.trim() === "") throw new QueryRefused("the query is empty", "size");
  if (sql.length > MAX_SQL_CHARS) {
    throw new QueryRefused(
      `the query is ${sql.length} characters long; the limit is ${MAX_SQL_CHARS}`,
      "size",
    );
  }
  if (sql.includes("\u0000")) throw new QueryRefused("the query contains a NUL character", "size");
}

/**
 * The refusal for a statement DuckDB does not read as a SELECT, named by its first keyword
 * (`COPY is not allowed …`). The word is only for the message; DuckDB's parse decided.
 */
export function notASelect(sql: string, duckdbSays?: string): QueryRefused {
  const word = leadingKeyword(sql);
  const why = duckdbSays ? ` (DuckDB: ${duckdbSays})` : "";
  return new QueryRefused(
    `${word ?? "this statement"} is not allowed: the SQL box runs one read-only SELECT over the lake${why}`,
    "type",
  );
}

/** The first word of the text after leading blanks, comments and parentheses, upper-cased. */
export function leadingKeyword(sql: string): string | undefined {
  let rest = sql;
  for (;;) {
    const trimmed = rest.replace(/^[\s(]+/, "");
    if (trimmed.startsWith("--")) {
      const nl = trimmed.indexOf("\n");
      rest = nl < 0 ? "" : trimmed.slice(nl + 1);
    } else if (trimmed.startsWith("/*")) {
      const end = trimmed.indexOf("*/");
      rest = end < 0 ? "" : trimmed.slice(end + 2);
    } else {
      rest = trimmed;
      break;
    }
  }
  return /^[A-Za-z_]+/.exec(rest)?.[0].toUpperCase();
}

type Node = Record<string, unknown>;

export interface AstFindings {
  readonly functions: ReadonlySet<string>;
  readonly tableFunctions: readonly { name: string; args: readonly unknown[] }[];
  readonly tables: readonly string[];
}

/** Walks DuckDB's `json_serialize_sql` tree collecting functions, table functions and table names. */
export function collectFindings(tree: unknown): AstFindings {
  const functions = new Set<string>();
  const tableFunctions: { name: string; args: unknown[] }[] = [];
  const tables: string[] = [];
  const stack: unknown[] = [tree];
  let visited = 0;
  while (stack.length > 0) {
    const node = stack.pop();
    if (++visited > 1_000_000) throw new QueryRefused("the query is too complex to check", "size");
    if (Array.isArray(node)) {
      for (const child of node) stack.push(child);
      continue;
    }
    if (!node || typeof node !== "object") continue;
    const n = node as Node;
    if (typeof n.function_name === "string") functions.add(n.function_name.toLowerCase());
    if (n.type === "TABLE_FUNCTION" && n.function && typeof n.function === "object") {
      const f = n.function as Node;
      tableFunctions.push({
        name: String(f.function_name ?? "").toLowerCase(),
        args: Array.isArray(f.children) ? f.children : [],
      });
    }
    if (n.type === "BASE_TABLE" && typeof n.table_name === "string") tables.push(n.table_name);
    for (const value of Object.values(n)) if (value && typeof value === "object") stack.push(value);
  }
  return { functions, tableFunctions, tables };
}

function looksLikeFile(name: string): boolean {
  return /[/\\]/.test(name) || /\.[A-Za-z0-9]{1,8}$/.test(name) || /^[a-z0-9]+:\/\//i.test(name);
}

/** String constants of a function argument list (plain strings and lists of strings). */
function constantStrings(args: readonly unknown[], fn: string): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const a = arg as Node;
    if (a.class === "CONSTANT") {
      const value = (a.value ?? {}) as Node;
      const id = ((value.type ?? {}) as Node).id;
      if (id === "VARCHAR" && typeof value.value === "string") out.push(value.value);
      continue;
    }
    if (a.class === "FUNCTION" && a.function_name === "list_value" && Array.isArray(a.children)) {
      out.push(...constantStrings(a.children, fn));
      continue;
    }
    if (a.class === "COMPARISON" || a.type === "COMPARE_EQUAL") continue; // named parameter such as hive_partitioning=true
    throw new QueryRefused(`${fn}: file paths must be string literals`, "path");
  }
  return out;
}

/** Step 2: the parsed tree of the single SELECT. */
export function checkAst(tree: unknown, layerRoots: readonly string[]): void {
  const findings = collectFindings(tree);
  const denied = (name: string): QueryRefused =>
    new QueryRefused(
      `${name} is not allowed in the SQL box (it reveals settings or secrets, or runs SQL text)`,
      "function",
    );
  for (const fn of findings.functions) if (DENIED.has(fn)) throw denied(`function ${fn}()`);
  for (const table of findings.tables) {
    if (DENIED.has(table.toLowerCase())) throw denied(`the catalog view ${table}`);
    if (looksLikeFile(table)) checkLakePath(table, layerRoots);
  }
  for (const tf of findings.tableFunctions) {
    if (DENIED.has(tf.name)) throw denied(`table function ${tf.name}()`);
    if (!FILE_FUNCTION.test(tf.name)) continue;
    const paths = constantStrings(tf.args, tf.name);
    if (paths.length === 0)
      throw new QueryRefused(`${tf.name}: give the file path as a string literal`, "path");
    for (const p of paths) checkLakePath(p, layerRoots, `${tf.name}()`);
  }
}

/** A file the SQL names must be a local Parquet path (or glob) inside one of the lake's layers. */
export function checkLakePath(path: string, layerRoots: readonly string[], via?: string): void {
  try {
    checkOnePath(path, layerRoots);
  } catch (err) {
    if (via && err instanceof QueryRefused) throw new QueryRefused(`${via}: ${err.message}`, err.rule);
    throw err;
  }
}

function checkOnePath(path: string, layerRoots: readonly string[]): void {
  if (/^[a-z0-9]+:\/\//i.test(path)) {
    throw new QueryRefused(
      `path ${JSON.stringify(path)} is not allowed: only files inside the lake can be read`,
      "path",
    );
  }
  const absolute = resolve(layerRoots[0] ?? "/", path);
  const inside = layerRoots.some(
    (root) => path.startsWith("/") && isInside(root, absolute) && absolute !== resolve(root),
  );
  if (!inside) {
    throw new QueryRefused(
      `path ${JSON.stringify(path)} is outside the lake: give an absolute path under ${layerRoots.join(", ")}`,
      "path",
    );
  }
  const real = realPrefix(absolute);
  if (
    real !== undefined &&
    !layerRoots.some((root) => existsSync(root) && isInside(realpathSync(root), real))
  ) {
    throw new QueryRefused(`path ${JSON.stringify(path)} leads outside the lake through a link`, "path");
  }
  if (!/(\.parquet|\*)$/.test(path)) {
    throw new QueryRefused(
      `path ${JSON.stringify(path)} is not a Parquet file: the lake holds only .parquet files`,
      "path",
    );
  }
}

/** The real path of the deepest existing directory above the first glob character, if any exists. */
function realPrefix(absolute: string): string | undefined {
  const glob = absolute.search(/[*?[{]/);
  let dir = glob < 0 ? absolute : dirname(absolute.slice(0, glob + 1));
  for (let i = 0; i < 64 && dir !== "/"; i++) {
    if (existsSync(dir)) return realpathSync(dir);
    dir = dirname(dir);
  }
  return undefined;
}
