/**
 * Reads a query's answer chunk by chunk under two bounds, rows and bytes: past the row limit the
 * answer is cut and marked truncated; past the byte limit it is refused, so one huge value or a
 * wide result never grows the console's memory. Values become JSON-safe (BIGINT, DECIMAL as exact
 * strings; TIMESTAMPTZ as RFC 3339 UTC with microseconds).
 */
import {
  DuckDBBlobValue,
  type DuckDBResult,
  DuckDBTimestampTZValue,
  type DuckDBType,
  type DuckDBValue,
  type Json,
  JsonDuckDBValueConverter,
} from "@duckdb/node-api";
import { formatMicros } from "@tributary/shared/time";
import { QueryRefused } from "./guard.ts";

export interface AnswerLimits {
  readonly rowLimit: number;
  /** Size of the answer's JSON rows, approximately (strings counted by length). */
  readonly maxBytes: number;
}

export interface Answer {
  readonly names: readonly string[];
  readonly types: readonly DuckDBType[];
  readonly rows: readonly (readonly Json[])[];
  /** DuckDB's own values, for Arrow IPC and downloads. */
  readonly values: readonly (readonly DuckDBValue[])[];
  readonly truncated: boolean;
  readonly bytes: number;
}

/** Fetches chunks until the row limit (plus one, to know about truncation) or the end. */
export async function readAnswer(
  result: DuckDBResult,
  limits: AnswerLimits,
  checkDeadline: () => void,
): Promise<Answer> {
  const names = result.columnNames();
  const types = result.columnTypes();
  const rows: Json[][] = [];
  const values: DuckDBValue[][] = [];
  let bytes = 2;
  let truncated = false;
  for (;;) {
    const chunk = await result.fetchChunk();
    checkDeadline();
    if (!chunk || chunk.rowCount === 0) break;
    const vectors = names.map((_, c) => chunk.getColumnVector(c));
    for (let r = 0; r < chunk.rowCount; r++) {
      if (rows.length === limits.rowLimit) {
        truncated = true;
        break;
      }
      const raw: DuckDBValue[] = [];
      const row: Json[] = [];
      bytes += 3;
      for (let c = 0; c < vectors.length; c++) {
        const value = (vectors[c] as { getItem(i: number): DuckDBValue }).getItem(r);
        const json = toJson(value, types[c] as DuckDBType);
        bytes += jsonSize(json) + 1;
        if (bytes > limits.maxBytes) throw tooLarge(limits.maxBytes, rows.length);
        raw.push(value);
        row.push(json);
      }
      values.push(raw);
      rows.push(row);
    }
    if (truncated) break;
  }
  return { names, types, rows, values, truncated, bytes };
}

function tooLarge(maxBytes: number, rowsRead: number): QueryRefused {
  return new QueryRefused(
    `the answer is larger than ${maxBytes} bytes (the limit was reached after ${rowsRead} rows): select fewer columns or rows, or aggregate`,
    "bytes",
  );
}

/** The length of a value's JSON text, counting strings by their characters (escapes aside). */
export function jsonSize(value: Json): number {
  if (value === null) return 4;
  if (typeof value === "string") return value.length + 2;
  if (typeof value === "number" || typeof value === "boolean") return String(value).length;
  if (Array.isArray(value)) {
    let n = 2;
    for (const v of value) n += jsonSize(v) + 1;
    return n;
  }
  let n = 2;
  for (const [k, v] of Object.entries(value)) n += k.length + 4 + jsonSize(v as Json);
  return n;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function toJson(value: DuckDBValue, type: DuckDBType): Json {
  if (value === null) return null;
  // Kafka keys and values are UTF-8 JSON in practice: show them as text; other bytes as DuckDB's escapes.
  if (value instanceof DuckDBBlobValue) {
    try {
      return utf8.decode(value.bytes);
    } catch {
      return value.toString();
    }
  }
  if (value instanceof DuckDBTimestampTZValue && value.isFinite) return formatMicros(value.micros);
  return JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter);
}
