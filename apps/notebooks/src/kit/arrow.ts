/**
 * DuckDB results as Apache Arrow tables (built by shared/src/lake/arrow.ts) and read back exactly: DECIMAL stays
 * Decimal128 (unscaled 128-bit integers), TIMESTAMPTZ stays microseconds in UTC, BIGINT stays Int64.
 * Types Arrow-JS cannot build exactly (nested, intervals, …) become Utf8 text of the exact value.
 */
import type { DuckDBType, DuckDBValue } from "@duckdb/node-api";
import { arrowTableFromColumns as buildArrowTable } from "@tributary/shared/lake/arrow";
import { formatMicros } from "@tributary/shared/time";
import {
  type Data,
  type DataType,
  type Decimal,
  type Table,
  type Timestamp,
  TimeUnit,
  Type,
} from "apache-arrow";
import { fromDuckDB, type LakeRow, type LakeValue } from "./values.ts";

/** DuckDB columns → Arrow with exact types; values Arrow cannot hold exactly become the kit's exact text. */
export function arrowTableFromColumns(
  names: readonly string[],
  types: readonly DuckDBType[],
  columns: readonly (readonly DuckDBValue[])[],
): Table {
  return buildArrowTable(names, types, columns, { text: (v) => textOf(fromDuckDB(v)), blob: "text" });
}

/** Reads an Arrow table back into exact lake values (DECIMAL → string, timestamps → RFC 3339 µs). */
export function arrowRows(table: Table): LakeRow[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = table.schema.fields.map((_, j) => arrowColumnValues(table, j));
  const rows: LakeRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, LakeValue> = {};
    names.forEach((n, j) => {
      row[n] = columns[j]?.[i] ?? null;
    });
    rows.push(row);
  }
  return rows;
}

export function arrowColumnValues(table: Table, index: number): LakeValue[] {
  const field = table.schema.fields[index];
  const vector = table.getChildAt(index);
  if (!field || !vector) return [];
  const out: LakeValue[] = [];
  for (const data of vector.data) {
    for (let i = 0; i < data.length; i++) out.push(data.getValid(i) ? dataValue(data, i) : null);
  }
  return out;
}

function dataValue(data: Data, i: number): LakeValue {
  const t = data.type as DataType;
  const at = data.offset + i;
  switch (t.typeId) {
    case Type.Decimal: {
      const { scale } = t as Decimal;
      const words = data.values as Uint32Array;
      let x = 0n;
      for (let w = 3; w >= 0; w--) x = (x << 32n) | BigInt(words[at * 4 + w] ?? 0);
      return formatScaled(BigInt.asIntN(128, x), scale);
    }
    case Type.Timestamp: {
      const ts = t as Timestamp;
      const raw = BigInt((data.values as BigInt64Array)[at] ?? 0n);
      const perMicro: Record<TimeUnit, bigint> = {
        [TimeUnit.SECOND]: 1_000_000n,
        [TimeUnit.MILLISECOND]: 1000n,
        [TimeUnit.MICROSECOND]: 1n,
        [TimeUnit.NANOSECOND]: 1n,
      };
      return ts.unit === TimeUnit.NANOSECOND
        ? formatMicros(raw / 1000n)
        : formatMicros(raw * perMicro[ts.unit]);
    }
    case Type.Date: {
      const days = (data.values as Int32Array)[at] ?? 0;
      return new Date(days * 86_400_000).toISOString().slice(0, 10);
    }
    case Type.Int: {
      const v = (data.values as ArrayLike<number | bigint>)[at];
      return v === undefined ? null : v;
    }
    case Type.Float:
      return (data.values as Float64Array)[at] ?? null;
    case Type.Bool: {
      const byte = (data.values as Uint8Array)[at >> 3] ?? 0;
      return (byte & (1 << (at & 7))) !== 0;
    }
    case Type.Utf8: {
      const offsets = data.valueOffsets as Int32Array;
      const start = offsets[at] ?? 0;
      const end = offsets[at + 1] ?? start;
      return new TextDecoder().decode((data.values as Uint8Array).subarray(start, end));
    }
    default:
      return String(data.type);
  }
}

/** Unscaled integer and scale → exact decimal text (e.g. 15000000000n, 10 → "1.5000000000"). */
export function formatScaled(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${frac}` : ""}`;
}

function textOf(value: LakeValue): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
