/**
 * Silver column types from the envelopes' Kafka Connect schemas (CDC_SCHEMAS=on, Debezium's
 * `schemas.enable=true` with `column.propagate.source.type`): each column's Connect type, semantic
 * name and PostgreSQL type/length/scale pick the DuckDB type that holds its values exactly —
 * DECIMAL(p,s) for numeric(p,s) with p ≤ 38, DATE, TIME, TIMESTAMP and TIMESTAMPTZ to the µs, UUID,
 * JSON, BLOB, integer/float/boolean, lists of those — and anything else stays VARCHAR holding the
 * envelope's exact text. A column whose type differs between the frame's schema versions, that
 * holds NaN/±Infinity in a DECIMAL, or any column of a frame with schema-less envelopes (old
 * bronze, CDC_SCHEMAS=off) is VARCHAR too, and the reason is reported.
 */
import type { CdcColumn, ValueEncoding } from "./tables.ts";

/** What the frame's envelopes say about each column: the types their schema versions map to. */
export interface ColumnSources {
  /** Some envelope carried no schema: its values' types are unknown, so every column stays text. */
  readonly schemaless: boolean;
  /** Column → the distinct `TYPE` or `TYPE@encoding` of its schema versions (sorted). */
  readonly columns: Readonly<Record<string, readonly string[]>>;
}

export const NO_SOURCES: ColumnSources = { schemaless: false, columns: {} };

/** A NaN/±Infinity seen in a DECIMAL column: DECIMAL cannot hold it, so the column stays text. */
export const SPECIAL_NUMBER = "!nan";

type FieldSchema = Readonly<Record<string, unknown>>;

const PRIMITIVE: Readonly<Record<string, string>> = {
  int8: "TINYINT",
  int16: "SMALLINT",
  int32: "INTEGER",
  int64: "BIGINT",
  float: "REAL",
  double: "DOUBLE",
  boolean: "BOOLEAN",
  string: "VARCHAR",
};

const SEMANTIC: Readonly<Record<string, string>> = {
  "io.debezium.time.IsoDate": "DATE",
  "io.debezium.time.IsoTime": "TIME",
  "io.debezium.time.IsoTimestamp": "TIMESTAMP",
  "io.debezium.time.ZonedTimestamp": "TIMESTAMPTZ",
  "io.debezium.data.Uuid": "UUID",
  "io.debezium.data.Json": "JSON",
  "io.debezium.time.Date": "DATE@epoch-days",
  "org.apache.kafka.connect.data.Date": "DATE@epoch-days",
  "io.debezium.time.Timestamp": "TIMESTAMP@epoch-millis",
  "org.apache.kafka.connect.data.Timestamp": "TIMESTAMP@epoch-millis",
  "io.debezium.time.MicroTimestamp": "TIMESTAMP@epoch-micros",
  "io.debezium.time.Time": "TIME@day-millis",
  "org.apache.kafka.connect.data.Time": "TIME@day-millis",
  "io.debezium.time.MicroTime": "TIME@day-micros",
};

/** `TYPE[@encoding]` of one field schema; VARCHAR for anything not known to be exact. */
export function fieldType(f: FieldSchema): string {
  const params = (f.parameters ?? {}) as Readonly<Record<string, string>>;
  const name = typeof f.name === "string" ? f.name : undefined;
  if (f.type === "array") {
    const items = (f.items ?? {}) as FieldSchema;
    const element = fieldType({ ...items, parameters: params });
    // Lists are cast from their JSON text; encoded elements (base64, epochs) stay text.
    return element.includes("@") || element.endsWith("[]") ? "VARCHAR" : `${element}[]`;
  }
  if (name !== undefined) return SEMANTIC[name] ?? "VARCHAR";
  if (f.type === "bytes") return "BLOB@base64";
  if (f.type === "string" && params["__debezium.source.column.type"]?.replace(/^_/, "") === "NUMERIC") {
    const p = Number(params["__debezium.source.column.length"]);
    const s = Number(params["__debezium.source.column.scale"] ?? "x");
    return Number.isInteger(p) && Number.isInteger(s) && p >= 1 && p <= 38 && s >= 0 && s <= p
      ? `DECIMAL(${p},${s})`
      : "VARCHAR";
  }
  return (typeof f.type === "string" && PRIMITIVE[f.type]) || "VARCHAR";
}

