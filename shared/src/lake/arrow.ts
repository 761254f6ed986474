/**
 * DuckDB result columns as an Arrow table with exact types: DECIMAL stays Decimal128, BIGINT Int64,
 * TIMESTAMP(TZ) microseconds (TZ as UTC), DATE days, BLOB Binary. Types Arrow-JS cannot build exactly
 * become Utf8 holding the caller's exact text for the value. Used by the console (Arrow IPC) and the
 * notebooks' lake kit.
 */
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  type DuckDBDecimalType,
  DuckDBDecimalValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from "@duckdb/node-api";
import {
  Binary,
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
  Utf8,
  vectorFromArray,
} from "apache-arrow";

export interface ArrowColumnsOptions {
  /** Exact text of a value whose type has no exact Arrow form (default `String(value)`). */
  readonly text?: (value: DuckDBValue) => string;
  /** BLOB columns as Arrow Binary (default) or as text through `text`. */
  readonly blob?: "binary" | "text";
}

/** Builds one record batch from column-major DuckDB values; each field carries its DuckDB type as metadata. */
export function arrowTableFromColumns(
  names: readonly string[],
  types: readonly DuckDBType[],
  columns: readonly (readonly DuckDBValue[])[],
  options: ArrowColumnsOptions = {},
): Table {
  const length = columns[0]?.length ?? 0;
  const fields: Field[] = [];
  const children: Data[] = [];
  names.forEach((name, i) => {
    const type = types[i];
    if (!type) throw new Error(`no DuckDB type for column ${name}`);
    const data = columnData(type, columns[i] ?? [], options);
    fields.push(new Field(name, data.type, true, new Map([["duckdb.type", type.toString()]])));
    children.push(data);
  });
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}

function columnData(type: DuckDBType, values: readonly DuckDBValue[], options: ArrowColumnsOptions): Data {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return one(vectorFromArray(values as (boolean | null)[], new Bool()).data, new Bool());
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
      return one(vectorFromArray(values as (number | null)[], new Int32()).data, new Int32());
    case DuckDBTypeId.BIGINT:
      return int64(
        new Int64(),
        values.map((v) => (v === null ? null : BigInt(v as bigint))),
      );
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return one(vectorFromArray(values as (number | null)[], new Float64()).data, new Float64());
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return int64(
        new Timestamp(TimeUnit.MICROSECOND, type.typeId === DuckDBTypeId.TIMESTAMP_TZ ? "UTC" : null),
        values.map((v) =>
          v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue ? v.micros : null,
        ),
      );
    case DuckDBTypeId.DATE: {
      const days = values.map((v) => (v instanceof DuckDBDateValue ? v.days : null));
      const data = new Int32Array(days.length);
      days.forEach((d, i) => {
        data[i] = d ?? 0;
      });
      return makeData({ type: new DateDay(), length: days.length, data, ...validity(days) });
    }
    case DuckDBTypeId.DECIMAL: {
      const t = type as DuckDBDecimalType;
      return decimal128(
        new Decimal(t.scale, t.width, 128),
        values.map((v) => (v instanceof DuckDBDecimalValue ? v.value : null)),
      );
    }
    case DuckDBTypeId.BLOB:
      if ((options.blob ?? "binary") === "binary") {
        const bytes = values.map((v) => (v instanceof DuckDBBlobValue ? v.bytes : null));
        return one(vectorFromArray(bytes, new Binary()).data, new Binary());
      }
      return textColumn(values, options);
    default:
      return textColumn(values, options);
  }
}

function textColumn(values: readonly DuckDBValue[], options: ArrowColumnsOptions): Data {
  const text = options.text ?? ((v: DuckDBValue) => String(v));
  const strings = values.map((v) => (v === null ? null : text(v)));
  return one(vectorFromArray(strings, new Utf8()).data, new Utf8());
}

function one(chunks: readonly Data[], type: DataType): Data {
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

function int64(type: Int64 | Timestamp, values: readonly (bigint | null)[]): Data {
  const data = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    data[i] = v ?? 0n;
  });
  const props = { length: values.length, data, ...validity(values) };
  return type instanceof Int64 ? makeData({ type, ...props }) : makeData({ type, ...props });
}

const MASK32 = 0xffffffffn;

/** Decimal128: four little-endian 32-bit words per value, two's complement. */
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
