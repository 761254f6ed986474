/**
 * The SQL box's rules, checked before DuckDB runs anything (the engine's own lock-down —
 * enable_external_access=false, allowed_directories = the lake's layers, lock_configuration — is
 * the second wall). A query must be one read-only SELECT over the lake:
 * 1. text: bounded size, no write/admin keyword outside quotes and comments;
 * 2. DuckDB's parser: exactly one statement, serialisable as a SELECT (COPY, PRAGMA, SET … are not);
 * 3. the parsed tree: table functions from an allow-list, no dangerous scalar function, and every
 *    file path (function argument or `FROM 'file'`) a Parquet path inside the lake's layers.
 */
import { existsSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isInside } from "../lake/paths.ts";

export class QueryRefused extends Error {
  override readonly name = "QueryRefused";
  constructor(
    message: string,
    /** Which rule refused it, for metrics: size, keyword, statements, parse, function, path, type, limit. */
    readonly rule: string,
  ) {
    super(message);
  }
}

export const MAX_SQL_CHARS = 20_000;

/** Statements and clauses that write, load code, reach outside or change settings. */
const FORBIDDEN_KEYWORDS = [
  "ALTER",
  "ANALYZE",
  "ATTACH",
  "BEGIN",
  "CALL",
  "CHECKPOINT",
  "COMMENT",
  "COMMIT",
  "COPY",
  "CREATE",
  "DEALLOCATE",
  "DELETE",
  "DETACH",
  "DROP",
  "EXECUTE",
  "EXPORT",
  "FORCE",
  "GRANT",
  "IMPORT",
  "INSERT",
  "INSTALL",
  "LOAD",
  "MERGE",
  "PRAGMA",
  "PREPARE",
  "RESET",
  "REVOKE",
  "ROLLBACK",
  "SET",
  "TRUNCATE",
  "UPDATE",
  "UPSERT",
  "USE",
  "VACUUM",
] as const;

const FORBIDDEN_PATTERN = new RegExp(`(^|[^A-Z0-9_$])(${FORBIDDEN_KEYWORDS.join("|")})(?=[^A-Z0-9_$]|$)`);

/** Table functions a query may use; anything else (read_csv, read_text, query, …) is refused. */
const ALLOWED_TABLE_FUNCTIONS = new Set([
  "read_parquet",
  "parquet_scan",
  "parquet_metadata",
  "parquet_schema",
  "parquet_file_metadata",
  "parquet_kv_metadata",
  "glob",
  "range",
  "generate_series",
  "unnest",
  "duckdb_columns",
  "duckdb_views",
  "duckdb_tables",
  "duckdb_schemas",
  "duckdb_types",
  "duckdb_functions",
  "pragma_table_info",
  "summary",
]);

/** Table functions whose string arguments are file paths (checked against the lake). */
const FILE_TABLE_FUNCTIONS = new Set([
  "read_parquet",
  "parquet_scan",
  "parquet_metadata",
  "parquet_schema",
  "parquet_file_metadata",
  "parquet_kv_metadata",
  "glob",
]);

/** Scalar functions that read files or the environment, run SQL text, or change session state. */
const FORBIDDEN_FUNCTIONS = new Set([
  "getenv",
  "query",
  "query_table",
  "read_text",
  "read_blob",
  "read_csv",
  "read_csv_auto",
  "read_json",
  "read_json_auto",
  "read_json_objects",
  "read_ndjson",
  "read_ndjson_auto",
  "read_ndjson_objects",
  "sniff_csv",
  "setseed",
  "set_variable",
  "duckdb_secrets",
  "which_secret",
  "duckdb_settings",
  "current_setting",
  "duckdb_extensions",
  "load_aws_credentials",
  "enable_logging",
  "disable_logging",
  "truncate_duckdb_logs",
  "checkpoint",
  "force_checkpoint",
  "sqlite_scan",
  "sqlite_attach",
  "postgres_scan",
  "postgres_attach",
  "postgres_query",
  "mysql_scan",
  "iceberg_scan",
  "delta_scan",
  "st_read",
  "read_xlsx",
  "httpfs_get",
]);

/** Removes comments, string literals and quoted identifiers so keywords inside them do not count. */
export function stripLiteralsAndComments(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
      out += " ";
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
      out += " ";
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      i = j + 1;
      out += c === "'" ? " '' " : ' "" ';
    } else if (c === "$" && /[A-Za-z_]*\$/.test(sql.slice(i + 1, i + 40))) {
      // Dollar-quoted string: $tag$ … $tag$
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? sql.length : end + tag.length;
        out += " '' ";
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Step 1: size and keywords, before DuckDB parses anything. */
export function checkText(sql: string): void {
  if (sql.trim() === "") throw new QueryRefused("the query is empty", "size");
  if (sql.length > MAX_SQL_CHARS) {
    throw new QueryRefused(
      `the query is ${sql.length} characters long; the limit is ${MAX_SQL_CHARS}`,
      "size",
    );
  }
  if (sql.includes("\u0000")) throw new QueryRefused("the query contains a NUL character", "size");
  const bare = stripLiteralsAndComments(sql).toUpperCase();
  // The first forbidden word in the text is the one reported.
  const found = FORBIDDEN_PATTERN.exec(bare)?.[2];
  if (found) {
    throw new QueryRefused(
      `${found} is not allowed: the SQL box runs one read-only SELECT over the lake (quote a column named ${found.toLowerCase()} as "${found.toLowerCase()}")`,
      "keyword",
    );
  }
}

type Node = Record<string, unknown>;

export interface AstFindings {
  readonly functions: ReadonlySet<string>;
  readonly tableFunctions: readonly { name: string; args: readonly unknown[] }[];
  readonly fileTables: readonly string[];
}

/** Walks DuckDB's `json_serialize_sql` tree collecting functions, table functions and file scans. */
export function collectFindings(tree: unknown): AstFindings {
  const functions = new Set<string>();
  const tableFunctions: { name: string; args: unknown[] }[] = [];
  const fileTables: string[] = [];
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
    if (n.type === "BASE_TABLE" && typeof n.table_name === "string" && looksLikeFile(n.table_name)) {
      fileTables.push(n.table_name);
    }
    for (const value of Object.values(n)) if (value && typeof value === "object") stack.push(value);
  }
  return { functions, tableFunctions, fileTables };
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

/** Step 3: the parsed tree of the single SELECT. */
export function checkAst(tree: unknown, layerRoots: readonly string[]): void {
  const findings = collectFindings(tree);
  for (const fn of findings.functions) {
    if (FORBIDDEN_FUNCTIONS.has(fn)) {
      throw new QueryRefused(
        `function ${fn}() is not allowed in the SQL box (it reads outside the lake or changes state)`,
        "function",
      );
    }
  }
  for (const tf of findings.tableFunctions) {
    if (!ALLOWED_TABLE_FUNCTIONS.has(tf.name)) {
      throw new QueryRefused(
        `table function ${tf.name}() is not allowed; use the lake's views (bronze.<dataset>, …) or read_parquet() inside the lake`,
        "function",
      );
    }
    if (FILE_TABLE_FUNCTIONS.has(tf.name)) {
      const paths = constantStrings(tf.args, tf.name);
      if (paths.length === 0)
        throw new QueryRefused(`${tf.name}: give the file path as a string literal`, "path");
      for (const p of paths) checkLakePath(p, layerRoots);
    }
  }
  for (const file of findings.fileTables) checkLakePath(file, layerRoots);
}

/** A file the SQL names must be a local Parquet path (or glob) inside one of the lake's layers. */
export function checkLakePath(path: string, layerRoots: readonly string[]): void {
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
