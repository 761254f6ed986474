/**
 * A query result as a file to download: CSV (RFC 4180, the JSON answer's exact text for decimals and
 * RFC 3339 timestamps) or Parquet, written from the result's own DuckDB types and values by a
 * separate, locked-down DuckDB that may write only one scratch directory (the query engine stays
 * read-only). Both hold exactly the rows the JSON answer holds: the same row and byte bounds apply.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Json } from "@duckdb/node-api";
import type { QueryResult } from "./engine.ts";
import { openLockedDuck } from "./locked-duck.ts";

export const DOWNLOAD_FORMATS = {
  csv: "text/csv; charset=utf-8",
  parquet: "application/vnd.apache.parquet",
} as const;
export type DownloadFormat = keyof typeof DOWNLOAD_FORMATS;

export function isDownloadFormat(text: string): text is DownloadFormat {
  return Object.hasOwn(DOWNLOAD_FORMATS, text);
}

/** The format a request's Accept header asks for, if it asks for a file. */
export function acceptedDownload(accept: string): DownloadFormat | undefined {
  if (accept.includes("text/csv")) return "csv";
  if (accept.includes(DOWNLOAD_FORMATS.parquet)) return "parquet";
  return undefined;
}

const csvField = (value: Json): string => {
  if (value === null) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
};

/** RFC 4180: a header of column names, CRLF line ends, NULL as an empty field. */
export function resultToCsv(result: Pick<QueryResult, "columns" | "rows">): string {
  const lines = [result.columns.map((c) => csvField(c.name)).join(",")];
  for (const row of result.rows) lines.push(row.map(csvField).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The result as one Parquet file, with DuckDB's types (DECIMAL stays DECIMAL, TIMESTAMPTZ µs UTC). */
export async function resultToParquet(
  result: Pick<QueryResult, "columns" | "types" | "values">,
  scratchRoot: string,
): Promise<Uint8Array> {
  const dir = mkdtempSync(join(scratchRoot, "download-"));
  try {
    using duck = await openLockedDuck({ allowedDirs: [dir], threads: 1, memoryLimit: "256MB" });
    const conn = duck.admin;
    // Duplicate or empty column names are legal in a SELECT, not in a table: number them.
    const names = result.columns.map((c, i) => c.name || `column${i}`);
    const unique = names.map((n, i) => (names.indexOf(n) === i ? n : `${n}_${i}`));
    const columns = result.types.map((t, i) => `${quoteIdent(unique[i] ?? `column${i}`)} ${t.toString()}`);
    await conn.run(`CREATE TABLE result (${columns.join(", ")})`);
    const appender = await conn.createAppender("result");
    try {
      for (const row of result.values) {
        row.forEach((v, i) => {
          appender.appendValue(v, result.types[i]);
        });
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const file = join(dir, "result.parquet");
    await conn.run(`COPY result TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `tributary-query-20260105T140000Z.csv`: when it was asked, in UTC. */
export function downloadName(format: DownloadFormat, at = new Date()): string {
  return `tributary-query-${at.toISOString().slice(0, 19).replaceAll(/[-:]/g, "")}Z.${format}`;
}
