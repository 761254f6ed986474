/**
 * The differential check against the real Debezium: the same PostgreSQL tables captured by both
 * tools, each topic read back, and every event compared after removing what legitimately differs
 * between two captures (processing times, the tool's name and version, the snapshot's own point).
 * With schemas on (the JSON converter's `{"schema","payload"}`), the schemas are compared too.
 * What remains must be equal; docs/cdc.md "Differences from Debezium" lists each normalised field.
 */
import type { TopicRecord } from "./support.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** Fields that differ between two captures by nature, each with its reason (docs/cdc.md). */
export const NORMALISED = {
  "ts_ms, ts_us, ts_ns": "when each tool processed the event",
  "source.version": "the writer's own release (`3.6.1.Final` / `tributary-cdc-2`)",
  "source.name": "the topic prefix of each tool",
  "source.sequence":
    "Debezium puts the previous transaction's commit LSN first, Tributary the event's own (identical across restarts)",
  "snapshot reads: source.ts_*, source.lsn, source.txId":
    "each tool takes its own snapshot at its own consistent point",
  "headers __debezium.context.*": "Debezium's connector context (name, task, run id)",
  "schema names <prefix>.<schema>.<table>.Key/Value/Envelope": "the topic prefix of each tool",
  "snapshot reads' column schemas: an enum's type, a numeric's length and scale without typmod":
    'Debezium\'s snapshot reads describe them as `"SCHEMA"."MOOD"` and length 0 without scale, its streamed events (and every Tributary event) as `MOOD` and 131089/0',
  "precise decimals: numeric NaN, ±Infinity":
    'Tributary\'s lossless "NaN", "Infinity", "-Infinity" where Debezium writes null',
} as const;

export interface ComparedEvent {
  readonly key: Json;
  readonly value: Json;
  readonly headers: Record<string, string>;
}

function parse(text: string | null): Json {
  return text === null ? null : (JSON.parse(text) as Json);
}

const isObject = (x: Json | undefined): x is JsonObject =>
  x !== null && x !== undefined && typeof x === "object" && !Array.isArray(x);

/** The JSON converter's `{"schema","payload"}` (schemas.enable=true), or null for a schema-less value. */
function schemaParts(x: Json): { schema: JsonObject; payload: Json } | null {
  return isObject(x) && isObject(x.schema) && "payload" in x && Object.keys(x).length === 2
    ? { schema: x.schema, payload: x.payload ?? null }
    : null;
}

function normaliseEnvelope(value: Json): void {
  if (!isObject(value)) return;
  delete value.ts_ms;
  delete value.ts_us;
  delete value.ts_ns;
  const source = value.source;
  if (!isObject(source)) return;
  delete source.version;
  delete source.name;
  delete source.sequence;
  if (value.op === "r") {
    delete source.ts_ms;
    delete source.ts_us;
    delete source.ts_ns;
    delete source.lsn;
    delete source.txId;
  }
}

/** Every schema `name` that starts with the tool's topic prefix gets `<prefix>` instead. */
function renamePrefix(schema: Json, prefix: string): void {
  if (Array.isArray(schema)) for (const x of schema) renamePrefix(x, prefix);
  if (!isObject(schema)) return;
  for (const [k, v] of Object.entries(schema)) {
    if (k === "name" && typeof v === "string" && v.startsWith(`${prefix}.`))
      schema[k] = `<prefix>${v.slice(prefix.length)}`;
    else renamePrefix(v, prefix);
  }
}

/**
 * A snapshot read's column described as Debezium's streamed events describe it: the enum's own type
 * name instead of `"schema"."name"`, a numeric without typmod at 131089 and 0 instead of 0 and no scale.
 */
