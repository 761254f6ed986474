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

/** A list: its element has a field ID of its own (Iceberg spec, "Nested Types"). */
export interface IcebergList {
  readonly type: "list";
  readonly "element-id": number;
  readonly element: IcebergType;
  readonly "element-required": boolean;
}

export interface IcebergStruct {
  readonly type: "struct";
  readonly fields: readonly IcebergField[];
}

export type IcebergType = IcebergPrimitive | IcebergList | IcebergStruct;

export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
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

/**
 * The Iceberg type of a DuckDB column type, lists (`T[]`) and structs (`STRUCT(a T, …)`) included, with
 * nested field IDs from `nextId` (undefined: 0, for a check); throws naming the column for types Iceberg
 * cannot hold exactly (unsigned integers, maps, intervals, …) and for TIME, which Spark cannot read.
 */
export function icebergType(column: string, duckdbType: string, nextId?: () => number): IcebergType {
  const id = nextId ?? (() => 0);
  const t = duckdbType.trim();
  if (t.endsWith("[]")) {
    const elementId = id();
    return {
      type: "list",
      "element-id": elementId,
      element: icebergType(`${column}.element`, t.slice(0, -2), nextId),
      "element-required": false,
    };
  }
  const struct = /^STRUCT\s*\((.*)\)$/is.exec(t);
  if (struct) {
    const fields = splitTopLevel(struct[1] as string).map((part): IcebergField => {
      const m = /^\s*(?:"((?:[^"]|"")*)"|([^\s"]+))\s+(.+)$/s.exec(part);
      if (!m)
        throw new IcebergSchemaError(`column ${column}: cannot read struct field ${JSON.stringify(part)}`);
      const name = m[1] !== undefined ? m[1].replaceAll('""', '"') : (m[2] as string);
      const fieldId = id();
      return {
        id: fieldId,
        name,
        required: false,
        type: icebergType(`${column}.${name}`, m[3] as string, nextId),
      };
    });
    return { type: "struct", fields };
  }
  return icebergPrimitive(column, t);
}

/** `a T, b STRUCT(c U, d V)` → its top-level parts (commas inside parentheses and quotes stay). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    else if (!quoted && depth === 0 && c === ",") {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.trim() !== "");
}

/** A type with its field IDs left out: what two schemas must agree on for a column to keep its ID. */
function shape(t: IcebergType): unknown {
  if (typeof t === "string") return t;
  if (t.type === "list") return { list: shape(t.element) };
  return { struct: t.fields.map((f) => [f.name, shape(f.type)]) };
}

/** The Iceberg type of a DuckDB primitive type; throws naming the column for types Iceberg cannot hold exactly (or Spark read). */
export function icebergPrimitive(column: string, duckdbType: string): IcebergPrimitive {
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
    case "TIME":
      // Iceberg has a time type, but Spark (4.1.3 with Iceberg 1.12.0, tried) refuses a whole table
      // holding one, even DESCRIBE: such a dataset stays a Hive tree that every engine reads.
      throw new IcebergSchemaError(
        `column ${column}: a TIME column would make the table unreadable to Spark ("Spark does not support time fields")`,
      );
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
    const before = old.get(name);
    if (before !== undefined) {
      const type = icebergType(name, duckdbType);
      if (JSON.stringify(shape(before.type)) !== JSON.stringify(shape(type))) {
        throw new IcebergSchemaError(
          `column ${name} changes type from ${JSON.stringify(shape(before.type))} to ${JSON.stringify(shape(type))}`,
        );
      }
      fields.push(before);
    } else {
      last += 1;
      const id = last;
      // Nested fields take the IDs after the column's own.
      const type = icebergType(name, duckdbType, () => ++last);
      fields.push({ id, name, required: false, type });
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

/**
 * The JSON name mapping for files without field IDs: each field found by its name, a list's element by
 * `element` (the name DuckDB's three-level Parquet lists give it), a struct's fields by theirs.
 */
export function nameMapping(schema: IcebergSchema): string {
  return JSON.stringify(schema.fields.map(mappedField));
}

interface MappedField {
  readonly "field-id": number;
  readonly names: readonly string[];
  readonly fields?: readonly MappedField[];
}

function mappedField(f: { id: number; name: string; type: IcebergType }): MappedField {
  const nested = nestedMapping(f.type);
  return { "field-id": f.id, names: [f.name], ...(nested ? { fields: nested } : {}) };
}

function nestedMapping(t: IcebergType): readonly MappedField[] | undefined {
  if (typeof t === "string") return undefined;
  if (t.type === "list") return [mappedField({ id: t["element-id"], name: "element", type: t.element })];
  return t.fields.map(mappedField);
}

/** The Iceberg type of a partition field's value: `int` for hour and month, `date` for day, else the source type. */
export function partitionValueType(schema: IcebergSchema, field: PartitionField): IcebergPrimitive {
  if (field.transform === "hour" || field.transform === "month") return "int";
  if (field.transform === "day") return "date";
  const source = schema.fields.find((f) => f.id === field["source-id"]);
  if (source === undefined)
    throw new IcebergSchemaError(`partition field ${field.name} has no source column`);
  if (typeof source.type !== "string")
    throw new IcebergSchemaError(
      `partition field ${field.name}: a ${source.type.type} cannot be a partition value`,
    );
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
