/**
 * Iceberg schemas and partition specs for the lake's tables (format v2): the DuckDB column types the
 * lake writes mapped to Iceberg types with stable field IDs, schema evolution that only adds columns
 * (old files read the new column as null), and the partition transforms Tributary's layout uses.
 * Files written by DuckDB carry no Parquet field IDs; every table sets a name mapping
 * (`schema.name-mapping.default`) so Iceberg readers resolve columns by name, as the spec allows.
 */

export type IcebergPrimitive =
  | "boolean"
  | "int"
  | "long"
  | "float"
  | "double"
  | "date"
  | "timestamp"
  | "timestamptz"
  | "string"
  | "uuid"
  | "binary"
  | `decimal(${number}, ${number})`;

export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergPrimitive;
}

export interface IcebergSchema {
  readonly type: "struct";
  readonly "schema-id": number;
  readonly fields: readonly IcebergField[];
}

/** The transforms Tributary partitions by: an identity column and the UTC hour, day or month of a time. */
export type Transform = "identity" | "hour" | "day" | "month";

export interface PartitionField {
  readonly name: string;
  readonly transform: Transform;
  readonly "source-id": number;
  readonly "field-id": number;
}

export interface PartitionSpec {
  readonly "spec-id": number;
  readonly fields: readonly PartitionField[];
}

/** A table's partitioning by column name: `[["ts", "hour"], ["symbol", "identity"]]`. */
export type PartitionBy = ReadonlyArray<readonly [column: string, transform: Transform]>;

/** One column as the lake writes it: a name and its DuckDB type (`DECIMAL(38,10)`, `TIMESTAMPTZ`, …). */
export type Column = readonly [name: string, duckdbType: string];

export class IcebergSchemaError extends Error {
  override readonly name = "IcebergSchemaError";
}

/** The Iceberg type of a DuckDB column type; throws naming the column for types Iceberg cannot hold exactly. */
export function icebergType(column: string, duckdbType: string): IcebergPrimitive {
  const t = duckdbType.trim().toUpperCase();
  const dec = /^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  if (dec) return `decimal(${Number(dec[1])}, ${Number(dec[2])})`;
  switch (t) {
    case "BOOLEAN":
      return "boolean";
    case "TINYINT":
    case "SMALLINT":
    case "INTEGER":
    case "INT":
      return "int";
    case "BIGINT":
      return "long";
    case "FLOAT":
    case "REAL":
      return "float";
    case "DOUBLE":
      return "double";
    case "DATE":
      return "date";
    case "TIMESTAMP":
      return "timestamp";
    case "TIMESTAMPTZ":
    case "TIMESTAMP WITH TIME ZONE":
      return "timestamptz";
    case "VARCHAR":
    case "TEXT":
      return "string";
    case "UUID":
      return "uuid";
    case "BLOB":
      return "binary";
    default:
      throw new IcebergSchemaError(`column ${column}: DuckDB type ${duckdbType} has no exact Iceberg type`);
  }
}

/**
 * The schema for `columns`, keeping the IDs of columns `previous` already has and giving new
 * columns IDs after `lastColumnId`. Only additions are allowed: a dropped or retyped column is an
 * error (it would change what old files mean).
 */
export function evolveSchema(
  columns: readonly Column[],
  previous: IcebergSchema | undefined,
  lastColumnId: number,
): { schema: IcebergSchema; lastColumnId: number; changed: boolean } {
  const old = new Map((previous?.fields ?? []).map((f) => [f.name, f]));
  let last = lastColumnId;
  const fields: IcebergField[] = [];
  const seen = new Set<string>();
  for (const [name, duckdbType] of columns) {
    if (seen.has(name)) throw new IcebergSchemaError(`column ${name} appears twice`);
    seen.add(name);
    const type = icebergType(name, duckdbType);
    const before = old.get(name);
    if (before !== undefined) {
      if (before.type !== type) {
        throw new IcebergSchemaError(`column ${name} changes type from ${before.type} to ${type}`);
      }
      fields.push(before);
    } else {
      last += 1;
      fields.push({ id: last, name, required: false, type });
    }
  }
  for (const name of old.keys()) {
    if (!seen.has(name)) throw new IcebergSchemaError(`column ${name} was dropped (only additions evolve)`);
  }
  // Keep the previous order, new columns at the end, so positions stay stable for readers.
  const byName = new Map(fields.map((f) => [f.name, f]));
  const ordered = [
    ...(previous?.fields ?? []).map((f) => byName.get(f.name) as IcebergField),
    ...fields.filter((f) => !old.has(f.name)),
  ];
  const changed = previous === undefined || ordered.length !== previous.fields.length;
  const schemaId = previous === undefined ? 0 : changed ? previous["schema-id"] + 1 : previous["schema-id"];
  return { schema: { type: "struct", "schema-id": schemaId, fields: ordered }, lastColumnId: last, changed };
}

/** Iceberg's default partition field name: the column for identity, `<column>_<transform>` otherwise. */
export function partitionFieldName(column: string, transform: Transform): string {
  return transform === "identity" ? column : `${column}_${transform}`;
}

export function partitionSpec(schema: IcebergSchema, by: PartitionBy, specId = 0): PartitionSpec {
  const fields = by.map(([column, transform], i) => {
    const source = schema.fields.find((f) => f.name === column);
    if (source === undefined) throw new IcebergSchemaError(`partition column ${column} is not in the schema`);
    if (transform !== "identity" && source.type !== "timestamptz" && source.type !== "timestamp") {
      if (!(transform !== "hour" && source.type === "date")) {
        throw new IcebergSchemaError(
          `partition ${transform}(${column}) needs a time column, not ${source.type}`,
        );
      }
    }
    return {
      name: partitionFieldName(column, transform),
      transform,
      "source-id": source.id,
      "field-id": 1000 + i,
    };
  });
  return { "spec-id": specId, fields };
}

/** The JSON name mapping for files without field IDs: each field found by its name. */
export function nameMapping(schema: IcebergSchema): string {
  return JSON.stringify(schema.fields.map((f) => ({ "field-id": f.id, names: [f.name] })));
}

/** The Iceberg type of a partition field's value: `int` for hour and month, `date` for day, else the source type. */
export function partitionValueType(schema: IcebergSchema, field: PartitionField): IcebergPrimitive {
  if (field.transform === "hour" || field.transform === "month") return "int";
  if (field.transform === "day") return "date";
  const source = schema.fields.find((f) => f.id === field["source-id"]);
  if (source === undefined)
    throw new IcebergSchemaError(`partition field ${field.name} has no source column`);
  return source.type;
}

/** A partition value as Tributary holds it: a string, an integer (hours, days, months since 1970), or null. */
export type PartitionValue = string | number | null;

const HOUR_US = 3_600_000_000n;
const DAY_US = 86_400_000_000n;

/** Applies a time transform to epoch microseconds (UTC). */
export function timeTransform(transform: Exclude<Transform, "identity">, micros: bigint): number {
  const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  if (transform === "hour") return Number(floorDiv(micros, HOUR_US));
  const days = floorDiv(micros, DAY_US);
  if (transform === "day") return Number(days);
  const d = new Date(Number(days) * 86_400_000);
  return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
}
