/**
 * Kafka Connect JSON schemas of a column (CDC_SCHEMAS=on): what Debezium 3.6's PostgreSQL
 * connector writes with `value.converter.schemas.enable=true` and `column.propagate.source.type=.*`,
 * so a consumer (CDC silver, or any Kafka Connect sink) knows each column's type and PostgreSQL's
 * own type, length and scale. Shapes and parameters were read from the real connector's output
 * (e2e/cdc/debezium.test.ts compares them); the remaining differences are listed in docs/cdc.md.
 * The envelope around them: envelope-schema.ts.
 */
import type { CdcEnvelopeSettings } from "@tributary/shared/cdc/debezium-connector";
import { ARRAY_ELEMENT, OID } from "./column-values.ts";
import type { EncodedValue } from "./encoded-value.ts";

/** What a column's schema needs to know about its PostgreSQL type. */
export interface ColumnSourceType {
  readonly typeOid: number;
  /** pg_attribute.atttypmod; -1 when none. */
  readonly typeMod: number;
  /** pg_type.typname (`int4`, `_int4`, `mood`); built-ins are known without it. */
  readonly typeName?: string;
  /** An enum's labels in sort order (Debezium's `allowed`). */
  readonly enumValues?: readonly string[];
  readonly notNull: boolean;
  /** The column's literal default, converted as its values are (Debezium's `default`). */
  readonly defaultValue?: EncodedValue;
}

export interface SchemaColumn extends ColumnSourceType {
  readonly name: string;
}

export type Schema = Record<string, unknown>;

/** Each built-in type's typname, for columns described without the catalog. */
const TIMETZ = 1266;
const NAMES: ReadonlyMap<number, string> = new Map([
  ...Object.entries(OID).map(([name, oid]): [number, string] => [oid, name]),
  [TIMETZ, "timetz"],
]);

const UNBOUNDED = 2147483647;

/** Seconds' display width of time(p) types, as PostgreSQL's JDBC driver reports it. */
const secondsWidth = (typeMod: number): number =>
  typeMod < 0 ? 7 : typeMod === 0 ? 0 : typeMod === 1 ? 3 : typeMod + 1;

/** `__debezium.source.column.length` / `.scale` as Debezium reports them (JDBC column size and digits). */
export function sourceLengthScale(typeOid: number, typeMod: number): [number, number] {
  const timeScale = typeMod < 0 ? 6 : typeMod;
  switch (typeOid) {
    case OID.int2:
      return [5, 0];
    case OID.int4:
    case OID.oid:
      return [10, 0];
    case OID.int8:
      return [19, 0];
    case OID.float4:
      return [8, 8];
    case OID.float8:
      return [17, 17];
    case OID.bool:
      return [1, 0];
    case OID.numeric:
      // Without a modifier: what Debezium reports for streamed changes (its snapshot says 0 and no scale).
      return typeMod < 4 ? [131089, 0] : [(typeMod - 4) >> 16, (typeMod - 4) & 0xffff];
    case OID.varchar:
    case OID.bpchar:
      return [typeMod < 4 ? UNBOUNDED : typeMod - 4, 0];
    case OID.date:
      return [13, 0];
    case OID.time:
      return [8 + secondsWidth(typeMod), timeScale];
    case TIMETZ:
      return [14 + secondsWidth(typeMod), timeScale];
    case OID.timestamp:
      return [22 + secondsWidth(typeMod), timeScale];
    case OID.timestamptz:
      return [28 + secondsWidth(typeMod), timeScale];
    case OID.interval:
      return [49, 6];
    default:
      return [UNBOUNDED, 0];
  }
}

const named = (type: string, name: string, parameters?: Record<string, string>): Schema => ({
  type,
  name,
  version: 1,
  ...(parameters ? { parameters } : {}),
});

