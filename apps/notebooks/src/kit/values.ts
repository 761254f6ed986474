/**
 * Values read from the lake, in exact JS forms: DECIMAL as its decimal string, BIGINT as bigint,
 * TIMESTAMP/TIMESTAMPTZ as RFC 3339 UTC with microseconds, DATE as YYYY-MM-DD. Floats appear only
 * where the column is DOUBLE, or at the chart boundary through `num()`.
 */
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBValue,
} from "@duckdb/node-api";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";

export type LakeValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly LakeValue[]
  | { readonly [key: string]: LakeValue };

export type LakeRow = Readonly<Record<string, LakeValue>>;

export function fromDuckDB(value: DuckDBValue): LakeValue {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof DuckDBDecimalValue) return value.toString();
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    return value.isFinite ? formatMicros(value.micros) : value.toString();
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) return formatMicros(value.millis * 1000n);
  if (value instanceof DuckDBTimestampSecondsValue) return formatMicros(value.seconds * 1_000_000n);
  if (value instanceof DuckDBTimestampNanosecondsValue) return formatMicros(value.nanos / 1000n);
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBBlobValue) return value.bytes;
  if (value instanceof DuckDBListValue) return value.items.map(fromDuckDB);
  if (value instanceof DuckDBStructValue) {
    const out: Record<string, LakeValue> = {};
    for (const [k, v] of Object.entries(value.entries)) out[k] = fromDuckDB(v);
    return out;
  }
  return value.toString();
}

/** Things charts accept as numbers: JS numbers, bigints, decimal strings, DuckDB decimals. */
export type NumberLike = number | bigint | string | { toDouble(): number };

/** Converts to a float for plotting only; never use the result for stored data. */
export function num(value: NumberLike | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string") {
    const n = Number(value);
    if (value.trim() === "" || Number.isNaN(n)) throw new TypeError(`not a number: ${JSON.stringify(value)}`);
    return n;
  }
  return value.toDouble();
}

/** Things charts accept as instants: RFC 3339 strings, Dates, epoch milliseconds, epoch-µs bigints. */
export type TimeLike = string | Date | number | bigint;

/** Epoch milliseconds (fractional, keeping microseconds) for plotting. */
export function epochMs(value: TimeLike): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value) / 1000;
  if (value instanceof Date) return value.getTime();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(`${value}T00:00:00Z`);
  return Number(parseRfc3339Micros(value)) / 1000;
}
