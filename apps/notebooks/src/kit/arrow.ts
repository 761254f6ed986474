/**
 * DuckDB results as Apache Arrow tables, built column by column with exact types: DECIMAL stays
 * Decimal128 (unscaled 128-bit integers), TIMESTAMPTZ stays microseconds in UTC, BIGINT stays Int64.
 * Types Arrow-JS cannot build exactly (nested, intervals, …) become Utf8 text of the exact value.
 */
import {
  DuckDBDateValue,
  type DuckDBDecimalType,
  DuckDBDecimalValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from "@duckdb/node-api";
import { formatMicros } from "@tributary/shared/time";
import {
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Timestamp,
  TimeUnit,
  Type,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { fromDuckDB, type LakeRow, type LakeValue } from "./values.ts";

export function arrowTableFromColumns(
  names: readonly string[],
  types: readonly DuckDBType[],
  columns: readonly (readonly DuckDBValue[])[],
): Table {
  const length = columns[0]?.length ?? 0;
  const fields: Field[] = [];
  const children: Data[] = [];
  names.forEach((name, i) => {
    const type = types[i];
    if (!type) throw new Error(`no DuckDB type for column ${name}`);
    const data = buildData(type, columns[i] ?? []);
    fields.push(new Field(name, data.type, true, new Map([["duckdb.type", type.toString()]])));
    children.push(data);
  });
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}

function buildData(type: DuckDBType, values: readonly DuckDBValue[]): Data {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return single(vectorFromArray(values as (boolean | null)[], new Bool()).data, new Bool());
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
      return single(vectorFromArray(values as (number | null)[], new Int32()).data, new Int32());
    case DuckDBTypeId.BIGINT:
      return fixedBigInt(
        new Int64(),
        values.map((v) => (v === null ? null : BigInt(v as bigint))),
      );
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return single(vectorFromArray(values as (number | null)[], new Float64()).data, new Float64());
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return fixedBigInt(
        new Timestamp(TimeUnit.MICROSECOND, type.typeId === DuckDBTypeId.TIMESTAMP_TZ ? "UTC" : null),
        values.map((v) =>
          v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue ? v.micros : null,
        ),
      );
    case DuckDBTypeId.DATE: {
      const days = values.map((v) => (v instanceof DuckDBDateValue ? v.days : null));
      return fixedInt32(new DateDay(), days);
    }
    case DuckDBTypeId.DECIMAL: {
      const t = type as DuckDBDecimalType;
      return decimal128(
        new Decimal(t.scale, t.width, 128),
        values.map((v) => (v instanceof DuckDBDecimalValue ? v.value : null)),
      );
    }
    default: {
      const text = values.map((v) => (v === null ? null : textOf(fromDuckDB(v))));
      return single(vectorFromArray(text, new Utf8()).data, new Utf8());
    }
  }
}

function single(chunks: readonly Data[], type: DataType): Data {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  if (chunks.length === 0) return makeData({ type, length: 0 });
  throw new Error(`expected one Arrow chunk, got ${chunks.length}`);
}

function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) nullCount++;
    else nullBitmap[i >> 3] = (nullBitmap[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return { nullBitmap, nullCount };
}

function fixedBigInt(type: Int64 | Timestamp, values: readonly (bigint | null)[]): Data {
  const data = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    data[i] = v ?? 0n;
  });
  const props = { length: values.length, data, ...validity(values) };
  return type instanceof Int64 ? makeData({ type, ...props }) : makeData({ type, ...props });
}

function fixedInt32(type: DateDay, values: readonly (number | null)[]): Data<DateDay> {
  const data = new Int32Array(values.length);
  values.forEach((v, i) => {
    data[i] = v ?? 0;
  });
  return makeData({ type, length: values.length, data, ...validity(values) });
}

const MASK32 = 0xffffffffn;

/** Decimal128 as four little-endian 32-bit words per value (two's complement). */
function decimal128(type: Decimal, values: readonly (bigint | null)[]): Data<Decimal> {
  const data = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    let x = BigInt.asUintN(128, v ?? 0n);
    for (let w = 0; w < 4; w++) {
      data[i * 4 + w] = Number(x & MASK32);
      x >>= 32n;
    }
  });
  return makeData({ type, length: values.length, data, ...validity(values) });
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