function streamedColumnForm(envelopeSchema: JsonObject): void {
  const rows = Array.isArray(envelopeSchema.fields) ? envelopeSchema.fields : [];
  for (const row of rows) {
    if (!isObject(row) || (row.field !== "before" && row.field !== "after") || !Array.isArray(row.fields))
      continue;
    for (const column of row.fields) {
      const p = isObject(column) ? column.parameters : undefined;
      if (!isObject(p)) continue;
      const type = p["__debezium.source.column.type"];
      const qualified = typeof type === "string" ? /^"[^"]+"\."([^"]+)"$/.exec(type) : null;
      if (qualified?.[1]) p["__debezium.source.column.type"] = qualified[1];
      if (
        type === "NUMERIC" &&
        p["__debezium.source.column.length"] === "0" &&
        !("__debezium.source.column.scale" in p)
      ) {
        p["__debezium.source.column.length"] = "131089";
        p["__debezium.source.column.scale"] = "0";
      }
    }
  }
}

const DECIMALS = new Set<Json>([
  "org.apache.kafka.connect.data.Decimal",
  "io.debezium.data.VariableScaleDecimal",
]);
const SPECIAL_NUMBERS = new Set<Json>(["NaN", "Infinity", "-Infinity"]);

/** A precise decimal's NaN/±Infinity (Tributary's lossless extension) as Debezium's null. */
function specialDecimalsAsNull(envelopeSchema: JsonObject, payload: Json): void {
  if (!isObject(payload)) return;
  for (const row of Array.isArray(envelopeSchema.fields) ? envelopeSchema.fields : []) {
    if (!isObject(row) || typeof row.field !== "string" || !Array.isArray(row.fields)) continue;
    const values = payload[row.field];
    if (!isObject(values)) continue;
    for (const column of row.fields)
      if (isObject(column) && typeof column.field === "string" && DECIMALS.has(column.name ?? null))
        if (SPECIAL_NUMBERS.has(values[column.field] ?? null)) values[column.field] = null;
  }
}

/** One record with the NORMALISED fields removed or rewritten; `prefix` is the tool's topic prefix. */
export function normaliseRecord(r: TopicRecord, prefix: string): ComparedEvent {
  let key = parse(r.key);
  let value = parse(r.value);
  const keyParts = schemaParts(key);
  if (keyParts) {
    renamePrefix(keyParts.schema, prefix);
    key = keyParts;
  }
  const valueParts = schemaParts(value);
  if (valueParts) {
    renamePrefix(valueParts.schema, prefix);
    if (isObject(valueParts.payload) && valueParts.payload.op === "r") streamedColumnForm(valueParts.schema);
    specialDecimalsAsNull(valueParts.schema, valueParts.payload);
    normaliseEnvelope(valueParts.payload);
    value = valueParts;
  } else normaliseEnvelope(value);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (!k.startsWith("__debezium.context.")) headers[k] = v;
  return { key, value, headers };
}

/** A transaction-topic event without its time (Debezium stamps BEGIN/END when it processes them). */
export function normaliseTransaction(r: TopicRecord): { key: Json; value: Json } {
  const value = parse(r.value);
  const payload = schemaParts(value)?.payload ?? value;
  if (isObject(payload)) delete payload.ts_ms;
  return { key: parse(r.key), value };
}

export interface EventDiff {
  readonly table: string;
  readonly index: number;
  readonly path: string;
  readonly debezium: Json | undefined;
  readonly tributary: Json | undefined;
}

/** Every differing leaf of two JSON values, by dotted path (array elements by index). */
export function jsonDiffs(
  a: Json | undefined,
  b: Json | undefined,
  path = "",
): { path: string; a: Json | undefined; b: Json | undefined }[] {
  const at = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => jsonDiffs(a[k], b[k], at(k)));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => jsonDiffs(a[i], b[i], at(i))).flat();
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, a, b }];
}

/** Compares two tools' events of one table, position by position (one partition: a total order). */
export function compareTable(
  table: string,
  debezium: readonly ComparedEvent[],
  tributary: readonly ComparedEvent[],
): EventDiff[] {
  const out: EventDiff[] = [];
  const n = Math.max(debezium.length, tributary.length);
  for (let i = 0; i < n; i++) {
    const d = debezium[i];
    const t = tributary[i];
    for (const x of jsonDiffs(d as unknown as Json, t as unknown as Json))
      out.push({ table, index: i, path: x.path, debezium: x.a, tributary: x.b });
  }
  return out;
}