/** The Connect type (and semantic name) of one value of a scalar PostgreSQL type, under the settings. */
function valueType(c: ColumnSourceType, s: CdcEnvelopeSettings): Schema {
  const mode = s.timePrecisionMode;
  const adaptive = mode === "adaptive" || mode === "adaptive_time_microseconds";
  const precision = c.typeMod < 0 ? 6 : c.typeMod;
  switch (c.typeOid) {
    case OID.int2:
      return { type: "int16" };
    case OID.int4:
      return { type: "int32" };
    case OID.int8:
    case OID.oid:
      return { type: "int64" };
    case OID.float4:
      return { type: "float" };
    case OID.float8:
      return { type: "double" };
    case OID.bool:
      return { type: "boolean" };
    case OID.bytea:
      return { type: "bytes" };
    case OID.numeric: {
      if (s.decimalHandlingMode === "string") return { type: "string" };
      if (s.decimalHandlingMode === "double") return { type: "double" };
      const [p, sc] = sourceLengthScale(c.typeOid, c.typeMod);
      if (c.typeMod >= 4)
        return named("bytes", "org.apache.kafka.connect.data.Decimal", {
          scale: String(sc),
          "connect.decimal.precision": String(p),
        });
      return {
        type: "struct",
        fields: [
          { type: "int32", optional: false, field: "scale" },
          { type: "bytes", optional: false, field: "value" },
        ],
        name: "io.debezium.data.VariableScaleDecimal",
        version: 1,
        doc: "Variable scaled decimal",
      };
    }
    case OID.date:
      if (mode === "isostring") return named("string", "io.debezium.time.IsoDate");
      return named("int32", adaptive ? "io.debezium.time.Date" : "org.apache.kafka.connect.data.Date");
    case OID.time:
      if (mode === "isostring") return named("string", "io.debezium.time.IsoTime");
      if (mode === "connect") return named("int32", "org.apache.kafka.connect.data.Time");
      return mode === "adaptive" && precision <= 3
        ? named("int32", "io.debezium.time.Time")
        : named("int64", "io.debezium.time.MicroTime");
    case OID.timestamp:
      if (mode === "isostring") return named("string", "io.debezium.time.IsoTimestamp");
      if (mode === "connect") return named("int64", "org.apache.kafka.connect.data.Timestamp");
      return named(
        "int64",
        precision <= 3 ? "io.debezium.time.Timestamp" : "io.debezium.time.MicroTimestamp",
      );
    case OID.timestamptz:
      return named("string", "io.debezium.time.ZonedTimestamp");
    case TIMETZ:
      return named("string", "io.debezium.time.ZonedTime");
    case OID.interval:
      return s.intervalHandlingMode === "string"
        ? named("string", "io.debezium.time.Interval")
        : named("int64", "io.debezium.time.MicroDuration");
    case OID.uuid:
      return named("string", "io.debezium.data.Uuid");
    case OID.json:
    case OID.jsonb:
      return named("string", "io.debezium.data.Json");
    default:
      if (c.enumValues) return named("string", "io.debezium.data.Enum", { allowed: c.enumValues.join(",") });
      return { type: "string" };
  }
}

/** One column's field schema in the envelope's `before`/`after` struct. */
export function columnSchema(c: SchemaColumn, s: CdcEnvelopeSettings): Schema {
  const element = ARRAY_ELEMENT.get(c.typeOid);
  const elementName = element === undefined ? undefined : NAMES.get(element);
  const builtin = element === undefined ? NAMES.get(c.typeOid) : elementName && `_${elementName}`;
  const typeName = (c.typeName ?? builtin ?? "unknown").toUpperCase();
  const [length, scale] = sourceLengthScale(element ?? c.typeOid, c.typeMod);
  const source: Record<string, string> = {
    "__debezium.source.column.type": typeName,
    "__debezium.source.column.length": String(length),
    "__debezium.source.column.scale": String(scale),
    "__debezium.source.column.name": c.name,
  };
  const own =
    element === undefined
      ? valueType(c, s)
      : { type: "array", items: { ...valueType({ ...c, typeOid: element }, s), optional: true } };
  // Debezium's key order: type, body (fields or items), optional, name, version, doc, parameters, default, field.
  const out: Schema = { type: own.type };
  for (const k of ["fields", "items"]) if (own[k] !== undefined) out[k] = own[k];
  out.optional = !c.notNull;
  for (const k of ["name", "version", "doc"]) if (own[k] !== undefined) out[k] = own[k];
  out.parameters = { ...((own.parameters as Record<string, string> | undefined) ?? {}), ...source };
  if (c.defaultValue !== undefined && c.defaultValue !== null) out.default = c.defaultValue;
  out.field = c.name;
  return out;
}