/**
 * The column types of one envelope schema's `after` struct (the `schema.fields[1]` of the JSON
 * converter's form); null when it is not one.
 */
export function rowTypes(afterField: unknown): Map<string, string> | null {
  if (typeof afterField !== "object" || afterField === null) return null;
  const struct = afterField as FieldSchema;
  if (struct.field !== "after" || !Array.isArray(struct.fields)) return null;
  const out = new Map<string, string>();
  for (const f of struct.fields as FieldSchema[])
    if (typeof f.field === "string") out.set(f.field, fieldType(f));
  return out;
}

/** Sources of several schema versions (and of the previous runs) together. */
export function mergeSources(...all: readonly ColumnSources[]): ColumnSources {
  const columns: Record<string, Set<string>> = {};
  for (const s of all)
    for (const [name, types] of Object.entries(s.columns)) {
      const set = columns[name] ?? new Set<string>();
      for (const t of types) set.add(t);
      columns[name] = set;
    }
  return {
    schemaless: all.some((s) => s.schemaless),
    columns: Object.fromEntries(Object.entries(columns).map(([n, set]) => [n, [...set].sort()])),
  };
}

/** Sources from the distinct `after` schemas of a frame's envelopes. */
export function sourcesOf(afterSchemas: readonly unknown[], schemaless: boolean): ColumnSources {
  const parts: ColumnSources[] = [{ schemaless, columns: {} }];
  for (const s of afterSchemas) {
    const types = rowTypes(s);
    if (types === null) parts.push({ schemaless: true, columns: {} });
    else parts.push({ schemaless: false, columns: Object.fromEntries([...types].map(([n, t]) => [n, [t]])) });
  }
  return mergeSources(...parts);
}

export interface ChosenColumn extends CdcColumn {
  /** Why a column stays VARCHAR although the schemas type it; undefined otherwise. */
  readonly textReason?: string;
}

/** The silver column for `name`: the one type all its schema versions agree on, else VARCHAR and why. */
export function chooseColumn(name: string, sources: ColumnSources): ChosenColumn {
  if (sources.schemaless) return { name, type: "VARCHAR" };
  const types = sources.columns[name] ?? [];
  if (types.includes(SPECIAL_NUMBER))
    return { name, type: "VARCHAR", textReason: "holds NaN or ±Infinity, which DECIMAL cannot" };
  if (types.length > 1) return { name, type: "VARCHAR", textReason: `type changed: ${types.join(", ")}` };
  const [type = "VARCHAR", encoding] = (types[0] ?? "VARCHAR").split("@");
  return encoding ? { name, type, encoding: encoding as ValueEncoding } : { name, type };
}

/** Names of the columns a DECIMAL type was chosen for (their values are checked for NaN/±Infinity). */
export const decimalColumns = (sources: ColumnSources): string[] =>
  sources.schemaless
    ? []
    : Object.entries(sources.columns)
        .filter(([, t]) => t.length === 1 && t[0]?.startsWith("DECIMAL"))
        .map(([n]) => n);

/** The SQL that turns a column's JSON text (`json_extract_string`) into its silver value. */
export function valueFromText(c: CdcColumn, text: string): string {
  switch (c.encoding) {
    case "base64":
      return `from_base64(${text})`;
    case "epoch-days":
      return `(DATE '1970-01-01' + CAST(${text} AS INTEGER))`;
    case "epoch-millis":
      return `make_timestamp(CAST(${text} AS BIGINT) * 1000)`;
    case "epoch-micros":
      return `make_timestamp(CAST(${text} AS BIGINT))`;
    case "day-millis":
      return `(TIME '00:00:00' + to_microseconds(CAST(${text} AS BIGINT) * 1000))`;
    case "day-micros":
      return `(TIME '00:00:00' + to_microseconds(CAST(${text} AS BIGINT)))`;
    default:
      break;
  }
  if (c.type === "VARCHAR") return text;
  if (c.type === "TIME") return `CAST(rtrim(${text}, 'Z') AS TIME)`;
  if (c.type.endsWith("[]")) return `CAST(CAST(${text} AS JSON) AS ${c.type})`;
  return `CAST(${text} AS ${c.type})`;
}

/** `name TYPE[ encoding]` per column (the state's record of how its files are typed). */
export const typeList = (columns: readonly CdcColumn[]): string[] =>
  columns.map((c) => `${c.name} ${c.type}${c.encoding ? ` ${c.encoding}` : ""}`);
